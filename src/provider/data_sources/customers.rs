//! `partnercenter_customers`: every customer of the partner (all pages), optionally filtered.

use async_trait::async_trait;
use futures::StreamExt;
use partnercenter_microsoft::partner_center::CustomerQuery;

use crate::protocol::{Attribute, Context, DataSource, Diagnostics, Number, Schema, Type, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context, validation};

pub struct Customers;

/// Partner Center's largest page that Microsoft's own tooling uses.
const PAGE_SIZE: u32 = 500;

fn customer_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("tenant_id", Type::String),
        ("commerce_id", Type::String),
        ("domain", Type::String),
        ("company_name", Type::String),
        ("relationship_to_partner", Type::String),
        ("associated_partner_id", Type::String),
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
        .attribute(prefix("company_name_prefix", "company name"))
        .attribute(prefix("domain_prefix", "default domain"))
        .attribute(
            Attribute::string("indirect_reseller_id")
                .optional()
                .description("Only the customers of this indirect reseller (its tenant ID); needs a `refresh_token`.")
                .validate(validation::guid("an indirect reseller's tenant ID")),
        )
        .attribute(Attribute::new("customers", Type::list(customer_type())).computed().description(
            "The customers: `id` and `tenant_id` (the customer tenant), `commerce_id`, `domain`, `company_name`, \
             `relationship_to_partner` (`none`, `reseller`, `advisor`, ...) and `associated_partner_id` (the \
             indirect reseller, when there is one).",
        ))
        .attribute(Attribute::new("ids", Type::list(Type::String)).computed().description("The customer tenant IDs."))
        .attribute(Attribute::number("total_count").computed().description("How many customers matched."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let query = CustomerQuery {
            company_name_prefix: config.known("company_name_prefix"),
            domain_prefix: config.known("domain_prefix"),
            indirect_reseller_id: config.known("indirect_reseller_id"),
            page_size: Some(PAGE_SIZE),
        };
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
            let c = match next {
                Ok(c) => c,
                Err(e) => {
                    diags.push(errors::diagnostic("listing customers", &e));
                    return None;
                }
            };
            ids.push(Value::string(c.id.clone()));
            customers.push(Value::object([
                ("id", Value::string(c.id)),
                ("tenant_id", Value::string(c.tenant_id)),
                ("commerce_id", Value::from(c.commerce_id)),
                ("domain", Value::string(c.domain)),
                ("company_name", Value::string(c.company_name)),
                (
                    "relationship_to_partner",
                    Value::string(c.relationship_to_partner.as_str()),
                ),
                ("associated_partner_id", Value::from(c.associated_partner_id)),
            ]));
        }
        let count = customers.len() as i64;
        let mut state = config.clone();
        state.set("customers", Value::List(customers));
        state.set("ids", Value::List(ids));
        state.set("total_count", Value::Number(Number::Int(count)));
        Some(state)
    }
}
