//! `partnercenter_domain`: the partner tenant's default domain and organization profile.

use async_trait::async_trait;

use crate::protocol::{Attribute, Context, DataSource, Diagnostics, Schema, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context};

pub struct Domain;

#[async_trait]
impl DataSource<Configured> for Domain {
    fn type_name(&self) -> &'static str {
        "partnercenter_domain"
    }

    fn schema(&self) -> Schema {
        let computed =
            |name: &str, description: &str| Attribute::string(name).computed().description(description);
        Schema::new(
            "The partner's organization profile: the default domain and tenant ID that cost-management tools ask \
             for. Partner Center serves this to App+User credentials only: the provider needs a `refresh_token`.",
        )
        .attribute(computed("domain", "The default domain, e.g. `contoso.onmicrosoft.com`."))
        .attribute(computed("tenant_id", "The partner tenant ID (Cloudyn's Commerce ID, Partner Center's Account ID)."))
        .attribute(computed("company_name", "The company name."))
        .attribute(computed("email", "The organization's contact email."))
        .attribute(computed("country", "The country of the default address (two letters)."))
        .attribute(computed("culture", "The culture, e.g. `en-US`."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let client = ctx
            .client
            .client_for(Needs::AppUser, "Reading the organization profile", diags)?;
        match client
            .partner_center()
            .organization_profile(&operation_context(ctx))
            .await
        {
            Ok(p) => Some(Value::object([
                ("domain", Value::string(p.domain)),
                ("tenant_id", Value::string(p.tenant_id)),
                ("company_name", Value::string(p.company_name)),
                ("email", Value::from(p.email)),
                ("country", Value::from(p.default_address.and_then(|a| a.country))),
                ("culture", Value::from(p.culture)),
            ])),
            Err(e) => {
                diags.push(errors::diagnostic("reading the organization profile", &e));
                None
            }
        }
    }
}
