//! `partnercenter_web_app_key`: a secret key (password credential) of the Partner Center web app, the
//! "Application Secret key" every cost-management tool asks for. Plans show when a key was deleted, has
//! expired, or is inside its rotation window, and replace it. What this resource never does: leave a key
//! in Entra that state does not hold (every create ends with the key in state or removed again), drop a
//! key from state on one read's word (agreeing reads decide), or judge time by the laptop's clock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Months, SecondsFormat, Utc};
use partnercenter_microsoft::graph::{Application, CreatedPassword, NewPassword, PasswordCredential};
use partnercenter_microsoft::{CallContext, Client, Error};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::protocol::{
    Attr, Attribute, AttributePath, Context, Diagnostic, Diagnostics, Identity, PlanRequest, PlannedChange,
    Private, Resource, Schema, Type, Validator, Value,
};
use crate::provider::applications::unshare;
use crate::provider::config::{Configured, Needs};
use crate::provider::consistency::{self, Absence, Verdict, WaitError};
use crate::provider::key_vault_delivery::{self as vault_delivery, Destination, Health, KeyFacts};
use crate::provider::timeouts::{self, Defaults};
use crate::provider::{
    app_policies, call_context, detached_context, duration, errors, finishing, validation,
};

pub struct WebAppKey;

pub(crate) const TYPE_NAME: &str = "partnercenter_web_app_key";
const DEFAULT_DISPLAY_NAME: &str = "terraform";
const DEFAULT_VALIDITY: &str = "2y";
const DEFAULT_ROTATE_BEFORE: &str = "720h";

const TIMEOUTS: Defaults = Defaults {
    create: Duration::from_secs(15 * 60),
    read: Duration::from_secs(5 * 60),
    update: Duration::from_secs(5 * 60),
    delete: Duration::from_secs(5 * 60),
};

/// addPassword attempts per create: a lost answer is looked for, the key removed, and the call repeated.
const MAX_ATTEMPTS: u32 = 3;

/// How long an application created moments ago may answer 404 before "not found" is believed (CIPP
/// retries addPassword on a fresh app for about 18 s; replication can take longer).
const NEW_APPLICATION_PATIENCE: Duration = Duration::from_secs(30);

/// How long after removePassword the key may stay readable before the removal is taken as lost.
const REMOVAL_SETTLES: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------------------
// Model

/// The attribute names, written once.
pub(crate) mod attr {
    pub const ID: &str = "id";
    pub const APPLICATION_ID: &str = "application_id";
    pub const DISPLAY_NAME: &str = "display_name";
    pub const VALIDITY: &str = "validity";
    pub const END_DATE: &str = "end_date";
    pub const ROTATE_BEFORE: &str = "rotate_before";
    pub const ROTATE_WHEN_CHANGED: &str = "rotate_when_changed";
    pub const KEY_ID: &str = "key_id";
    pub const START_DATE: &str = "start_date";
    pub const HINT: &str = "hint";
    pub const VALUE: &str = "value";
    pub const EXPIRES_IN_DAYS: &str = "expires_in_days";
    pub const TIMEOUTS: &str = "timeouts";
    pub const KEY_VAULT_SECRET: &str = super::vault_delivery::BLOCK;
    pub const KEY_VAULT_SECRET_ID: &str = "key_vault_secret_id";
}

/// The key as Terraform holds it (planned at apply, or state): the user's arguments as written, and what
/// Graph says about the key once it exists.
#[derive(Debug, Clone)]
struct KeyModel {
    application_id: String,
    display_name: String,
    /// Null when the configuration pins `end_date`, and after import (the key's end is a fact then).
    validity: Option<String>,
    /// As the configuration writes it when pinned; Graph's end otherwise.
    end_date: Option<String>,
    rotate_before: String,
    rotate_when_changed: Value,
    timeouts: Value,
    remote: Option<RemoteKey>,
    /// The secret: known only to the create that received it, and null when it went to Key Vault.
    value: Option<String>,
    /// The `key_vault_secret` block, as Terraform sent it.
    key_vault_secret: Value,
    /// The Key Vault version holding the secret; null when it was not delivered or is no longer current.
    key_vault_secret_id: Option<String>,
}

/// What Graph says about a key: the computed attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoteKey {
    key_id: String,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    hint: Option<String>,
}

impl RemoteKey {
    fn from_graph(key: &PasswordCredential) -> Self {
        RemoteKey {
            key_id: key.key_id.clone(),
            start: key.start_date_time,
            end: key.end_date_time,
            hint: key.hint.clone(),
        }
    }
}

impl KeyModel {
    /// Reads planned or stored values; the arguments Terraform always knows at apply must be there.
    fn from_value(value: &Value) -> Result<Self, Diagnostic> {
        let required = |name: &str| -> Result<String, Diagnostic> {
            value.attr::<String>(name)?.known().ok_or_else(|| {
                Diagnostic::error(
                    format!("{name} is not known"),
                    "Terraform sent no value for it; this is a bug in the provider, please report it.",
                )
                .at(AttributePath::root(name))
            })
        };
        let optional =
            |name: &str| -> Result<Option<String>, Diagnostic> { Ok(value.attr::<String>(name)?.known()) };
        let key_id = optional(attr::KEY_ID)?;
        let remote = key_id.map(|key_id| RemoteKey {
            key_id,
            start: value
                .known::<String>(attr::START_DATE)
                .and_then(|s| parse_time(&s).ok()),
            end: value
                .known::<String>(attr::END_DATE)
                .and_then(|s| parse_time(&s).ok()),
            hint: value.known::<String>(attr::HINT),
        });
        Ok(KeyModel {
            application_id: required(attr::APPLICATION_ID)?,
            display_name: optional(attr::DISPLAY_NAME)?.unwrap_or_else(|| DEFAULT_DISPLAY_NAME.to_owned()),
            validity: optional(attr::VALIDITY)?,
            end_date: optional(attr::END_DATE)?,
            rotate_before: optional(attr::ROTATE_BEFORE)?.unwrap_or_else(|| DEFAULT_ROTATE_BEFORE.to_owned()),
            rotate_when_changed: value.get(attr::ROTATE_WHEN_CHANGED).clone(),
            timeouts: value.get(attr::TIMEOUTS).clone(),
            remote,
            value: optional(attr::VALUE)?,
            key_vault_secret: value.get(attr::KEY_VAULT_SECRET).clone(),
            key_vault_secret_id: optional(attr::KEY_VAULT_SECRET_ID)?,
        })
    }

    /// The key just read from Graph: the configured spelling of `end_date` is kept when it names the same
    /// instant (Terraform requires applied values to equal configured ones).
    fn with_remote(mut self, key: &PasswordCredential) -> Self {
        let remote = RemoteKey::from_graph(key);
        let configured_end = self.end_date.as_deref().and_then(|s| parse_time(s).ok());
        if configured_end.is_none() || configured_end != remote.end {
            self.end_date = remote.end.map(rfc3339);
        }
        self.remote = Some(remote);
        self
    }

    fn id(&self) -> Option<String> {
        self.remote
            .as_ref()
            .map(|r| format!("{}/{}", self.application_id, r.key_id))
    }

    /// The Terraform value, with `expires_in_days` as of `now` (Microsoft's clock).
    fn to_value(&self, now: DateTime<Utc>) -> Value {
        let remote = self.remote.as_ref();
        Value::object([
            (attr::ID, Value::from(self.id())),
            (attr::APPLICATION_ID, Value::string(self.application_id.clone())),
            (attr::DISPLAY_NAME, Value::string(self.display_name.clone())),
            (attr::VALIDITY, Value::from(self.validity.clone())),
            (attr::END_DATE, Value::from(self.end_date.clone())),
            (attr::ROTATE_BEFORE, Value::string(self.rotate_before.clone())),
            (attr::ROTATE_WHEN_CHANGED, self.rotate_when_changed.clone()),
            (attr::KEY_ID, Value::from(remote.map(|r| r.key_id.clone()))),
            (
                attr::START_DATE,
                Value::from(remote.and_then(|r| r.start).map(rfc3339)),
            ),
            (attr::HINT, Value::from(remote.and_then(|r| r.hint.clone()))),
            (attr::VALUE, Value::from(self.value.clone())),
            (
                attr::EXPIRES_IN_DAYS,
                Value::from(remote.and_then(|r| r.end).map(|end| days_left(now, end))),
            ),
            (attr::TIMEOUTS, self.timeouts.clone()),
            (attr::KEY_VAULT_SECRET, self.key_vault_secret.clone()),
            (
                attr::KEY_VAULT_SECRET_ID,
                Value::from(self.key_vault_secret_id.clone()),
            ),
        ])
    }

