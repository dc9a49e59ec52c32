//! `partnercenter_web_app_keys`: every secret key (password credential) of an application, whoever made it,
//! with how long each has left by Microsoft's clock. For `check` blocks that watch every key's expiry and
//! for `import { for_each = ... }` blocks that adopt keys made outside Terraform.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use partnercenter_microsoft::graph::{Application, PasswordCredential};
use partnercenter_microsoft::{CallContext, Client};

use crate::protocol::{
    Attribute, AttributePath, Context, DataSource, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::applications::unshare;
use crate::provider::config::{Configured, Needs};
use crate::provider::consistency::{self, Absence, Verdict, WaitError};
use crate::provider::{duration, errors, operation_context, validation};

pub struct WebAppKeys;

const TYPE_NAME: &str = "partnercenter_web_app_keys";

/// How long an application may answer 404 before "not found" is believed: an application created moments
/// ago is not on every replica yet (the key resource waits as long before it gives up on an application).
const NEW_APPLICATION_PATIENCE: Absence = Absence {
    reads: 5,
    over_at_least: Duration::from_secs(30),
};

// ---------------------------------------------------------------------------------------------------------
// Model

/// The attribute names, written once.
mod attr {
    pub const APPLICATION_ID: &str = "application_id";
    pub const DISPLAY_NAME_PREFIX: &str = "display_name_prefix";
    pub const EXPIRING_WITHIN: &str = "expiring_within";
    pub const KEYS: &str = "keys";
    pub const IDS: &str = "ids";

    pub const KEY_ID: &str = "key_id";
    pub const DISPLAY_NAME: &str = "display_name";
    pub const HINT: &str = "hint";
    pub const START_DATE: &str = "start_date";
    pub const END_DATE: &str = "end_date";
    pub const EXPIRES_IN_DAYS: &str = "expires_in_days";
    pub const EXPIRED: &str = "expired";
}

fn key_type() -> Type {
    Type::object([
        (attr::KEY_ID, Type::String),
        (attr::DISPLAY_NAME, Type::String),
        (attr::HINT, Type::String),
        (attr::START_DATE, Type::String),
        (attr::END_DATE, Type::String),
        (attr::EXPIRES_IN_DAYS, Type::Number),
        (attr::EXPIRED, Type::Bool),
    ])
}

/// Which keys the configuration asks for.
#[derive(Debug, Clone, PartialEq)]
struct Query {
    application_id: String,
    /// Lower-cased: the prefix is matched without regard to case, like Graph's `startswith`.
    display_name_prefix: Option<String>,
    expiring_within: Option<chrono::Duration>,
}

impl Query {
    /// Reads the configuration; validators already checked the GUID and the duration, so a value that
    /// does not parse here is a bug, reported on its attribute.
    fn from_config(config: &Value) -> Result<Query, Diagnostic> {
        let application_id = config
            .attr::<String>(attr::APPLICATION_ID)?
            .known()
            .ok_or_else(|| {
                Diagnostic::error(
                    "application_id is not known",
                    "Terraform sent no value for it; this is a bug in the provider, please report it.",
                )
                .at(AttributePath::root(attr::APPLICATION_ID))
            })?;
        let display_name_prefix = config
            .attr::<String>(attr::DISPLAY_NAME_PREFIX)?
            .known()
            .map(|p| p.to_lowercase());
        let expiring_within = match config.attr::<String>(attr::EXPIRING_WITHIN)?.known() {
            None => None,
            Some(text) => Some(
                duration::parse(&text)
                    .ok()
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .ok_or_else(|| {
                        Diagnostic::error(
                            format!("Invalid value for {}", attr::EXPIRING_WITHIN),
                            format!("\"{text}\" is not a duration: write it like \"720h\" (30 days)."),
                        )
                        .at(AttributePath::root(attr::EXPIRING_WITHIN))
                    })?,
            ),
        };
        Ok(Query {
            application_id,
            display_name_prefix,
            expiring_within,
        })
    }

    /// Whether `key` is one the query asks for, judged at `now` (Microsoft's clock).
    fn wants(&self, key: &PasswordCredential, now: DateTime<Utc>) -> bool {
        let named = match &self.display_name_prefix {
            None => true,
            Some(prefix) => key
                .display_name
                .as_deref()
                .is_some_and(|name| name.to_lowercase().starts_with(prefix.as_str())),
        };
        let expiring = match (self.expiring_within, key.end_date_time) {
            (None, _) => true,
            // A key without an end never expires.
            (Some(_), None) => false,
            (Some(within), Some(end)) => end <= now + within,
        };
        named && expiring
    }
}

/// One key as the data source shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyView {
    key_id: String,
    display_name: Option<String>,
    hint: Option<String>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    /// Whole days from now to the end, 0 once expired (as the key resource counts them).
    expires_in_days: Option<i64>,
    expired: bool,
}

