//! `partnercenter_domain`: the partner tenant's default domain and organization profile.

use async_trait::async_trait;

use partnercenter_microsoft::partner_center::OrganizationProfile;

use crate::protocol::{Attribute, Context, DataSource, Diagnostics, Schema, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context};

pub struct Domain;

mod attr {
    pub const DOMAIN: &str = "domain";
    pub const TENANT_ID: &str = "tenant_id";
    pub const COMPANY_NAME: &str = "company_name";
    pub const EMAIL: &str = "email";
    pub const COUNTRY: &str = "country";
    pub const CULTURE: &str = "culture";
}

fn profile_value(profile: OrganizationProfile) -> Value {
    Value::object([
        (attr::DOMAIN, Value::string(profile.domain)),
        (attr::TENANT_ID, Value::string(profile.tenant_id)),
        (attr::COMPANY_NAME, Value::string(profile.company_name)),
        (attr::EMAIL, Value::from(profile.email)),
        (
            attr::COUNTRY,
            Value::from(profile.default_address.and_then(|a| a.country)),
        ),
        (attr::CULTURE, Value::from(profile.culture)),
    ])
}

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
        .attribute(computed(attr::DOMAIN, "The default domain, e.g. `contoso.onmicrosoft.com`."))
        .attribute(computed(attr::TENANT_ID, "The partner tenant ID (Cloudyn's Commerce ID, Partner Center's Account ID)."))
        .attribute(computed(attr::COMPANY_NAME, "The company name."))
        .attribute(computed(attr::EMAIL, "The organization's contact email."))
        .attribute(computed(attr::COUNTRY, "The country of the default address (two letters)."))
        .attribute(computed(attr::CULTURE, "The culture, e.g. `en-US`."))
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
            Ok(profile) => Some(profile_value(profile)),
            Err(e) => {
                diags.push(errors::diagnostic("reading the organization profile", &e));
                None
            }
        }
    }
}
