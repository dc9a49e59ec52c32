//! Protocol behaviour Terraform 1.0.3 cannot drive, over a real gRPC connection in process: StopProvider
//! cancelling work, panics as diagnostics, ephemeral resources, write-only attributes, state upgrades,
//! refined unknowns.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use support::grpc::{in_process, pb};
use terraform_provider_partnercenter::protocol::value::{from_msgpack, to_msgpack};
use terraform_provider_partnercenter::protocol::{
    Attribute, Context, DataSource, Diagnostics, EphemeralResource, Opened, Private, Provider,
    ProviderServer, Resource, Schema, Type, Value,
};

struct TestProvider {
    closed: Arc<AtomicUsize>,
}

#[async_trait]
impl Provider for TestProvider {
    type Client = ();
    fn name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new("test").attribute(Attribute::string("region").optional())
    }
    async fn configure(&self, _: &Value, _: &str, _: &mut Diagnostics) -> Option<()> {
        Some(())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(Slow), Arc::new(Panics), Arc::new(Renamed)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        Vec::new()
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<()>>> {
        vec![Arc::new(Token {
            closed: self.closed.clone(),
        })]
    }
}

/// Creation that takes long: when Terraform stops the provider mid-way, it still returns what it created.
struct Slow;

#[async_trait]
impl Resource<()> for Slow {
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
        _: &Value,
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
    async fn read(
        &self,
        _: &Context<()>,
        state: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        Some(state.clone())
    }
    async fn update(
        &self,
        _: &Context<()>,
        _: &Value,
        p: &Value,
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        Some(p.clone())
    }
    async fn delete(&self, _: &Context<()>, _: &Value, _: &Private, _: &mut Diagnostics) {}
}

struct Panics;

#[async_trait]
impl Resource<()> for Panics {
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
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        panic!("boom in create")
    }
    async fn read(&self, _: &Context<()>, s: &Value, _: &mut Private, _: &mut Diagnostics) -> Option<Value> {
        Some(s.clone())
    }
    async fn update(
        &self,
        _: &Context<()>,
        _: &Value,
        p: &Value,
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        Some(p.clone())
    }
    async fn delete(&self, _: &Context<()>, _: &Value, _: &Private, _: &mut Diagnostics) {}
}

/// Schema version 1 renamed `label` (version 0) to `display_name`.
struct Renamed;

#[async_trait]
impl Resource<()> for Renamed {
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
    async fn create(
        &self,
        _: &Context<()>,
        p: &Value,
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        Some(p.clone())
    }
    async fn read(&self, _: &Context<()>, s: &Value, _: &mut Private, _: &mut Diagnostics) -> Option<Value> {
        Some(s.clone())
    }
    async fn update(
        &self,
        _: &Context<()>,
        _: &Value,
        p: &Value,
        _: &Value,
        _: &mut Private,
        _: &mut Diagnostics,
    ) -> Option<Value> {
        Some(p.clone())
    }
    async fn delete(&self, _: &Context<()>, _: &Value, _: &Private, _: &mut Diagnostics) {}
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

fn slow_type() -> Type {
    Slow.schema().value_type()
}

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: to_msgpack(v, ty),
        json: Vec::new(),
    })
}

async fn configured() -> (
    pb::provider_client::ProviderClient<tonic::transport::Channel>,
    Arc<AtomicUsize>,
) {
    let closed = Arc::new(AtomicUsize::new(0));
    let mut client = in_process(ProviderServer::new(TestProvider {
        closed: closed.clone(),
    }))
    .await;
    let ty = TestProvider {
        closed: closed.clone(),
    }
    .schema()
    .value_type();
    let config = Value::null_object(&ty);
    let resp = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.10.0".into(),
            config: dv(&config, &ty),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty());
    (client, closed)
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