    fn timeout(&self, operation: &str, default: Duration) -> Duration {
        timeouts::get(
            &Value::object([(attr::TIMEOUTS, self.timeouts.clone())]),
            operation,
            default,
        )
    }
}

/// Kept in Terraform's private state beside the key: whether creation saw the key replicated. A key
/// without that record (imported, or stored by an older version) existed before and counts as replicated.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct KeyPrivate {
    replication_confirmed: bool,
}

fn replication_confirmed(private: &Private) -> bool {
    private
        .get::<KeyPrivate>()
        .is_none_or(|p| p.replication_confirmed)
}

fn record_replication(private: &mut Private, confirmed: bool) {
    private.set(&KeyPrivate {
        replication_confirmed: confirmed,
    });
}

/// How long a key stays valid: the two choices Partner Center offers, or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    Years(u32),
    Exactly(chrono::Duration),
}

impl Validity {
    fn parse(text: &str) -> Result<Validity, String> {
        match text {
            "1y" => Ok(Validity::Years(1)),
            "2y" => Ok(Validity::Years(2)),
            other => {
                let parsed = duration::parse(other).map_err(|_| {
                    format!("\"{other}\" is not a validity: use \"1y\" or \"2y\" (Partner Center's choices) or hours like \"4320h\".")
                })?;
                if parsed < Duration::from_secs(3600) {
                    return Err(format!(
                        "\"{other}\" is shorter than an hour; a key must be valid for at least \"1h\"."
                    ));
                }
                chrono::Duration::from_std(parsed)
                    .map(Validity::Exactly)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The end of a key starting at `start`: calendar years for "1y"/"2y" (so 29 February is handled).
    fn end(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Validity::Years(n) => start.checked_add_months(Months::new(12 * n)),
            Validity::Exactly(d) => start.checked_add_signed(d),
        }
    }

    /// The shortest lifetime this validity gives (a calendar year is at least 365 days).
    fn shortest_lifetime(self) -> chrono::Duration {
        match self {
            Validity::Years(n) => chrono::Duration::days(365 * i64::from(n)),
            Validity::Exactly(d) => d,
        }
    }

    /// Whether a key that runs from `start` to `end` is what this validity makes (to the second: Graph
    /// may round what it stores).
    fn describes(self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.end(start)
            .is_some_and(|expected| (expected - end).num_seconds().abs() <= 1)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("\"{text}\" is not an RFC 3339 time: write it like \"2027-06-30T00:00:00Z\"."))
}

fn parse_rotate_before(text: &str) -> Option<chrono::Duration> {
    duration::parse(text)
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
}

/// Whole days from `now` to `end`, 0 once expired.
fn days_left(now: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    ((end - now).num_seconds() / 86_400).max(0)
}

/// Where a key stands against its rotation window.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    Fine,
    /// Inside twice the window: warn ahead of the rotation.
    RotationSoon {
        days_left: i64,
        rotates_on: DateTime<Utc>,
    },
    /// Inside the window: replace now.
    InsideWindow {
        days_left: i64,
    },
    Expired {
        on: DateTime<Utc>,
    },
}

fn standing(now: DateTime<Utc>, end: DateTime<Utc>, rotate_before: chrono::Duration) -> Standing {
    if now >= end {
        Standing::Expired { on: end }
    } else if now >= end - rotate_before {
        Standing::InsideWindow {
            days_left: days_left(now, end),
        }
    } else if now >= end - rotate_before * 2 {
        Standing::RotationSoon {
            days_left: days_left(now, end),
            rotates_on: end - rotate_before,
        }
    } else {
        Standing::Fine
    }
}

/// What identifies the key one addPassword call makes, so that after a lost answer the key found is
/// ours and no one else's: the name, both dates, and a start made unique by a random microsecond (Graph
/// keeps sub-second precision; two callers picking the same name, second and microsecond is a one in a
/// million coincidence on top of the per-application lock).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    display_name: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Fingerprint {
    fn matches(&self, key: &PasswordCredential) -> bool {
        key.display_name.as_deref() == Some(self.display_name.as_str())
            && key.start_date_time == Some(self.start)
            && key.end_date_time == Some(self.end)
    }

    fn new_password(&self) -> NewPassword {
        NewPassword {
            display_name: Some(self.display_name.clone()),
            start: Some(self.start),
            end: Some(self.end),
        }
    }
}

fn parse_import_id(id: &str) -> Result<(String, String), String> {
    match id.split_once('/') {
        Some((app, key)) if validation::is_guid(app) && validation::is_guid(key) => {
            Ok((app.to_owned(), key.to_owned()))
        }
        _ => Err(format!(
            "\"{id}\" is not a key id: use <application_id>/<key_id>, both GUIDs, e.g. \
             0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f."
        )),
    }
}

fn find_key<'a>(app: &'a Application, key_id: &str) -> Option<&'a PasswordCredential> {
    app.password_credentials
        .iter()
        .find(|k| k.key_id.eq_ignore_ascii_case(key_id))
}

// ---------------------------------------------------------------------------------------------------------
// Schema