impl KeyView {
    fn of(key: &PasswordCredential, now: DateTime<Utc>) -> Self {
        KeyView {
            key_id: key.key_id.clone(),
            display_name: key.display_name.clone(),
            hint: key.hint.clone(),
            start: key.start_date_time,
            end: key.end_date_time,
            expires_in_days: key
                .end_date_time
                .map(|end| ((end - now).num_seconds() / 86_400).max(0)),
            expired: key.end_date_time.is_some_and(|end| end <= now),
        }
    }

    fn to_value(&self) -> Value {
        Value::object([
            (attr::KEY_ID, Value::string(self.key_id.clone())),
            (attr::DISPLAY_NAME, Value::from(self.display_name.clone())),
            (attr::HINT, Value::from(self.hint.clone())),
            (attr::START_DATE, Value::from(self.start.map(rfc3339))),
            (attr::END_DATE, Value::from(self.end.map(rfc3339))),
            (attr::EXPIRES_IN_DAYS, Value::from(self.expires_in_days)),
            (attr::EXPIRED, Value::from(self.expired)),
        ])
    }
}

/// Written exactly as `partnercenter_web_app_key` writes `end_date` after import, so that a configuration
/// setting `end_date` from this data source plans no change for an imported key.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The keys `query` asks for, soonest end first (keys without an end last), then by key id.
fn select(app: &Application, query: &Query, now: DateTime<Utc>) -> Vec<KeyView> {
    let mut keys: Vec<KeyView> = app
        .password_credentials
        .iter()
        .filter(|key| query.wants(key, now))
        .map(|key| KeyView::of(key, now))
        .collect();
    keys.sort_by(|a, b| (a.end.is_none(), a.end, &a.key_id).cmp(&(b.end.is_none(), b.end, &b.key_id)));
    keys
}

// ---------------------------------------------------------------------------------------------------------
// Schema

