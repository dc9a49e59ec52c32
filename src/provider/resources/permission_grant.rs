//! `partnercenter_permission_grant`: one API's delegated permissions on an app registration
//! (`requiredResourceAccess`) plus the tenant-wide admin consent that carries them (an `AllPrincipals`
//! oauth2PermissionGrant), merged with what others wrote and drift-aware.
//!
//! Graph facts relied on (reference/partner-center-api.md §3.4–3.6, §3.9): `requiredResourceAccess` is
//! replaced whole by PATCH, so it is read, merged and written under the per-application lock the key
//! resource shares; a grant's `scope` holds claim values (not ids) and is replaced whole by PATCH; one
//! client/resource pair has at most one `AllPrincipals` grant, so an existing one is adopted, never
//! answered with a 409; new service principals and grants take a while to replicate, and azuread retries
//! the errors that lag produces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use partnercenter_microsoft::graph::{Application, PermissionGrant as GraphGrant};
use partnercenter_microsoft::{
    CallContext, Client, ConsentType, Error, NewGrant, RequiredResourceAccess, ResourceAccess,
    ResourceAccessKind, ServicePrincipal,
};

use crate::protocol::{
    Attribute, AttributePath, Context, Diagnostic, Diagnostics, Identity, PlanRequest, PlannedChange,
    Private, Resource, Schema, Type, Validator, Value,
};
use crate::provider::applications::{Applications, unshare};
use crate::provider::config::{Configured, Needs};
use crate::provider::consistency::{
    self, Absence, Backoff, Verdict, WaitError, is_conflict, replication_lag, until_replicated,
};
use crate::provider::{call_context, detached_context, errors, finishing, timeouts, validation};

pub struct PermissionGrant;

// ---------------------------------------------------------------------------------------------------------
// Model

/// The attribute names, written once.
mod attr {
    pub const APPLICATION_ID: &str = "application_id";
    pub const API: &str = "api";
    pub const SCOPES: &str = "scopes";
    pub const ADMIN_CONSENT: &str = "admin_consent";
    pub const RESOURCE_APP_ID: &str = "resource_app_id";
    pub const CLIENT_SERVICE_PRINCIPAL_ID: &str = "client_service_principal_id";
    pub const RESOURCE_SERVICE_PRINCIPAL_ID: &str = "resource_service_principal_id";
    pub const GRANT_ID: &str = "grant_id";
    pub const SCOPE_IDS: &str = "scope_ids";
    pub const ID: &str = "id";
    pub const TIMEOUTS: &str = "timeouts";
}

/// The APIs users may name by alias; `api` also takes any API's App ID.
const API_ALIASES: [(&str, &str); 4] = [
    ("partner_center", "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"),
    ("dev_center", "4990cffe-04e8-4e8b-808a-1175604b879f"),
    ("azure_ad_graph", "00000002-0000-0000-c000-000000000000"),
    ("microsoft_graph", "00000003-0000-0000-c000-000000000000"),
];

/// Like azuread's delegated permission grant resource: five minutes per operation.
const TIMEOUTS: timeouts::Defaults = timeouts::Defaults {
    create: Duration::from_secs(300),
    read: Duration::from_secs(300),
    update: Duration::from_secs(300),
    delete: Duration::from_secs(300),
};

/// Microsoft's first-party APIs exist in every tenant's view of Microsoft: an App ID that Graph says is
/// no application is a typo, not replication lag, after this long.
const RESOURCE_LAG_BUDGET: Duration = Duration::from_secs(30);

/// The App ID an `api` value names: an alias's, or the GUID itself (lower case, as Graph writes it).
fn resource_app_id(api: &str) -> Option<String> {
    if let Some((_, id)) = API_ALIASES.iter().find(|(alias, _)| *alias == api) {
        return Some((*id).to_owned());
    }
    validation::is_guid(api).then(|| api.to_ascii_lowercase())
}

