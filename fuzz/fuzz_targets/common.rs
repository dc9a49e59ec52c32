//! Shared by the DynamicValue targets: the value types Terraform sends this provider (every resource's,
//! data source's and the provider block's schema), plus a few hand-made nested types.
#![allow(dead_code)]

use std::sync::OnceLock;

use terraform_provider_partnercenter::protocol::{Provider, Type};
use terraform_provider_partnercenter::provider::PartnerCenter;

pub fn types() -> &'static [Type] {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let provider = PartnerCenter::with_env(|_| None);
        let mut types = vec![provider.schema().value_type()];
        types.extend(provider.resources().iter().map(|r| r.schema().value_type()));
        types.extend(provider.data_sources().iter().map(|d| d.schema().value_type()));
        types.extend([
            Type::String,
            Type::Number,
            Type::Bool,
            Type::Dynamic,
            Type::list(Type::map(Type::set(Type::Number))),
            Type::object([("a", Type::list(Type::Dynamic)), ("b", Type::map(Type::Bool))]),
        ]);
        types
    })
}

/// The first byte picks the type; the rest is the payload.
pub fn split(data: &[u8]) -> Option<(&'static Type, &[u8])> {
    let (first, rest) = data.split_first()?;
    let types = types();
    Some((&types[*first as usize % types.len()], rest))
}
