//! Managed resources, one per file.

pub mod permission_grant;
pub mod web_app_key;
