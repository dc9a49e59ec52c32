//! Resource identity (Terraform 1.12+) and the `partnercenter_web_app_key` list resource (Terraform 1.14+
//! `terraform query`) of the real provider, over gRPC in process, against the emulator: the RPCs and the
//! rules those Terraform versions apply, since no such CLI is reachable here. Identities are wholly known,
//! of the served schema's type, unchanged across updates (an App ID respelled in other case included);
//! import by identity gives what import by id gives; list events carry identity, display name and, when
//! asked, the imported state, one event per key, filtered and limited as configured.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::collections::BTreeSet;

use partnercenter_emulator::{EmulatorConfig, FaultSpec, RunningEmulator, demo};
use serde_json::{Value as Json, json};
use support::grpc::{
    PluginClient, Requests, against_emulator, configured, dv, errors, identity_data, identity_of, pb,
    resource_type,
};
use terraform_provider_partnercenter::protocol::{Type, Value};

const KEY: &str = "partnercenter_web_app_key";
const GRANT: &str = "partnercenter_permission_grant";

fn key_identity_type() -> Type {
    Type::object([("application_id", Type::String), ("key_id", Type::String)])
}

fn key_identity(app: &str, key: &str) -> Value {
    Value::object([
        ("application_id", Value::string(app)),
        ("key_id", Value::string(key)),
    ])
}

/// The emulator, the real provider configured against it, and the key resource's requests.
struct Harness {
    emulator: RunningEmulator,
    base: String,
    http: reqwest::Client,
    client: PluginClient,
    key: Requests,
}

impl Harness {
    /// Graph without replication lag: each step sees the one before at once.
    async fn start() -> Harness {
        Self::with(EmulatorConfig::default().without_replication_lag()).await
    }

    async fn with(config: EmulatorConfig) -> Harness {
        let emulator = partnercenter_emulator::spawn(config).await.expect("emulator");
        let base = emulator.base_url();
        let provider = against_emulator(&base, false);
        let key = Requests::new(KEY, resource_type(&provider, KEY));
        Harness {
            emulator,
            base,
            http: reqwest::Client::new(),
            client: configured(provider, "1.16.0").await,
            key,
        }
    }

    async fn control(&self, path: &str, body: Json) -> Json {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap_or(Json::Null)
    }

    /// A new app registration with `count` keys named `<prefix>-NN`, added through Graph as the portal or a
    /// script would; returns its App ID.
    async fn app_with_keys(&self, count: usize, prefix: &str) -> String {
        let created = self
            .control("/_emulator/applications", json!({"display_name": "Listed app"}))
            .await;
        let app = &created["applications"][0];
        let (object_id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
        // The app registration was made a while ago: every replica knows it.
        self.control("/_emulator/replication/settle", Json::Null).await;
        let token = self
            .control(
                "/_emulator/access-token",
                json!({"audience": "https://graph.microsoft.com", "app_only": true}),
            )
            .await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        for i in 0..count {
            let response = self
                .http
                .post(format!("{}/v1.0/applications/{object_id}/addPassword", self.base))
                .bearer_auth(&token)
                .json(&json!({"passwordCredential": {"displayName": format!("{prefix}-{i:02}")}}))
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "addPassword: {}",
                response.status()
            );
        }
        app_id.to_owned()
    }

    fn key_config(&self, app: &str, rotate_before: Option<&str>) -> Value {
        let mut config = Value::null_object(&self.key.ty);
        config.set("application_id", Value::string(app));
        config.set("rotate_before", Value::from(rotate_before));
        config
    }

    async fn plan(
        &mut self,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        prior_identity: Option<&Value>,
    ) -> pb::plan_resource_change::Response {
        let resp = self
            .client
            .plan(pb::plan_resource_change::Request {
                prior_identity: prior_identity.and_then(|i| identity_data(i, &key_identity_type())),
                ..self.key.plan(prior, proposed, config)
            })
            .await;
        assert!(errors(&resp.diagnostics).is_empty(), "{:?}", resp.diagnostics);
        resp
    }

    async fn apply(
        &mut self,
        prior: &Value,
        plan: &pb::plan_resource_change::Response,
        config: &Value,
    ) -> (Value, Option<Value>) {
        let resp = self
            .client
            .apply(pb::apply_resource_change::Request {
                planned_private: plan.planned_private.clone(),
                planned_identity: plan.planned_identity.clone(),
                ..self.key.apply(prior, plan.planned_state.clone(), config)
            })
            .await;
        assert!(errors(&resp.diagnostics).is_empty(), "{:?}", resp.diagnostics);
        let state = self.key.value_of(resp.new_state.as_ref());
        (state, identity_of(resp.new_identity, &key_identity_type()))
    }

