//! `partnercenter_mpn_id`: the partner's MPN ID (Partner ID), or a check that another partner's ID exists.

use async_trait::async_trait;

use partnercenter_microsoft::partner_center::MpnProfile;

use crate::protocol::{Attribute, Context, DataSource, Diagnostic, Diagnostics, Schema, Validator, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::{errors, operation_context};

pub struct MpnId;

mod attr {
    pub const MPN_ID: &str = "mpn_id";
    pub const PARTNER_NAME: &str = "partner_name";
}

/// The configuration: whose profile to read (`None`: the signed-in partner's own).
struct Request {
    mpn_id: Option<String>,
}

impl Request {
    fn from_config(config: &Value) -> Result<Request, Diagnostic> {
        Ok(Request {
            mpn_id: config.attr::<String>(attr::MPN_ID)?.known(),
        })
    }
}

fn profile_value(profile: MpnProfile) -> Value {
    Value::object([
        (attr::MPN_ID, Value::string(profile.mpn_id)),
        (attr::PARTNER_NAME, Value::from(profile.partner_name)),
    ])
}

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
            Attribute::string(attr::MPN_ID)
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
        .attribute(Attribute::string(attr::PARTNER_NAME).computed().description("The partner's name in the MPN profile."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let request = diags.take(Request::from_config(config))?;
        let client = ctx
            .client
            .client_for(Needs::AppUser, "Reading the MPN profile", diags)?;
        let call = operation_context(ctx);
        let requested = request.mpn_id.as_deref();
        match client.partner_center().mpn_profile(&call, requested).await {
            Ok(profile) => Some(profile_value(profile)),
            Err(e) => {
                diags.push(match requested {
                    Some(id) if e.is_not_found() => {
                        errors::attribute_diagnostic(&format!("looking up MPN ID {id}"), &e, attr::MPN_ID)
                    }
                    _ => errors::diagnostic("reading the MPN profile", &e),
                });
                None
            }
        }
    }
}
