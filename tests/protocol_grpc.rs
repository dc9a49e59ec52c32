//! Protocol behaviour Terraform 1.0.3 cannot drive, over a real gRPC connection in process: StopProvider
//! cancelling work, panics as diagnostics, ephemeral resources, write-only attributes, state upgrades,
//! refined unknowns, and the protocol 6.9-6.11 RPCs (resource identity, list resources, and the features
//! this provider does not offer: actions, state stores, provider-generated configuration), each against
//! the rules Terraform 1.12-1.16 apply to the answers.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use support::grpc::{
    self, PluginClient, Requests, TestProvider, TestResource, configured, dv, errors, in_process, pb,
};
use terraform_provider_partnercenter::protocol::{
    Attribute, Context, Diagnostics, EphemeralResource, Identity, ListResource, Listing, Opened, PlanRequest,
    PlannedChange, Private, ProviderServer, Schema, Type, Validator, Value,
};

/// What the test provider's parts record, for the tests to look at.
#[derive(Clone, Default)]
struct Flags {
    /// How many times the ephemeral token was closed.
    closed: Arc<AtomicUsize>,
    /// Set when the test list resource's producer has ended.
    list_ended: Arc<AtomicBool>,
}

fn test_provider(flags: &Flags) -> TestProvider {
    TestProvider::new()
        .resource(Slow)
        .resource(Panics)
        .resource(Renamed)
        .resource(Named)
        .resource(Mutable)
        .resource(BadIdentity)
        .list(NamedList {
            ended: flags.list_ended.clone(),
        })
        // test_slow has no identity: Terraform could not use this list, so it is not served.
        .list(NoIdentityList)
        .ephemeral(Token {
            closed: flags.closed.clone(),
        })
}

/// A client of the test provider after ConfigureProvider, and the provider's flags.
async fn configured_provider() -> (PluginClient, Flags) {
    let flags = Flags::default();
    let client = configured(test_provider(&flags), "1.10.0").await;
    (client, flags)
}

async fn client() -> PluginClient {
    configured_provider().await.0
}

/// A client of the test provider before ConfigureProvider (Terraform loads schemas first).
async fn unconfigured() -> PluginClient {
    in_process(ProviderServer::new(test_provider(&Flags::default()))).await
}

/// Creation that takes long: when Terraform stops the provider mid-way, it still returns what it created.
struct Slow;

#[async_trait]
impl TestResource for Slow {
    fn type_name(&self) -> &'static str {
        "test_slow"
    }
    fn schema(&self) -> Schema {
        Schema::new("")
            .attribute(Attribute::string("id").computed())
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("password").optional().sensitive().write_only())
    }
    async fn create(
        &self,
        ctx: &Context<()>,
        planned: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        private.set(&"made by Slow");
        let mut state = planned.clone();
        state.set("id", Value::string("created-remotely"));
        tokio::select! {
            _ = ctx.cancel.cancelled() => diags.warning("Stopped", "recorded the object created before the stop"),
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        Some(state)
    }
}

struct Panics;

#[async_trait]
impl TestResource for Panics {
    fn type_name(&self) -> &'static str {
        "test_panics"
    }
    fn schema(&self) -> Schema {
        Schema::new("").attribute(Attribute::string("id").computed())
    }
    async fn create(
        &self,
        _: &Context<()>,
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        panic!("boom in create")
    }
}

/// Schema version 1 renamed `label` (version 0) to `display_name`.
struct Renamed;

impl TestResource for Renamed {
    fn type_name(&self) -> &'static str {
        "test_renamed"
    }
    fn schema(&self) -> Schema {
        Schema::new("")
            .version(1)
            .attribute(Attribute::string("id").computed())
            .attribute(Attribute::string("display_name").optional())
    }
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
        _: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        assert_eq!(version, 0);
        let label = state.as_object_mut()?.remove("label")?;
        state["display_name"] = label;
        Some(state)
    }
}

struct Token {
    closed: Arc<AtomicUsize>,
}

