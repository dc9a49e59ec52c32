//! `partnercenter_customers`: every customer of the partner (all pages), optionally filtered.

use async_trait::async_trait;
use futures::StreamExt;
use partnercenter_microsoft::partner_center::{Customer, CustomerQuery};

use crate::protocol::{Attribute, Context, DataSource, Diagnostic, Diagnostics, Number, Schema, Type, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context, validation};

pub struct Customers;

/// Partner Center's largest page that Microsoft's own tooling uses.
const PAGE_SIZE: u32 = 500;

mod attr {
    pub const COMPANY_NAME_PREFIX: &str = "company_name_prefix";
    pub const DOMAIN_PREFIX: &str = "domain_prefix";
    pub const INDIRECT_RESELLER_ID: &str = "indirect_reseller_id";
    pub const CUSTOMERS: &str = "customers";
    pub const IDS: &str = "ids";
    pub const TOTAL_COUNT: &str = "total_count";
    // Each customer:
    pub const ID: &str = "id";
    pub const TENANT_ID: &str = "tenant_id";
    pub const COMMERCE_ID: &str = "commerce_id";
    pub const DOMAIN: &str = "domain";
    pub const COMPANY_NAME: &str = "company_name";
    pub const RELATIONSHIP_TO_PARTNER: &str = "relationship_to_partner";
    pub const ASSOCIATED_PARTNER_ID: &str = "associated_partner_id";
}

/// The configuration's filters, as the query Partner Center takes.
fn query_from_config(config: &Value) -> Result<CustomerQuery, Diagnostic> {
    Ok(CustomerQuery {
        company_name_prefix: config.attr::<String>(attr::COMPANY_NAME_PREFIX)?.known(),
        domain_prefix: config.attr::<String>(attr::DOMAIN_PREFIX)?.known(),
        indirect_reseller_id: config.attr::<String>(attr::INDIRECT_RESELLER_ID)?.known(),
        page_size: Some(PAGE_SIZE),
    })
}

fn customer_type() -> Type {
    Type::object([
        (attr::ID, Type::String),
        (attr::TENANT_ID, Type::String),
        (attr::COMMERCE_ID, Type::String),
        (attr::DOMAIN, Type::String),
        (attr::COMPANY_NAME, Type::String),
        (attr::RELATIONSHIP_TO_PARTNER, Type::String),
        (attr::ASSOCIATED_PARTNER_ID, Type::String),
    ])
}

fn customer_value(customer: Customer) -> Value {
    Value::object([
        (attr::ID, Value::string(customer.id)),
        (attr::TENANT_ID, Value::string(customer.tenant_id)),
        (attr::COMMERCE_ID, Value::from(customer.commerce_id)),
        (attr::DOMAIN, Value::string(customer.domain)),
        (attr::COMPANY_NAME, Value::string(customer.company_name)),
        (
            attr::RELATIONSHIP_TO_PARTNER,
            Value::string(customer.relationship_to_partner.as_str()),
        ),
        (
            attr::ASSOCIATED_PARTNER_ID,
            Value::from(customer.associated_partner_id),
        ),
    ])
}

#[async_trait]
impl DataSource<Configured> for Customers {
    fn type_name(&self) -> &'static str {
        "partnercenter_customers"
    }

    fn schema(&self) -> Schema {
        let prefix = |name: &str, what: &str| {
            Attribute::string(name)
                .optional()
                .description(&format!(
                    "Only customers whose {what} starts with this (case-insensitive)."
                ))
                .validate(validation::not_blank())
        };
        Schema::new(
            "The partner's customers, following every page. App-only credentials suffice, except with \
             `indirect_reseller_id`, which Partner Center serves to App+User credentials only.",
        )
        .attribute(prefix(attr::COMPANY_NAME_PREFIX, "company name"))
        .attribute(prefix(attr::DOMAIN_PREFIX, "default domain"))
        .attribute(
            Attribute::string(attr::INDIRECT_RESELLER_ID)
                .optional()
                .description("Only the customers of this indirect reseller (its tenant ID); needs a `refresh_token`.")
                .validate(validation::guid("an indirect reseller's tenant ID")),
        )
        .attribute(Attribute::new(attr::CUSTOMERS, Type::list(customer_type())).computed().description(
            "The customers: `id` and `tenant_id` (the customer tenant), `commerce_id`, `domain`, `company_name`, \
             `relationship_to_partner` (`none`, `reseller`, `advisor`, ...) and `associated_partner_id` (the \
             indirect reseller, when there is one).",
        ))
        .attribute(Attribute::new(attr::IDS, Type::list(Type::String)).computed().description("The customer tenant IDs."))
        .attribute(Attribute::number(attr::TOTAL_COUNT).computed().description("How many customers matched."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let query = diags.take(query_from_config(config))?;
        let needs = if query.indirect_reseller_id.is_some() {
            Needs::AppUser
        } else {
            Needs::AppOnly
        };
        let client = ctx.client.client_for(needs, "Listing customers", diags)?;
        // Each page becomes Terraform values as it arrives, so 50,000 customers are never held twice.
        let mut customers = Vec::new();
        let mut ids = Vec::new();
        let mut pages = std::pin::pin!(client.partner_center().customers(&operation_context(ctx), query));
        while let Some(next) = pages.next().await {
            let customer = diags.take(next.map_err(|e| errors::diagnostic("listing customers", &e)))?;
            ids.push(Value::string(customer.id.clone()));
            customers.push(customer_value(customer));
        }
        let count = customers.len() as i64;
        let mut state = config.clone();
        state.set(attr::CUSTOMERS, Value::List(customers));
        state.set(attr::IDS, Value::List(ids));
        state.set(attr::TOTAL_COUNT, Value::Number(Number::Int(count)));
        Some(state)
    }
}
