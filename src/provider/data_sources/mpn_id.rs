//! `partnercenter_mpn_id`: the partner's MPN ID (Partner ID), or a check that another partner's ID exists.

use async_trait::async_trait;

use crate::protocol::{Attribute, Context, DataSource, Diagnostics, Schema, Validator, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context};

pub struct MpnId;

#[async_trait]
impl DataSource<Configured> for MpnId {
    fn type_name(&self) -> &'static str {
        "partnercenter_mpn_id"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "The partner's MPN ID (Partner ID), the number cost-management tools ask for. Set `mpn_id` to check \
             that another partner's ID exists and read its name. Partner Center serves this to App+User \
             credentials only: the provider needs a `refresh_token`.",
        )
        .attribute(
            Attribute::string("mpn_id")
                .optional()
                .computed()
                .description("The MPN ID to look up; leave unset for the signed-in partner's own.")
                .validate(Validator::string("digits only", |s| {
                    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                        Ok(())
                    } else {
                        Err(format!("\"{s}\" is not an MPN ID: it has digits only, like 4391507."))
                    }
                })),
        )
        .attribute(Attribute::string("partner_name").computed().description("The partner's name in the MPN profile."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let client = ctx
            .client
            .client_for(Needs::AppUser, "Reading the MPN profile", diags)?;
        let requested = config.get("mpn_id").as_str();
        let call = operation_context(ctx);
        match client.partner_center().mpn_profile(&call, requested).await {
            Ok(profile) => Some(Value::object([
                ("mpn_id", Value::string(profile.mpn_id)),
                ("partner_name", Value::from(profile.partner_name)),
            ])),
            Err(e) if requested.is_some() && e.is_not_found() => {
                diags.push(errors::attribute_diagnostic(
                    &format!("looking up MPN ID {}", requested.unwrap_or_default()),
                    &e,
                    "mpn_id",
                ));
                None
            }
            Err(e) => {
                diags.push(errors::diagnostic("reading the MPN profile", &e));
                None
            }
        }
    }
}