#[async_trait]
impl EphemeralResource<()> for Token {
    fn type_name(&self) -> &'static str {
        "test_token"
    }
    fn schema(&self) -> Schema {
        Schema::new("").attribute(Attribute::string("value").computed().sensitive())
    }
    async fn open(&self, _: &Context<()>, _: &Value, _: &mut Diagnostics) -> Option<Opened> {
        Some(Opened {
            result: Value::object([("value", Value::string("t0ken"))]),
            renew_at: Some(SystemTime::now() + Duration::from_secs(60)),
            private: Some(b"handle-1".to_vec()),
        })
    }
    async fn renew(
        &self,
        _: &Context<()>,
        private: Option<&[u8]>,
        _: &mut Diagnostics,
    ) -> Option<SystemTime> {
        assert_eq!(private, Some(&b"handle-1"[..]));
        Some(SystemTime::now() + Duration::from_secs(120))
    }
    async fn close(&self, _: &Context<()>, private: Option<&[u8]>, _: &mut Diagnostics) {
        assert_eq!(private, Some(&b"handle-1"[..]));
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

fn test_slow() -> Requests {
    Requests::new("test_slow", Slow.schema().value_type())
}

#[tokio::test]
async fn stop_provider_cancels_a_create_which_still_returns_what_it_created() {
    let mut client = client().await;
    let planned = Value::object([
        ("id", Value::Unknown),
        ("name", Value::string("x")),
        ("password", Value::Null),
    ]);
    let config = Value::object([
        ("id", Value::Null),
        ("name", Value::string("x")),
        ("password", Value::Null),
    ]);
    let mut apply_client = client.clone();
    let started = Instant::now();
    let apply = tokio::spawn(async move {
        let slow = test_slow();
        apply_client
            .apply(slow.apply(&Value::Null, slow.dv(&planned), &config))
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.stop(pb::stop_provider::Request {}).await;
    let resp = tokio::time::timeout(Duration::from_secs(5), apply)
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let state = test_slow().value_of(resp.new_state.as_ref());
    assert_eq!(state.get("id"), &Value::string("created-remotely"));
    assert!(resp.diagnostics.iter().any(|d| d.summary == "Stopped"));
    // What the resource keeps beside its state reaches Terraform with it.
    assert_eq!(
        Private::from_bytes(resp.private).get::<String>().as_deref(),
        Some("made by Slow")
    );
}

#[tokio::test]
async fn a_panic_becomes_an_error_diagnostic_and_the_plugin_keeps_serving() {
    let mut client = client().await;
    let panics = Requests::new("test_panics", Panics.schema().value_type());
    let planned = Value::object([("id", Value::Unknown)]);
    let config = Value::object([("id", Value::Null)]);
    let resp = client
        .apply(panics.apply(&Value::Null, panics.dv(&planned), &config))
        .await;
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("boom in create") && errs[0].contains("Internal error"),
        "{errs:?}"
    );
    let schema = client.schema(pb::get_provider_schema::Request {}).await;
    assert!(schema.resource_schemas.contains_key("test_panics"));
}

#[tokio::test]
async fn ephemeral_resources_open_renew_and_close() {
    let (mut client, flags) = configured_provider().await;
    let ty = Type::object([("value", Type::String)]);
    let opened = client
        .open(pb::open_ephemeral_resource::Request {
            type_name: "test_token".into(),
            config: dv(&Value::object([("value", Value::Null)]), &ty),
            ..Default::default()
        })
        .await;
    assert!(opened.diagnostics.is_empty());
    let result = grpc::value_of(opened.result.as_ref(), &ty);
    assert_eq!(result.get("value"), &Value::string("t0ken"));
    assert!(opened.renew_at.is_some());
    let renewed = client
        .renew(pb::renew_ephemeral_resource::Request {
            type_name: "test_token".into(),
            private: opened.private.clone(),
        })
        .await;
    assert!(renewed.renew_at.unwrap().seconds > opened.renew_at.unwrap().seconds);
    client
        .close(pb::close_ephemeral_resource::Request {
            type_name: "test_token".into(),
            private: opened.private,
        })
        .await;
    assert_eq!(flags.closed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn schema_announces_write_only_and_ephemeral_types_and_metadata_lists_them() {
    let mut client = client().await;
    let schema = client.schema(pb::get_provider_schema::Request {}).await;
    let slow = schema.resource_schemas["test_slow"].block.as_ref().unwrap();
    let password = slow.attributes.iter().find(|a| a.name == "password").unwrap();
    assert!(password.write_only && password.sensitive);
    assert!(schema.ephemeral_resource_schemas.contains_key("test_token"));
    let meta = client.metadata(pb::get_metadata::Request {}).await;
    assert_eq!(meta.ephemeral_resources.len(), 1);
    assert_eq!(meta.resources.len(), 6);
    assert!(meta.server_capabilities.unwrap().get_provider_schema_optional);
}

#[tokio::test]
async fn state_of_an_older_schema_version_is_upgraded_from_json() {
    let mut client = client().await;
    let upgrade = |version: i64, json: &[u8]| pb::upgrade_resource_state::Request {
        type_name: "test_renamed".into(),
        version,
        raw_state: Some(pb::RawState {
            json: json.to_vec(),
            ..Default::default()
        }),
    };
    let resp = client
        .upgrade_state(upgrade(
            0,
            br#"{"id":"abc","label":"old name","gone":"removed attribute"}"#,
        ))
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let ty = Renamed.schema().value_type();
    let state = grpc::value_of(resp.upgraded_state.as_ref(), &ty);
    assert_eq!(state.get("display_name"), &Value::string("old name"));
    assert_eq!(state.get("id"), &Value::string("abc"));

    let newer = client.upgrade_state(upgrade(7, b"{}")).await;
    assert!(errors(&newer.diagnostics)[0].contains("newer provider"));
}

#[tokio::test]
async fn refined_unknowns_from_newer_terraform_plan_as_unknown() {
    let mut client = client().await;
    let slow = test_slow();
    // {"id": null, "name": <unknown, extension 12 with refinements>, "password": null}
    let mut config = Vec::new();
    rmp::encode::write_map_len(&mut config, 3).unwrap();
    for (k, v) in [
        ("id", None),
        ("name", Some(vec![0xc7u8, 0x03, 0x0c, 0x81, 0x01, 0xc3])),
        ("password", None),
    ] {
        rmp::encode::write_str(&mut config, k).unwrap();
        match v {
            Some(bytes) => config.extend(bytes),
            None => rmp::encode::write_nil(&mut config).unwrap(),
        }
    }
    let as_dv = Some(pb::DynamicValue {
        msgpack: config,
        json: Vec::new(),
    });
    let resp = client
        .plan(pb::plan_resource_change::Request {
            type_name: slow.type_name.clone(),
            prior_state: slow.dv(&Value::Null),
            proposed_new_state: as_dv.clone(),
            config: as_dv,
            ..Default::default()
        })
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let planned = slow.value_of(resp.planned_state.as_ref());
    assert!(planned.get("name").is_unknown());
    assert!(planned.get("id").is_unknown());
}

#[tokio::test]
async fn an_unknown_type_name_is_a_clear_error() {
    let mut client = client().await;
    let resp = client
        .read_data(pb::read_data_source::Request {
            type_name: "test_nope".into(),
            ..Default::default()
        })
        .await;
    assert!(errors(&resp.diagnostics)[0].contains("no data source named \"test_nope\""));
}

// ---------------------------------------------------------------------------------------------------------
// Resource identity (protocol 6.9, Terraform 1.12+) and list resources (6.10, Terraform 1.14+)

/// Named by `app` (a GUID-like name, any case) and its computed `id`; `label` changes in place.
struct Named;

#[async_trait]
impl TestResource for Named {
    fn type_name(&self) -> &'static str {
        "test_named"
    }
    fn schema(&self) -> Schema {
        Schema::new("")
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The id."),
            )
            .attribute(Attribute::string("app").required().requires_replace())
            .attribute(Attribute::string("label").optional())
    }
    fn identity(&self) -> Option<Identity> {
        Some(Identity::from_state(["app", "id"]).ignore_case())
    }
    fn modify_plan(&self, request: &PlanRequest<'_>, plan: &mut PlannedChange) {
        // Like partnercenter_web_app_key: `app` in other case names the same object, kept in place.
        let (Some(before), Some(now)) = (
            request.prior.known::<String>("app"),
            plan.planned.known::<String>("app"),
        ) else {
            return;
        };
        if before != now && before.eq_ignore_ascii_case(&now) {
            plan.cancel_replacement_of("app", request.prior);
        }
    }
    async fn create(
        &self,
        _: &Context<()>,
        planned: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        let mut state = planned.clone();
        state.set("id", Value::string("x1"));
        Some(state)
    }
    fn read(&self, s: &Value) -> Option<Value> {
        (s.get("label") != &Value::string("gone")).then(|| s.clone())
    }
    fn update(&self, prior: &Value, planned: &Value) -> Option<Value> {
        Some(planned.with_unknowns_from(prior))
    }
    fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let Some((app, object)) = id.split_once('/') else {
            diags.error("Invalid import id", format!("\"{id}\" is not <app>/<id>"));
            return None;
        };
        Some(Value::object([
            ("id", Value::string(object)),
            ("app", Value::string(app)),
            ("label", Value::string(format!("imported as {id}"))),
        ]))
    }
}

/// Identified by `name`, which (wrongly) changes in place: the server must refuse such a plan.
struct Mutable;

impl TestResource for Mutable {
    fn type_name(&self) -> &'static str {
        "test_mutable"
    }
    fn schema(&self) -> Schema {
        Schema::new("")
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::string("name").required())
    }
    fn identity(&self) -> Option<Identity> {
        Some(Identity::from_state(["name"]))
    }
}

