//! `partnercenter_web_app_key`: a secret key (password credential) of the Partner Center web app, the
//! "Application Secret key" every cost-management tool asks for. Plans show when a key was deleted, has
//! expired, or is inside its rotation window, and replace it; a key created remotely always ends in state.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Months, SecondsFormat, Utc};
use partnercenter_microsoft::graph::{Application, NewPassword, PasswordCredential};
use partnercenter_microsoft::{CallContext, Client};
use tokio_util::sync::CancellationToken;

use crate::protocol::{
    Attribute, AttributePath, Context, Diagnostic, Diagnostics, PlanRequest, PlannedChange, Resource, Schema,
    Type, Validator, Value,
};
use crate::provider::config::{Configured, Needs};
use crate::provider::consistency::{self, WaitError};
use crate::provider::timeouts::{self, Defaults};
use crate::provider::{call_context, duration, errors, validation};

pub struct WebAppKey;

const TYPE_NAME: &str = "partnercenter_web_app_key";
const DEFAULT_DISPLAY_NAME: &str = "terraform";
const DEFAULT_VALIDITY: &str = "2y";
const DEFAULT_ROTATE_BEFORE: &str = "720h";

const TIMEOUTS: Defaults = Defaults {
    create: Duration::from_secs(15 * 60),
    read: Duration::from_secs(5 * 60),
    update: Duration::from_secs(5 * 60),
    delete: Duration::from_secs(5 * 60),
};

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

    /// The validity an existing key was made with, for import: "1y"/"2y" when it matches, else hours.
    fn describe(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        for years in [1, 2] {
            if Validity::Years(years).end(start) == Some(end) {
                return format!("{years}y");
            }
        }
        format!("{}h", (end - start).num_hours())
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("\"{text}\" is not an RFC 3339 time: write it like \"2027-06-30T00:00:00Z\"."))
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