#[async_trait]
impl Resource<Configured> for WebAppKey {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let schema = arguments()
            .into_iter()
            .chain(results())
            .fold(Schema::new(DESCRIPTION), Schema::attribute);
        schema
            .block(vault_delivery::block())
            .block(timeouts::block(TIMEOUTS))
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let validity = config.attr::<String>(attr::VALIDITY).unwrap_or(Attr::Unknown);
        let end_date = config.attr::<String>(attr::END_DATE).unwrap_or(Attr::Unknown);
        if matches!(validity, Attr::Known(_)) && matches!(end_date, Attr::Known(_)) {
            diags.attribute_error(
                AttributePath::root(attr::VALIDITY),
                "Conflicting configuration arguments",
                "\"validity\" and \"end_date\" cannot both be set: give the key a duration or an end date.",
            );
        }
        check_rotate_before_fits(config, diags);
    }

    // -----------------------------------------------------------------------------------------------------
    // Operations

    async fn modify_plan(
        &self,
        ctx: &Context<Configured>,
        request: &PlanRequest<'_>,
        plan: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        let config = request.config;
        let app_id = config.known::<String>(attr::APPLICATION_ID);
        let rotate_before = plan
            .planned
            .known::<String>(attr::ROTATE_BEFORE)
            .and_then(|s| parse_rotate_before(&s))
            .unwrap_or_else(|| chrono::Duration::days(30));
        let pinned_end = config
            .known::<String>(attr::END_DATE)
            .and_then(|s| parse_time(&s).ok());
        // An existing key is kept through changes that only restate it, and replaced when its secret's
        // destination changed or its Key Vault version is no longer current.
        let prior = KeyModel::from_value(request.prior).ok();
        if let Some(prior) = &prior {
            keep_the_key_when_only_the_app_id_case_differs(request.prior, config, plan);
            accept_the_validity_an_imported_key_has(prior, request.prior, config, plan);
            replace_when_the_secret_has_no_current_home(prior, config, request.schema, plan);
        }

        match prior {
            Some(prior) if !plan.is_replace() => {
                let Some(end) = prior.remote.as_ref().and_then(|r| r.end) else {
                    return;
                };
                let now = microsoft_now(ctx, Some(&prior.application_id)).await;
                let key = prior.remote.as_ref().map_or("?", |r| r.key_id.as_str());
                let standing = standing(now, end, rotate_before);
                match judge(&standing, key, &prior.application_id, end, pinned_end.is_some()) {
                    Judgement::Nothing => {}
                    Judgement::Warn(warning) => diags.push(warning),
                    Judgement::Replace(warning) => {
                        diags.push(warning);
                        plan.replace_because_of(attr::END_DATE, request.schema, config);
                    }
                }
            }
            _ => {
                plan_new_key(config, plan);
                if let Some(end) = pinned_end {
                    let now = microsoft_now(ctx, app_id.as_deref()).await;
                    refuse_pinned_end_inside_window(end, now, rotate_before, diags);
                }
            }
        }
    }

    /// Lock the application, add the key (looking before any retry), unlock, wait until reads agree it
    /// exists.
    async fn create(
        &self,
        ctx: &Context<Configured>,
        planned: &Value,
        _config: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let planned = diags.take(KeyModel::from_value(planned))?;
        let configured = &ctx.client;
        let client = configured.client_for(Needs::AppOnly, "Creating a web app key", diags)?;
        let app_id = planned.application_id.clone();
        let writing = configured.applications.lock(&app_id).await;
        // The timeout counts from here: waiting for other writes to this application is not this create's.
        let call = call_context(ctx, planned.timeout("create", TIMEOUTS.create));
        let app = diags.take(application_for_write(configured, client, &call, &app_id).await)?;
        let added = add_key(ctx, client, &call, &app, &planned).await;
        configured.applications.invalidate(&app_id);
        let (created, strays) = match added {
            Added::Key { created, strays } => (created, strays),
            Added::SecretLost { key, why } => {
                diags.push(secret_lost(&app_id, &key.key_id, &why));
                record_replication(private, false);
                return Some(planned.with_remote(&key).to_value(client.now()));
            }
            Added::Nothing(d) => {
                diags.push(d);
                return None;
            }
        };
        let mut state = planned.clone().with_remote(&created.credential);
        match deliver_secret(ctx, &call, &state, &created).await {
            Ok(Some(version)) => state.key_vault_secret_id = Some(version.to_string()),
            Ok(None) => state.value = Some(created.secret_text.expose().to_owned()),
            Err(refused) => {
                // The key must not outlive its secret: remove it again.
                diags.push(refused);
                let cleanup = if call.is_cancelled() {
                    detached_context()
                } else {
                    call.clone()
                };
                let key_id = &created.credential.key_id;
                return match remove_key(
                    configured,
                    client,
                    &cleanup,
                    &app_id,
                    key_id,
                    Presence::Seen(&app.id),
                )
                .await
                {
                    Ok(()) => None,
                    Err(d) => {
                        diags.push(d);
                        record_replication(private, false);
                        Some(state.to_value(client.now()))
                    }
                };
            }
        }
        let key_id = &created.credential.key_id;
        // Confirming replication only reads: the application's other keys are written meanwhile.
        drop(writing);
        let confirmed = confirm_replicated(ctx, client, &call, &app, key_id, strays, diags).await;
        record_replication(private, confirmed);
        Some(state.to_value(client.now()))
    }

    /// Present in one read: refreshed. Missing: gone only when agreeing reads say so.
    async fn read(
        &self,
        ctx: &Context<Configured>,
        state: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let stored = diags.take(KeyModel::from_value(state))?;
        let Some(key_id) = stored.remote.as_ref().map(|r| r.key_id.clone()) else {
            return Some(state.clone());
        };
        let configured = &ctx.client;
        let Some(client) = diags.take(configured.require(Needs::AppOnly, "Reading a web app key")) else {
            return Some(state.clone());
        };
        let app_id = stored.application_id.clone();
        let call = call_context(ctx, stored.timeout("read", TIMEOUTS.read));
        let first = match configured.applications.read_shared(client, &call, &app_id).await {
            Ok(app) => app,
            Err(e) => {
                diags.push(errors::diagnostic(&format!("reading application {app_id}"), &e));
                return Some(state.clone());
            }
        };
        let sighting = match first.as_deref().and_then(|app| find_key(app, &key_id)) {
            Some(key) => Ok(Sighting::Key(key.clone())),
            None => {
                let rule = if replication_confirmed(private) {
                    Absence::OF_REPLICATED
                } else {
                    Absence::OF_UNREPLICATED
                };
                look_for_missing_key(configured, client, &call, &app_id, &key_id, first.is_some(), rule).await
            }
        };
        match sighting {
            Ok(Sighting::Key(key)) => {
                let refreshed = check_secret_home(ctx, &call, stored.with_remote(&key), diags).await;
                Some(refreshed.to_value(client.now()))
            }
            Ok(Sighting::ApplicationGone) => {
                diags.warning(
                    format!("Application {app_id} no longer exists"),
                    format!(
                        "Key {key_id} went with it and is removed from state; the plan will create a key again if \
                         the application is back."
                    ),
                );
                None
            }
            Ok(Sighting::KeyGone) => {
                diags.warning(
                    format!("Key {key_id} of application {app_id} no longer exists"),
                    "It was deleted outside Terraform and is removed from state; the plan creates a new key.",
                );
                None
            }
            // Stopping: keep what state holds rather than forget a key that may exist.
            Err(WaitError::Cancelled) => Some(state.clone()),
            Err(WaitError::TimedOut) => {
                diags.error(
                    format!("Error reading key {key_id} of application {app_id}"),
                    "Reads kept disagreeing about whether the key exists until the read timeout; state is kept as \
                     it was. Try again, or raise timeouts.read.",
                );
                Some(state.clone())
            }
            Err(WaitError::Failed(e)) => {
                diags.push(errors::diagnostic(&format!("reading application {app_id}"), &e));
                Some(state.clone())
            }
        }
    }

    /// Only state-only arguments change in place (`rotate_before`, `timeouts`, a `validity` adopted after
    /// import): the planned object, every value known.
    async fn update(
        &self,
        _ctx: &Context<Configured>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        _private: &mut Private,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        Some(planned.with_unknowns_from(prior))
    }

    /// Remove the key, then wait until reads agree it is gone: destroy never succeeds while it is readable.
    async fn delete(
        &self,
        ctx: &Context<Configured>,
        prior: &Value,
        private: &Private,
        diags: &mut Diagnostics,
    ) {
        let Some(stored) = diags.take(KeyModel::from_value(prior)) else {
            return;
        };
        let Some(key_id) = stored.remote.as_ref().map(|r| r.key_id.clone()) else {
            return;
        };
        let configured = &ctx.client;
        let Some(client) = configured.client_for(Needs::AppOnly, "Deleting a web app key", diags) else {
            return;
        };
        let app_id = stored.application_id.clone();
        let _writing = configured.applications.lock(&app_id).await;
        let call = call_context(ctx, stored.timeout("delete", TIMEOUTS.delete));
        let removal = remove_key(
            configured,
            client,
            &call,
            &app_id,
            &key_id,
            if replication_confirmed(private) {
                Presence::Replicated
            } else {
                Presence::Unconfirmed
            },
        )
        .await;
        configured.applications.invalidate(&app_id);
        if let Err(d) = removal {
            diags.push(d);
            return;
        }
        // The key is gone: its Key Vault version must not be used any more.
        if let Some(version) = stored
            .key_vault_secret_id
            .as_deref()
            .and_then(|id| partnercenter_microsoft::SecretId::parse(id).ok())
        {
            // The key is gone even if Terraform was interrupted meanwhile: finish with its secret.
            if let Err(d) = vault_delivery::retire(&configured.key_vault, &finishing(&call), &version).await {
                diags.push(d);
            }
        }
    }

    async fn import(&self, ctx: &Context<Configured>, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let (app_id, key_id) = match parse_import_id(id) {
            Ok(ids) => ids,
            Err(e) => {
                diags.error("Invalid import id", e);
                return None;
            }
        };
        let configured = &ctx.client;
        let client = configured.client_for(Needs::AppOnly, "Importing a web app key", diags)?;
        let call = call_context(ctx, TIMEOUTS.read);
        let app = diags.take(application_for_write(configured, client, &call, &app_id).await)?;
        let verdict = consistency::look_until_certain(&call, Absence::OF_REPLICATED, || async {
            let app = configured
                .applications
                .read_fresh(client, &call, &app.app_id)
                .await
                .map_err(unshare)?;
            Ok(app.and_then(|app| find_key(&app, &key_id).cloned()))
        });
        let key = match find_key(&app, &key_id) {
            Some(key) => key.clone(),
            None => match verdict.await {
                Ok(Verdict::Found(key)) => key,
                Ok(Verdict::Gone) => {
                    diags.error(
                        format!("Key {key_id} not found on application {app_id}"),
                        "The application has no key with this id; list its keys with the partnercenter_web_app_keys \
                         data source, or in Entra ID > App registrations > Certificates & secrets.",
                    );
                    return None;
                }
                Err(e) => {
                    diags.push(wait_diagnostic(&format!("reading application {app_id}"), e));
                    return None;
                }
            },
        };
        Some(imported_state(&app_id, &key, client.now()))
    }

    /// Terraform 1.12+: the two GUIDs name the key for good; Entra reads them in any case.
    fn identity(&self) -> Option<Identity> {
        Some(Identity::from_state([attr::APPLICATION_ID, attr::KEY_ID]).ignore_case())
    }
}