    async fn read(&mut self, state: &Value, held: Option<&Value>) -> (Value, Option<Value>) {
        let resp = self
            .client
            .read(pb::read_resource::Request {
                current_identity: held.and_then(|i| identity_data(i, &key_identity_type())),
                ..self.key.read(state)
            })
            .await;
        assert!(errors(&resp.diagnostics).is_empty(), "{:?}", resp.diagnostics);
        let state = self.key.value_of(resp.new_state.as_ref());
        (state, identity_of(resp.new_identity, &key_identity_type()))
    }

    async fn list(&mut self, config: &Value, include: bool, limit: i64) -> Vec<pb::list_resource::Event> {
        let ty = list_config_type();
        let mut stream = self
            .client
            .list_resource(pb::list_resource::Request {
                type_name: KEY.into(),
                config: dv(config, &ty),
                include_resource_object: include,
                limit,
            })
            .await
            .unwrap()
            .into_inner();
        let mut events = Vec::new();
        while let Some(event) = stream.message().await.unwrap() {
            // Terraform ends the query at the first error.
            let fatal = !errors(&event.diagnostic).is_empty();
            events.push(event);
            if fatal {
                break;
            }
        }
        events
    }
}

fn list_config_type() -> Type {
    Type::object([
        ("application_id", Type::String),
        ("display_name_prefix", Type::String),
    ])
}

