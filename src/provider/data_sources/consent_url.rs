//! `partnercenter_consent_url`: the sign-in link that grants consent and yields the refresh token the
//! cost-management tools ask for. Pure: built from the configuration, no network.

use async_trait::async_trait;
use partnercenter_microsoft::login::{AuthorizeParams, authorize_url, partner_center_user_scopes};

use crate::protocol::{
    Attribute, Context, DataSource, Diagnostic, Diagnostics, Schema, Type, Validator, Value,
};
use crate::provider::config::Configured;
use crate::provider::validation;

pub struct ConsentUrl;

mod attr {
    pub const CLIENT_ID: &str = "client_id";
    pub const REDIRECT_URI: &str = "redirect_uri";
    pub const TENANT_ID: &str = "tenant_id";
    pub const SCOPES: &str = "scopes";
    pub const URL: &str = "url";
}

/// Any work account: the tenant when the configuration names none.
const ANY_ORGANIZATION: &str = "organizations";

/// The configuration; `None` where the data source fills in a default.
struct Request {
    client_id: String,
    redirect_uri: String,
    tenant: Option<String>,
    scopes: Option<Vec<String>>,
}

impl Request {
    fn from_config(config: &Value) -> Result<Request, Diagnostic> {
        Ok(Request {
            client_id: config
                .attr::<String>(attr::CLIENT_ID)?
                .known()
                .unwrap_or_default(),
            redirect_uri: config
                .attr::<String>(attr::REDIRECT_URI)?
                .known()
                .unwrap_or_default(),
            tenant: config.attr::<String>(attr::TENANT_ID)?.known(),
            scopes: config.attr::<Vec<String>>(attr::SCOPES)?.known(),
        })
    }
}

fn tenant_validator() -> Validator {
    Validator::string("a tenant id, a domain, `organizations` or `common`", |s| {
        if validation::is_guid(s) || s.contains('.') || [ANY_ORGANIZATION, "common"].contains(&s) {
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
            Attribute::string(attr::CLIENT_ID)
                .required()
                .description("The App ID of the web app that asks for consent.")
                .validate(validation::guid("the App ID of the web app")),
        )
        .attribute(
            Attribute::string(attr::REDIRECT_URI)
                .required()
                .description("Where Entra ID sends the browser back; must be a redirect URI registered on the app.")
                .validate(redirect_validator()),
        )
        .attribute(
            Attribute::string(attr::TENANT_ID)
                .optional()
                .computed()
                .description("The tenant to sign in to: a tenant id, a domain, or `organizations` (default).")
                .validate(tenant_validator()),
        )
        .attribute(
            Attribute::new(attr::SCOPES, Type::list(Type::String))
                .optional()
                .computed()
                .description(
                    "The scopes to consent to. Defaults to Partner Center's `user_impersonation` and \
                     `offline_access` (which returns a refresh token), on the audience of the configured \
                     environment.",
                )
                .validate(validation::not_blank()),
        )
        .attribute(Attribute::string(attr::URL).computed().description("The sign-in URL."))
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let request = diags.take(Request::from_config(config))?;
        let configured = &ctx.client;
        diags.take(configured.require_known(&["environment", "endpoints"], "The consent URL"))?;
        let tenant = request.tenant.unwrap_or_else(|| ANY_ORGANIZATION.to_owned());
        let scopes = request.scopes.unwrap_or_else(|| {
            partner_center_user_scopes(configured.environment)
                .split(' ')
                .map(str::to_owned)
                .collect()
        });
        let joined = scopes.join(" ");
        let params = AuthorizeParams {
            tenant: &tenant,
            client_id: &request.client_id,
            redirect_uri: &request.redirect_uri,
            scopes: &joined,
            state: "partnercenter",
            prompt: Some("consent"),
            ..Default::default()
        };
        let url = authorize_url(&configured.endpoints.login, &params)
            .map_err(|e| Diagnostic::error("Cannot build the consent URL", e.to_string()));
        let url = diags.take(url)?;
        let mut state = config.clone();
        state.set(attr::TENANT_ID, Value::string(tenant));
        state.set(
            attr::SCOPES,
            Value::List(scopes.into_iter().map(Value::String).collect()),
        );
        state.set(attr::URL, Value::string(url.to_string()));
        Some(state)
    }
}
