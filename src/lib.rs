//! terraform-provider-partnercenter: a Terraform provider for Microsoft Partner Center.
//!
//! `protocol` speaks Terraform's plugin protocol and knows nothing of Microsoft; `provider` is the glue that
//! maps Terraform resources and data sources onto the `partnercenter_microsoft` clients.

pub mod cli;
pub mod protocol;
pub mod provider;
