//! Data sources, one per file.

pub mod consent_url;
