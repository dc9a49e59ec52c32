//! `partnercenter_indirect_resellers`: an indirect provider's resellers, for per-reseller modules.

use async_trait::async_trait;

use partnercenter_microsoft::partner_center::IndirectReseller;

use crate::protocol::{Attribute, Context, DataSource, Diagnostic, Diagnostics, Schema, Type, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context, validation};

pub struct IndirectResellers;

mod attr {
    pub const NAME_PREFIX: &str = "name_prefix";
    pub const RESELLERS: &str = "resellers";
    // Each reseller:
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const MPN_ID: &str = "mpn_id";
    pub const STATE: &str = "state";
    pub const LOCATION: &str = "location";
}

/// Which resellers to keep: those whose name starts with `name_prefix`, compared without case.
struct Filter {
    name_prefix: Option<String>,
}

impl Filter {
    fn from_config(config: &Value) -> Result<Filter, Diagnostic> {
        let name_prefix = config.attr::<String>(attr::NAME_PREFIX)?.known();
        Ok(Filter {
            name_prefix: name_prefix.map(|p| p.to_lowercase()),
        })
    }

    fn keeps(&self, reseller: &IndirectReseller) -> bool {
        let name = reseller.name.to_lowercase();
        self.name_prefix.as_ref().is_none_or(|p| name.starts_with(p))
    }
}

fn reseller_value(reseller: IndirectReseller) -> Value {
    Value::object([
        (attr::ID, Value::string(reseller.id)),
        (attr::NAME, Value::string(reseller.name)),
        (attr::MPN_ID, Value::from(reseller.mpn_id)),
        (attr::STATE, Value::from(reseller.state)),
        (attr::LOCATION, Value::from(reseller.location)),
    ])
}

#[async_trait]
impl DataSource<Configured> for IndirectResellers {
    fn type_name(&self) -> &'static str {
        "partnercenter_indirect_resellers"
    }

    fn schema(&self) -> Schema {
        let reseller = Type::object([
            (attr::ID, Type::String),
            (attr::NAME, Type::String),
            (attr::MPN_ID, Type::String),
            (attr::STATE, Type::String),
            (attr::LOCATION, Type::String),
        ]);
        Schema::new(
            "The indirect resellers of the signed-in indirect provider, ready for `for_each` over a per-reseller \
             module. Partner Center serves this to App+User credentials only: the provider needs a \
             `refresh_token`.",
        )
        .attribute(
            Attribute::string(attr::NAME_PREFIX)
                .optional()
                .description("Only resellers whose name starts with this (case-insensitive).")
                .validate(validation::not_blank()),
        )
        .attribute(Attribute::new(attr::RESELLERS, Type::list(reseller)).computed().description(
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
        let filter = diags.take(Filter::from_config(config))?;
        let client = ctx
            .client
            .client_for(Needs::AppUser, "Listing indirect resellers", diags)?;
        let resellers = client
            .partner_center()
            .indirect_resellers(&operation_context(ctx))
            .await
            .map_err(|e| errors::diagnostic("listing indirect resellers", &e));
        let resellers = diags.take(resellers)?;
        let kept = resellers
            .into_iter()
            .filter(|r| filter.keeps(r))
            .map(reseller_value)
            .collect();
        let mut state = config.clone();
        state.set(attr::RESELLERS, Value::List(kept));
        Some(state)
    }
}