#[tokio::test]
async fn stop_provider_cancels_a_create_which_still_returns_what_it_created() {
    let (mut client, _) = configured().await;
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
        apply_client
            .apply_resource_change(pb::apply_resource_change::Request {
                type_name: "test_slow".into(),
                prior_state: dv(&Value::Null, &slow_type()),
                planned_state: dv(&planned, &slow_type()),
                config: dv(&config, &slow_type()),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), apply)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .into_inner();
    assert!(started.elapsed() < Duration::from_secs(5));
    let state = from_msgpack(&resp.new_state.unwrap().msgpack, &slow_type()).unwrap();
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
    let (mut client, _) = configured().await;
    let ty = Panics.schema().value_type();
    let planned = Value::object([("id", Value::Unknown)]);
    let resp = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "test_panics".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: dv(&planned, &ty),
            config: dv(&Value::object([("id", Value::Null)]), &ty),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("boom in create") && errs[0].contains("Internal error"),
        "{errs:?}"
    );
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.resource_schemas.contains_key("test_panics"));
}

#[tokio::test]
async fn ephemeral_resources_open_renew_and_close() {
    let (mut client, closed) = configured().await;
    let ty = Type::object([("value", Type::String)]);
    let opened = client
        .open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: "test_token".into(),
            config: dv(&Value::object([("value", Value::Null)]), &ty),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(opened.diagnostics.is_empty());
    let result = from_msgpack(&opened.result.unwrap().msgpack, &ty).unwrap();
    assert_eq!(result.get("value"), &Value::string("t0ken"));
    assert!(opened.renew_at.is_some());
    let renewed = client
        .renew_ephemeral_resource(pb::renew_ephemeral_resource::Request {
            type_name: "test_token".into(),
            private: opened.private.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(renewed.renew_at.unwrap().seconds > opened.renew_at.unwrap().seconds);
    client
        .close_ephemeral_resource(pb::close_ephemeral_resource::Request {
            type_name: "test_token".into(),
            private: opened.private,
        })
        .await
        .unwrap();
    assert_eq!(closed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn schema_announces_write_only_and_ephemeral_types_and_metadata_lists_them() {
    let (mut client, _) = configured().await;
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let slow = schema.resource_schemas["test_slow"].block.as_ref().unwrap();
    let password = slow.attributes.iter().find(|a| a.name == "password").unwrap();
    assert!(password.write_only && password.sensitive);
    assert!(schema.ephemeral_resource_schemas.contains_key("test_token"));
    let meta = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.ephemeral_resources.len(), 1);
    assert_eq!(meta.resources.len(), 3);
    assert!(meta.server_capabilities.unwrap().get_provider_schema_optional);
}

#[tokio::test]
async fn state_of_an_older_schema_version_is_upgraded_from_json() {
    let (mut client, _) = configured().await;
    let resp = client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_renamed".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"id":"abc","label":"old name","gone":"removed attribute"}"#.to_vec(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let ty = Renamed.schema().value_type();
    let state = from_msgpack(&resp.upgraded_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(state.get("display_name"), &Value::string("old name"));
    assert_eq!(state.get("id"), &Value::string("abc"));

    let newer = client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_renamed".into(),
            version: 7,
            raw_state: Some(pb::RawState {
                json: b"{}".to_vec(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&newer.diagnostics)[0].contains("newer provider"));
}

#[tokio::test]
async fn refined_unknowns_from_newer_terraform_plan_as_unknown() {
    let (mut client, _) = configured().await;
    let ty = slow_type();
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
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "test_slow".into(),
            prior_state: dv(&Value::Null, &ty),
            proposed_new_state: as_dv.clone(),
            config: as_dv,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let planned = from_msgpack(&resp.planned_state.unwrap().msgpack, &ty).unwrap();
    assert!(planned.get("name").is_unknown());
    assert!(planned.get("id").is_unknown());
}

#[tokio::test]
async fn an_unknown_type_name_is_a_clear_error() {
    let (mut client, _) = configured().await;
    let resp = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "test_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&resp.diagnostics)[0].contains("no data source named \"test_nope\""));
}
