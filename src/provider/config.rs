//! The provider block: its schema, environment-variable fallbacks, and turning it into a Microsoft client.
//!
//! Every credential is optional here: a block without credentials is valid, and an operation that needs a
//! credential says which one (see [`Configured::require`]). Each argument is described once, in the
//! settings table below, which feeds the schema text, the environment lookup and the "missing" message.

use std::path::Path;

use partnercenter_microsoft::{
    Client, ClientOptions, Credentials, Endpoints, Environment, FederatedToken, Secret,
};
use url::Url;

use super::validation;
use crate::protocol::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Validator, Value,
};

// ---------------------------------------------------------------------------------------------------------
// The settings

/// One provider argument: its name, the environment variables that stand in for it (tried in order), and
/// what it is.
pub struct Setting {
    pub name: &'static str,
    pub env: &'static [&'static str],
    about: &'static str,
}

impl Setting {
    /// The schema description: what it is, then its environment variables.
    fn description(&self) -> String {
        let vars: Vec<String> = self.env.iter().map(|v| format!("`{v}`")).collect();
        match vars.as_slice() {
            [] => self.about.to_owned(),
            [one] => format!("{} Can also be set with {one}.", self.about),
            [first, rest @ ..] => format!(
                "{} Can also be set with {first}, then {}.",
                self.about,
                rest.join(", then ")
            ),
        }
    }

    /// How a "missing credentials" message names it.
    fn as_missing(&self) -> String {
        format!("`{}` (or {})", self.name, self.env[0])
    }