fn list_config(app: &str, prefix: Option<&str>) -> Value {
    Value::object([
        ("application_id", Value::string(app)),
        ("display_name_prefix", Value::from(prefix)),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_resources_serve_an_identity_schema_and_data_sources_none() {
    let mut h = Harness::start().await;
    let resp = h
        .client
        .identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let shape = |name: &str| -> Vec<(String, String, bool)> {
        resp.identity_schemas[name]
            .identity_attributes
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    String::from_utf8(a.r#type.clone()).unwrap(),
                    a.required_for_import,
                )
            })
            .collect()
    };
    assert_eq!(resp.identity_schemas.len(), 2, "no identity for data sources");
    let string = |n: &str| (n.to_owned(), "\"string\"".to_owned(), true);
    assert_eq!(shape(KEY), [string("application_id"), string("key_id")]);
    assert_eq!(
        shape(GRANT),
        [string("application_id"), string("resource_app_id")]
    );
    assert!(resp.identity_schemas.values().all(|s| s.version == 0));

    // The list resource is announced with its config schema.
    let schema = h.client.schema(pb::get_provider_schema::Request {}).await;
    let list = schema.list_resource_schemas[KEY].block.as_ref().unwrap();
    let attrs: Vec<(&str, bool, bool)> = list
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.required, a.optional))
        .collect();
    assert_eq!(
        attrs,
        [
            ("application_id", true, false),
            ("display_name_prefix", false, true)
        ]
    );
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_identity_is_known_from_create_on_and_never_changes_even_when_the_app_id_is_respelled() {
    let mut h = Harness::start().await;
    let id_ty = key_identity_type();
    let app = demo::APP_ID.to_ascii_lowercase();

    // Create: the key id is not known at plan, so no identity is planned; the apply has it.
    let config = h.key_config(&app, None);
    let plan = h.plan(&Value::Null, &config, &config, None).await;
    assert_eq!(identity_of(plan.planned_identity.clone(), &id_ty), None);
    let (state, created) = h.apply(&Value::Null, &plan, &config).await;
    let key_id = state.known::<String>("key_id").unwrap();
    let identity = key_identity(&app, &key_id);
    assert_eq!(created, Some(identity.clone()));

    // Refresh: the same.
    let (state, read) = h.read(&state, Some(&identity)).await;
    assert_eq!(read, Some(identity.clone()));

    // An in-place update (rotate_before): planned and applied identity stay.
    let config = h.key_config(&app, Some("360h"));
    let mut proposed = state.clone();
    proposed.set("rotate_before", Value::string("360h"));
    let plan = h.plan(&state, &proposed, &config, Some(&identity)).await;
    assert!(plan.requires_replace.is_empty(), "an in-place update");
    assert_eq!(
        identity_of(plan.planned_identity.clone(), &id_ty),
        Some(identity.clone())
    );
    let (state, updated) = h.apply(&state, &plan, &config).await;
    assert_eq!(updated, Some(identity.clone()));

    // The App ID written in capitals: same application, the key stays, the state takes the spelling
    // (Terraform wants state to match configuration) and the identity keeps the one Terraform holds.
    let upper = app.to_ascii_uppercase();
    let config = h.key_config(&upper, Some("360h"));
    let mut proposed = state.clone();
    proposed.set("application_id", Value::string(&upper));
    let plan = h.plan(&state, &proposed, &config, Some(&identity)).await;
    assert!(
        plan.requires_replace.is_empty(),
        "no replacement for a respelled GUID"
    );
    assert_eq!(
        identity_of(plan.planned_identity.clone(), &id_ty),
        Some(identity.clone())
    );
    let (state, updated) = h.apply(&state, &plan, &config).await;
    assert_eq!(state.get("application_id"), &Value::string(&upper));
    assert_eq!(updated, Some(identity.clone()));
    let (state, read) = h.read(&state, Some(&identity)).await;
    assert_eq!(state.get("application_id"), &Value::string(&upper));
    assert_eq!(read, Some(identity.clone()));

    // Removed outside Terraform: the refresh drops it, and with it the identity.
    let deleted = h
        .http
        .delete(format!(
            "{}/_emulator/applications/{app}/passwords/{key_id}",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    // A while later (the provider shares an application read for a moment).
    let started = std::time::Instant::now();
    loop {
        let (after, identity_after) = h.read(&state, Some(&identity)).await;
        if after.is_null() {
            assert_eq!(identity_after, None);
            break;
        }
        assert_eq!(identity_after, Some(identity.clone()));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the key never went"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_identity_gives_what_import_by_id_gives_with_the_identity() {
    let mut h = Harness::start().await;
    let id_ty = key_identity_type();
    let key = demo::CLIENT_SECRET_KEY_ID;
    let wanted = key_identity(demo::APP_ID, key);
    let request = h.key.import_identity(identity_data(&wanted, &id_ty));
    let by_identity = h.client.import(request).await;
    assert!(
        by_identity.diagnostics.is_empty(),
        "{:?}",
        by_identity.diagnostics
    );
    assert_eq!(by_identity.imported_resources.len(), 1);
    let imported = &by_identity.imported_resources[0];
    assert_eq!(
        identity_of(imported.identity.clone(), &id_ty),
        Some(wanted.clone())
    );
    let request = h.key.import(&format!("{}/{key}", demo::APP_ID));
    let by_id = h.client.import(request).await;
    let state = |r: &pb::import_resource_state::ImportedResource| h.key.value_of(r.state.as_ref());
    assert_eq!(state(imported), state(&by_id.imported_resources[0]));
    assert_eq!(
        identity_of(by_id.imported_resources[0].identity.clone(), &id_ty),
        Some(wanted.clone())
    );
    // Terraform reads the imported object right after, with the identity it was given.
    let (_, read) = h.read(&state(imported), Some(&wanted)).await;
    assert_eq!(read, Some(wanted));

    // A key that is not there: an error, nothing imported (Terraform then fails the import).
    let absent = key_identity(demo::APP_ID, "00000000-0000-4000-8000-000000000000");
    let request = h.key.import_identity(identity_data(&absent, &id_ty));
    let missing = h.client.import(request).await;
    assert!(missing.imported_resources.is_empty());
    assert!(
        errors(&missing.diagnostics)[0].contains("not found"),
        "{:?}",
        missing.diagnostics
    );

    // A permission grant by identity: the client app and the API's App ID.
    let grant_ty = Type::object([
        ("application_id", Type::String),
        ("resource_app_id", Type::String),
    ]);
    let grant = Value::object([
        ("application_id", Value::string(demo::APP_ID)),
        ("resource_app_id", Value::string(demo::PARTNER_CENTER_APP_ID)),
    ]);
    let resp = h
        .client
        .import(pb::import_resource_state::Request {
            type_name: GRANT.into(),
            identity: identity_data(&grant, &grant_ty),
            ..Default::default()
        })
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(
        identity_of(resp.imported_resources[0].identity.clone(), &grant_ty),
        Some(grant)
    );

    // Stored identities of version 0 pass through UpgradeResourceIdentity.
    let upgraded = h
        .client
        .upgrade_identity(pb::upgrade_resource_identity::Request {
            type_name: KEY.into(),
            version: 0,
            raw_identity: Some(pb::RawState {
                json: format!(r#"{{"application_id":"{}","key_id":"{key}"}}"#, demo::APP_ID).into_bytes(),
                ..Default::default()
            }),
        })
        .await;
    assert!(upgraded.diagnostics.is_empty(), "{:?}", upgraded.diagnostics);
    assert_eq!(
        identity_of(upgraded.upgraded_identity, &id_ty),
        Some(key_identity(demo::APP_ID, key))
    );
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_with_thirty_keys_lists_as_thirty_events_each_with_identity_and_optionally_its_state() {
    // Entra's replication lag as the emulator models it, and the query run a while after the keys were
    // made elsewhere.
    let mut h = Harness::with(EmulatorConfig::default()).await;
    let id_ty = key_identity_type();
    let app = h.app_with_keys(30, "bulk").await;
    h.control("/_emulator/replication/settle", Json::Null).await;

    let events = h.list(&list_config(&app, None), false, 100).await;
    assert_eq!(events.len(), 30, "one event per key");
    let mut key_ids = BTreeSet::new();
    for event in &events {
        assert!(event.diagnostic.is_empty(), "{:?}", event.diagnostic);
        assert!(event.resource_object.is_none(), "not asked for");
        let identity = identity_of(event.identity.clone(), &id_ty).expect("every event has an identity");
        assert_eq!(identity.get("application_id"), &Value::string(&app));
        let key_id = identity.known::<String>("key_id").unwrap();
        assert!(
            event.display_name.starts_with("bulk-") && event.display_name.ends_with(&format!("({key_id})")),
            "{}",
            event.display_name
        );
        key_ids.insert(key_id);
    }
    assert_eq!(key_ids.len(), 30, "thirty different keys");

    // With include_resource: each object is the state `terraform import` gives for that key.
    let events = h.list(&list_config(&app, None), true, 100).await;
    assert_eq!(events.len(), 30);
    for event in events.iter().step_by(7) {
        let object = h.key.value_of(event.resource_object.as_ref());
        let identity = identity_of(event.identity.clone(), &id_ty).unwrap();
        assert_eq!(object.get("key_id"), identity.get("key_id"));
        assert!(object.get("value").is_null(), "the secret is never listed");
        let request = h.key.import_identity(identity_data(&identity, &id_ty));
        let imported = h.client.import(request).await;
        let imported = h.key.value_of(imported.imported_resources[0].state.as_ref());
        assert_eq!(object, imported);
    }
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_by_display_name_prefix_and_honours_the_limit() {
    let mut h = Harness::start().await;
    let app = h.app_with_keys(12, "Rotation").await;

    // Case-insensitive prefix: Rotation-00 .. Rotation-09.
    let events = h.list(&list_config(&app, Some("rotation-0")), false, 100).await;
    let names: Vec<&str> = events.iter().map(|e| e.display_name.as_str()).collect();
    assert_eq!(events.len(), 10, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("Rotation-0")));
    assert!(
        h.list(&list_config(&app, Some("nothing")), false, 100)
            .await
            .is_empty()
    );

    // At most `limit` events, and the stream ends there.
    let limited = h.list(&list_config(&app, None), false, 7).await;
    assert_eq!(limited.len(), 7);
    assert!(limited.iter().all(|e| e.identity.is_some()));

    // The seeded web app lists its seeded key.
    let demo_keys = h.list(&list_config(demo::APP_ID, None), false, 100).await;
    assert!(
        demo_keys
            .iter()
            .any(|e| e.display_name.contains(demo::CLIENT_SECRET_KEY_ID)),
        "{demo_keys:?}"
    );
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_or_a_failed_graph_read_is_an_event_with_a_diagnostic() {
    let mut h = Harness::start().await;
    let events = h.list(&list_config("not-a-guid", None), false, 100).await;
    assert_eq!(events.len(), 1);
    assert!(events[0].identity.is_none());
    let diag = &events[0].diagnostic[0];
    assert!(errors(&events[0].diagnostic)[0].contains("GUID"), "{diag:?}");
    assert!(diag.attribute.is_some(), "points at application_id");

    // ValidateListResourceConfig says the same before any query.
    let validated = h
        .client
        .validate_list(pb::validate_list_resource_config::Request {
            type_name: KEY.into(),
            config: dv(&list_config("not-a-guid", None), &list_config_type()),
            ..Default::default()
        })
        .await;
    assert!(!errors(&validated.diagnostics).is_empty());

    // Graph refuses the read.
    h.control(
        "/_emulator/faults",
        FaultSpec::on("GET /v1.0/*").status(403).to_json(),
    )
    .await;
    let events = h.list(&list_config(demo::APP_ID, None), false, 100).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].identity.is_none());
    let errs = errors(&events[0].diagnostic);
    assert!(errs[0].contains("403"), "{errs:?}");
    h.emulator.shutdown().await;
}