/// The state `terraform import` gives for `key` of application `app_id` (also each key `terraform query`
/// lists), with `expires_in_days` as of `now`.
pub(crate) fn imported_state(app_id: &str, key: &PasswordCredential, now: DateTime<Utc>) -> Value {
    let imported = KeyModel {
        application_id: app_id.to_owned(),
        display_name: key
            .display_name
            .clone()
            .unwrap_or_else(|| DEFAULT_DISPLAY_NAME.into()),
        // The end is a fact of an existing key: state holds it, not a validity, so generated
        // configuration never sets both (see the schema's description).
        validity: None,
        end_date: None,
        rotate_before: DEFAULT_ROTATE_BEFORE.to_owned(),
        rotate_when_changed: Value::Null,
        timeouts: Value::Null,
        remote: None,
        value: None,
        key_vault_secret: Value::Null,
        key_vault_secret_id: None,
    };
    imported.with_remote(key).to_value(now)
}

// ---------------------------------------------------------------------------------------------------------
// Schema parts

const DESCRIPTION: &str = "A secret key of the Partner Center web app: a password credential on the partner tenant's app \
             registration, which cost-management tools (Cloudyn, Optima, Octo) ask for as the application \
             secret. `terraform plan` shows a key that was deleted, has expired, or is inside `rotate_before` of \
             its end date, and replaces it. Use `lifecycle { create_before_destroy = true }` so the new key \
             exists before the old one is removed.\n\n\
             A key whose `end_date` is set in the configuration is *pinned*: Terraform cannot rotate it without \
             changing the configuration, so inside `rotate_before` the plan warns (naming the key, the \
             application, the days left and what to do) and plans no change. A new key whose `end_date` is \
             already inside `rotate_before`, and a `rotate_before` not shorter than the key's lifetime, are \
             refused before anything is created.\n\n\
             The secret is only known when the key is created: after import, `value` is null. Import yields \
             the key's `end_date` (and no `validity`), so `terraform plan -generate-config-out` writes a \
             configuration that plans no change; a configuration with the `validity` the key was made with \
             is taken as well, in place.";

/// What the configuration sets.
fn arguments() -> Vec<Attribute> {
    vec![
        Attribute::string(attr::APPLICATION_ID)
                .required()
                .requires_replace()
                .description("The web app's App ID (Application (client) ID).")
                .validate(validation::guid("the web app's App ID")),
        Attribute::string(attr::DISPLAY_NAME)
                .default(DEFAULT_DISPLAY_NAME)
                .requires_replace()
                .description("The key's description in Entra ID. Defaults to `\"terraform\"`.")
                .validate(validation::not_blank()),
        Attribute::string(attr::VALIDITY)
                .optional()
                .computed()
                .requires_replace()
                .description(
                    "How long the key is valid: `\"1y\"` or `\"2y\"` (the choices Partner Center offers; calendar \
                     years from the start), or hours like `\"4320h\"`. Defaults to `\"2y\"`. Conflicts with \
                     `end_date`.",
                )
                .validate(Validator::string("\"1y\", \"2y\" or hours", |s| Validity::parse(s).map(|_| ()))),
        Attribute::string(attr::END_DATE)
                .optional()
                .computed()
                .requires_replace()
                .description(
                    "When the key expires (RFC 3339). Computed from `validity` unless set; when set, the key is \
                     pinned to it (see above).",
                )
                .validate(Validator::string("an RFC 3339 time", |s| parse_time(s).map(|_| ()))),
        Attribute::string(attr::ROTATE_BEFORE)
                .default(DEFAULT_ROTATE_BEFORE)
                .description(
                    "How long before `end_date` plans replace the key (Go duration). Defaults to `\"720h\"` (30 \
                     days). Inside twice this window, plans warn ahead of time. Must be shorter than the key's \
                     lifetime.",
                )
                .validate(duration::validator()),
        Attribute::new(attr::ROTATE_WHEN_CHANGED, Type::map(Type::String))
                .optional()
                .requires_replace()
                .description("Arbitrary values that replace the key when they change, like `time_rotating`'s triggers."),
    ]
}

/// What the provider fills in.
fn results() -> Vec<Attribute> {
    vec![
        Attribute::string(attr::ID).computed().use_state_for_unknown().description("`<application_id>/<key_id>`."),
        Attribute::string(attr::KEY_ID).computed().use_state_for_unknown().description("The key's id (GUID)."),
        Attribute::string(attr::START_DATE).computed().use_state_for_unknown().description("When the key became valid (RFC 3339)."),
        Attribute::string(attr::HINT)
                .computed()
                .use_state_for_unknown()
                .description("The first characters of the secret, as Entra ID shows them."),
        Attribute::string(attr::VALUE)
                .computed()
                .sensitive()
                .use_state_for_unknown()
                .description(
                    "The secret. Known only when the key is created (Microsoft never returns it again): null after \
                     import.",
                ),
        Attribute::number(attr::EXPIRES_IN_DAYS)
                .computed()
                .use_state_for_unknown()
                .description("Whole days until the key expires, as of the last refresh (0 once expired)."),
        Attribute::string(attr::KEY_VAULT_SECRET_ID)
                .computed()
                .use_state_for_unknown()
                .description(
                    "With `key_vault_secret`: the id of the Key Vault secret version holding the key's secret (`https://<vault>/secrets/<name>/<version>`). Null when that version was deleted, disabled or superseded: the plan then replaces the key.",
                ),
    ]
}

// ---------------------------------------------------------------------------------------------------------
// Planning steps

/// A new key's validity defaults to 2y unless an end date is given; a secret that goes to Key Vault is
/// never in plan or state.
fn plan_new_key(config: &Value, plan: &mut PlannedChange) {
    let validity = match (config.get(attr::VALIDITY), config.get(attr::END_DATE)) {
        (Value::Null, Value::Null) => Value::string(DEFAULT_VALIDITY),
        (Value::Null, _) => Value::Null,
        (v, _) => v.clone(),
    };
    plan.planned.set(attr::VALIDITY, validity);
    if !config.get(attr::KEY_VAULT_SECRET).is_null() {
        plan.planned.set(attr::VALUE, Value::Null);
    }
}

/// What a plan does about an existing key's standing.
#[derive(Debug, PartialEq)]
enum Judgement {
    Nothing,
    Warn(Diagnostic),
    /// Replace the key (rotation), with the warning saying why.
    Replace(Diagnostic),
}

