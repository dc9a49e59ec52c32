//! Terraform plugin protocol 6: serving, values, schemas, planning, diagnostics. Knows nothing of Microsoft.

pub mod attr;
pub mod contracts;
pub mod diagnostics;
pub mod identity;
pub mod list;
pub mod logging;
pub mod plan;
pub mod proto;
pub mod schema;
pub mod serve;
pub mod server;
pub mod tls;
pub mod transport;
pub mod value;

pub use attr::{Attr, FromValue};
pub use contracts::{
    Context, DataSource, EphemeralResource, ListResource, Opened, PlanRequest, Private, Provider, Resource,
};
pub use diagnostics::{AttributePath, Diagnostic, Diagnostics};
pub use identity::Identity;
pub use list::Listing;
pub use plan::PlannedChange;
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema, Validator};
pub use server::ProviderServer;
pub use value::{Number, Type, Value};
