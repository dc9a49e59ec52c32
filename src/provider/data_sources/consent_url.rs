//! `partnercenter_consent_url`: the sign-in link that grants consent and yields the refresh token the
//! cost-management tools ask for. Pure: built from the configuration, no network.

use async_trait::async_trait;
use partnercenter_microsoft::login::{AuthorizeParams, authorize_url, partner_center_user_scopes};

use crate::protocol::{Attr, Attribute, Context, DataSource, Diagnostics, Schema, Type, Validator, Value};
use crate::provider::config::Configured;
use crate::provider::validation;

pub struct ConsentUrl;

fn tenant_validator() -> Validator {
    Validator::string("a tenant id, a domain, `organizations` or `common`", |s| {
        if validation::is_guid(s) || s.contains('.') || ["organizations", "common"].contains(&s) {
            Ok(())
        } else {
            Err(format!(
                "\"{s}\" is not a tenant: use the Directory (tenant) ID GUID, a verified domain such as \
                 contoso.onmicrosoft.com, or \"organizations\" (any work account)."
            ))
        }
    })
}

fn redirect_validator() -> Validator {
    Validator::string("an absolute URL", |s| match url::Url::parse(s) {
        Ok(u) if u.has_host() => Ok(()),
        _ => Err(format!(
            "\"{s}\" is not an absolute URL; use the redirect URI registered on the web app, e.g. \
             http://localhost:8400 or https://app.example.com/callback."
        )),
    })
}

#[async_trait]
impl DataSource<Configured> for ConsentUrl {
    fn type_name(&self) -> &'static str {
        "partnercenter_consent_url"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Builds the Entra ID sign-in URL a partner admin opens (in a private window) to consent to the web \
             app's delegated permissions; the sign-in returns the authorization code that becomes the refresh \
             token cost-management tools ask for. Built locally: no network call.",
        )
        .attribute(
            Attribute::string("client_id")
                .required()
                .description("The App ID of the web app that asks for consent.")
                .validate(validation::guid("the App ID of the web app")),
        )
        .attribute(
            Attribute::string("redirect_uri")
                .required()
                .description("Where Entra ID sends the browser back; must be a redirect URI registered on the app.")
                .validate(redirect_validator()),
        )
        .attribute(
            Attribute::string("tenant_id")
                .optional()
                .computed()
                .description("The tenant to sign in to: a tenant id, a domain, or `organizations` (default).")
                .validate(tenant_validator()),
        )
        .attribute(
            Attribute::new("scopes", Type::list(Type::String))
                .optional()
                .computed()
                .description(
                    "The scopes to consent to. Defaults to Partner Center's `user_impersonation` and \
                     `offline_access` (which returns a refresh token), on the audience of the configured \
                     environment.",
                )
                .validate(validation::not_blank()),
        )
        .attribute(Attribute::string("url").computed().description("The sign-in URL."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let configured = &ctx.client;
        diags.take(configured.require_known(&["environment", "endpoints"], "The consent URL"))?;
        let tenant = config
            .known::<String>("tenant_id")
            .unwrap_or_else(|| "organizations".to_owned());
        let scopes = match config.attr::<Vec<String>>("scopes") {
            Ok(Attr::Known(scopes)) => scopes,
            Ok(_) => partner_center_user_scopes(configured.environment)
                .split(' ')
                .map(str::to_owned)
                .collect(),
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let joined = scopes.join(" ");
        let params = AuthorizeParams {
            tenant: &tenant,
            client_id: config.get("client_id").as_str().unwrap_or_default(),
            redirect_uri: config.get("redirect_uri").as_str().unwrap_or_default(),
            scopes: &joined,
            state: "partnercenter",
            prompt: Some("consent"),
            ..Default::default()
        };
        match authorize_url(&configured.endpoints.login, &params) {
            Ok(url) => {
                let mut state = config.clone();
                state.set("tenant_id", Value::string(tenant));
                state.set(
                    "scopes",
                    Value::List(scopes.into_iter().map(Value::String).collect()),
                );
                state.set("url", Value::string(url.to_string()));
                Some(state)
            }
            Err(e) => {
                diags.error("Cannot build the consent URL", e.to_string());
                None
            }
        }
    }
}