/// Declares an identity its schema cannot back: served without one, and nothing else breaks.
struct BadIdentity;

impl TestResource for BadIdentity {
    fn type_name(&self) -> &'static str {
        "test_bad_identity"
    }
    fn schema(&self) -> Schema {
        Schema::new("").attribute(Attribute::string("id").computed())
    }
    fn identity(&self) -> Option<Identity> {
        Some(Identity::from_state(["no_such_attribute"]))
    }
}

/// Lists `count` test_named objects; `mode` picks a way to misbehave.
struct NamedList {
    ended: Arc<AtomicBool>,
}

const LIST_MODES: [&str; 6] = ["ok", "warn", "fail", "panic", "no_identity", "endless"];

#[async_trait]
impl ListResource<()> for NamedList {
    fn type_name(&self) -> &'static str {
        "test_named"
    }
    fn schema(&self) -> Schema {
        Schema::new("")
            .attribute(Attribute::number("count").required())
            .attribute(
                Attribute::string("mode")
                    .optional()
                    .validate(Validator::string("a mode", |s| {
                        if LIST_MODES.contains(&s) {
                            Ok(())
                        } else {
                            Err(format!("\"{s}\" is not one of {LIST_MODES:?}"))
                        }
                    })),
            )
    }
    async fn list(&self, _: &Context<()>, config: &Value, out: &mut Listing) {
        // Set however the producer ends: returning, or dropped when Terraform hangs up.
        let _ended = SetOnDrop(self.ended.clone());
        let count = config.known::<i64>("count").unwrap_or(0);
        let object = |i: i64| {
            Value::object([
                ("id", Value::string(format!("id-{i}"))),
                ("app", Value::string("App")),
                ("label", Value::Null),
            ])
        };
        match config.known::<String>("mode").as_deref().unwrap_or("ok") {
            "panic" => panic!("boom in list"),
            "fail" => {
                let mut diags = Diagnostics::new();
                diags.error("Listing failed", "the remote API said no");
                out.diagnostics(diags).await;
            }
            "no_identity" => {
                let mut incomplete = object(0);
                incomplete.set("id", Value::Null);
                out.push("incomplete", &incomplete).await;
            }
            "endless" => {
                let mut i = 0;
                while out.push(format!("object {i}"), &object(i)).await {
                    i += 1;
                }
            }
            mode => {
                if mode == "warn" {
                    let mut diags = Diagnostics::new();
                    diags.warning("Partial results", "one page was skipped");
                    out.diagnostics(diags).await;
                }
                for i in 0..count {
                    if !out.push(format!("object {i}"), &object(i)).await {
                        break;
                    }
                }
            }
        }
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A list resource for a type without identity: never served.
struct NoIdentityList;

#[async_trait]
impl ListResource<()> for NoIdentityList {
    fn type_name(&self) -> &'static str {
        "test_slow"
    }
    fn schema(&self) -> Schema {
        Schema::new("")
    }
    async fn list(&self, _: &Context<()>, _: &Value, _: &mut Listing) {}
}

