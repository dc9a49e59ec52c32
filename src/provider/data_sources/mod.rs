//! Data sources, one per file.

pub mod consent_url;
pub mod customers;
pub mod domain;
pub mod indirect_resellers;
pub mod mpn_id;
pub mod web_app_keys;
