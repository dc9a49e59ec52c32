//! `partnercenter_indirect_resellers`: an indirect provider's resellers, for per-reseller modules.

use async_trait::async_trait;

use crate::protocol::{Attribute, Context, DataSource, Diagnostics, Schema, Type, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context, validation};

pub struct IndirectResellers;

#[async_trait]
impl DataSource<Configured> for IndirectResellers {
    fn type_name(&self) -> &'static str {
        "partnercenter_indirect_resellers"
    }

    fn schema(&self) -> Schema {
        let reseller = Type::object([
            ("id", Type::String),
            ("name", Type::String),
            ("mpn_id", Type::String),
            ("state", Type::String),
            ("location", Type::String),
        ]);
        Schema::new(
            "The indirect resellers of the signed-in indirect provider, ready for `for_each` over a per-reseller \
             module. Partner Center serves this to App+User credentials only: the provider needs a \
             `refresh_token`.",
        )
        .attribute(
            Attribute::string("name_prefix")
                .optional()
                .description("Only resellers whose name starts with this (case-insensitive).")
                .validate(validation::not_blank()),
        )
        .attribute(Attribute::new("resellers", Type::list(reseller)).computed().description(
            "The resellers: `id` (the reseller's tenant ID), `name`, `mpn_id`, `state` (e.g. `Active`) and \
             `location` (country code).",
        ))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let client = ctx
            .client
            .client_for(Needs::AppUser, "Listing indirect resellers", diags)?;
        let resellers = match client
            .partner_center()
            .indirect_resellers(&operation_context(ctx))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                diags.push(errors::diagnostic("listing indirect resellers", &e));
                return None;
            }
        };
        let prefix = config.known::<String>("name_prefix").map(|p| p.to_lowercase());
        let resellers = resellers
            .into_iter()
            .filter(|r| {
                prefix
                    .as_ref()
                    .is_none_or(|p| r.name.to_lowercase().starts_with(p))
            })
            .map(|r| {
                Value::object([
                    ("id", Value::string(r.id)),
                    ("name", Value::string(r.name)),
                    ("mpn_id", Value::from(r.mpn_id)),
                    ("state", Value::from(r.state)),
                    ("location", Value::from(r.location)),
                ])
            })
            .collect();
        let mut state = config.clone();
        state.set("resellers", Value::List(resellers));
        Some(state)
    }
}