/// The plan's answer to a key's standing: warn ahead of the window, replace inside it or once expired —
/// unless the end date is pinned, which Terraform cannot rotate: then a warning that says what to do.
fn judge(standing: &Standing, key: &str, app: &str, end: DateTime<Utc>, pinned: bool) -> Judgement {
    match *standing {
        Standing::Fine => Judgement::Nothing,
        Standing::RotationSoon { days_left, .. } | Standing::InsideWindow { days_left } if pinned => {
            Judgement::Warn(pinned_key_expiring(key, app, end, Some(days_left)))
        }
        Standing::Expired { .. } if pinned => Judgement::Warn(pinned_key_expiring(key, app, end, None)),
        Standing::RotationSoon {
            days_left,
            rotates_on,
        } => Judgement::Warn(Diagnostic::warning(
            format!("Key {key} of application {app} expires in {days_left} days"),
            format!(
                "It expires on {}. Plans from {} (rotate_before) will replace it.",
                rfc3339(end),
                rfc3339(rotates_on)
            ),
        )),
        Standing::InsideWindow { days_left } => Judgement::Replace(Diagnostic::warning(
            format!("Key {key} of application {app} expires in {days_left} days: replacing it"),
            format!(
                "It expires on {}, inside rotate_before; this plan creates a new key. With create_before_destroy \
                 the new key exists before the old one is removed: update the tools that use it.",
                rfc3339(end)
            ),
        )),
        Standing::Expired { on } => Judgement::Replace(Diagnostic::warning(
            format!(
                "Key {key} of application {app} expired on {}: replacing it",
                rfc3339(on)
            ),
            "The key no longer works; this plan creates a new one. Update the tools that use it.",
        )),
    }
}

/// App IDs are GUIDs: `0D4E…` and `0d4e…` name the same application, so a change of case alone keeps the
/// key (the new spelling is taken in place; Terraform requires state to equal the configuration).
fn keep_the_key_when_only_the_app_id_case_differs(prior: &Value, config: &Value, plan: &mut PlannedChange) {
    let (Some(before), Some(now)) = (
        prior.known::<String>(attr::APPLICATION_ID),
        config.known::<String>(attr::APPLICATION_ID),
    ) else {
        return;
    };
    if before != now && before.eq_ignore_ascii_case(&now) {
        plan.cancel_replacement_of(attr::APPLICATION_ID, prior);
    }
}

/// A new destination for the secret needs a new key (the secret cannot be read back to move it), and so
/// does a Key Vault version that a refresh found deleted, disabled or superseded.
fn replace_when_the_secret_has_no_current_home(
    prior: &KeyModel,
    config: &Value,
    schema: &crate::protocol::Schema,
    plan: &mut PlannedChange,
) {
    let wanted = config.get(attr::KEY_VAULT_SECRET);
    if plan.planned.get(attr::KEY_VAULT_SECRET) != &prior.key_vault_secret {
        plan.replace_because_of(attr::KEY_VAULT_SECRET, schema, config);
    } else if !wanted.is_null() && prior.key_vault_secret_id.is_none() && prior.remote.is_some() {
        plan.replace_because_of(attr::KEY_VAULT_SECRET_ID, schema, config);
    }
}

/// Refuses a new key that the next plan would replace at once (or that is already expired).
fn refuse_pinned_end_inside_window(
    end: DateTime<Utc>,
    now: DateTime<Utc>,
    rotate_before: chrono::Duration,
    diags: &mut Diagnostics,
) {
    let at = AttributePath::root(attr::END_DATE);
    if end <= now {
        diags.attribute_error(
            at,
            "end_date is in the past",
            format!(
                "{} is before now ({}); give a future date.",
                rfc3339(end),
                rfc3339(now)
            ),
        );
    } else if end - rotate_before <= now {
        diags.attribute_error(
            at,
            "end_date is inside rotate_before",
            format!(
                "A key ending {} would already be inside its rotation window (rotate_before), and a pinned \
                 end_date cannot be rotated: give an end_date later than {} or a shorter rotate_before.",
                rfc3339(end),
                rfc3339(now + rotate_before)
            ),
        );
    }
}

/// The validity a configuration gives an imported key (state has none) is taken in place when it is the
/// key's actual lifetime, instead of replacing an identical key.
fn accept_the_validity_an_imported_key_has(
    prior: &KeyModel,
    prior_value: &Value,
    config: &Value,
    plan: &mut PlannedChange,
) {
    let path = AttributePath::root(attr::VALIDITY);
    if prior.validity.is_some() || !plan.requires_replace.contains(&path) {
        return;
    }
    let Some(wanted) = config
        .known::<String>(attr::VALIDITY)
        .and_then(|v| Validity::parse(&v).ok())
    else {
        return;
    };
    let Some(RemoteKey {
        start: Some(start),
        end: Some(end),
        ..
    }) = prior.remote
    else {
        return;
    };
    if wanted.describes(start, end) {
        plan.cancel_replacement_of(attr::VALIDITY, prior_value);
    }
}

fn pinned_key_expiring(key: &str, app: &str, end: DateTime<Utc>, days_left: Option<i64>) -> Diagnostic {
    let when = match days_left {
        Some(days) => format!("expires in {days} days"),
        None => format!("expired on {}", rfc3339(end)),
    };
    Diagnostic::warning(
        format!("Key {key} of application {app} {when}; its end_date is pinned"),
        format!(
            "The key ends {}, and its end_date is set in the configuration, so Terraform cannot rotate it: \
             this plan changes nothing. To rotate it, set end_date to a later date (a new key is made), or \
             replace end_date with validity (e.g. \"1y\") so plans rotate it inside rotate_before.",
            rfc3339(end)
        ),
    )
}

/// `rotate_before` must be shorter than the key's lifetime, or every plan would replace the key.
fn check_rotate_before_fits(config: &Value, diags: &mut Diagnostics) {
    let Some(rotate_before) = config
        .known::<String>(attr::ROTATE_BEFORE)
        .or_else(|| {
            config
                .get(attr::ROTATE_BEFORE)
                .is_null()
                .then(|| DEFAULT_ROTATE_BEFORE.to_owned())
        })
        .and_then(|s| parse_rotate_before(&s))
    else {
        return;
    };
    let validity = match (config.attr::<String>(attr::VALIDITY), config.get(attr::END_DATE)) {
        (Ok(Attr::Known(v)), _) => v,
        (Ok(Attr::Null), Value::Null) => DEFAULT_VALIDITY.to_owned(),
        _ => return,
    };
    let Ok(lifetime) = Validity::parse(&validity).map(Validity::shortest_lifetime) else {
        return;
    };
    if rotate_before >= lifetime {
        diags.attribute_error(
            AttributePath::root(attr::ROTATE_BEFORE),
            "rotate_before is not shorter than the key's lifetime",
            format!(
                "A key valid for {validity} would be inside its rotation window from the day it is made, so every \
                 plan would replace it. Give rotate_before less than the validity, e.g. \"720h\" (30 days)."
            ),
        );
    }
}

/// Microsoft's "now": the `Date` of the latest answer, learning it with one (shared) read of the
/// application when this process has not talked to Microsoft yet, so that the plan at apply time judges
/// the rotation window by the same clock as `terraform plan` did. Without credentials, the local clock.
async fn microsoft_now(ctx: &Context<Configured>, app_id: Option<&str>) -> DateTime<Utc> {
    let configured = &ctx.client;
    let Ok(client) = configured.require(Needs::AppOnly, "Planning a web app key") else {
        return Utc::now();
    };
    if client.server_time().is_none() {
        if let Some(app_id) = app_id {
            let call = call_context(ctx, Duration::from_secs(30));
            // Only the answer's Date matters here; a failure leaves the local clock.
            let _ = configured.applications.read_shared(client, &call, app_id).await;
        }
    }
    client.now()
}

// ---------------------------------------------------------------------------------------------------------
// Apply steps