    /// Its value from the block, else from the first environment variable that is set.
    fn lookup(
        &self,
        block: &Value,
        path: AttributePath,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Found> {
        if let Some(v) = block.get(self.name).as_str() {
            return Some(Found {
                value: v.to_owned(),
                source: Source::Attribute(path),
            });
        }
        self.env.iter().find_map(|var| {
            env(var).filter(|v| !v.trim().is_empty()).map(|value| Found {
                value,
                source: Source::Env(var.to_string()),
            })
        })
    }
}

const TENANT_ID: Setting = Setting {
    name: "tenant_id",
    env: &["PARTNERCENTER_TENANT_ID", "ARM_TENANT_ID"],
    about: "The partner tenant's Directory (tenant) ID (Partner Center calls it Account ID).",
};
const CLIENT_ID: Setting = Setting {
    name: "client_id",
    env: &["PARTNERCENTER_CLIENT_ID", "ARM_CLIENT_ID"],
    about: "The App ID (Application (client) ID) of the Partner Center web app.",
};
const CLIENT_SECRET: Setting = Setting {
    name: "client_secret",
    env: &["PARTNERCENTER_CLIENT_SECRET", "ARM_CLIENT_SECRET"],
    about: "A key (client secret) of the web app, for app-only calls (Graph, the customer list).",
};
const CLIENT_SECRET_FILE_PATH: Setting = Setting {
    name: "client_secret_file_path",
    env: &["PARTNERCENTER_CLIENT_SECRET_FILE_PATH"],
    about: "A file holding the client secret (trailing newline ignored); conflicts with `client_secret`.",
};
const REFRESH_TOKEN: Setting = Setting {
    name: "refresh_token",
    env: &["PARTNERCENTER_REFRESH_TOKEN"],
    about: "A Secure Application Model refresh token (app+user), needed for the MPN ID, domain and indirect \
            reseller data sources. Get one with `terraform-provider-partnercenter login`.",
};
const REFRESH_TOKEN_FILE_PATH: Setting = Setting {
    name: "refresh_token_file_path",
    env: &["PARTNERCENTER_REFRESH_TOKEN_FILE_PATH"],
    about: "A file holding the refresh token, as written by `terraform-provider-partnercenter login --out`; \
            conflicts with `refresh_token`.",
};
const USE_OIDC: Setting = Setting {
    name: "use_oidc",
    env: &["PARTNERCENTER_USE_OIDC", "ARM_USE_OIDC"],
    about: "Authenticate the web app with a federated (OIDC) token instead of a secret: `ARM_OIDC_TOKEN`, \
            `ARM_OIDC_TOKEN_FILE_PATH`, or GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_URL` and \
            `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.",
};
const ENVIRONMENT: Setting = Setting {
    name: "environment",
    env: &["PARTNERCENTER_ENVIRONMENT"],
    about: "The Microsoft cloud: `public` (default), `usgovernment` or `china`.",
};
const ENDPOINTS: &str = "endpoints";
const LOGIN_ENDPOINT: Setting = Setting {
    name: "login",
    env: &["PARTNERCENTER_LOGIN_ENDPOINT"],
    about: "Overrides the Entra ID login endpoint, e.g. for a proxy or the local emulator. Plain `http://` is \
            accepted only for loopback hosts.",
};
const GRAPH_ENDPOINT: Setting = Setting {
    name: "graph",
    env: &["PARTNERCENTER_GRAPH_ENDPOINT"],
    about: "Overrides the Microsoft Graph endpoint, e.g. for a proxy or the local emulator. Plain `http://` is \
            accepted only for loopback hosts.",
};
const PARTNER_CENTER_ENDPOINT: Setting = Setting {
    name: "partner_center",
    env: &["PARTNERCENTER_PARTNER_CENTER_ENDPOINT"],
    about: "Overrides the Partner Center API endpoint, e.g. for a proxy or the local emulator. Plain `http://` \
            is accepted only for loopback hosts.",
};

const ENVIRONMENTS: [&str; 3] = ["public", "usgovernment", "china"];

// ---------------------------------------------------------------------------------------------------------
// Schema and validation

pub fn schema() -> Schema {
    let string = |s: &Setting, check: Validator| {
        Attribute::string(s.name)
            .optional()
            .description(&s.description())
            .validate(check)
    };
    let endpoint = |s: &Setting| string(s, validation::endpoint());
    Schema::new(
        "The Partner Center provider manages the web app key, delegated permissions and admin consent that \
         cost-management tools ask CSP partners for, and reads the partner's MPN ID, default domain, customers \
         and indirect resellers.",
    )
    .attribute(string(&TENANT_ID, validation::guid("the Directory (tenant) ID of the partner tenant")))
    .attribute(string(&CLIENT_ID, validation::guid("the App ID of the Partner Center web app")))
    .attribute(string(&CLIENT_SECRET, validation::not_blank()).sensitive())
    .attribute(string(&CLIENT_SECRET_FILE_PATH, validation::not_blank()))
    .attribute(string(&REFRESH_TOKEN, validation::not_blank()).sensitive())
    .attribute(string(&REFRESH_TOKEN_FILE_PATH, validation::not_blank()))
    .attribute(Attribute::bool(USE_OIDC.name).optional().description(&USE_OIDC.description()))
    .attribute(string(&ENVIRONMENT, validation::one_of(&ENVIRONMENTS)))
    .block(NestedBlock::new(
        ENDPOINTS,
        Nesting::Single,
        Block::new("Endpoint overrides. Token audiences always follow `environment`, never these URLs.")
            .attribute(endpoint(&LOGIN_ENDPOINT))
            .attribute(endpoint(&GRAPH_ENDPOINT))
            .attribute(endpoint(&PARTNER_CENTER_ENDPOINT)),
    ))
}

/// Checks that need more than one attribute; no network, no files.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    for (value, file) in [
        (&CLIENT_SECRET, &CLIENT_SECRET_FILE_PATH),
        (&REFRESH_TOKEN, &REFRESH_TOKEN_FILE_PATH),
    ] {
        if !config.get(value.name).is_null() && !config.get(file.name).is_null() {
            diags.attribute_error(
                AttributePath::root(file.name),
                "Conflicting configuration arguments",
                format!(
                    "\"{}\" and \"{}\" cannot both be set; keep one of them.",
                    file.name, value.name
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// What configuring produces

/// A credential an operation may need, for "what is missing" diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// tenant + client id + secret or OIDC (or a refresh token): Graph and the customer list.
    AppOnly,
    /// tenant + client id + refresh token: the App+User-only Partner Center routes.
    AppUser,
}

/// What `ConfigureProvider` produced: the settings and one shared Microsoft client.
pub struct Configured {
    pub environment: Environment,
    pub endpoints: Endpoints,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    has_app_credential: bool,
    has_refresh_token: bool,
    /// Provider arguments whose values are not known yet (they depend on resources not yet created):
    /// operations that need Microsoft wait for them; network-free ones (validation, planning without
    /// reads, the consent URL when its own inputs are known) go ahead.
    pub unknown: Vec<String>,
    pub client: Client,
    /// Key Vault, for keys whose secret goes there (one instance: it remembers each vault's challenge).
    pub key_vault: partnercenter_microsoft::KeyVault,
    /// Coalesced reads and per-application write locks, shared by the key and permission resources.
    pub applications: super::applications::Applications,
}

impl Configured {
    /// The client, or `None` after reporting which credentials `operation` lacks.
    pub fn client_for(&self, needs: Needs, operation: &str, diags: &mut Diagnostics) -> Option<&Client> {
        diags.take(self.require(needs, operation))
    }

    /// A diagnostic when any of `arguments` (as `unknown` names them, e.g. "`environment`") is not known
    /// yet; `operation` uses them without the network.
    pub fn require_known(&self, arguments: &[&str], operation: &str) -> Result<(), Diagnostic> {
        let pending: Vec<&String> = self
            .unknown
            .iter()
            .filter(|u| arguments.iter().any(|a| u.trim_matches('`').starts_with(a)))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        Err(Diagnostic::error(
            "Provider configuration is not yet known",
            format!(
                "{operation} needs the provider's {}, known only after apply. Apply the resources it comes from \
                 first (terraform apply -target=...).",
                pending.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ))
    }

    /// The client, or a diagnostic naming the missing credentials for `operation` and how to provide them.
    pub fn require(&self, needs: Needs, operation: &str) -> Result<&Client, Diagnostic> {
        if !self.unknown.is_empty() {
            return Err(Diagnostic::error(
                "Provider configuration is not yet known",
                format!(
                    "{operation} needs the provider's {}, which depend{} on values known only after apply. Apply \
                     the resources they come from first (terraform apply -target=...), then this one.",
                    self.unknown.join(", "),
                    if self.unknown.len() == 1 { "s" } else { "" }
                ),
            ));
        }
        let mut missing = Vec::new();
        if self.tenant_id.is_none() {
            missing.push(TENANT_ID.as_missing());
        }
        if self.client_id.is_none() {
            missing.push(CLIENT_ID.as_missing());
        }
        match needs {
            Needs::AppOnly if !self.has_app_credential => missing.push(format!(
                "`{}`, `{}` or `{}` (or {})",
                CLIENT_SECRET.name, CLIENT_SECRET_FILE_PATH.name, USE_OIDC.name, CLIENT_SECRET.env[0]
            )),
            Needs::AppUser if !self.has_refresh_token => missing.push(format!(
                "`{}` or `{}` (or {}); get one with `terraform-provider-partnercenter login --tenant-id <tenant> \
                 --client-id <app id>`",
                REFRESH_TOKEN.name, REFRESH_TOKEN_FILE_PATH.name, REFRESH_TOKEN.env[0]
            )),
            _ => {}
        }
        if missing.is_empty() {
            return Ok(&self.client);
        }
        let kind = match needs {
            Needs::AppOnly => "app-only (client credentials)",
            Needs::AppUser => "app+user (Secure Application Model refresh token)",
        };
        Err(Diagnostic::error(
            "Missing provider credentials",
            format!(
                "{operation} needs {kind} credentials, but the provider block lacks: {}.",
                missing.join("; ")
            ),
        ))
    }
}

/// Reads the provider block with its environment fallbacks; reports problems on the attribute (or the
/// environment variable) they come from.
pub fn configure(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) -> Option<Configured> {
    // Terraform configures even when values depend on resources not yet created; only operations that
    // need those values fail (Configured::require), so network-free ones still work.
    let unknown = unknown_arguments(config);
    let config = &without_unknowns(config);
    let tenant_id = guid_setting(config, env, &TENANT_ID, diags);
    let client_id = guid_setting(config, env, &CLIENT_ID, diags);
    let environment = environment(config, env, diags);
    let endpoints = endpoints(config, env, environment, diags);
    let client_secret = secret_setting(config, env, &CLIENT_SECRET, &CLIENT_SECRET_FILE_PATH, diags);
    let refresh_token = secret_setting(config, env, &REFRESH_TOKEN, &REFRESH_TOKEN_FILE_PATH, diags);
    let federated = if uses_oidc(config, env) {
        federated_token(env, diags)
    } else {
        None
    };
    if diags.has_errors() {
        return None;
    }
    let has_app_credential = client_secret.is_some() || federated.is_some();
    let has_refresh_token = refresh_token.is_some();
    let credentials = Credentials {
        tenant_id: tenant_id.clone().unwrap_or_default(),
        client_id: client_id.clone().unwrap_or_default(),
        client_secret,
        refresh_token,
        federated,
    };
    let mut options = ClientOptions::new(environment, credentials);
    options.endpoints = endpoints.clone();
    options.user_agent = format!("terraform-provider-partnercenter/{}", env!("CARGO_PKG_VERSION"));
    match Client::new(options) {
        Ok(client) => Some(Configured {
            environment,
            endpoints,
            tenant_id,
            client_id,
            has_app_credential,
            has_refresh_token,
            unknown,
            key_vault: client.key_vault(),
            client,
            applications: Default::default(),
        }),
        Err(e) => {
            diags.error("Invalid provider configuration", e.to_string());
            None
        }
    }
}

/// A GUID setting (tenant, client), reported where it came from when it is not a GUID.
fn guid_setting(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    setting: &Setting,
    diags: &mut Diagnostics,
) -> Option<String> {
    let found = setting.lookup(config, AttributePath::root(setting.name), env)?;
    if !validation::is_guid(&found.value) {
        found.report(
            diags,
            "Invalid GUID",
            &format!(
                "\"{}\" is not a GUID like 00000000-0000-0000-0000-000000000000.",
                found.value
            ),
        );
    }
    Some(found.value)
}

fn environment(config: &Value, env: &dyn Fn(&str) -> Option<String>, diags: &mut Diagnostics) -> Environment {
    match ENVIRONMENT.lookup(config, AttributePath::root(ENVIRONMENT.name), env) {
        None => Environment::Public,
        Some(found) => found.value.parse::<Environment>().unwrap_or_else(|e| {
            found.report(diags, "Invalid environment", &e.to_string());
            Environment::Public
        }),
    }
}

/// The environment's endpoints with the block's (or the environment variables') overrides.
fn endpoints(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    environment: Environment,
    diags: &mut Diagnostics,
) -> Endpoints {
    let mut endpoints = environment.endpoints();
    let block = config.get(ENDPOINTS);
    let slots: [(&Setting, &mut Url); 3] = [
        (&LOGIN_ENDPOINT, &mut endpoints.login),
        (&GRAPH_ENDPOINT, &mut endpoints.graph),
        (&PARTNER_CENTER_ENDPOINT, &mut endpoints.partner_center),
    ];
    for (setting, slot) in slots {
        let path = AttributePath::root(ENDPOINTS).attribute(setting.name);
        let Some(found) = setting.lookup(block, path, env) else {
            continue;
        };
        match validation::endpoint_url(&found.value) {
            Ok(url) => *slot = url,
            Err(e) => found.report(diags, "Invalid endpoint", &e),
        }
    }
    endpoints
}

fn uses_oidc(config: &Value, env: &dyn Fn(&str) -> Option<String>) -> bool {
    match config.get(USE_OIDC.name).as_bool() {
        Some(b) => b,
        None => USE_OIDC
            .env
            .iter()
            .find_map(|v| env(v))
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
    }
}

/// The provider arguments (and `endpoints.*`) whose values are unknown, as users name them.
fn unknown_arguments(config: &Value) -> Vec<String> {
    let Some(fields) = config.entries() else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    for (name, value) in fields {
        if value.is_wholly_known() {
            continue;
        }
        match value.entries() {
            Some(nested) => unknown.extend(
                nested
                    .iter()
                    .filter(|(_, v)| !v.is_wholly_known())
                    .map(|(inner, _)| format!("`{name}.{inner}`")),
            ),
            None => unknown.push(format!("`{name}`")),
        }
    }
    unknown
}

/// The configuration with unknown values as null: what is known is used as usual (an unknown argument
/// is never replaced by its environment fallback: require() refuses operations while it is unknown).
fn without_unknowns(config: &Value) -> Value {
    match config {
        Value::Unknown => Value::Null,
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), without_unknowns(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Where a setting came from, so a diagnostic can point at it.
enum Source {
    Attribute(AttributePath),
    Env(String),
}

/// A setting's value and where it came from.
struct Found {
    value: String,
    source: Source,
}

impl Found {
    fn report(&self, diags: &mut Diagnostics, summary: &str, detail: &str) {
        match &self.source {
            Source::Attribute(path) => diags.attribute_error(path.clone(), summary, detail),
            Source::Env(var) => {
                diags.error(summary, format!("From the environment variable {var}: {detail}"))
            }
        }
    }
}

/// A secret given directly or through a file, from the block or the environment.
fn secret_setting(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    value: &Setting,
    file: &Setting,
    diags: &mut Diagnostics,
) -> Option<Secret> {
    if let Some(v) = config.get(value.name).as_str() {
        return Some(Secret::new(v));
    }
    if let Some(path) = config.get(file.name).as_str() {
        return read_secret_file(
            path,
            diags,
            || AttributePath::root(file.name).to_string(),
            Some(file.name),
        );
    }
    if let Some(v) = value
        .env
        .iter()
        .find_map(|var| env(var).filter(|v| !v.is_empty()))
    {
        return Some(Secret::new(v));
    }
    for var in file.env {
        if let Some(path) = env(var).filter(|v| !v.is_empty()) {
            return read_secret_file(&path, diags, || format!("the environment variable {var}"), None);
        }
    }
    None
}

fn read_secret_file(
    path: &str,
    diags: &mut Diagnostics,
    origin: impl Fn() -> String,
    attribute: Option<&str>,
) -> Option<Secret> {
    let problem = match std::fs::read_to_string(Path::new(path)) {
        Ok(text) if !text.trim().is_empty() => return Some(Secret::new(text.trim_end_matches(['\r', '\n']))),
        Ok(_) => format!("The file {path} (from {}) is empty.", origin()),
        Err(e) => format!(
            "Cannot read {path} (from {}): {e}. Check the path and its permissions.",
            origin()
        ),
    };
    match attribute {
        Some(a) => diags.attribute_error(AttributePath::root(a), "Cannot read secret file", problem),
        None => diags.error("Cannot read secret file", problem),
    }
    None
}

fn federated_token(env: &dyn Fn(&str) -> Option<String>, diags: &mut Diagnostics) -> Option<FederatedToken> {
    if let Some(token) = env("ARM_OIDC_TOKEN").filter(|v| !v.is_empty()) {
        return Some(FederatedToken::Assertion(Secret::new(token)));
    }
    if let Some(path) = env("ARM_OIDC_TOKEN_FILE_PATH").filter(|v| !v.is_empty()) {
        return read_secret_file(&path, diags, || "ARM_OIDC_TOKEN_FILE_PATH".into(), None)
            .map(FederatedToken::Assertion);
    }
    match (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        (Some(url), Some(token)) if !url.is_empty() && !token.is_empty() => {
            Some(FederatedToken::GitHubActions {
                request_url: url,
                request_token: Secret::new(token),
            })
        }
        _ => {
            diags.attribute_error(
                AttributePath::root("use_oidc"),
                "No OIDC token available",
                "use_oidc is true, but none of ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH or \
                 ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN is set. In GitHub Actions, grant the \
                 job `permissions: id-token: write`.",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn block(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::null_object(&schema().value_type());
        for (k, val) in pairs {
            v.set(k, val.clone());
        }
        v
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn an_empty_block_configures_and_operations_say_what_is_missing() {
        let mut diags = Diagnostics::new();
        let c = configure(&block(&[]), &env_of(&[]), &mut diags).unwrap();
        assert!(diags.is_empty());
        let err = c.require(Needs::AppUser, "Reading the MPN profile").unwrap_err();
        assert!(
            err.detail.contains("tenant_id") && err.detail.contains("refresh_token"),
            "{}",
            err.detail
        );
        assert!(err.detail.contains("terraform-provider-partnercenter login"));
    }

    #[test]
    fn attributes_win_over_environment_and_arm_variables_are_a_fallback() {
        let mut diags = Diagnostics::new();
        let env = env_of(&[
            ("ARM_TENANT_ID", "11111111-1111-1111-1111-111111111111"),
            ("PARTNERCENTER_CLIENT_ID", "22222222-2222-2222-2222-222222222222"),
            ("ARM_CLIENT_ID", "33333333-3333-3333-3333-333333333333"),
            ("PARTNERCENTER_CLIENT_SECRET", "s3cret"),
        ]);
        let c = configure(&block(&[]), &env, &mut diags).unwrap();
        assert_eq!(
            c.tenant_id.as_deref(),
            Some("11111111-1111-1111-1111-111111111111")
        );
        assert_eq!(
            c.client_id.as_deref(),
            Some("22222222-2222-2222-2222-222222222222")
        );
        assert!(c.require(Needs::AppOnly, "x").is_ok());

        let c = configure(
            &block(&[("tenant_id", Value::string("44444444-4444-4444-4444-444444444444"))]),
            &env,
            &mut diags,
        )
        .unwrap();
        assert_eq!(
            c.tenant_id.as_deref(),
            Some("44444444-4444-4444-4444-444444444444")
        );
    }

    #[test]
    fn a_bad_environment_variable_is_reported_with_its_name() {
        let mut diags = Diagnostics::new();
        assert!(
            configure(
                &block(&[]),
                &env_of(&[("PARTNERCENTER_TENANT_ID", "contoso")]),
                &mut diags
            )
            .is_none()
        );
        assert!(diags.0[0].detail.contains("PARTNERCENTER_TENANT_ID"));
    }

    #[test]
    fn plain_http_endpoint_is_refused_unless_loopback() {
        let mut diags = Diagnostics::new();
        let endpoints = Value::object([
            ("login", Value::string("http://login.example.com")),
            ("graph", Value::Null),
            ("partner_center", Value::Null),
        ]);
        assert!(configure(&block(&[("endpoints", endpoints)]), &env_of(&[]), &mut diags).is_none());
        assert_eq!(
            diags.0[0].attribute.as_ref().unwrap().to_string(),
            "endpoints.login"
        );
    }

    #[test]
    fn secret_files_are_read_and_missing_files_reported_on_the_attribute() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rt");
        std::fs::write(&file, "token-value\n").unwrap();
        let mut diags = Diagnostics::new();
        let c = configure(
            &block(&[
                ("tenant_id", Value::string("11111111-1111-1111-1111-111111111111")),
                ("client_id", Value::string("22222222-2222-2222-2222-222222222222")),
                ("refresh_token_file_path", Value::string(file.to_str().unwrap())),
            ]),
            &env_of(&[]),
            &mut diags,
        )
        .unwrap();
        assert!(c.require(Needs::AppUser, "x").is_ok());
        assert_eq!(c.client.current_refresh_token().unwrap().expose(), "token-value");

        let mut diags = Diagnostics::new();
        let missing = dir.path().join("nope");
        configure(
            &block(&[(
                "client_secret_file_path",
                Value::string(missing.to_str().unwrap()),
            )]),
            &env_of(&[]),
            &mut diags,
        );
        assert_eq!(
            diags.0[0].attribute.as_ref().unwrap().to_string(),
            "client_secret_file_path"
        );
    }

    #[test]
    fn use_oidc_without_a_token_says_where_tokens_come_from() {
        let mut diags = Diagnostics::new();
        configure(
            &block(&[("use_oidc", Value::Bool(true))]),
            &env_of(&[]),
            &mut diags,
        );
        assert!(diags.0[0].detail.contains("ARM_OIDC_TOKEN"));
    }
}
