//! `partnercenter_web_app_key` as a list resource (Terraform 1.14+ `terraform query`): every key of one
//! web app, each as the state `terraform import` would give it, so a query can adopt existing keys (its
//! `-generate-config-out` writes `import` blocks by identity plus resource blocks). One Graph read lists
//! them all.

use async_trait::async_trait;

use crate::protocol::{Attribute, Context, Diagnostics, ListResource, Listing, Schema, Value};
use crate::provider::config::{Configured, Needs};
use crate::provider::resources::web_app_key::{self, attr};
use crate::provider::{operation_context, validation};

pub struct WebAppKeyList;

const DISPLAY_NAME_PREFIX: &str = "display_name_prefix";

#[async_trait]
impl ListResource<Configured> for WebAppKeyList {
    fn type_name(&self) -> &'static str {
        web_app_key::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Every secret key of an app registration (the Partner Center web app), for `terraform query`: each \
             result carries the key's identity (`application_id`, `key_id`) and, with `include_resource = true`, \
             the state `terraform import` gives (no `value`: Microsoft never returns a secret again).",
        )
        .attribute(
            Attribute::string(attr::APPLICATION_ID)
                .required()
                .description("The App ID of the application whose keys to list.")
                .validate(validation::guid("the web app's App ID")),
        )
        .attribute(
            Attribute::string(DISPLAY_NAME_PREFIX)
                .optional()
                .description("Only keys whose display name starts with this (case-insensitive).")
                .validate(validation::not_blank()),
        )
    }

    async fn list(&self, ctx: &Context<Configured>, config: &Value, out: &mut Listing) {
        let Some(app_id) = config.known::<String>(attr::APPLICATION_ID) else {
            // The schema makes it required and the server refuses unknown configuration: a bug if reached.
            let mut diags = Diagnostics::new();
            diags.error(
                "application_id is not known",
                "Set application_id in the list block's config.",
            );
            out.diagnostics(diags).await;
            return;
        };
        let prefix = config
            .known::<String>(DISPLAY_NAME_PREFIX)
            .map(|p| p.to_lowercase());
        let configured = &ctx.client;
        let mut diags = Diagnostics::new();
        let Some(client) = configured.client_for(Needs::AppOnly, "Listing web app keys", &mut diags) else {
            out.diagnostics(diags).await;
            return;
        };
        let call = operation_context(ctx);
        // The same patient read as import: an application created moments ago is not "not found".
        let app = match web_app_key::application_for_write(configured, client, &call, &app_id).await {
            Ok(app) => app,
            Err(d) => {
                diags.push(d);
                out.diagnostics(diags).await;
                return;
            }
        };
        let now = client.now();
        for key in &app.password_credentials {
            let name = key.display_name.clone().unwrap_or_default();
            if prefix
                .as_deref()
                .is_some_and(|p| !name.to_lowercase().starts_with(p))
            {
                continue;
            }
            let state = web_app_key::imported_state(&app_id, key, now);
            let display = state
                .known::<String>(attr::DISPLAY_NAME)
                .map_or_else(|| key.key_id.clone(), |n| format!("{n} ({})", key.key_id));
            if !out.push(display, &state).await {
                return;
            }
        }
    }
}