fn test_named() -> Requests {
    Requests::new("test_named", Named.schema().value_type())
}

fn identity_type() -> Type {
    Type::object([("app", Type::String), ("id", Type::String)])
}

fn named(id: Option<&str>, app: &str, label: Option<&str>) -> Value {
    Value::object([
        ("id", id.map_or(Value::Unknown, Value::string)),
        ("app", Value::string(app)),
        ("label", Value::from(label)),
    ])
}

fn identity(app: &str, id: &str) -> Value {
    Value::object([("app", Value::string(app)), ("id", Value::string(id))])
}

fn identity_data(v: &Value) -> Option<pb::ResourceIdentityData> {
    grpc::identity_data(v, &identity_type())
}

/// The identity in an answer, checked the way Terraform checks it: wholly known and of the schema's type.
fn identity_of(data: Option<pb::ResourceIdentityData>) -> Option<Value> {
    grpc::identity_of(data, &identity_type())
}

#[tokio::test]
async fn identity_schemas_are_served_from_the_resources_schemas_and_never_error() {
    let mut client = client().await;
    let resp = client
        .identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let mut served: Vec<&str> = resp.identity_schemas.keys().map(String::as_str).collect();
    served.sort_unstable();
    // test_bad_identity's declaration names no attribute of its schema: left out, not an error.
    assert_eq!(served, ["test_mutable", "test_named"]);
    let named = &resp.identity_schemas["test_named"];
    assert_eq!(named.version, 0);
    let attrs: Vec<(&str, &[u8], bool, &str)> = named
        .identity_attributes
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.r#type.as_slice(),
                a.required_for_import,
                a.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        attrs,
        [
            ("app", &b"\"string\""[..], true, ""),
            ("id", &b"\"string\""[..], true, "The id.")
        ]
    );
    // Also before ConfigureProvider: Terraform loads schemas first.
    let early = unconfigured()
        .await
        .identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await;
    assert!(early.diagnostics.is_empty());
    assert_eq!(early.identity_schemas.len(), 2);
}