fn aliases_listed() -> String {
    API_ALIASES
        .iter()
        .map(|(a, id)| format!("\"{a}\" ({id})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What this resource holds for one (application, API) pair: the desired or observed state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Permissions {
    application_id: String,
    resource_app_id: String,
    scopes: BTreeSet<String>,
    admin_consent: bool,
    client_service_principal_id: Option<String>,
    resource_service_principal_id: Option<String>,
    grant_id: Option<String>,
    /// Scope value -> permission id, for every scope this resource requests: those in `scopes`, and any
    /// still requested whose consent was taken away outside Terraform (destroy takes those back too).
    scope_ids: BTreeMap<String, String>,
}

impl Permissions {
    /// What a stored state says Graph holds.
    fn held_in(state: &Value) -> Permissions {
        let optional = |name: &str| state.known::<String>(name);
        Permissions {
            application_id: text(state, attr::APPLICATION_ID),
            resource_app_id: text(state, attr::RESOURCE_APP_ID),
            scopes: strings_of(state.get(attr::SCOPES)),
            admin_consent: state.known::<bool>(attr::ADMIN_CONSENT).unwrap_or(true),
            client_service_principal_id: optional(attr::CLIENT_SERVICE_PRINCIPAL_ID),
            resource_service_principal_id: optional(attr::RESOURCE_SERVICE_PRINCIPAL_ID),
            grant_id: optional(attr::GRANT_ID),
            scope_ids: map_of(state.get(attr::SCOPE_IDS)),
        }
    }

    /// Every scope this resource answers for: held, or requested with its consent taken away.
    fn managed_scopes(&self) -> BTreeSet<String> {
        self.scopes.iter().chain(self.scope_ids.keys()).cloned().collect()
    }

    /// The Terraform value, keeping `api` and `timeouts` as the user wrote them.
    fn to_value(&self, api: &Value, timeouts: &Value) -> Value {
        Value::object([
            (
                attr::ID,
                Value::string(format!("{}/{}", self.application_id, self.resource_app_id)),
            ),
            (attr::APPLICATION_ID, Value::string(self.application_id.clone())),
            (attr::API, api.clone()),
            (attr::SCOPES, string_set(&self.scopes)),
            (attr::ADMIN_CONSENT, Value::Bool(self.admin_consent)),
            (attr::RESOURCE_APP_ID, Value::string(self.resource_app_id.clone())),
            (
                attr::CLIENT_SERVICE_PRINCIPAL_ID,
                Value::from(self.client_service_principal_id.clone()),
            ),
            (
                attr::RESOURCE_SERVICE_PRINCIPAL_ID,
                Value::from(self.resource_service_principal_id.clone()),
            ),
            (attr::GRANT_ID, Value::from(self.grant_id.clone())),
            (attr::SCOPE_IDS, string_map(&self.scope_ids)),
            (attr::TIMEOUTS, timeouts.clone()),
        ])
    }
}

fn string_set(items: &BTreeSet<String>) -> Value {
    Value::Set(items.iter().map(|s| Value::string(s.clone())).collect())
}

fn string_map(items: &BTreeMap<String, String>) -> Value {
    Value::Map(
        items
            .iter()
            .map(|(k, v)| (k.clone(), Value::string(v.clone())))
            .collect(),
    )
}

fn strings_of(value: &Value) -> BTreeSet<String> {
    value
        .elements()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn map_of(value: &Value) -> BTreeMap<String, String> {
    value
        .entries()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Value, name: &str) -> String {
    value.get(name).as_str().unwrap_or_default().to_owned()
}

/// The delegated scopes an API's service principal publishes (enabled ones only): value -> id.
fn published_scopes(sp: &ServicePrincipal) -> BTreeMap<String, String> {
    sp.oauth2_permission_scopes
        .iter()
        .filter(|s| s.is_enabled && !s.value.is_empty())
        .map(|s| (s.value.clone(), s.id.to_ascii_lowercase()))
        .collect()
}

/// Resolves scope values to permission ids, or says (for a diagnostic on `scopes`) which are unknown and
/// what the API publishes.
fn resolve_scopes(
    scopes: &BTreeSet<String>,
    sp: &ServicePrincipal,
) -> Result<BTreeMap<String, String>, Diagnostic> {
    let published = published_scopes(sp);
    let unknown: Vec<&String> = scopes.iter().filter(|s| !published.contains_key(*s)).collect();
    if unknown.is_empty() {
        return Ok(scopes.iter().map(|s| (s.clone(), published[s].clone())).collect());
    }
    let hints: Vec<String> = unknown
        .iter()
        .filter_map(|u| {
            let near = published.keys().find(|p| p.eq_ignore_ascii_case(u))?;
            Some(format!(
                "\"{u}\" is written \"{near}\" (scope values are case-sensitive)"
            ))
        })
        .collect();
    let valid = published
        .keys()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let unknown = unknown
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let name = if sp.display_name.is_empty() {
        "the API".to_owned()
    } else {
        sp.display_name.clone()
    };
    let mut detail = format!(
        "{unknown} {} not a delegated permission (scope) that {name} ({}) publishes in this tenant. Valid \
         values: {}.",
        if unknown.contains(',') { "are" } else { "is" },
        sp.app_id,
        if valid.is_empty() {
            "none".to_owned()
        } else {
            valid
        },
    );
    if !hints.is_empty() {
        detail.push_str(&format!(" Note: {}.", hints.join("; ")));
    }
    Err(Diagnostic::error("Unknown scope", detail).at(AttributePath::root(attr::SCOPES)))
}

/// `requiredResourceAccess` with the `add` ids present and the `remove` ids absent from the entry of
/// `resource_app_id`, as delegated (`Scope`) permissions. Other APIs' entries, app roles and scopes this
/// resource does not name are kept as they are; an entry left empty is dropped. `None` when nothing changes.
fn merge_required_access(
    current: &[RequiredResourceAccess],
    resource_app_id: &str,
    add: &BTreeSet<String>,
    remove: &BTreeSet<String>,
) -> Option<Vec<RequiredResourceAccess>> {
    let mut list = current.to_vec();
    let index = list
        .iter()
        .position(|r| r.resource_app_id.eq_ignore_ascii_case(resource_app_id));
    let index = match index {
        Some(i) => i,
        None if add.is_empty() => return None,
        None => {
            list.push(RequiredResourceAccess {
                resource_app_id: resource_app_id.to_owned(),
                resource_access: Vec::new(),
            });
            list.len() - 1
        }
    };
    let entry = &mut list[index];
    let is_scope =
        |a: &ResourceAccess, id: &str| a.kind == ResourceAccessKind::Scope && a.id.eq_ignore_ascii_case(id);
    entry
        .resource_access
        .retain(|a| !remove.iter().any(|id| is_scope(a, id) && !add.contains(id)));
    for id in add {
        if !entry.resource_access.iter().any(|a| is_scope(a, id)) {
            entry.resource_access.push(ResourceAccess {
                id: id.clone(),
                kind: ResourceAccessKind::Scope,
            });
        }
    }
    if entry.resource_access.is_empty() {
        list.remove(index);
    }
    (list != current).then_some(list)
}

/// The delegated scope ids in the entry of `resource_app_id` (lower case).
fn requested_scope_ids(current: &[RequiredResourceAccess], resource_app_id: &str) -> BTreeSet<String> {
    current
        .iter()
        .filter(|r| r.resource_app_id.eq_ignore_ascii_case(resource_app_id))
        .flat_map(|r| &r.resource_access)
        .filter(|a| a.kind == ResourceAccessKind::Scope)
        .map(|a| a.id.to_ascii_lowercase())
        .collect()
}

/// A grant's space-separated `scope` with `add` present and `remove` absent; other scopes keep their
/// order, new ones are appended.
fn merge_scope(current: &str, add: &BTreeSet<String>, remove: &BTreeSet<String>) -> String {
    let mut scopes: Vec<&str> = current
        .split_whitespace()
        .filter(|s| !remove.contains(*s) || add.contains(*s))
        .collect();
    for s in add {
        if !scopes.contains(&s.as_str()) {
            scopes.push(s);
        }
    }
    scopes.join(" ")
}

/// Parses an import id `<application_id>/<api alias or resource App ID>`.
fn parse_import_id(id: &str) -> Result<(String, String, String), String> {
    let usage = format!(
        "Expected \"<application_id>/<api>\", where <api> is an API's App ID or one of {}, e.g. \
         \"0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/partner_center\".",
        aliases_listed()
    );
    let Some((app, api)) = id.split_once('/') else {
        return Err(format!("\"{id}\" is not a permission grant id. {usage}"));
    };
    if !validation::is_guid(app) {
        return Err(format!(
            "\"{app}\" is not an application's App ID (a GUID). {usage}"
        ));
    }
    let Some(resource) = resource_app_id(api) else {
        return Err(format!("\"{api}\" is not an API. {usage}"));
    };
    Ok((app.to_owned(), api.to_owned(), resource))
}

// ---------------------------------------------------------------------------------------------------------
// Schema

fn api_validator() -> Validator {
    Validator::string("an API's App ID (GUID) or an alias", |s| {
        if resource_app_id(s).is_some() {
            Ok(())
        } else {
            Err(format!(
                "\"{s}\" is neither an API's App ID (a GUID) nor a known alias. Known aliases: {}.",
                aliases_listed()
            ))
        }
    })
}

fn at_least_one_scope() -> Validator {
    Validator::value("at least one scope", |value, path, diags| {
        if matches!(value, Value::Set(items) if items.is_empty()) {
            diags.attribute_error(
                path.clone(),
                format!("Invalid value for {path}"),
                "The set is empty. List the delegated permissions to grant, e.g. [\"user_impersonation\"]; to \
                 remove every permission for this API, remove the resource instead.",
            );
        }
    })
}

#[async_trait]
impl Resource<Configured> for PermissionGrant {
    fn type_name(&self) -> &'static str {
        "partnercenter_permission_grant"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Delegated API permissions of an app registration for one API, plus tenant-wide admin consent: the \
             scopes are merged into the application's `requiredResourceAccess` (entries and scopes written by \
             others are left alone) and, with `admin_consent`, into the `AllPrincipals` oauth2PermissionGrant \
             of the app's service principal for that API (an existing grant is adopted). Missing service \
             principals (the app's, or the API's, e.g. Partner Center's in the partner tenant) are created. \
             Scopes or consent removed outside Terraform show as an in-place update.",
        )
        .attribute(Attribute::string(attr::ID).computed().description("`<application_id>/<resource_app_id>`."))
        .attribute(
            Attribute::string(attr::APPLICATION_ID)
                .required()
                .requires_replace()
                .description("The App ID (client id) of the application that gets the permissions.")
                .validate(validation::guid("the App ID of the application")),
        )
        .attribute(
            Attribute::string(attr::API)
                .required()
                .requires_replace()
                .description(
                    "The API: its App ID, or `partner_center`, `dev_center`, `azure_ad_graph` or \
                     `microsoft_graph`. An alias and its App ID name the same API (no replacement).",
                )
                .validate(api_validator()),
        )
        .attribute(
            Attribute::new(attr::SCOPES, Type::set(Type::String))
                .required()
                .description(
                    "Delegated permission values, e.g. `[\"user_impersonation\"]` or \
                     `[\"Directory.AccessAsUser.All\", \"User.Read\"]`; checked against what the API's service \
                     principal publishes. Updated in place.",
                )
                .validate(validation::not_blank())
                .validate(at_least_one_scope()),
        )
        .attribute(Attribute::bool(attr::ADMIN_CONSENT).default(true).description(
            "Grant tenant-wide admin consent (an `AllPrincipals` oauth2PermissionGrant carries the scopes). \
             Default `true`.",
        ))
        .attribute(Attribute::string(attr::RESOURCE_APP_ID).computed().description("The API's App ID."))
        .attribute(
            Attribute::string(attr::CLIENT_SERVICE_PRINCIPAL_ID)
                .computed()
                .description("Object id of the application's service principal in the tenant."),
        )
        .attribute(
            Attribute::string(attr::RESOURCE_SERVICE_PRINCIPAL_ID)
                .computed()
                .description("Object id of the API's service principal in the tenant."),
        )
        .attribute(Attribute::string(attr::GRANT_ID).computed().description(
            "Id of the oauth2PermissionGrant carrying the scopes; null without `admin_consent`.",
        ))
        .attribute(
            Attribute::new(attr::SCOPE_IDS, Type::map(Type::String))
                .computed()
                .description(
                    "Scope value -> permission id (from the API's service principal) of every scope this \
                     resource requests on the application, including one whose consent was taken away outside \
                     Terraform, which destroy takes back too.",
                ),
        )
        .block(timeouts::block(TIMEOUTS))
    }

    /// Fills what is knowable before apply and checks the scopes against the API's service principal, so an
    /// unknown scope fails the plan before anything is written.
    async fn modify_plan(
        &self,
        ctx: &Context<Configured>,
        request: &PlanRequest<'_>,
        plan: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        let (config, prior) = (request.config, request.prior);
        let (Some(app_id), Some(api)) = (
            config.known::<String>(attr::APPLICATION_ID),
            config.known::<String>(attr::API),
        ) else {
            return;
        };
        let Some(resource) = resource_app_id(&api) else {
            return;
        };
        keep_the_grant_when_only_its_spelling_differs(prior, &app_id, &resource, plan);
        plan_computed_values(prior, &app_id, &resource, plan);
        let scopes = config.get(attr::SCOPES);
        if scopes.is_wholly_known() && !scopes.is_null() {
            plan_scope_ids(ctx, config, &resource, &strings_of(scopes), plan, diags).await;
        }
    }

    async fn create(
        &self,
        ctx: &Context<Configured>,
        planned: &Value,
        _config: &Value,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let timeout = timeouts::get(planned, "create", TIMEOUTS.create);
        converge(ctx, None, planned, timeout, diags).await
    }

    async fn read(
        &self,
        ctx: &Context<Configured>,
        state: &Value,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let Some(client) = diags.take(ctx.client.require(Needs::AppOnly, "Reading a permission grant"))
        else {
            return Some(state.clone());
        };
        let call = call_context(ctx, timeouts::get(state, "read", TIMEOUTS.read));
        let app_id = text(state, attr::APPLICATION_ID);
        match observe_settled(client, &ctx.client.applications, &call, state).await {
            Ok(Some(seen)) => Some(seen.to_value(state.get(attr::API), state.get(attr::TIMEOUTS))),
            Ok(None) if is_import(state) => None,
            Ok(None) => {
                diags.warning(
                    "Application gone: permission grant removed from state",
                    format!(
                        "Application {app_id} no longer exists in the tenant, so its permissions for API {} are \
                         gone too. The next plan creates them again if the configuration still names the \
                         application.",
                        text(state, attr::RESOURCE_APP_ID)
                    ),
                );
                None
            }
            Err(failure) => {
                diags.push(failure.diagnostic());
                Some(state.clone())
            }
        }
    }

    async fn update(
        &self,
        ctx: &Context<Configured>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let timeout = timeouts::get(planned, "update", TIMEOUTS.update);
        converge(ctx, Some(prior), planned, timeout, diags).await
    }

    async fn delete(
        &self,
        ctx: &Context<Configured>,
        prior: &Value,
        _private: &Private,
        diags: &mut Diagnostics,
    ) {
        let Some(client) = ctx
            .client
            .client_for(Needs::AppOnly, "Removing a permission grant", diags)
        else {
            return;
        };
        let call = call_context(ctx, timeouts::get(prior, "delete", TIMEOUTS.delete));
        if let Err(failure) = revoke(client, &ctx.client.applications, &call, prior).await {
            diags.push(failure.diagnostic());
        }
    }

    async fn import(&self, _ctx: &Context<Configured>, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let (app, api, resource) = match parse_import_id(id) {
            Ok(parts) => parts,
            Err(detail) => {
                diags.error("Invalid import id", detail);
                return None;
            }
        };
        // `scopes` and `admin_consent` null tell Read to take whatever the application holds for the API.
        Some(Value::object([
            (attr::ID, Value::string(format!("{app}/{resource}"))),
            (attr::APPLICATION_ID, Value::string(app)),
            (attr::API, Value::string(api)),
            (attr::RESOURCE_APP_ID, Value::string(resource)),
        ]))
    }

    /// Terraform 1.12+: the client app and the API, both GUIDs (read in any case), name the grant.
    fn identity(&self) -> Option<Identity> {
        Some(Identity::from_state([attr::APPLICATION_ID, attr::RESOURCE_APP_ID]).ignore_case())
    }
}

/// An alias and its App ID name the same API, and App IDs are GUIDs compared without case: a change that
/// only respells the pair keeps the grant (taken in place).
fn keep_the_grant_when_only_its_spelling_differs(
    prior: &Value,
    app_id: &str,
    resource: &str,
    plan: &mut PlannedChange,
) {
    if prior.is_null() {
        return;
    }
    let same_app = prior
        .known::<String>(attr::APPLICATION_ID)
        .is_some_and(|before| before.eq_ignore_ascii_case(app_id));
    let same_api = prior
        .known::<String>(attr::RESOURCE_APP_ID)
        .is_some_and(|before| before.eq_ignore_ascii_case(resource));
    if same_app && same_api {
        plan.cancel_replacement_of(attr::API, prior);
        plan.cancel_replacement_of(attr::APPLICATION_ID, prior);
    }
}

/// What is knowable before apply: the id and the API's App ID; the principals and grant of an existing
/// grant carry over; without consent there is no grant.
fn plan_computed_values(prior: &Value, app_id: &str, resource: &str, plan: &mut PlannedChange) {
    let new_object = prior.is_null() || plan.is_replace();
    let kept = |name: &str| match prior.get(name) {
        v @ Value::String(_) if !new_object => v.clone(),
        _ => Value::Unknown,
    };
    let admin_consent = plan.planned.get(attr::ADMIN_CONSENT).as_bool();
    let planned = &mut plan.planned;
    planned.set(attr::ID, Value::string(format!("{app_id}/{resource}")));
    planned.set(attr::RESOURCE_APP_ID, Value::string(resource));
    for name in [
        attr::CLIENT_SERVICE_PRINCIPAL_ID,
        attr::RESOURCE_SERVICE_PRINCIPAL_ID,
    ] {
        planned.set(name, kept(name));
    }
    let grant_id = if admin_consent == Some(false) {
        Value::Null
    } else {
        kept(attr::GRANT_ID)
    };
    planned.set(attr::GRANT_ID, grant_id);
    planned.set(attr::SCOPE_IDS, Value::Unknown);
}

/// Checks the scopes against the API's service principal, so an unknown scope fails the plan before
/// anything is written, and plans their ids.
async fn plan_scope_ids(
    ctx: &Context<Configured>,
    config: &Value,
    resource: &str,
    scopes: &BTreeSet<String>,
    plan: &mut PlannedChange,
    diags: &mut Diagnostics,
) {
    let Some(client) = diags.take(
        ctx.client
            .require(Needs::AppOnly, "Checking the scopes of a permission grant"),
    ) else {
        return;
    };
    let call = call_context(ctx, timeouts::get(config, "read", TIMEOUTS.read));
    match client.graph().service_principal_by_app_id(&call, resource).await {
        Ok(Some(sp)) => match resolve_scopes(scopes, &sp) {
            Ok(ids) => plan.planned.set(attr::SCOPE_IDS, string_map(&ids)),
            Err(d) => diags.push(d),
        },
        // Created at apply (e.g. Partner Center's in a partner tenant); the scopes are checked then,
        // before permissions are written.
        Ok(None) => {}
        Err(e) => diags.push(errors::attribute_diagnostic(
            &format!("reading the service principal of API {resource} to check the scopes"),
            &e,
            attr::SCOPES,
        )),
    }
}

fn is_import(state: &Value) -> bool {
    state.get(attr::SCOPES).is_null()
}

// ---------------------------------------------------------------------------------------------------------
// Operations

/// An operation's failure: what was being done, on which object (completes "Error ..."), and Graph's
/// answer.
struct Failure {
    doing: String,
    error: Error,
    /// What the failure left behind that the user should know about.
    left_behind: Option<String>,
}

impl Failure {
    /// For `map_err`: the failure of `doing`.
    fn of(doing: impl Into<String>) -> impl FnOnce(Error) -> Failure {
        let doing = doing.into();
        move |error| Failure {
            doing,
            error,
            left_behind: None,
        }
    }

    fn diagnostic(&self) -> Diagnostic {
        let mut diagnostic = errors::diagnostic(&self.doing, &self.error);
        if let Some(note) = &self.left_behind {
            diagnostic.detail.push_str("\n\n");
            diagnostic.detail.push_str(note);
        }
        diagnostic
    }
}

/// Brings the application's permissions and the grant to `planned`, taking back what `prior` held and
/// `planned` drops; returns the new state.
async fn converge(
    ctx: &Context<Configured>,
    prior: Option<&Value>,
    planned: &Value,
    timeout: Duration,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let client = ctx
        .client
        .client_for(Needs::AppOnly, "Granting API permissions", diags)?;
    let call = call_context(ctx, timeout);
    let applications = &ctx.client.applications;
    let app_id = text(planned, attr::APPLICATION_ID);
    let guard = applications.lock(&app_id).await;
    let result = write(client, applications, &call, prior, planned, diags).await;
    applications.invalidate(&app_id);
    drop(guard);
    let wanted = match result {
        Ok(Some(w)) => w,
        Ok(None) => return None,
        Err(failure) => {
            diags.push(failure.diagnostic());
            return None;
        }
    };
    // Wait until reads agree (replication), so the next plan does not report drift that is only lag. A
    // read that fails is retried like one that disagrees: the write itself succeeded.
    let expected = wanted.to_value(planned.get(attr::API), &Value::Null);
    let settled = consistency::wait_until(&call, || async {
        let seen = observe(client, applications, &call, &expected, true).await;
        Ok::<_, Failure>(matches!(seen, Ok(Some(seen)) if seen == wanted))
    })
    .await;
    if settled.is_err() {
        settle_warning(&wanted, diags);
    }
    Some(wanted.to_value(planned.get(attr::API), planned.get(attr::TIMEOUTS)))
}

fn settle_warning(wanted: &Permissions, diags: &mut Diagnostics) {
    diags.warning(
        "Permissions written, not yet visible everywhere",
        format!(
            "The permissions of application {} for API {} were written, but Graph did not yet show them \
             consistently before the timeout (replication). Until it does, a plan may show them as changes.",
            wanted.application_id, wanted.resource_app_id
        ),
    );
}

/// The writes of create and update, under the application's lock: the API's and the app's service
/// principals (created when missing), the app's `requiredResourceAccess`, then the consent. `Ok(None)`
/// after a diagnostic.
async fn write(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    prior: Option<&Value>,
    planned: &Value,
    diags: &mut Diagnostics,
) -> Result<Option<Permissions>, Failure> {
    let wanted = Permissions::held_in(planned);
    let app_id = &wanted.application_id;
    let resource = &wanted.resource_app_id;
    let Some(app) = read_settled(client, applications, call, app_id)
        .await
        .map_err(Failure::of(format!("reading application {app_id}")))?
    else {
        diags.attribute_error(
            AttributePath::root(attr::APPLICATION_ID),
            "Application not found",
            format!(
                "No application with App ID {app_id} exists in the tenant the provider signs in to. Check \
                 application_id and the provider's tenant_id."
            ),
        );
        return Ok(None);
    };
    // The API's service principal publishes the scope ids; it must exist before consent can name it.
    let resource_sp = ensure_service_principal(client, call, resource, RESOURCE_LAG_BUDGET)
        .await
        .map_err(Failure::of(format!(
            "creating the service principal of API {resource} in the tenant"
        )))?;
    let scope_ids = match resolve_scopes(&wanted.scopes, &resource_sp) {
        Ok(ids) => ids,
        Err(d) => {
            diags.push(d);
            return Ok(None);
        }
    };
    let app_patience = call.remaining().unwrap_or(TIMEOUTS.create);
    let client_sp = ensure_service_principal(client, call, app_id, app_patience)
        .await
        .map_err(Failure::of(format!(
            "creating the service principal of application {app_id}"
        )))?;
    let change = ScopeChange::between(
        prior.map(Permissions::held_in).as_ref(),
        &wanted,
        &scope_ids,
        &resource_sp,
    );
    let requested_before = requested_scope_ids(&app.required_resource_access, resource);
    write_required_access(client, applications, call, &app, resource, &change).await?;
    let grant_id = match write_consent(client, call, &wanted, &client_sp, &resource_sp, &change).await {
        Ok(id) => id,
        Err(failure) => {
            let undo = change.undone(&requested_before);
            return Err(undo_required_access(client, applications, app_id, resource, &undo, failure).await);
        }
    };
    Ok(Some(Permissions {
        client_service_principal_id: Some(client_sp.id),
        resource_service_principal_id: Some(resource_sp.id),
        grant_id,
        scope_ids,
        ..wanted
    }))
}

/// What a write adds and takes back, from what the prior state held and the plan wants.
struct ScopeChange {
    /// Permission ids the app must request.
    wanted_ids: BTreeSet<String>,
    /// Permission ids of scopes the plan drops (from the prior state, since the API may no longer publish
    /// them).
    dropped_ids: BTreeSet<String>,
    /// Scope values the consent must carry, and those it must no longer carry.
    grant_add: BTreeSet<String>,
    grant_remove: BTreeSet<String>,
}

impl ScopeChange {
    fn between(
        prior: Option<&Permissions>,
        wanted: &Permissions,
        scope_ids: &BTreeMap<String, String>,
        resource_sp: &ServicePrincipal,
    ) -> ScopeChange {
        let prior_scopes = prior.map(Permissions::managed_scopes).unwrap_or_default();
        let prior_ids = prior.map(|p| p.scope_ids.clone()).unwrap_or_default();
        let dropped: BTreeSet<String> = prior_scopes.difference(&wanted.scopes).cloned().collect();
        let published = published_scopes(resource_sp);
        let dropped_ids = dropped
            .iter()
            .filter_map(|s| prior_ids.get(s).or_else(|| published.get(s)).cloned())
            .collect();
        let prior_consent = prior.is_some_and(|p| p.admin_consent);
        let (grant_add, grant_remove) = if wanted.admin_consent {
            (wanted.scopes.clone(), dropped)
        } else if prior_consent {
            (BTreeSet::new(), prior_scopes)
        } else {
            (BTreeSet::new(), BTreeSet::new())
        };
        ScopeChange {
            wanted_ids: scope_ids.values().cloned().collect(),
            dropped_ids,
            grant_add,
            grant_remove,
        }
    }

    /// The change that puts this API's `requiredResourceAccess` entry back as it was before `self` was
    /// written (`requested_before`: its scope ids then, lower case). The consent is not touched.
    fn undone(&self, requested_before: &BTreeSet<String>) -> ScopeChange {
        let was_requested = |id: &&String| requested_before.contains(&id.to_ascii_lowercase());
        ScopeChange {
            wanted_ids: self.dropped_ids.iter().filter(was_requested).cloned().collect(),
            dropped_ids: self
                .wanted_ids
                .iter()
                .filter(|id| !was_requested(id))
                .cloned()
                .collect(),
            grant_add: BTreeSet::new(),
            grant_remove: BTreeSet::new(),
        }
    }
}

/// A write is all or nothing: when the consent fails after the application's `requiredResourceAccess` was
/// written, `undo` puts the entry back, so the application holds what state says (nothing requested that no
/// state tracks, nothing taken away that state still holds). It runs on its own context, as the operation's
/// may be out of time (often why the consent failed). Returns the consent's failure, saying so if the undo
/// failed too.
async fn undo_required_access(
    client: &Client,
    applications: &Applications,
    app_id: &str,
    resource: &str,
    undo: &ScopeChange,
    mut failure: Failure,
) -> Failure {
    let call = detached_context();
    let undone = async {
        let app = read_settled(client, applications, &call, app_id)
            .await
            .map_err(Failure::of(format!("reading application {app_id}")))?;
        match app {
            Some(app) => write_required_access(client, applications, &call, &app, resource, undo).await,
            None => Ok(()),
        }
    }
    .await;
    if let Err(undo_failed) = undone {
        failure.left_behind = Some(format!(
            "The API permissions (requiredResourceAccess) of application {app_id} for API {resource} were \
             changed before this failure and could not be put back ({}: {}). The next refresh shows what the \
             application holds; apply again to converge.",
            undo_failed.doing, undo_failed.error
        ));
    }
    failure
}

/// The app's `requiredResourceAccess` with this API's entry changed (others' entries untouched); what is
/// written is remembered, so the next grant merges into a read that shows it.
async fn write_required_access(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    app: &Application,
    resource: &str,
    change: &ScopeChange,
) -> Result<(), Failure> {
    let Some(list) = merge_required_access(
        &app.required_resource_access,
        resource,
        &change.wanted_ids,
        &change.dropped_ids,
    ) else {
        return Ok(());
    };
    let graph = client.graph();
    until_replicated(call, || graph.set_required_resource_access(call, &app.id, &list))
        .await
        .map_err(Failure::of(format!(
            "updating the API permissions (requiredResourceAccess) of application {}",
            app.app_id
        )))?;
    applications.remember_written_access(&app.app_id, &list);
    Ok(())
}

/// The admin consent: granted (adopting an existing grant) or withdrawn; the grant's id when granted.
async fn write_consent(
    client: &Client,
    call: &CallContext,
    wanted: &Permissions,
    client_sp: &ServicePrincipal,
    resource_sp: &ServicePrincipal,
    change: &ScopeChange,
) -> Result<Option<String>, Failure> {
    let consent = |what: &str| {
        format!(
            "{what} admin consent of application {} for API {}",
            wanted.application_id, wanted.resource_app_id
        )
    };
    if wanted.admin_consent {
        let id = grant(
            client,
            call,
            &client_sp.id,
            &resource_sp.id,
            &change.grant_add,
            &change.grant_remove,
        )
        .await
        .map_err(Failure::of(consent("granting")))?;
        return Ok(Some(id));
    }
    if !change.grant_remove.is_empty() {
        withdraw(client, call, &client_sp.id, &resource_sp.id, &change.grant_remove)
            .await
            .map_err(Failure::of(consent("withdrawing")))?;
    }
    Ok(None)
}

/// What Graph holds for the state's (application, API) pair, limited to the state's scopes (or, right
/// after import, everything the application holds for the API). `None` when the application is gone, or
/// after import when it holds nothing for the API.
async fn observe(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    state: &Value,
    fresh: bool,
) -> Result<Option<Permissions>, Failure> {
    let app_id = text(state, attr::APPLICATION_ID);
    let resource = text(state, attr::RESOURCE_APP_ID);
    let app = if fresh {
        applications.read_fresh(client, call, &app_id).await
    } else {
        applications.read_shared(client, call, &app_id).await
    };
    let Some(app) = app.map_err(|e| Failure::of(format!("reading application {app_id}"))(unshare(e)))? else {
        return Ok(None);
    };
    let resource_sp = service_principal(client, call, &resource).await?;
    let client_sp = service_principal(client, call, &app_id).await?;
    let grant = match (&client_sp, &resource_sp) {
        (Some(c), Some(r)) => find_grant(client, call, &c.id, &r.id)
            .await
            .map_err(Failure::of(format!(
                "listing the delegated permission grants of application {app_id}"
            )))?,
        _ => None,
    };
    Ok(held_remotely(state, &app, client_sp, resource_sp, grant))
}

async fn service_principal(
    client: &Client,
    call: &CallContext,
    app_id: &str,
) -> Result<Option<ServicePrincipal>, Failure> {
    client
        .graph()
        .service_principal_by_app_id(call, app_id)
        .await
        .map_err(Failure::of(format!("reading the service principal of {app_id}")))
}

/// The permissions Graph holds, from what was read: the scopes both requested by the application and
/// (with consent) granted, limited to the state's scopes (all of them right after import).
fn held_remotely(
    state: &Value,
    app: &Application,
    client_sp: Option<ServicePrincipal>,
    resource_sp: Option<ServicePrincipal>,
    grant: Option<GraphGrant>,
) -> Option<Permissions> {
    let resource = text(state, attr::RESOURCE_APP_ID);
    // Value <-> id: what the API publishes now, else what the state recorded.
    let mut ids = map_of(state.get(attr::SCOPE_IDS));
    if let Some(sp) = &resource_sp {
        ids.extend(published_scopes(sp));
    }
    let requested = requested_scope_ids(&app.required_resource_access, &resource);
    let in_required: BTreeSet<String> = ids
        .iter()
        .filter(|(_, id)| requested.contains(&id.to_ascii_lowercase()))
        .map(|(v, _)| v.clone())
        .collect();
    let granted: BTreeSet<String> = grant
        .iter()
        .flat_map(|g| g.scope.split_whitespace())
        .map(str::to_owned)
        .collect();
    let importing = is_import(state);
    let candidates: BTreeSet<String> = if importing {
        in_required.union(&granted).cloned().collect()
    } else {
        Permissions::held_in(state).managed_scopes()
    };
    let admin_consent = match state.get(attr::ADMIN_CONSENT).as_bool() {
        // Consent revoked outside Terraform shows as `admin_consent` false -> true.
        Some(true) | None => grant.is_some(),
        Some(false) => false,
    };
    let requested: BTreeSet<&String> = candidates.iter().filter(|s| in_required.contains(*s)).collect();
    // Held: requested and, with consent, granted. A scope requested without its consent is missing from
    // `scopes` (drift), yet keeps its id, so destroy still takes it back.
    let scopes: BTreeSet<String> = requested
        .iter()
        .filter(|s| !admin_consent || granted.contains(**s))
        .map(|s| (*s).clone())
        .collect();
    if importing && scopes.is_empty() && grant.is_none() {
        return None;
    }
    let scope_ids = requested
        .iter()
        .filter_map(|s| Some(((*s).clone(), ids.get(*s)?.clone())))
        .collect();
    Some(Permissions {
        application_id: text(state, attr::APPLICATION_ID),
        resource_app_id: resource,
        scopes,
        admin_consent,
        client_service_principal_id: client_sp.map(|s| s.id),
        resource_service_principal_id: resource_sp.map(|s| s.id),
        grant_id: if admin_consent { grant.map(|g| g.id) } else { None },
        scope_ids,
    })
}

/// What Graph holds, decided by agreeing reads: a first read that matches state is taken; one that differs
/// (drift, or a lagging replica, or a 404 that is only lag) is believed only once the next fresh reads
/// agree with it. A read matching state on the way wins: it exists somewhere.
async fn observe_settled(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    state: &Value,
) -> Result<Option<Permissions>, Failure> {
    let first = observe(client, applications, call, state, false).await?;
    if is_import(state) {
        return Ok(first);
    }
    let held = Some(Permissions::held_in(state));
    if first == held {
        return Ok(first);
    }
    let (mut latest, mut agreeing) = (first, 1);
    let mut backoff = Backoff::new();
    while agreeing < consistency::CONSECUTIVE_READS {
        backoff.pause(call, None).await.map_err(Failure::of(format!(
            "reading the permissions of application {}",
            text(state, attr::APPLICATION_ID)
        )))?;
        let again = observe(client, applications, call, state, true).await?;
        if again == held {
            return Ok(again);
        }
        if again == latest {
            agreeing += 1;
        } else {
            (latest, agreeing) = (again, 1);
        }
    }
    Ok(latest)
}

/// Delete: takes this resource's scopes out of `requiredResourceAccess` and the grant (deleting the grant
/// when nothing is left in it). What is already gone counts as removed.
async fn revoke(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    prior: &Value,
) -> Result<(), Failure> {
    let held = Permissions::held_in(prior);
    let guard = applications.lock(&held.application_id).await;
    let result = take_back(client, applications, call, &held).await;
    applications.invalidate(&held.application_id);
    drop(guard);
    result?;
    // Destroy succeeds only once reads agree the scopes are gone: a lagging replica that still shows the
    // grant would otherwise be adopted by the next apply as if it existed. The wait holds no lock, as in
    // `converge`: the other grants of the application write meanwhile, each merging into a read that shows
    // this write. Nor does Ctrl-C end it: state must not keep a grant whose removal was sent.
    let confirming = finishing(call);
    let gone = consistency::wait_until_visible(&confirming, || async {
        let left = scopes_still_held(client, applications, &confirming, &held)
            .await
            .map_err(|failure| failure.error)?;
        Ok(left.is_empty())
    })
    .await;
    let failed = Failure::of(format!(
        "confirming the removal of the permissions of application {} for API {}",
        held.application_id, held.resource_app_id
    ));
    match gone {
        Ok(()) => Ok(()),
        Err(WaitError::Failed(e)) => Err(failed(e)),
        Err(WaitError::Cancelled) => Err(failed(Error::Cancelled)),
        Err(WaitError::TimedOut) => Err(failed(Error::Timeout { last: None })),
    }
}

/// The scopes of `held` that a fresh read still shows requested by the application or (when `held` gave
/// consent) granted; empty when the application is gone.
async fn scopes_still_held(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    held: &Permissions,
) -> Result<BTreeSet<String>, Failure> {
    let (app_id, resource) = (&held.application_id, &held.resource_app_id);
    let Some(app) = applications
        .read_fresh(client, call, app_id)
        .await
        .map_err(|e| Failure::of(format!("reading application {app_id}"))(unshare(e)))?
    else {
        return Ok(BTreeSet::new());
    };
    let requested = requested_scope_ids(&app.required_resource_access, resource);
    let managed = held.managed_scopes();
    let mut left: BTreeSet<String> = managed
        .iter()
        .filter(|s| {
            held.scope_ids
                .get(*s)
                .is_some_and(|id| requested.contains(&id.to_ascii_lowercase()))
        })
        .cloned()
        .collect();
    if held.admin_consent {
        let client_sp = service_principal(client, call, app_id).await?;
        let resource_sp = service_principal(client, call, resource).await?;
        if let (Some(c), Some(r)) = (client_sp, resource_sp) {
            let grant = find_grant(client, call, &c.id, &r.id)
                .await
                .map_err(Failure::of(format!(
                    "listing the delegated permission grants of application {app_id}"
                )))?;
            let granted = grant.iter().flat_map(|g| g.scope.split_whitespace());
            left.extend(granted.filter(|s| managed.contains(*s)).map(str::to_owned));
        }
    }
    Ok(left)
}

/// Takes this resource's scopes out of the app's `requiredResourceAccess` and, if this resource gave
/// consent, out of the grant. What is already gone counts as removed.
async fn take_back(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    held: &Permissions,
) -> Result<(), Failure> {
    let (app_id, resource) = (&held.application_id, &held.resource_app_id);
    let read = read_settled(client, applications, call, app_id)
        .await
        .map_err(Failure::of(format!("reading application {app_id}")))?;
    let app = match read {
        Some(app) => app,
        // Gone with the application, if agreeing reads say so.
        None => match confirm_application_gone(client, applications, call, app_id).await? {
            Some(app) => app,
            None => return Ok(()),
        },
    };
    let resource_sp = service_principal(client, call, resource).await?;
    let mut ids = held.scope_ids.clone();
    if let Some(sp) = &resource_sp {
        for (value, id) in published_scopes(sp) {
            ids.entry(value).or_insert(id);
        }
    }
    let managed = held.managed_scopes();
    let change = ScopeChange {
        wanted_ids: BTreeSet::new(),
        dropped_ids: managed.iter().filter_map(|s| ids.get(s).cloned()).collect(),
        grant_add: BTreeSet::new(),
        grant_remove: managed,
    };
    let requested_before = requested_scope_ids(&app.required_resource_access, resource);
    write_required_access(client, applications, call, &app, resource, &change).await?;
    // Consent is taken back only if this resource gave it; without `admin_consent` a grant carrying these
    // scopes is someone else's.
    let withdrawn = async {
        let client_sp = service_principal(client, call, app_id).await?;
        if let (Some(c), Some(r)) = (client_sp, resource_sp) {
            if held.admin_consent {
                withdraw(client, call, &c.id, &r.id, &change.grant_remove)
                    .await
                    .map_err(Failure::of(format!(
                        "withdrawing admin consent of application {app_id} for API {resource}"
                    )))?;
            }
        }
        Ok(())
    }
    .await;
    match withdrawn {
        Ok(()) => Ok(()),
        Err(failure) => {
            let undo = change.undone(&requested_before);
            Err(undo_required_access(client, applications, app_id, resource, &undo, failure).await)
        }
    }
}

/// How long a read may lag behind this process's own last `requiredResourceAccess` write before the read
/// is believed (someone else changed the list meanwhile).
const OWN_WRITE_SETTLES: Duration = Duration::from_secs(30);

/// The application to merge into, from a read that is not behind:
/// - after this process wrote the list (a parallel grant's entry is in it), the first read that shows that
///   list: it holds everything that write was based on, so merging into it loses nothing (a writer racing
///   with us right now is a race no read can settle);
/// - otherwise, reads repeated until `CONSECUTIVE_READS` in a row show the same list, so a list another
///   writer changed moments ago is not taken from a replica that has not seen the change.
///
/// Bounded by [`OWN_WRITE_SETTLES`]; after that the latest read is believed (someone else changed the list
/// meanwhile). `None` when the application is missing.
async fn read_settled(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    app_id: &str,
) -> Result<Option<Arc<Application>>, Error> {
    let written = applications.written_access(app_id);
    let settles = call.clone().with_timeout(OWN_WRITE_SETTLES);
    let latest: Mutex<Option<Option<Arc<Application>>>> = Mutex::default();
    let read = || async {
        let app = applications
            .read_fresh(client, &settles, app_id)
            .await
            .map_err(unshare)?;
        let previous = latest
            .lock()
            .map(|mut latest| latest.replace(app.clone()))
            .unwrap_or_default();
        Ok::<_, Error>((previous, app))
    };
    let waited = match &written {
        Some(list) => consistency::look_until_certain(&settles, Absence::NEVER, || async {
            let (_, app) = read().await?;
            let shows_our_write = app
                .as_ref()
                .is_none_or(|app| same_access(&app.required_resource_access, list));
            Ok(shows_our_write.then_some(()))
        })
        .await
        .map(|_| ()),
        None => {
            consistency::wait_until_visible(&settles, || async {
                let (previous, app) = read().await?;
                Ok(match (previous, &app) {
                    (Some(Some(before)), Some(now)) => {
                        same_access(&before.required_resource_access, &now.required_resource_access)
                    }
                    (Some(None), None) => true,
                    _ => false,
                })
            })
            .await
        }
    };
    match waited {
        Ok(()) | Err(WaitError::TimedOut) => match latest.into_inner().ok().flatten() {
            Some(app) => Ok(app),
            None => applications
                .read_fresh(client, call, app_id)
                .await
                .map_err(unshare),
        },
        Err(WaitError::Failed(e)) => Err(e),
        Err(WaitError::Cancelled) => Err(Error::Cancelled),
    }
}

/// Whether two `requiredResourceAccess` lists hold the same entries, whatever their order and case.
fn same_access(a: &[RequiredResourceAccess], b: &[RequiredResourceAccess]) -> bool {
    let entries = |list: &[RequiredResourceAccess]| -> BTreeSet<(String, String, String)> {
        list.iter()
            .flat_map(|r| {
                r.resource_access.iter().map(move |x| {
                    (
                        r.resource_app_id.to_ascii_lowercase(),
                        x.id.to_ascii_lowercase(),
                        x.kind.as_str().to_owned(),
                    )
                })
            })
            .collect()
    };
    entries(a) == entries(b)
}

/// After a read found no application: gone (`None`) only when agreeing reads say so; a 404 may be lag.
async fn confirm_application_gone(
    client: &Client,
    applications: &Applications,
    call: &CallContext,
    app_id: &str,
) -> Result<Option<Arc<Application>>, Failure> {
    let verdict = consistency::look_until_certain(call, Absence::OF_REPLICATED, || async {
        applications
            .read_fresh(client, call, app_id)
            .await
            .map_err(unshare)
    })
    .await;
    let failed = Failure::of(format!("reading application {app_id}"));
    match verdict {
        Ok(Verdict::Gone) => Ok(None),
        Ok(Verdict::Found(app)) => Ok(Some(app)),
        Err(WaitError::Failed(e)) => Err(failed(e)),
        Err(WaitError::Cancelled) => Err(failed(Error::Cancelled)),
        Err(WaitError::TimedOut) => Err(failed(Error::Timeout { last: None })),
    }
}

/// The service principal of `app_id`, created when the tenant has none. Replication lag (a new app not yet
/// known, a principal created but not yet readable) is waited out for `lag_budget`; an ambiguous create
/// is followed by a look before the next try, and Graph refuses duplicates (409), so none is made twice.
async fn ensure_service_principal(
    client: &Client,
    call: &CallContext,
    app_id: &str,
    lag_budget: Duration,
) -> Result<ServicePrincipal, Error> {
    let graph = client.graph();
    let started = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        if let Some(sp) = graph.service_principal_by_app_id(call, app_id).await? {
            return Ok(sp);
        }
        match graph.create_service_principal(call, app_id).await {
            Ok(sp) => return Ok(sp),
            Err(e) if e.is_cancelled() || e.is_timeout() => return Err(e),
            // Created, but reads do not see it yet (or our last create went through): look again.
            Err(e) if is_conflict(&e) || e.is_ambiguous() => backoff.pause(call, Some(e)).await?,
            Err(e) if replication_lag(&e) && started.elapsed() < lag_budget => {
                backoff.pause(call, Some(e)).await?
            }
            Err(e) => return Err(e),
        }
    }
}

/// Adds `add` to (and takes `remove` from) the `AllPrincipals` grant of (client, resource), adopting an
/// existing grant or creating one; returns its id.
async fn grant(
    client: &Client,
    call: &CallContext,
    client_sp: &str,
    resource_sp: &str,
    add: &BTreeSet<String>,
    remove: &BTreeSet<String>,
) -> Result<String, Error> {
    let graph = client.graph();
    let mut backoff = Backoff::new();
    loop {
        if let Some(existing) = find_grant(client, call, client_sp, resource_sp).await? {
            let scope = merge_scope(&existing.scope, add, remove);
            if scope != existing.scope {
                match graph.update_grant_scope(call, &existing.id, &scope).await {
                    Ok(()) => {}
                    // Deleted meanwhile (or not yet writable): list again.
                    Err(e) if e.is_not_found() => {
                        backoff.pause(call, Some(e)).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            return Ok(existing.id);
        }
        let new = NewGrant {
            client_id: client_sp.to_owned(),
            resource_id: resource_sp.to_owned(),
            scope: merge_scope("", add, remove),
            consent_type: ConsentType::AllPrincipals,
            principal_id: None,
        };
        match graph.create_delegated_grant(call, new).await {
            Ok(g) => return Ok(g.id),
            Err(e) if e.is_cancelled() || e.is_timeout() => return Err(e),
            // A grant exists that the list did not show yet, or ours went through: list again and adopt.
            Err(e) if is_conflict(&e) || e.is_ambiguous() || replication_lag(&e) => {
                backoff.pause(call, Some(e)).await?
            }
            Err(e) => return Err(e),
        }
    }
}

/// Takes `remove` out of the `AllPrincipals` grant of (client, resource); deletes the grant when it is
/// left empty. No grant is fine.
async fn withdraw(
    client: &Client,
    call: &CallContext,
    client_sp: &str,
    resource_sp: &str,
    remove: &BTreeSet<String>,
) -> Result<(), Error> {
    let graph = client.graph();
    let Some(existing) = find_grant(client, call, client_sp, resource_sp).await? else {
        return Ok(());
    };
    let scope = merge_scope(&existing.scope, &BTreeSet::new(), remove);
    let result = if scope.is_empty() {
        graph.delete_grant(call, &existing.id).await
    } else if scope != existing.scope {
        graph.update_grant_scope(call, &existing.id, &scope).await
    } else {
        Ok(())
    };
    match result {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

async fn find_grant(
    client: &Client,
    call: &CallContext,
    client_sp: &str,
    resource_sp: &str,
) -> Result<Option<GraphGrant>, Error> {
    Ok(client
        .graph()
        .delegated_grants(call, client_sp)
        .await?
        .into_iter()
        .find(|g| {
            g.consent_type == ConsentType::AllPrincipals && g.resource_id.eq_ignore_ascii_case(resource_sp)
        }))
}

// ---------------------------------------------------------------------------------------------------------
// Tests (end to end: tests/terraform_permission_grant.rs)

#[cfg(test)]
mod tests {
    use super::*;
    use partnercenter_microsoft::PermissionScope;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn entry(app: &str, ids: &[(&str, ResourceAccessKind)]) -> RequiredResourceAccess {
        RequiredResourceAccess {
            resource_app_id: app.into(),
            resource_access: ids
                .iter()
                .map(|(id, k)| ResourceAccess {
                    id: (*id).into(),
                    kind: k.clone(),
                })
                .collect(),
        }
    }

    fn sp(scopes: &[(&str, &str)]) -> ServicePrincipal {
        serde_json::from_value(serde_json::json!({
            "id": "sp", "appId": "00000002-0000-0000-c000-000000000000",
            "displayName": "Windows Azure Active Directory",
            "oauth2PermissionScopes": scopes.iter().map(|(id, v)| serde_json::json!({"id": id, "value": v})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn aliases_and_guids_name_apis() {
        assert_eq!(
            resource_app_id("partner_center").as_deref(),
            Some("fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd")
        );
        assert_eq!(
            resource_app_id("dev_center").as_deref(),
            Some("4990cffe-04e8-4e8b-808a-1175604b879f")
        );
        assert_eq!(
            resource_app_id("00000003-0000-0000-C000-000000000000").as_deref(),
            Some("00000003-0000-0000-c000-000000000000")
        );
        assert_eq!(resource_app_id("partnercenter"), None);
    }

    #[test]
    fn merging_keeps_other_apis_roles_and_foreign_scopes() {
        use ResourceAccessKind::{Role, Scope};
        let current = vec![
            entry("00000003-0000-0000-c000-000000000000", &[("g1", Scope)]),
            entry("api", &[("foreign", Scope), ("role", Role)]),
        ];
        let merged = merge_required_access(&current, "API", &set(&["mine"]), &set(&[])).unwrap();
        assert_eq!(merged[0], current[0]);
        assert_eq!(
            merged[1],
            entry("api", &[("foreign", Scope), ("role", Role), ("mine", Scope)])
        );
        assert_eq!(
            merge_required_access(&merged, "api", &set(&["mine"]), &set(&[])),
            None,
            "idempotent"
        );

        let removed = merge_required_access(&merged, "api", &set(&[]), &set(&["mine", "role"])).unwrap();
        assert_eq!(removed, current, "only scopes, only ours");

        let fresh = merge_required_access(&[], "api", &set(&["a"]), &set(&[])).unwrap();
        assert_eq!(fresh, vec![entry("api", &[("a", Scope)])]);
        assert_eq!(
            merge_required_access(&fresh, "api", &set(&[]), &set(&["a"])).unwrap(),
            vec![],
            "empty entry dropped"
        );
        assert_eq!(merge_required_access(&[], "api", &set(&[]), &set(&["a"])), None);
    }

    #[test]
    fn grant_scopes_merge_without_touching_others() {
        assert_eq!(
            merge_scope("openid User.Read", &set(&["user_impersonation"]), &set(&[])),
            "openid User.Read user_impersonation"
        );
        assert_eq!(
            merge_scope("openid User.Read", &set(&["User.Read"]), &set(&["openid"])),
            "User.Read"
        );
        assert_eq!(merge_scope("a", &set(&[]), &set(&["a"])), "");
    }

    #[test]
    fn unknown_scopes_are_reported_on_scopes_with_the_valid_values() {
        let sp = sp(&[("id-1", "User.Read"), ("id-2", "Directory.AccessAsUser.All")]);
        let ids = resolve_scopes(&set(&["User.Read"]), &sp).unwrap();
        assert_eq!(ids["User.Read"], "id-1");
        let d = resolve_scopes(&set(&["User.Read", "user.read.all", "user.read"]), &sp).unwrap_err();
        assert_eq!(d.attribute, Some(AttributePath::root("scopes")));
        assert!(d.detail.contains("\"user.read.all\""), "{}", d.detail);
        assert!(
            d.detail
                .contains("Valid values: \"Directory.AccessAsUser.All\", \"User.Read\""),
            "{}",
            d.detail
        );
        assert!(
            d.detail.contains("\"user.read\" is written \"User.Read\""),
            "{}",
            d.detail
        );
    }

    #[test]
    fn disabled_scopes_are_not_offered() {
        let mut sp = sp(&[("id-1", "User.Read")]);
        sp.oauth2_permission_scopes.push(PermissionScope {
            id: "id-2".into(),
            value: "Old.Scope".into(),
            admin_consent_display_name: None,
            is_enabled: false,
        });
        assert!(resolve_scopes(&set(&["Old.Scope"]), &sp).is_err());
    }

    #[test]
    fn import_ids_take_an_alias_or_an_app_id() {
        let (app, api, resource) =
            parse_import_id("0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/partner_center").unwrap();
        assert_eq!(app, "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47");
        assert_eq!(api, "partner_center");
        assert_eq!(resource, "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd");
        assert!(
            parse_import_id("0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/00000002-0000-0000-c000-000000000000")
                .is_ok()
        );
        for bad in [
            "nope",
            "x/partner_center",
            "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/graph",
        ] {
            assert!(parse_import_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replication_errors_are_recognised() {
        let api = |status, message: &str| {
            Error::from(partnercenter_microsoft::ApiError {
                service: partnercenter_microsoft::Service::Graph,
                status,
                request: "POST /v1.0/oauth2PermissionGrants".into(),
                code: None,
                aadsts: None,
                message: message.into(),
                request_id: None,
                correlation_id: None,
                trace_id: None,
                retry_after: None,
            })
        };
        assert!(replication_lag(&api(404, "gone")));
        assert!(replication_lag(&api(
            400,
            "Resource 'x' does not exist or one of its queried reference-property objects are not present."
        )));
        assert!(!replication_lag(&api(
            400,
            "Invalid value 'x' for property 'consentType'."
        )));
        assert!(is_conflict(&api(409, "Permission entry already exists.")));
    }
}