#[async_trait]
impl DataSource<Configured> for WebAppKeys {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Every secret key (password credential) of an application, whoever made it: in the portal, by a \
             script, or by `partnercenter_web_app_key`. Expiry is judged by Microsoft's clock. Use it in a \
             `check` block to warn of any key about to expire (Terraform 1.5+), and with \
             `import { for_each = ... }` (Terraform 1.7+) to adopt existing keys into `partnercenter_web_app_key` \
             resources: see the guide [Key expiry and rotation](../guides/key-expiry-and-rotation.md). Needs \
             only app-only credentials (Graph).",
        )
        .attribute(
            Attribute::string(attr::APPLICATION_ID)
                .required()
                .description("The App ID (Application (client) ID) of the application whose keys to list.")
                .validate(validation::guid("the App ID of an application")),
        )
        .attribute(
            Attribute::string(attr::DISPLAY_NAME_PREFIX)
                .optional()
                .description(
                    "Only keys whose description (display name) starts with this, ignoring case. Keys without a \
                     description never match.",
                )
                .validate(validation::not_blank()),
        )
        .attribute(
            Attribute::string(attr::EXPIRING_WITHIN)
                .optional()
                .description(
                    "Only keys that end within this duration of now (Go duration, e.g. `\"720h\"` for 30 days), \
                     expired keys included.",
                )
                .validate(duration::validator()),
        )
        .attribute(
            Attribute::new(attr::KEYS, Type::list(key_type()))
                .computed()
                .description(
                    "The matching keys, the soonest to end first: `key_id`, `display_name` (null when the key \
                     has none), `hint` (the secret's first characters), `start_date` and `end_date` (RFC 3339, \
                     `end_date` written as `partnercenter_web_app_key` writes it after import), \
                     `expires_in_days` (whole days left, 0 once expired) and `expired`.",
                ),
        )
        .attribute(
            Attribute::new(attr::IDS, Type::list(Type::String))
                .computed()
                .description("The matching keys' ids, in the same order (`toset(...)` for `for_each`)."),
        )
    }

    // -----------------------------------------------------------------------------------------------------
    // Read

    /// One read of the application, then the keys as of Microsoft's "now" (the answer's `Date`).
    async fn read(
        &self,
        ctx: &Context<Configured>,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let query = diags.take(Query::from_config(config))?;
        let configured = &ctx.client;
        let client = configured.client_for(Needs::AppOnly, "Listing the keys of an application", diags)?;
        let call = operation_context(ctx);
        let app = read_application(configured, client, &call, &query.application_id)
            .await
            .map_err(|d| diags.push(d))
            .ok()?;
        // Microsoft's clock, as of the answer just received.
        let now = client.now();
        let keys = select(&app, &query, now);
        let mut state = config.clone();
        state.set(
            attr::IDS,
            Value::List(keys.iter().map(|k| Value::string(k.key_id.clone())).collect()),
        );
        state.set(
            attr::KEYS,
            Value::List(keys.iter().map(KeyView::to_value).collect()),
        );
        Some(state)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The read

/// The application with App ID `app_id`. The first read may share one a key refresh of this run just made;
/// a 404 is replication lag until reads agree over [`NEW_APPLICATION_PATIENCE`], and each retry is a new read.
async fn read_application(
    configured: &Configured,
    client: &Client,
    call: &CallContext,
    app_id: &str,
) -> Result<Arc<Application>, Diagnostic> {
    let mut first = true;
    let verdict = consistency::look_until_certain(call, NEW_APPLICATION_PATIENCE, || {
        let shared = std::mem::replace(&mut first, false);
        async move {
            let read = if shared {
                configured.applications.read_shared(client, call, app_id).await
            } else {
                configured.applications.read_fresh(client, call, app_id).await
            };
            read.map_err(unshare)
        }
    })
    .await;
    let doing = format!("reading application {app_id}");
    match verdict {
        Ok(Verdict::Found(app)) => Ok(app),
        Ok(Verdict::Gone) => Err(Diagnostic::error(
            format!("Application {app_id} not found"),
            "No app registration with this App ID exists in the partner tenant (reads agreed for 30 seconds). \
             Check application_id (Partner Center > Account settings > App management shows the web app's App \
             ID) and that the provider's tenant_id is the partner tenant.",
        )
        .at(AttributePath::root(attr::APPLICATION_ID))),
        Err(WaitError::Failed(e)) => Err(errors::attribute_diagnostic(&doing, &e, attr::APPLICATION_ID)),
        Err(WaitError::TimedOut) => Err(Diagnostic::error(
            format!("Error {doing}"),
            "Gave up: the read timeout ran out while Graph answered that the application does not exist and \
             replication might still bring it. Try again in a few minutes.",
        )),
        Err(WaitError::Cancelled) => Err(Diagnostic::error(
            format!("Error {doing}"),
            "Terraform interrupted the operation (Ctrl-C).",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn key(id: &str, name: Option<&str>, end: Option<&str>) -> PasswordCredential {
        serde_json::from_value(serde_json::json!({
            "keyId": id,
            "displayName": name,
            "startDateTime": "2025-01-01T00:00:00Z",
            "endDateTime": end,
            "hint": "abc",
        }))
        .unwrap()
    }

    fn app(keys: Vec<PasswordCredential>) -> Application {
        Application {
            id: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d".into(),
            app_id: "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47".into(),
            display_name: "web app".into(),
            password_credentials: keys,
            required_resource_access: Vec::new(),
        }
    }

    fn query(prefix: Option<&str>, within: Option<&str>) -> Query {
        Query::from_config(&Value::object([
            (
                attr::APPLICATION_ID,
                Value::string("0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"),
            ),
            (attr::DISPLAY_NAME_PREFIX, Value::from(prefix.map(str::to_owned))),
            (attr::EXPIRING_WITHIN, Value::from(within.map(str::to_owned))),
            (attr::KEYS, Value::Unknown),
            (attr::IDS, Value::Unknown),
        ]))
        .unwrap()
    }

    fn ids(keys: &[KeyView]) -> Vec<&str> {
        keys.iter().map(|k| k.key_id.as_str()).collect()
    }

    const NOW: &str = "2026-06-01T12:00:00Z";

    fn sample() -> Application {
        app(vec![
            key(
                "cccccccc-0000-0000-0000-000000000003",
                Some("Legacy tool"),
                Some("2027-01-01T00:00:00Z"),
            ),
            key(
                "aaaaaaaa-0000-0000-0000-000000000001",
                Some("legacy-octo"),
                Some("2026-06-11T12:00:00Z"),
            ),
            key(
                "bbbbbbbb-0000-0000-0000-000000000002",
                None,
                Some("2026-05-01T00:00:00Z"),
            ),
            key("dddddddd-0000-0000-0000-000000000004", Some("terraform"), None),
        ])
    }

    #[test]
    fn every_key_soonest_end_first() {
        let keys = select(&sample(), &query(None, None), at(NOW));
        assert_eq!(
            ids(&keys),
            [
                "bbbbbbbb-0000-0000-0000-000000000002",
                "aaaaaaaa-0000-0000-0000-000000000001",
                "cccccccc-0000-0000-0000-000000000003",
                "dddddddd-0000-0000-0000-000000000004",
            ]
        );
        let expired = &keys[0];
        assert!(expired.expired);
        assert_eq!(expired.expires_in_days, Some(0));
        assert_eq!(keys[1].expires_in_days, Some(10));
        assert!(!keys[1].expired);
        assert_eq!(keys[3].expires_in_days, None, "no end, no count");
        assert!(!keys[3].expired);
    }

    #[test]
    fn the_prefix_ignores_case_and_skips_unnamed_keys() {
        let keys = select(&sample(), &query(Some("LEGACY"), None), at(NOW));
        assert_eq!(
            ids(&keys),
            [
                "aaaaaaaa-0000-0000-0000-000000000001",
                "cccccccc-0000-0000-0000-000000000003"
            ]
        );
    }

    #[test]
    fn expiring_within_counts_from_microsofts_now_and_keeps_expired_keys() {
        let keys = select(&sample(), &query(None, Some("720h")), at(NOW));
        assert_eq!(
            ids(&keys),
            [
                "bbbbbbbb-0000-0000-0000-000000000002",
                "aaaaaaaa-0000-0000-0000-000000000001"
            ]
        );
        // A second earlier, the key ending in ten days is ten days and a second away: outside 240h.
        let keys = select(&sample(), &query(None, Some("240h")), at("2026-06-01T11:59:59Z"));
        assert_eq!(ids(&keys), ["bbbbbbbb-0000-0000-0000-000000000002"]);
        let both = select(&sample(), &query(Some("legacy"), Some("240h")), at(NOW));
        assert_eq!(ids(&both), ["aaaaaaaa-0000-0000-0000-000000000001"]);
    }

    #[test]
    fn end_dates_are_written_as_the_key_resource_writes_them() {
        let seven_digits = key(
            "aaaaaaaa-0000-0000-0000-000000000001",
            Some("x"),
            Some("2027-01-15T10:00:00.1234567Z"),
        );
        let view = KeyView::of(&seven_digits, at(NOW));
        assert_eq!(
            view.to_value().get(attr::END_DATE),
            &Value::string("2027-01-15T10:00:00.123456700Z")
        );
        let whole = KeyView::of(
            &key(
                "aaaaaaaa-0000-0000-0000-000000000001",
                Some("x"),
                Some("2027-01-15T10:00:00Z"),
            ),
            at(NOW),
        );
        assert_eq!(
            whole.to_value().get(attr::END_DATE),
            &Value::string("2027-01-15T10:00:00Z")
        );
    }
}