/// The application to write to: a 404 may be an application created moments ago that this replica does not
/// know yet, so it is believed only after agreeing reads spread over [`NEW_APPLICATION_PATIENCE`].
pub(crate) async fn application_for_write(
    configured: &Configured,
    client: &Client,
    call: &CallContext,
    app_id: &str,
) -> Result<std::sync::Arc<Application>, Diagnostic> {
    let patience = Absence {
        reads: 5,
        over_at_least: NEW_APPLICATION_PATIENCE,
    };
    let verdict = consistency::look_until_certain(call, patience, || async {
        configured
            .applications
            .read_fresh(client, call, app_id)
            .await
            .map_err(unshare)
    })
    .await;
    match verdict {
        Ok(Verdict::Found(app)) => Ok(app),
        Ok(Verdict::Gone) => Err(Diagnostic::error(
            format!("Application {app_id} not found"),
            "No app registration with this App ID exists in the partner tenant. Check application_id (Partner \
             Center > Account settings > App management shows the web app's App ID) and that the provider's \
             tenant_id is the partner tenant.",
        )
        .at(AttributePath::root(attr::APPLICATION_ID))),
        Err(e) => Err(wait_diagnostic(&format!("reading application {app_id}"), e)),
    }
}

/// How adding the key ended.
enum Added {
    /// Microsoft answered with the key and its secret; `strays` are earlier attempts whose answers were
    /// lost and whose keys were not found yet (they may still appear while replication catches up).
    Key {
        created: CreatedPassword,
        strays: Vec<Fingerprint>,
    },
    /// A key was made but its secret never arrived, and it could not be removed again.
    SecretLost { key: PasswordCredential, why: String },
    /// Nothing was added (or what was added was removed again).
    Nothing(Diagnostic),
}

/// How one addPassword call ended.
enum Attempt {
    Answered(CreatedPassword),
    /// Sent, maybe applied, answer lost (connection dropped, 5xx, interrupted in flight).
    Unsure(Error),
    /// Refused, or failed before anything was sent: nothing was written.
    Refused(Error),
}

async fn attempt(
    client: &Client,
    call: &CallContext,
    app: &Application,
    fingerprint: &Fingerprint,
) -> Attempt {
    match client
        .graph()
        .add_password(call, &app.id, fingerprint.new_password())
        .await
    {
        Ok(created) => Attempt::Answered(created),
        Err(e) if e.is_ambiguous() => Attempt::Unsure(e),
        Err(e) => Attempt::Refused(e),
    }
}

/// Adds the key; after an answer is lost, looks until certain whether the key exists before anything
/// else. A found key (its secret lost) is removed and the call repeated.
async fn add_key(
    ctx: &Context<Configured>,
    client: &Client,
    call: &CallContext,
    app: &Application,
    planned: &KeyModel,
) -> Added {
    let app_id = &planned.application_id;
    let mut strays: Vec<Fingerprint> = Vec::new();
    for attempt_number in 1..=MAX_ATTEMPTS {
        let fingerprint = match fingerprint_for(client, planned) {
            Ok(f) => f,
            Err(d) => return Added::Nothing(d),
        };
        let error = match attempt(client, call, app, &fingerprint).await {
            Attempt::Answered(created) => return Added::Key { created, strays },
            Attempt::Refused(e) => {
                return Added::Nothing(refusal_diagnostic(client, call, app_id, &e).await);
            }
            Attempt::Unsure(e) => e,
        };
        tracing::debug!(attempt = attempt_number, error = %errors::describe(&error), "addPassword answer lost; looking for the key");
        match after_lost_answer(ctx, client, call, app, &fingerprint, &error).await {
            LostAnswer::Removed => tracing::debug!("the key was made and is removed again"),
            LostAnswer::NotSeen => {
                tracing::debug!("agreeing reads never saw the key");
                strays.push(fingerprint)
            }
            LostAnswer::Ends(added) => return added,
        }
        if call.is_cancelled() || attempt_number == MAX_ATTEMPTS {
            return Added::Nothing(errors::diagnostic(
                &format!("adding a key to application {app_id}"),
                &error,
            ));
        }
    }
    Added::Nothing(Diagnostic::error(
        format!("Error adding a key to application {app_id}"),
        "No attempt succeeded.",
    ))
}

/// What looking after a lost addPassword answer found.
enum LostAnswer {
    /// The key was made (its secret lost) and is removed again: try once more.
    Removed,
    /// Agreeing reads never saw it; it may still appear while replication catches up (a stray).
    NotSeen,
    /// The create ends here: the key is recorded without its secret, or whether it exists is unknown.
    Ends(Added),
}

async fn after_lost_answer(
    ctx: &Context<Configured>,
    client: &Client,
    call: &CallContext,
    app: &Application,
    fingerprint: &Fingerprint,
    error: &Error,
) -> LostAnswer {
    // Stopping or out of time: look with a context of our own, bounded, so the answer still comes.
    let look = if call.is_cancelled()
        || call
            .remaining()
            .is_some_and(|left| left < Duration::from_secs(15))
    {
        detached_context()
    } else {
        call.clone()
    };
    let found = consistency::look_until_certain(&look, Absence::OF_UNREPLICATED, || async {
        let seen = ctx
            .client
            .applications
            .read_fresh(client, &look, &app.app_id)
            .await
            .map_err(unshare)?;
        Ok(seen.and_then(|seen| {
            seen.password_credentials
                .iter()
                .find(|k| fingerprint.matches(k))
                .cloned()
        }))
    })
    .await;
    match found {
        Ok(Verdict::Found(key)) => match remove_stray(ctx, client, &look, app, &key).await {
            Ok(()) => LostAnswer::Removed,
            Err(why) => LostAnswer::Ends(Added::SecretLost {
                key,
                why: format!("{}; then {why}", errors::describe(error)),
            }),
        },
        Ok(Verdict::Gone) => LostAnswer::NotSeen,
        // Could not tell: the key may exist. Say so precisely, so it can be found.
        Err(e) => LostAnswer::Ends(Added::Nothing(Diagnostic::error(
            format!("Error adding a key to application {}", app.app_id),
            format!(
                "addPassword was interrupted ({}), and whether Microsoft applied it could not be determined \
                 ({}). If application {} has a key named \"{}\" starting {}, it was made by this run and can be \
                 deleted.",
                errors::describe(error),
                wait_error_text(&e),
                app.app_id,
                fingerprint.display_name,
                rfc3339(fingerprint.start)
            ),
        ))),
    }
}

/// A fresh fingerprint for one attempt: Microsoft's clock, a random microsecond, the planned end.
fn fingerprint_for(client: &Client, planned: &KeyModel) -> Result<Fingerprint, Diagnostic> {
    let second = client.now().timestamp();
    let micros = rand::rng().random_range(1..1_000_000);
    let start = DateTime::from_timestamp(second, micros * 1000).unwrap_or_else(Utc::now);
    let end = match (&planned.end_date, &planned.validity) {
        (Some(end), _) => parse_time(end).ok(),
        (None, Some(v)) => Validity::parse(v).ok().and_then(|v| v.end(start)),
        (None, None) => Validity::Years(2).end(start),
    };
    let end = end.ok_or_else(|| {
        Diagnostic::error(
            "Cannot compute the key's end date",
            "The key's start plus its validity is beyond the dates Graph accepts.",
        )
        .at(AttributePath::root(attr::VALIDITY))
    })?;
    Ok(Fingerprint {
        display_name: planned.display_name.clone(),
        start,
        end,
    })
}

/// Removes a key whose secret was lost and waits until reads agree it is gone.
async fn remove_stray(
    ctx: &Context<Configured>,
    client: &Client,
    call: &CallContext,
    app: &Application,
    key: &PasswordCredential,
) -> Result<(), String> {
    remove_key(
        &ctx.client,
        client,
        call,
        &app.app_id,
        &key.key_id,
        Presence::Seen(&app.id),
    )
    .await
    .map_err(|d| format!("removing key {} failed: {}", key.key_id, d.detail))
}