#[tokio::test]
async fn identity_follows_the_object_and_keeps_its_spelling_across_updates() {
    let mut client = client().await;
    let rpc = test_named();
    let config = |app: &str, label: Option<&str>| {
        let mut c = named(None, app, label);
        c.set("id", Value::Null);
        c
    };

    // Create: the id is not known at plan, so no identity is planned; the apply has it.
    let plan = client
        .plan(rpc.plan(&Value::Null, &named(None, "AB", None), &config("AB", None)))
        .await;
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    assert_eq!(identity_of(plan.planned_identity), None);
    let created = client
        .apply(rpc.apply(&Value::Null, plan.planned_state, &config("AB", None)))
        .await;
    assert_eq!(identity_of(created.new_identity), Some(identity("AB", "x1")));

    // An in-place change of `app`'s case only: the planned and applied identity keep "AB".
    let prior = named(Some("x1"), "AB", None);
    let proposed = named(Some("x1"), "ab", Some("relabelled"));
    let plan = client
        .plan(pb::plan_resource_change::Request {
            prior_identity: identity_data(&identity("AB", "x1")),
            ..rpc.plan(&prior, &proposed, &config("ab", Some("relabelled")))
        })
        .await;
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    assert!(plan.requires_replace.is_empty(), "an in-place update");
    let planned_identity = identity_of(plan.planned_identity.clone());
    assert_eq!(planned_identity, Some(identity("AB", "x1")));
    let planned = rpc.value_of(plan.planned_state.as_ref());
    assert_eq!(
        planned.get("app"),
        &Value::string("ab"),
        "state takes the new spelling"
    );
    let updated = client
        .apply(pb::apply_resource_change::Request {
            planned_identity: plan.planned_identity,
            ..rpc.apply(&prior, plan.planned_state, &config("ab", Some("relabelled")))
        })
        .await;
    assert_eq!(identity_of(updated.new_identity), Some(identity("AB", "x1")));

    // Later refreshes keep the identity Terraform holds.
    let read = client
        .read(pb::read_resource::Request {
            current_identity: identity_data(&identity("AB", "x1")),
            ..rpc.read(&named(Some("x1"), "ab", Some("relabelled")))
        })
        .await;
    assert_eq!(identity_of(read.new_identity), Some(identity("AB", "x1")));
    // A state from before identities (Terraform <= 1.11 wrote it) gets one on its first refresh.
    let first = client.read(rpc.read(&named(Some("x1"), "ab", None))).await;
    assert_eq!(identity_of(first.new_identity), Some(identity("ab", "x1")));
    // A gone object has no identity.
    let gone = client
        .read(pb::read_resource::Request {
            current_identity: identity_data(&identity("AB", "x1")),
            ..rpc.read(&named(Some("x1"), "ab", Some("gone")))
        })
        .await;
    assert!(rpc.value_of(gone.new_state.as_ref()).is_null());
    assert_eq!(identity_of(gone.new_identity), None);

    // Another app is another object: replaced, and the new object's identity is not known yet.
    let replace = client
        .plan(pb::plan_resource_change::Request {
            prior_identity: identity_data(&identity("AB", "x1")),
            ..rpc.plan(&prior, &named(Some("x1"), "CD", None), &config("CD", None))
        })
        .await;
    assert!(replace.diagnostics.is_empty(), "{:?}", replace.diagnostics);
    assert!(!replace.requires_replace.is_empty());
    assert_eq!(identity_of(replace.planned_identity), None);

    // Destroy: no object, no identity.
    let destroy = client
        .apply(pb::apply_resource_change::Request {
            planned_identity: identity_data(&identity("AB", "x1")),
            ..rpc.apply(&prior, rpc.dv(&Value::Null), &Value::Null)
        })
        .await;
    assert_eq!(identity_of(destroy.new_identity), None);
}

