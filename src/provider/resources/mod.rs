//! Managed resources, one per file.

pub mod permission_grant;
pub mod web_app_key;
pub mod web_app_key_list;