/// Waits until reads agree the new key exists, so the next refresh does not report it gone; meanwhile a
/// key of an earlier attempt (whose answer was lost) that shows up late is removed, under the
/// application's lock (the caller does not hold it). Returns whether replication was confirmed.
async fn confirm_replicated(
    ctx: &Context<Configured>,
    client: &Client,
    call: &CallContext,
    app: &Application,
    key_id: &str,
    strays: Vec<Fingerprint>,
    diags: &mut Diagnostics,
) -> bool {
    let applications = &ctx.client.applications;
    let late: Mutex<Vec<PasswordCredential>> = Mutex::default();
    let waited = consistency::wait_until_visible(call, || async {
        let seen = applications
            .read_fresh(client, call, &app.app_id)
            .await
            .map_err(unshare)?;
        let Some(seen) = seen else { return Ok(false) };
        if let Ok(mut late) = late.lock() {
            for key in &seen.password_credentials {
                if strays.iter().any(|f| f.matches(key)) && !late.iter().any(|k| k.key_id == key.key_id) {
                    late.push(key.clone());
                }
            }
        }
        Ok(find_key(&seen, key_id).is_some())
    })
    .await;
    let late = late.into_inner().unwrap_or_default();
    let _writing = if late.is_empty() {
        None
    } else {
        Some(applications.lock(&app.app_id).await)
    };
    for key in &late {
        let cleanup = if call.is_cancelled() {
            detached_context()
        } else {
            call.clone()
        };
        if let Err(why) = remove_stray(ctx, client, &cleanup, app, key).await {
            diags.warning(
                format!("A key from an interrupted attempt remains on application {}", app.app_id),
                format!(
                    "Key {} was made by an earlier attempt whose answer was lost; {why}. Delete it in Entra ID \
                     (App registrations > Certificates & secrets).",
                    key.key_id
                ),
            );
        }
    }
    match waited {
        Ok(()) => true,
        Err(WaitError::Cancelled) => {
            diags.warning(
                format!("Key {key_id} created; stopped before its replication was confirmed"),
                "Terraform was interrupted. The key exists and is recorded in state.",
            );
            false
        }
        Err(WaitError::TimedOut) => {
            diags.warning(
                format!("Key {key_id} created; replication not confirmed within the create timeout"),
                "Entra ID is still replicating the new key; it is recorded in state. If a tool rejects the secret, \
                 wait a few minutes.",
            );
            false
        }
        Err(WaitError::Failed(e)) => {
            diags.warning(
                format!("Key {key_id} created; confirming its replication failed"),
                format!(
                    "The key is recorded in state. Reading it back failed: {}",
                    errors::describe(&e)
                ),
            );
            false
        }
    }
}

/// What the caller knows of a key it removes.
#[derive(Clone, Copy)]
enum Presence<'a> {
    /// A read (or Microsoft's answer) just showed it, on the application with this object id: remove it
    /// without looking again, since the next read may come from a replica that does not have it yet.
    Seen(&'a str),
    /// Its creation saw it replicated: three agreeing misses mean it is gone.
    Replicated,
    /// Its replication was never seen: gone only after longer agreement.
    Unconfirmed,
}

/// removePassword, repeated until reads agree the key is gone. "Not found" from removePassword is not
/// taken on its word either: the reads decide.
async fn remove_key(
    configured: &Configured,
    client: &Client,
    call: &CallContext,
    app_id: &str,
    key_id: &str,
    presence: Presence<'_>,
) -> Result<(), Diagnostic> {
    let doing = format!("removing key {key_id} from application {app_id}");
    let look = || async {
        let app = configured
            .applications
            .read_fresh(client, call, app_id)
            .await
            .map_err(unshare)?;
        Ok(app.and_then(|app| find_key(&app, key_id).is_some().then_some(app)))
    };
    let rule = match presence {
        Presence::Replicated => Absence::OF_REPLICATED,
        Presence::Seen(_) | Presence::Unconfirmed => Absence::OF_UNREPLICATED,
    };
    let mut just_seen_on = match presence {
        Presence::Seen(object_id) => Some(object_id.to_owned()),
        _ => None,
    };
    loop {
        let object_id = match just_seen_on.take() {
            Some(object_id) => object_id,
            None => match consistency::look_until_certain(call, rule, look).await {
                Ok(Verdict::Found(app)) => app.id.clone(),
                Ok(Verdict::Gone) => return Ok(()),
                Err(e) => return Err(wait_diagnostic(&doing, e)),
            },
        };
        match client.graph().remove_password(call, &object_id, key_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(errors::diagnostic(&doing, &e)),
        }
        // Until reads agree it is gone. A key still readable after REMOVAL_SETTLES means the removal was
        // lost on the way (or answered by a replica that did not have the key): remove it again. Ctrl-C
        // does not end this wait: a removal sent is confirmed, or state would keep a key Entra no longer
        // holds, which a lagging replica could then show to the next refresh.
        let settling = finishing(call).with_timeout(REMOVAL_SETTLES);
        let gone = consistency::wait_until_visible(&settling, || async {
            let app = configured
                .applications
                .read_fresh(client, &settling, app_id)
                .await
                .map_err(unshare)?;
            Ok(app.is_none_or(|app| find_key(&app, key_id).is_none()))
        })
        .await;
        match gone {
            Ok(()) => return Ok(()),
            Err(WaitError::TimedOut) if call.remaining().is_none_or(|left| !left.is_zero()) => continue,
            Err(WaitError::TimedOut) => {
                return Err(Diagnostic::error(
                    format!("Error {doing}"),
                    "Microsoft accepted the removal, but reads still showed the key when the delete timeout \
                     ran out; it stays in state so the next destroy tries again.",
                ));
            }
            Err(e) => return Err(wait_diagnostic(&doing, e)),
        }
    }
}

/// A key made without its secret reaching us, and not removable: it is recorded without value and with
/// this error, so Terraform taints it and the next apply replaces it; nothing is left untracked.
fn secret_lost(app_id: &str, key_id: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Key {key_id} was added to application {app_id}, but its secret was lost"),
        format!(
            "The request was interrupted after Microsoft applied it ({why}), and removing the key again failed. \
             It is recorded in state without its value and marked for replacement: the next apply removes it and \
             makes a new one."
        ),
    )
}

/// What agreeing reads found of a key one read missed.
enum Sighting {
    Key(PasswordCredential),
    KeyGone,
    ApplicationGone,
}

/// A key missing from one read: gone only when agreeing reads (`rule`) say so; a read that shows it wins.
async fn look_for_missing_key(
    configured: &Configured,
    client: &Client,
    call: &CallContext,
    app_id: &str,
    key_id: &str,
    app_seen: bool,
    rule: Absence,
) -> Result<Sighting, WaitError<Error>> {
    let app_seen = AtomicBool::new(app_seen);
    let verdict = consistency::look_until_certain(call, rule, || async {
        let app = configured
            .applications
            .read_fresh(client, call, app_id)
            .await
            .map_err(unshare)?;
        app_seen.store(app.is_some(), Ordering::Relaxed);
        Ok(app.and_then(|app| find_key(&app, key_id).cloned()))
    })
    .await?;
    Ok(match verdict {
        Verdict::Found(key) => Sighting::Key(key),
        Verdict::Gone if app_seen.load(Ordering::Relaxed) => Sighting::KeyGone,
        Verdict::Gone => Sighting::ApplicationGone,
    })
}

/// With a `key_vault_secret` block, writes the new key's secret to Key Vault (`Ok(None)` without one).
async fn deliver_secret(
    ctx: &Context<Configured>,
    call: &CallContext,
    key: &KeyModel,
    created: &CreatedPassword,
) -> Result<Option<partnercenter_microsoft::SecretId>, Diagnostic> {
    let Some(destination) = Destination::from_block(&key.key_vault_secret)? else {
        return Ok(None);
    };
    // Stopping: the key exists, so finishing its delivery is worth a few seconds.
    let call = if call.is_cancelled() {
        detached_context()
    } else {
        call.clone()
    };
    let remote = key.remote.as_ref();
    let facts = KeyFacts {
        application_id: &key.application_id,
        key_id: &created.credential.key_id,
        start: remote.and_then(|r| r.start),
        end: remote.and_then(|r| r.end),
    };
    vault_delivery::deliver(
        &ctx.client.key_vault,
        &call,
        &destination,
        &facts,
        &created.secret_text,
    )
    .await
    .map(Some)
}