#[tokio::test]
async fn an_in_place_update_that_would_change_the_identity_is_refused_at_plan() {
    let mut client = client().await;
    let rpc = Requests::new("test_mutable", Mutable.schema().value_type());
    let id_ty = Type::object([("name", Type::String)]);
    let state = |name: &str| Value::object([("id", Value::string("m")), ("name", Value::string(name))]);
    let config = Value::object([("id", Value::Null), ("name", Value::string("b"))]);
    let resp = client
        .plan(pb::plan_resource_change::Request {
            prior_identity: grpc::identity_data(&Value::object([("name", Value::string("a"))]), &id_ty),
            ..rpc.plan(&state("a"), &state("b"), &config)
        })
        .await;
    let errs = errors(&resp.diagnostics);
    assert!(
        errs.len() == 1 && errs[0].contains("Identity would change"),
        "{errs:?}"
    );
}

#[tokio::test]
async fn import_by_identity_goes_through_the_import_id_and_returns_an_identity() {
    let mut client = client().await;
    let rpc = test_named();
    let resp = client
        .import(rpc.import_identity(identity_data(&identity("AB", "x1"))))
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(resp.imported_resources.len(), 1);
    let imported = &resp.imported_resources[0];
    let state = rpc.value_of(imported.state.as_ref());
    // The resource's own import got `<app>/<id>`.
    assert_eq!(state.get("label"), &Value::string("imported as AB/x1"));
    assert_eq!(identity_of(imported.identity.clone()), Some(identity("AB", "x1")));

    // Import by id returns the identity too (Terraform 1.12+ stores it).
    let by_id = client.import(rpc.import("ab/x1")).await;
    assert_eq!(
        identity_of(by_id.imported_resources[0].identity.clone()),
        Some(identity("ab", "x1"))
    );

    // An identity missing a part says which.
    let partial = Value::object([("app", Value::string("AB")), ("id", Value::Null)]);
    let incomplete = client.import(rpc.import_identity(identity_data(&partial))).await;
    assert!(incomplete.imported_resources.is_empty());
    let errs = errors(&incomplete.diagnostics);
    assert!(errs[0].contains("needs \"id\""), "{errs:?}");

    // A type without identity cannot be imported by one.
    let unsupported = client
        .import(test_slow().import_identity(identity_data(&identity("AB", "x1"))))
        .await;
    assert!(errors(&unsupported.diagnostics)[0].contains("import it by id"));
}