/// The key's state from what Graph says about it, keeping the configured spelling of `end_date` when it
/// names the same instant (Terraform requires applied values to equal configured ones).
fn key_state(
    base: &Value,
    app_id: &str,
    key: &PasswordCredential,
    value: Value,
    now: DateTime<Utc>,
) -> Value {
    let mut state = base.clone();
    state.set("id", Value::string(format!("{app_id}/{}", key.key_id)));
    state.set("key_id", Value::string(key.key_id.clone()));
    state.set("start_date", Value::from(key.start_date_time.map(rfc3339)));
    let configured_end = base.get("end_date").as_str().and_then(|s| parse_time(s).ok());
    if configured_end.is_none() || configured_end != key.end_date_time {
        state.set("end_date", Value::from(key.end_date_time.map(rfc3339)));
    }
    state.set("hint", Value::from(key.hint.clone()));
    state.set("value", value);
    state.set(
        "expires_in_days",
        Value::from(key.end_date_time.map(|end| days_left(now, end))),
    );
    state
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

/// A context for looking around after an interruption: the operation's own context may be cancelled, but
/// finding out whether a key was created must still be possible.
fn detached_context() -> CallContext {
    CallContext::new(CancellationToken::new()).with_timeout(Duration::from_secs(60))
}

/// A key missing from one read may only be missing from the replica that answered: before a key is
/// declared gone (which makes the next apply create another and orphan this one), fresh reads must agree.
/// A key made in the last two minutes gets 20 s to appear (a key deleted that soon costs the plan that
/// wait); an older one needs three agreeing reads.
async fn look_again(
    configured: &Configured,
    client: &Client,
    ctx: &Context<Configured>,
    app_id: &str,
    key_id: &str,
    recent: bool,
) -> Result<Option<PasswordCredential>, ()> {
    let patience = if recent {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(10)
    };
    let call = call_context(ctx, patience);
    let mut absent = 0;
    let mut backoff = consistency::Backoff::new();
    loop {
        match configured.applications.read_fresh(client, &call, app_id).await {
            Ok(Some(app)) => match app.password_credentials.iter().find(|k| k.key_id == key_id) {
                Some(key) => return Ok(Some(key.clone())),
                None => absent += 1,
            },
            Ok(None) => absent += 1,
            Err(_) => return Err(()),
        }
        if !recent && absent >= consistency::CONSECUTIVE_READS {
            return Ok(None);
        }
        match backoff.pause(&call, None).await {
            Ok(()) => {}
            Err(partnercenter_microsoft::Error::Cancelled) => return Err(()),
            // Waited as long as a replica may lag: it is gone.
            Err(_) => return Ok(None),
        }
    }
}

async fn application(
    client: &Client,
    ctx: &CallContext,
    configured: &Configured,
    app_id: &str,
) -> Result<Arc<Application>, Diagnostic> {
    match configured.applications.read_fresh(client, ctx, app_id).await {
        Ok(Some(app)) => Ok(app),
        Ok(None) => Err(Diagnostic::error(
            format!("Application {app_id} not found"),
            "No app registration with this App ID exists in the partner tenant. Check application_id (Partner \
             Center > Account settings > App management shows the web app's App ID) and that the provider's \
             tenant_id is the partner tenant.",
        )
        .at(AttributePath::root("application_id"))),
        Err(e) => Err(errors::diagnostic(&format!("reading application {app_id}"), &e)),
    }
}

#[async_trait]
impl Resource<Configured> for WebAppKey {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "A secret key of the Partner Center web app: a password credential on the partner tenant's app \
             registration, which cost-management tools (Cloudyn, Optima, Octo) ask for as the application \
             secret. `terraform plan` shows a key that was deleted, has expired, or is inside `rotate_before` of \
             its end date, and replaces it. Use `lifecycle { create_before_destroy = true }` so the new key \
             exists before the old one is removed. The secret is only known when the key is created: after \
             `terraform import`, `value` is null.",
        )
        .attribute(
            Attribute::string("application_id")
                .required()
                .requires_replace()
                .description("The web app's App ID (Application (client) ID).")
                .validate(validation::guid("the web app's App ID")),
        )
        .attribute(
            Attribute::string("display_name")
                .default(DEFAULT_DISPLAY_NAME)
                .requires_replace()
                .description("The key's description in Entra ID. Defaults to `\"terraform\"`.")
                .validate(validation::not_blank()),
        )
        .attribute(
            Attribute::string("validity")
                .optional()
                .computed()
                .requires_replace()
                .description(
                    "How long the key is valid: `\"1y\"` or `\"2y\"` (the choices Partner Center offers; calendar \
                     years from the start), or hours like `\"4320h\"`. Defaults to `\"2y\"`. Conflicts with \
                     `end_date`.",
                )
                .validate(Validator::string("\"1y\", \"2y\" or hours", |s| Validity::parse(s).map(|_| ()))),
        )
        .attribute(
            Attribute::string("end_date")
                .optional()
                .computed()
                .requires_replace()
                .description("When the key expires (RFC 3339), instead of `validity`.")
                .validate(Validator::string("an RFC 3339 time", |s| parse_time(s).map(|_| ()))),
        )
        .attribute(
            Attribute::string("rotate_before")
                .default(DEFAULT_ROTATE_BEFORE)
                .description(
                    "How long before `end_date` plans replace the key (Go duration). Defaults to `\"720h\"` (30 \
                     days). Inside twice this window, plans warn ahead of time.",
                )
                .validate(duration::validator()),
        )
        .attribute(
            Attribute::new("rotate_when_changed", Type::map(Type::String))
                .optional()
                .requires_replace()
                .description("Arbitrary values that replace the key when they change, like `time_rotating`'s triggers."),
        )
        .attribute(Attribute::string("id").computed().use_state_for_unknown().description("`<application_id>/<key_id>`."))
        .attribute(Attribute::string("key_id").computed().use_state_for_unknown().description("The key's id (GUID)."))
        .attribute(Attribute::string("start_date").computed().use_state_for_unknown().description("When the key became valid (RFC 3339)."))
        .attribute(
            Attribute::string("hint")
                .computed()
                .use_state_for_unknown()
                .description("The first characters of the secret, as Entra ID shows them."),
        )
        .attribute(
            Attribute::string("value")
                .computed()
                .sensitive()
                .use_state_for_unknown()
                .description(
                    "The secret. Known only when the key is created (Microsoft never returns it again): null after \
                     import.",
                ),
        )
        .attribute(
            Attribute::number("expires_in_days")
                .computed()
                .use_state_for_unknown()
                .description("Whole days until the key expires, as of the last refresh (0 once expired)."),
        )
        .block(timeouts::block(TIMEOUTS))
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if !config.get("validity").is_null() && !config.get("end_date").is_null() {
            diags.attribute_error(
                AttributePath::root("validity"),
                "Conflicting configuration arguments",
                "\"validity\" and \"end_date\" cannot both be set: give the key a duration or an end date.",
            );
        }
    }

    async fn modify_plan(
        &self,
        ctx: &Context<Configured>,
        request: &PlanRequest<'_>,
        plan: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        let config = request.config;
        let now = ctx.client.client.now();
        if request.prior.is_null() || plan.is_replace() {
            // A new key: its validity defaults to 2y unless an end date is given.
            let validity = match (config.get("validity"), config.get("end_date")) {
                (Value::Null, Value::Null) => Value::string(DEFAULT_VALIDITY),
                (Value::Null, _) => Value::Null,
                (v, _) => v.clone(),
            };
            plan.planned.set("validity", validity);
            if let Some(end) = config.get("end_date").as_str().and_then(|s| parse_time(s).ok()) {
                if end <= now {
                    diags.attribute_error(
                        AttributePath::root("end_date"),
                        "end_date is in the past",
                        format!(
                            "{} is before now ({}); give a future date.",
                            rfc3339(end),
                            rfc3339(now)
                        ),
                    );
                }
            }
            return;
        }

        let prior = request.prior;
        let Some(end) = prior.get("end_date").as_str().and_then(|s| parse_time(s).ok()) else {
            return;
        };
        let rotate_before = plan
            .planned
            .get("rotate_before")
            .as_str()
            .and_then(|s| duration::parse(s).ok())
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .unwrap_or_else(|| chrono::Duration::days(30));
        let key = prior.get("key_id").as_str().unwrap_or("?");
        let app = prior.get("application_id").as_str().unwrap_or("?");
        match standing(now, end, rotate_before) {
            Standing::Fine => {}
            Standing::RotationSoon {
                days_left,
                rotates_on,
            } => diags.warning(
                format!("Key {key} of application {app} expires in {days_left} days"),
                format!(
                    "It expires on {}. Plans from {} (rotate_before) will replace it.",
                    rfc3339(end),
                    rfc3339(rotates_on)
                ),
            ),
            Standing::InsideWindow { days_left } => {
                diags.warning(
                    format!("Key {key} of application {app} expires in {days_left} days: replacing it"),
                    format!(
                        "It expires on {}, inside rotate_before; this plan creates a new key. With \
                         create_before_destroy the new key exists before the old one is removed: update the tools \
                         that use it.",
                        rfc3339(end)
                    ),
                );
                plan.replace_because_of("end_date", request.schema, config);
            }
            Standing::Expired { on } => {
                diags.warning(
                    format!(
                        "Key {key} of application {app} expired on {}: replacing it",
                        rfc3339(on)
                    ),
                    "The key no longer works; this plan creates a new one. Update the tools that use it.",
                );
                plan.replace_because_of("end_date", request.schema, config);
            }
        }
    }

    async fn create(
        &self,
        ctx: &Context<Configured>,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let configured = &ctx.client;
        let client = configured.client_for(Needs::AppOnly, "Creating a web app key", diags)?;
        let app_id = planned.get("application_id").as_str()?.to_owned();
        let call = call_context(ctx, timeouts::get(planned, "create", TIMEOUTS.create));
        let _writing = configured.applications.lock(&app_id).await;
        let app = match application(client, &call, configured, &app_id).await {
            Ok(app) => app,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };

        // Judge time by Microsoft's clock; whole seconds so the end is exactly 1 or 2 years after the start.
        let start = DateTime::from_timestamp(client.now().timestamp(), 0).unwrap_or_else(Utc::now);
        let end = match (planned.get("end_date").as_str(), planned.get("validity").as_str()) {
            (Some(end), _) => parse_time(end).ok(),
            (None, Some(v)) => Validity::parse(v).ok().and_then(|v| v.end(start)),
            (None, None) => Validity::Years(2).end(start),
        };
        let display_name = planned
            .get("display_name")
            .as_str()
            .unwrap_or(DEFAULT_DISPLAY_NAME)
            .to_owned();
        let new_key = NewPassword {
            display_name: Some(display_name.clone()),
            start: Some(start),
            end,
        };
        let existing: Vec<String> = app
            .password_credentials
            .iter()
            .map(|k| k.key_id.clone())
            .collect();
        // Ours, if an interrupted request created it: the same name and dates, and not there before.
        let is_ours = |k: &PasswordCredential| {
            !existing.contains(&k.key_id)
                && k.display_name.as_deref() == Some(display_name.as_str())
                && k.start_date_time == Some(start)
                && (end.is_none() || k.end_date_time == end)
        };

        let mut attempts = 0;
        let created = loop {
            attempts += 1;
            match client.graph().add_password(&call, &app.id, new_key.clone()).await {
                Ok(created) => break created,
                Err(e) if e.is_ambiguous() => {
                    // The key may exist without us holding its secret: look before doing anything else.
                    let look = detached_context();
                    let found = match client.graph().application_by_app_id(&look, &app_id).await {
                        Ok(Some(now_app)) => {
                            now_app.password_credentials.iter().find(|k| is_ours(k)).cloned()
                        }
                        Ok(None) => None,
                        Err(look_error) => {
                            diags.push(errors::diagnostic(
                                &format!("checking whether a key was added to application {app_id} after an interrupted request"),
                                &look_error,
                            ));
                            diags.push(errors::diagnostic(
                                &format!("adding a key to application {app_id}"),
                                &e,
                            ));
                            return None;
                        }
                    };
                    match found {
                        Some(orphan) if ctx.cancel.is_cancelled() || attempts >= 3 => {
                            // Record it: the next apply replaces it (its secret was never received).
                            diags.error(
                                format!("Key {} was added to application {app_id}, but its secret was not received", orphan.key_id),
                                format!(
                                    "The request was interrupted after Microsoft applied it ({e}). The key is recorded \
                                     in state without its value and will be replaced by the next apply."
                                ),
                            );
                            configured.applications.invalidate(&app_id);
                            return Some(key_state(planned, &app_id, &orphan, Value::Null, client.now()));
                        }
                        Some(orphan) => {
                            // Its secret is lost: remove it and make a key whose secret we do receive.
                            if let Err(remove_error) = client
                                .graph()
                                .remove_password(&call, &app.id, &orphan.key_id)
                                .await
                            {
                                if !remove_error.is_not_found() {
                                    diags.push(errors::diagnostic(
                                        &format!("removing key {} whose secret was lost", orphan.key_id),
                                        &remove_error,
                                    ));
                                    return Some(key_state(
                                        planned,
                                        &app_id,
                                        &orphan,
                                        Value::Null,
                                        client.now(),
                                    ));
                                }
                            }
                        }
                        None if ctx.cancel.is_cancelled() || attempts >= 3 => {
                            diags.push(errors::diagnostic(
                                &format!("adding a key to application {app_id}"),
                                &e,
                            ));
                            return None;
                        }
                        None => {}
                    }
                }
                Err(e) => {
                    diags.push(errors::attribute_diagnostic(
                        &format!("adding a key to application {app_id}"),
                        &e,
                        "application_id",
                    ));
                    return None;
                }
            }
        };
        configured.applications.invalidate(&app_id);
        let key = created.credential;
        let state = key_state(
            planned,
            &app_id,
            &key,
            Value::string(created.secret_text.expose()),
            client.now(),
        );

        // Wait until reads see the key, so the next read does not report it gone.
        let waited = consistency::wait_until(&call, || {
            let key_id = key.key_id.clone();
            let app_id = app_id.clone();
            let call = call.clone();
            async move {
                configured
                    .applications
                    .read_fresh(client, &call, &app_id)
                    .await
                    .map(|app| app.is_some_and(|a| a.password_credentials.iter().any(|k| k.key_id == key_id)))
            }
        })
        .await;
        // A read cut short by the create deadline is the deadline, not a failure.
        let waited = match waited {
            Err(WaitError::Failed(e)) if e.is_timeout() => Err(WaitError::TimedOut),
            other => other,
        };
        match waited {
            Ok(()) => {}
            Err(WaitError::Cancelled) => diags.warning(
                format!("Key {} created; stopped before its replication was confirmed", key.key_id),
                "Terraform was interrupted. The key exists and is recorded in state.",
            ),
            Err(WaitError::TimedOut) => diags.warning(
                format!("Key {} created; replication not confirmed within the create timeout", key.key_id),
                "Entra ID is still replicating the new key; it is recorded in state. If a tool rejects the secret, \
                 wait a few minutes.",
            ),
            Err(WaitError::Failed(e)) => diags.warning(
                format!("Key {} created; confirming its replication failed", key.key_id),
                format!("The key is recorded in state. Reading it back failed: {e}"),
            ),
        }
        Some(state)
    }

    async fn read(&self, ctx: &Context<Configured>, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let configured = &ctx.client;
        let client = match configured.require(Needs::AppOnly, "Reading a web app key") {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                return Some(state.clone());
            }
        };
        let app_id = state.get("application_id").as_str()?.to_owned();
        let key_id = state.get("key_id").as_str()?.to_owned();
        let call = call_context(ctx, timeouts::get(state, "read", TIMEOUTS.read));
        let app = match configured.applications.read_shared(client, &call, &app_id).await {
            Ok(app) => app,
            Err(e) => {
                diags.push(errors::diagnostic(&format!("reading application {app_id}"), &e));
                return Some(state.clone());
            }
        };
        let Some(app) = app else {
            diags.warning(
                format!("Application {app_id} no longer exists"),
                format!("Key {key_id} went with it and is removed from state; the plan will create a key again if the application is back."),
            );
            return None;
        };
        let key = match app.password_credentials.iter().find(|k| k.key_id == key_id) {
            Some(key) => key.clone(),
            None => {
                let started = state.get("start_date").as_str().and_then(|s| parse_time(s).ok());
                let recent = started.is_some_and(|t| client.now() - t < chrono::Duration::minutes(2));
                match look_again(configured, client, ctx, &app_id, &key_id, recent).await {
                    Ok(Some(key)) => key,
                    Ok(None) => {
                        diags.warning(
                            format!("Key {key_id} of application {app_id} no longer exists"),
                            "It was deleted outside Terraform and is removed from state; the plan creates a new key.",
                        );
                        return None;
                    }
                    // Interrupted or failing: keep what state holds rather than forget a key that may exist.
                    Err(()) => return Some(state.clone()),
                }
            }
        };
        Some(key_state(
            state,
            &app_id,
            &key,
            state.get("value").clone(),
            client.now(),
        ))
    }

    async fn update(
        &self,
        _ctx: &Context<Configured>,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        _diags: &mut Diagnostics,
    ) -> Option<Value> {
        // Only rotate_before and timeouts change in place, and they live in state alone. The plan keeps
        // expires_in_days as it was; the next refresh updates it (recomputing it here could disagree with
        // the plan across a day boundary, which Terraform rejects).
        Some(planned.clone())
    }

    async fn delete(&self, ctx: &Context<Configured>, prior: &Value, diags: &mut Diagnostics) {
        let configured = &ctx.client;
        let Some(client) = configured.client_for(Needs::AppOnly, "Deleting a web app key", diags) else {
            return;
        };
        let (Some(app_id), Some(key_id)) =
            (prior.get("application_id").as_str(), prior.get("key_id").as_str())
        else {
            return;
        };
        let call = call_context(ctx, timeouts::get(prior, "delete", TIMEOUTS.delete));
        let _writing = configured.applications.lock(app_id).await;
        let app = match configured.applications.read_fresh(client, &call, app_id).await {
            Ok(Some(app)) => app,
            Ok(None) => return, // the application, and the key with it, is gone already
            Err(e) => return diags.push(errors::diagnostic(&format!("reading application {app_id}"), &e)),
        };
        match client.graph().remove_password(&call, &app.id, key_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return,
            Err(e) => {
                return diags.push(errors::diagnostic(
                    &format!("removing key {key_id} from application {app_id}"),
                    &e,
                ));
            }
        }
        configured.applications.invalidate(app_id);
        let gone = consistency::wait_until(&call, || {
            let call = call.clone();
            async move {
                configured
                    .applications
                    .read_fresh(client, &call, app_id)
                    .await
                    .map(|app| app.is_none_or(|a| a.password_credentials.iter().all(|k| k.key_id != key_id)))
            }
        })
        .await;
        if let Err(WaitError::Failed(e)) = gone {
            diags.warning(
                format!("Key {key_id} removed; confirming its removal failed"),
                e.to_string(),
            );
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
        let app = match application(client, &call, configured, &app_id).await {
            Ok(app) => app,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let Some(key) = app.password_credentials.iter().find(|k| k.key_id == key_id) else {
            diags.error(
                format!("Key {key_id} not found on application {app_id}"),
                "The application has no key with this id; list its keys in Entra ID > App registrations > \
                 Certificates & secrets.",
            );
            return None;
        };
        let mut base = Value::null_object(&self.schema().value_type());
        base.set("application_id", Value::string(app_id.clone()));
        base.set(
            "display_name",
            Value::string(
                key.display_name
                    .clone()
                    .unwrap_or_else(|| DEFAULT_DISPLAY_NAME.into()),
            ),
        );
        base.set("rotate_before", Value::string(DEFAULT_ROTATE_BEFORE));
        if let (Some(start), Some(end)) = (key.start_date_time, key.end_date_time) {
            base.set("validity", Value::string(Validity::describe(start, end)));
        }
        Some(key_state(&base, &app_id, key, Value::Null, client.now()))
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
    fn imported_keys_get_the_validity_they_were_made_with() {
        let start = at("2025-01-15T10:00:00Z");
        assert_eq!(Validity::describe(start, at("2027-01-15T10:00:00Z")), "2y");
        assert_eq!(Validity::describe(start, at("2026-01-15T10:00:00Z")), "1y");
        assert_eq!(Validity::describe(start, at("2025-07-14T10:00:00Z")), "4320h");
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
}