/// With a Key Vault version on record: still there, enabled and the latest? If not, a warning, and the
/// version is dropped from state so the plan replaces the key. A check that fails keeps what state holds.
async fn check_secret_home(
    ctx: &Context<Configured>,
    call: &CallContext,
    mut key: KeyModel,
    diags: &mut Diagnostics,
) -> KeyModel {
    let Some(version) = key
        .key_vault_secret_id
        .as_deref()
        .and_then(|id| partnercenter_microsoft::SecretId::parse(id).ok())
    else {
        return key;
    };
    let key_id = key.remote.as_ref().map(|r| r.key_id.clone()).unwrap_or_default();
    match vault_delivery::health(&ctx.client.key_vault, call, &version).await {
        Ok(Health::Current) => {}
        Ok(health) => {
            diags.push(vault_delivery::drift_warning(&version, &health, &key_id));
            key.key_vault_secret_id = None;
        }
        Err(e) => diags.warning(
            format!("Could not check the Key Vault secret of key {key_id}"),
            format!(
                "Reading version {version} failed; state keeps it as it was. {}",
                errors::describe(&e)
            ),
        ),
    }
    key
}

/// A refused addPassword in the user's terms; an app management policy is named with its limit.
async fn refusal_diagnostic(client: &Client, call: &CallContext, app_id: &str, error: &Error) -> Diagnostic {
    match app_policies::Refusal::of(error) {
        Some(refusal) => app_policies::explain(client, call, app_id, &refusal, error).await,
        None => errors::attribute_diagnostic(
            &format!("adding a key to application {app_id}"),
            error,
            attr::APPLICATION_ID,
        ),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

fn wait_error_text(e: &WaitError<Error>) -> String {
    match e {
        WaitError::TimedOut => "the timeout ran out".to_owned(),
        WaitError::Cancelled => "Terraform stopped the operation".to_owned(),
        WaitError::Failed(e) => errors::describe(e),
    }
}

fn wait_diagnostic(doing: &str, e: WaitError<Error>) -> Diagnostic {
    match e {
        WaitError::Failed(e) => errors::diagnostic(doing, &e),
        other => Diagnostic::error(
            format!("Error {doing}"),
            format!("Gave up: {}.", wait_error_text(&other)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap()
    }

    #[test]
    fn one_and_two_years_are_calendar_years() {
        let start = at("2026-11-22T06:30:00Z");
        assert_eq!(
            Validity::parse("1y").unwrap().end(start),
            Some(at("2027-11-22T06:30:00Z"))
        );
        assert_eq!(
            Validity::parse("2y").unwrap().end(start),
            Some(at("2028-11-22T06:30:00Z"))
        );
        let leap = at("2028-02-29T00:00:00Z");
        assert_eq!(
            Validity::parse("1y").unwrap().end(leap),
            Some(at("2029-02-28T00:00:00Z"))
        );
        assert_eq!(
            Validity::parse("4320h").unwrap().end(start),
            Some(start + chrono::Duration::hours(4320))
        );
    }

    #[test]
    fn bad_validities_say_what_to_write() {
        assert!(Validity::parse("3y").unwrap_err().contains("\"1y\" or \"2y\""));
        assert!(Validity::parse("10m").unwrap_err().contains("at least"));
    }

    #[test]
    fn a_validity_describes_the_keys_it_makes() {
        let start = at("2025-01-15T10:00:00.123456Z");
        assert!(Validity::Years(2).describes(start, at("2027-01-15T10:00:00.123456Z")));
        assert!(Validity::Years(1).describes(start, at("2026-01-15T10:00:00Z")));
        assert!(!Validity::Years(1).describes(start, at("2027-01-15T10:00:00Z")));
        assert!(
            Validity::parse("4320h")
                .unwrap()
                .describes(start, at("2025-07-14T10:00:00.123456Z"))
        );
    }

    #[test]
    fn standing_against_the_rotation_window() {
        let end = at("2027-01-31T00:00:00Z");
        let window = chrono::Duration::days(30);
        assert_eq!(standing(at("2026-11-01T00:00:00Z"), end, window), Standing::Fine);
        assert!(matches!(
            standing(at("2026-12-15T00:00:00Z"), end, window),
            Standing::RotationSoon { days_left: 47, .. }
        ));
        assert_eq!(
            standing(at("2027-01-11T00:00:00Z"), end, window),
            Standing::InsideWindow { days_left: 20 }
        );
        assert_eq!(
            standing(at("2027-02-01T00:00:00Z"), end, window),
            Standing::Expired { on: end }
        );
    }

    #[test]
    fn import_ids_are_two_guids() {
        let (app, key) =
            parse_import_id("0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f")
                .unwrap();
        assert_eq!(app, "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47");
        assert_eq!(key, "3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f");
        assert!(
            parse_import_id("0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47")
                .unwrap_err()
                .contains("<application_id>/<key_id>")
        );
    }

    fn credential(name: &str, start: &str, end: &str) -> PasswordCredential {
        serde_json::from_value(serde_json::json!({
            "keyId": "3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
            "displayName": name,
            "startDateTime": start,
            "endDateTime": end,
        }))
        .unwrap()
    }

    #[test]
    fn a_fingerprint_tells_our_key_from_one_made_the_same_second() {
        let ours = Fingerprint {
            display_name: "terraform".into(),
            start: at("2026-12-02T10:00:00.421337Z"),
            end: at("2028-12-02T10:00:00.421337Z"),
        };
        assert!(ours.matches(&credential(
            "terraform",
            "2026-12-02T10:00:00.421337Z",
            "2028-12-02T10:00:00.421337Z"
        )));
        assert!(!ours.matches(&credential(
            "terraform",
            "2026-12-02T10:00:00Z",
            "2028-12-02T10:00:00Z"
        )));
        assert!(!ours.matches(&credential(
            "terraform",
            "2026-12-02T10:00:00.421338Z",
            "2028-12-02T10:00:00.421337Z"
        )));
    }

    #[test]
    fn rotate_before_must_be_shorter_than_the_lifetime() {
        let config = |validity: Option<&str>, rotate: &str| {
            Value::object([
                (attr::VALIDITY, Value::from(validity.map(str::to_owned))),
                (attr::END_DATE, Value::Null),
                (attr::ROTATE_BEFORE, Value::string(rotate)),
            ])
        };
        let mut diags = Diagnostics::new();
        check_rotate_before_fits(&config(Some("1y"), "720h"), &mut diags);
        check_rotate_before_fits(&config(None, "8000h"), &mut diags);
        assert!(!diags.has_errors());
        check_rotate_before_fits(&config(Some("1y"), "8760h"), &mut diags);
        assert!(diags.has_errors());
        let mut diags = Diagnostics::new();
        check_rotate_before_fits(&config(Some("720h"), "720h"), &mut diags);
        assert!(diags.has_errors());
    }

    #[test]
    fn a_model_round_trips_through_its_value() {
        let model = KeyModel {
            application_id: "0D4E3A1B-7C2F-4E8A-9B5D-3F6A1C8E2B47".into(),
            display_name: "terraform".into(),
            validity: None,
            end_date: Some("2028-12-02T10:00:00.5Z".into()),
            rotate_before: "720h".into(),
            rotate_when_changed: Value::Null,
            timeouts: Value::Null,
            remote: Some(RemoteKey {
                key_id: "3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f".into(),
                start: Some(at("2026-12-02T10:00:00.5Z")),
                end: Some(at("2028-12-02T10:00:00.5Z")),
                hint: Some("abc".into()),
            }),
            value: None,
            key_vault_secret: Value::Null,
            key_vault_secret_id: None,
        };
        let value = model.to_value(at("2026-12-02T10:00:00Z"));
        assert_eq!(value.get(attr::EXPIRES_IN_DAYS), &Value::from(731));
        let back = KeyModel::from_value(&value).unwrap();
        assert_eq!(back.remote, model.remote);
        assert_eq!(back.end_date, model.end_date);
        assert_eq!(back.to_value(at("2026-12-02T10:00:00Z")), value);
    }
}