#[tokio::test]
async fn upgrade_resource_identity_passes_version_0_through() {
    let mut client = client().await;
    let upgrade = |type_name: &str, version: i64, json: &str| pb::upgrade_resource_identity::Request {
        type_name: type_name.into(),
        version,
        raw_identity: Some(pb::RawState {
            json: json.as_bytes().to_vec(),
            ..Default::default()
        }),
    };
    let resp = client
        .upgrade_identity(upgrade("test_named", 0, r#"{"app":"AB","id":"x1"}"#))
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(identity_of(resp.upgraded_identity), Some(identity("AB", "x1")));

    let newer = client
        .upgrade_identity(upgrade("test_named", 3, r#"{"app":"AB","id":"x1"}"#))
        .await;
    assert!(errors(&newer.diagnostics)[0].contains("newer provider"));
    let none = client.upgrade_identity(upgrade("test_slow", 0, "{}")).await;
    assert!(errors(&none.diagnostics)[0].contains("does not define a resource identity"));
}

fn list_config(count: i64, mode: &str) -> Option<pb::DynamicValue> {
    let ty = Type::object([("count", Type::Number), ("mode", Type::String)]);
    dv(
        &Value::object([("count", Value::from(count)), ("mode", Value::string(mode))]),
        &ty,
    )
}

/// A ListResource request for test_named.
fn list_named(count: i64, mode: &str, limit: i64) -> pb::list_resource::Request {
    pb::list_resource::Request {
        type_name: "test_named".into(),
        config: list_config(count, mode),
        limit,
        ..Default::default()
    }
}

/// Reads a list stream to its end, as Terraform does (it stops at `limit` or at an error).
async fn list_events(
    client: &mut PluginClient,
    request: pb::list_resource::Request,
) -> Vec<pb::list_resource::Event> {
    let mut stream = client.list_resource(request).await.unwrap().into_inner();
    let mut events = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends")
        .unwrap()
    {
        events.push(event);
    }
    events
}

#[tokio::test]
async fn list_events_carry_identity_display_name_and_the_object_only_when_asked() {
    let mut client = client().await;
    for include in [false, true] {
        let request = pb::list_resource::Request {
            include_resource_object: include,
            ..list_named(3, "ok", 100)
        };
        let events = list_events(&mut client, request).await;
        assert_eq!(events.len(), 3);
        for (i, event) in events.iter().enumerate() {
            assert!(event.diagnostic.is_empty());
            assert_eq!(event.display_name, format!("object {i}"));
            assert_eq!(
                identity_of(event.identity.clone()),
                Some(identity("App", &format!("id-{i}")))
            );
            assert_eq!(event.resource_object.is_some(), include);
            if let Some(object) = &event.resource_object {
                let state = test_named().value_of(Some(object));
                assert_eq!(state.get("id"), &Value::string(format!("id-{i}")));
            }
        }
    }
    // Warnings travel in an event of their own, without identity (Terraform shows them and goes on).
    let warned = list_events(&mut client, list_named(1, "warn", 100)).await;
    assert_eq!(warned.len(), 2);
    assert_eq!(warned[0].diagnostic[0].summary, "Partial results");
    assert!(warned[0].identity.is_none());
    assert!(warned[1].identity.is_some());
}

#[tokio::test]
async fn a_list_stops_at_the_limit_and_when_terraform_stops_reading() {
    let (mut client, flags) = configured_provider().await;
    let limited = list_events(&mut client, list_named(0, "endless", 5)).await;
    assert_eq!(limited.len(), 5);
    assert!(flags.list_ended.load(Ordering::SeqCst));

    // No limit (0, what a client that never set one sends): Terraform hangs up after three.
    flags.list_ended.store(false, Ordering::SeqCst);
    let mut stream = client
        .list_resource(list_named(0, "endless", 0))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..3 {
        assert!(stream.message().await.unwrap().is_some());
    }
    drop(stream);
    let started = Instant::now();
    while !flags.list_ended.load(Ordering::SeqCst) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the producer never stopped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn list_problems_are_events_with_diagnostics_not_broken_streams() {
    let mut client = client().await;
    let request = |type_name: &str, config| pb::list_resource::Request {
        type_name: type_name.into(),
        config,
        limit: 100,
        ..Default::default()
    };
    for (req, expected) in [
        (
            request("test_nope", list_config(1, "ok")),
            "no list resource named \"test_nope\"",
        ),
        // test_slow has no identity, so its list resource is not served.
        (request("test_slow", None), "no list resource named \"test_slow\""),
        (
            request("test_named", list_config(1, "bogus")),
            "\"bogus\" is not one of",
        ),
        (
            request("test_named", list_config(1, "fail")),
            "the remote API said no",
        ),
        (request("test_named", list_config(1, "panic")), "boom in list"),
        (
            request("test_named", list_config(1, "no_identity")),
            "without every identity attribute",
        ),
    ] {
        let events = list_events(&mut client, req).await;
        let last = events.last().expect("an event");
        let errs = errors(&last.diagnostic);
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{expected}: {events:?}"
        );
        assert!(last.identity.is_none());
    }
    // Before ConfigureProvider: an event saying so.
    let mut unconfigured = unconfigured().await;
    let events = list_events(&mut unconfigured, request("test_named", list_config(1, "ok"))).await;
    assert!(errors(&events[0].diagnostic)[0].contains("Provider not configured"));
}

#[tokio::test]
async fn list_configurations_are_validated_like_any_other() {
    let mut client = client().await;
    let validate = |type_name: &str, config, limit: Option<i64>| pb::validate_list_resource_config::Request {
        type_name: type_name.into(),
        config,
        include_resource_object: dv(&Value::Bool(true), &Type::Bool),
        limit: limit.and_then(|l| dv(&Value::from(l), &Type::Number)),
    };
    for (req, expected) in [
        (validate("test_named", list_config(1, "ok"), Some(10)), None),
        (validate("test_named", list_config(1, "ok"), None), None),
        (
            validate("test_named", list_config(1, "bogus"), None),
            Some("is not one of"),
        ),
        (
            validate("test_named", list_config(1, "ok"), Some(-1)),
            Some("cannot be negative"),
        ),
        (
            validate("test_nope", list_config(1, "ok"), None),
            Some("no list resource named"),
        ),
    ] {
        let resp = client.validate_list(req).await;
        let errs = errors(&resp.diagnostics);
        match expected {
            None => assert!(errs.is_empty(), "{errs:?}"),
            Some(text) => assert!(errs.iter().any(|e| e.contains(text)), "{text}: {errs:?}"),
        }
    }
}

#[tokio::test]
async fn the_schema_and_metadata_announce_list_resources_and_nothing_not_served() {
    let mut client = client().await;
    let schema = client.schema(pb::get_provider_schema::Request {}).await;
    let lists: Vec<&String> = schema.list_resource_schemas.keys().collect();
    assert_eq!(lists, ["test_named"]);
    let config = schema.list_resource_schemas["test_named"].block.as_ref().unwrap();
    let names: Vec<&str> = config.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["count", "mode"]);
    assert!(schema.action_schemas.is_empty() && schema.state_store_schemas.is_empty());
    let capabilities = schema.server_capabilities.unwrap();
    assert!(!capabilities.generate_resource_config && !capabilities.move_resource_state);
    // Protocol 6.11 schema fields: nothing here is a computed block or carries a deprecation message.
    for s in schema.resource_schemas.values() {
        let block = s.block.as_ref().unwrap();
        assert!(!block.computed && block.deprecation_message.is_empty());
    }
    let meta = client.metadata(pb::get_metadata::Request {}).await;
    assert_eq!(meta.list_resources.len(), 1);
    assert!(meta.actions.is_empty() && meta.state_stores.is_empty());
}

#[tokio::test]
async fn terraform_1_16_plan_fields_are_accepted() {
    let mut client = client().await;
    let rpc = test_named();
    let prior = named(Some("x1"), "AB", None);
    let resp = client
        .plan(pb::plan_resource_change::Request {
            prior_private: b"{}".to_vec(),
            client_capabilities: Some(pb::ClientCapabilities {
                write_only_attributes_allowed: true,
                store_planned_private: true,
                computed_blocks_allowed: true,
                ..Default::default()
            }),
            prior_identity: identity_data(&identity("AB", "x1")),
            planned_private: b"{\"from\":\"an earlier plan\"}".to_vec(),
            ..rpc.plan(&prior, &prior, &named(None, "AB", None))
        })
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(
        resp.planned_private, b"{}",
        "what the last apply kept is carried on"
    );
    assert_eq!(identity_of(resp.planned_identity), Some(identity("AB", "x1")));
}

/// The status of a call that must fail.
fn refused<T>(answer: Result<T, tonic::Status>) -> tonic::Status {
    match answer {
        Ok(_) => panic!("an answer where Unimplemented was expected"),
        Err(status) => status,
    }
}

#[tokio::test]
async fn rpcs_of_features_not_offered_answer_unimplemented_or_a_plain_diagnostic() {
    let mut client = client().await;
    let generate = pb::generate_resource_config::Request {
        type_name: "test_named".into(),
        state: test_named().dv(&named(Some("x1"), "AB", None)),
    };
    let chunks = tokio_stream::iter(vec![pb::write_state_bytes::RequestChunk::default()]);
    let statuses = [
        // Not announced: Terraform writes generated configuration itself.
        refused(client.generate_resource_config(generate).await),
        // State stores: none announced.
        refused(
            client
                .validate_state_store_config(pb::validate_state_store::Request::default())
                .await,
        ),
        refused(
            client
                .configure_state_store(pb::configure_state_store::Request::default())
                .await,
        ),
        refused(
            client
                .read_state_bytes(pb::read_state_bytes::Request::default())
                .await,
        ),
        refused(client.write_state_bytes(chunks).await),
        refused(client.lock_state(pb::lock_state::Request::default()).await),
        refused(client.unlock_state(pb::unlock_state::Request::default()).await),
        refused(client.get_states(pb::get_states::Request::default()).await),
        refused(client.delete_state(pb::delete_state::Request::default()).await),
    ];
    for status in statuses {
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    }

    // Actions: none announced; naming one is like naming any unknown type.
    let planned = client
        .plan_action(pb::plan_action::Request {
            action_type: "test_act".into(),
            ..Default::default()
        })
        .await;
    assert!(errors(&planned.diagnostics)[0].contains("no action named \"test_act\""));
    let validated = client
        .validate_action(pb::validate_action_config::Request {
            type_name: "test_act".into(),
            ..Default::default()
        })
        .await;
    assert!(errors(&validated.diagnostics)[0].contains("no action named"));
    let mut invoked = client
        .invoke_action(pb::invoke_action::Request {
            action_type: "test_act".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let event = invoked.message().await.unwrap().unwrap();
    match event.r#type {
        Some(pb::invoke_action::event::Type::Completed(done)) => {
            assert!(errors(&done.diagnostics)[0].contains("no action named"));
        }
        other => panic!("expected Completed, got {other:?}"),
    }
    assert!(invoked.message().await.unwrap().is_none());
    // The plugin still serves.
    assert!(
        client
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .is_ok()
    );
}
