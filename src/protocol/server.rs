//! The `tfplugin6.Provider` gRPC service: decodes requests, dispatches to the registered provider,
//! resources, data sources, ephemeral resources and list resources, and encodes their answers. A panic in
//! any of them becomes an error diagnostic; the plugin keeps serving. Resource identities are derived here
//! from the states the resources return (see `identity`). RPCs of features this provider does not offer
//! (actions, state stores, provider-generated configuration) answer `Unimplemented` or an empty result,
//! which Terraform tolerates; Terraform never calls them for a provider that announces none.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::SystemTime;

use futures::{FutureExt, Stream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::contracts::{
    Context, DataSource, EphemeralResource, ListResource, PlanRequest, Private, Provider, Resource,
};
use super::diagnostics::{Diagnostic, Diagnostics};
use super::identity::ResolvedIdentity;
use super::list::Listing;
use super::plan::default_plan;
use super::proto::tfplugin6 as pb;
use super::schema::Schema;
use super::value::{self, Type, Value};

/// A server-streaming answer.
type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// How many list events may wait for Terraform to read them before the list resource waits too.
const LIST_BUFFER: usize = 16;

/// A registered type with its schema and value type, computed once.
struct Registered<T: ?Sized> {
    implementation: Arc<T>,
    schema: Schema,
    value_type: Type,
}

impl<T: ?Sized> Registered<T> {
    fn new(implementation: Arc<T>, schema: Schema) -> Self {
        let value_type = schema.value_type();
        Registered {
            implementation,
            schema,
            value_type,
        }
    }
}

/// Everything the provider serves, looked up by type name.
pub struct ProviderServer<P: Provider> {
    provider: Arc<P>,
    provider_schema: Schema,
    provider_type: Type,
    resources: HashMap<&'static str, Registered<dyn Resource<P::Client>>>,
    data_sources: HashMap<&'static str, Registered<dyn DataSource<P::Client>>>,
    ephemeral: HashMap<&'static str, Registered<dyn EphemeralResource<P::Client>>>,
    /// Resource identities by resource type; types without one are absent.
    identities: HashMap<&'static str, Arc<ResolvedIdentity>>,
    /// Only list resources whose resource type has an identity (Terraform requires one per event).
    lists: HashMap<&'static str, Registered<dyn ListResource<P::Client>>>,
    client: RwLock<Option<Arc<P::Client>>>,
    stop: CancellationToken,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
}

impl<P: Provider> ProviderServer<P> {
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let provider_type = provider_schema.value_type();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name(), Registered::new(r.clone(), r.schema())))
            .collect();
        let identities = resolve_identities(&resources);
        let lists = provider
            .list_resources()
            .into_iter()
            .filter(|l| {
                let served = identities.contains_key(l.type_name());
                if !served {
                    // Terraform would fail every query of it ("Identity schema not found"): better absent.
                    tracing::error!(
                        list_resource = l.type_name(),
                        "list resource left out: no resource of that type with an identity"
                    );
                }
                served
            })
            .map(|l| (l.type_name(), Registered::new(l.clone(), l.schema())))
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name(), Registered::new(d.clone(), d.schema())))
            .collect();
        let ephemeral = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| (e.type_name(), Registered::new(e.clone(), e.schema())))
            .collect();
        ProviderServer {
            provider: Arc::new(provider),
            provider_schema,
            provider_type,
            resources,
            data_sources,
            ephemeral,
            identities,
            lists,
            client: RwLock::new(None),
            stop: CancellationToken::new(),
            schema_response: OnceLock::new(),
        }
    }

    /// The token `StopProvider` cancels; every operation's context carries a child of it.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// The `GetProviderSchema` answer, also used by the `schema` subcommand.
    pub fn schema_response(&self) -> &pb::get_provider_schema::Response {
        self.schema_response.get_or_init(|| {
            let sorted = |m: Vec<(&str, &Schema)>| {
                m.into_iter()
                    .map(|(k, s)| (k.to_owned(), s.to_proto()))
                    .collect::<HashMap<_, _>>()
            };
            pb::get_provider_schema::Response {
                provider: Some(self.provider_schema.to_proto()),
                resource_schemas: sorted(self.resources.iter().map(|(k, r)| (*k, &r.schema)).collect()),
                data_source_schemas: sorted(self.data_sources.iter().map(|(k, r)| (*k, &r.schema)).collect()),
                ephemeral_resource_schemas: sorted(
                    self.ephemeral.iter().map(|(k, r)| (*k, &r.schema)).collect(),
                ),
                list_resource_schemas: sorted(self.lists.iter().map(|(k, r)| (*k, &r.schema)).collect()),
                server_capabilities: Some(capabilities()),
                ..Default::default()
            }
        })
    }

    /// The registered schemas, for docs generation.
    pub fn schemas(&self) -> RegisteredSchemas<'_> {
        RegisteredSchemas {
            provider: &self.provider_schema,
            resources: self.resources.iter().map(|(k, r)| (*k, &r.schema)).collect(),
            data_sources: self.data_sources.iter().map(|(k, r)| (*k, &r.schema)).collect(),
        }
    }

    /// The identity of a resource type, if it declares one.
    fn identity_of(&self, type_name: &str) -> Option<&Arc<ResolvedIdentity>> {
        self.identities.get(type_name)
    }

    fn context(&self) -> Result<Context<P::Client>, Diagnostics> {
        let client = self.client.read().ok().and_then(|c| c.clone());
        match client {
            Some(client) => Ok(Context {
                client,
                cancel: self.stop.child_token(),
            }),
            None => Err(Diagnostic::error(
                "Provider not configured",
                "Terraform called an operation before ConfigureProvider succeeded; see the earlier errors.",
            )
            .into()),
        }
    }
}

/// The identity each resource declares, checked against its schema. A declaration the schema cannot back
/// is a provider bug: it is logged and the type served without identity, because an error here would fail
/// every Terraform 1.12+ run (GetResourceIdentitySchemas must not error).
fn resolve_identities<C: 'static>(
    resources: &HashMap<&'static str, Registered<dyn Resource<C>>>,
) -> HashMap<&'static str, Arc<ResolvedIdentity>> {
    resources
        .iter()
        .filter_map(|(name, r)| {
            let declared = r.implementation.identity()?;
            match ResolvedIdentity::resolve(&declared, &r.schema) {
                Ok(resolved) => Some((*name, Arc::new(resolved))),
                Err(problem) => {
                    tracing::error!(resource = name, %problem, "resource identity left out");
                    None
                }
            }
        })
        .collect()
}

/// Schemas by type name, for the `schema` subcommand and docs generation.
pub struct RegisteredSchemas<'a> {
    pub provider: &'a Schema,
    pub resources: Vec<(&'static str, &'a Schema)>,
    pub data_sources: Vec<(&'static str, &'a Schema)>,
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: true,
        move_resource_state: false,
        // Terraform then writes `-generate-config-out` files from the imported state itself, which the
        // resources' imports shape for that (e.g. never two conflicting arguments).
        generate_resource_config: false,
    }
}

/// Runs a provider operation, turning a panic into an error diagnostic instead of a dead plugin.
async fn guarded<T>(what: &str, diags: &mut Diagnostics, fut: impl Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Some(v),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(operation = what, panic = %message, "provider operation panicked");
            diags.error(
                format!("Internal error in the provider during {what}"),
                format!(
                    "The provider hit a bug ({message}). Nothing else is affected; please report this with the \
                     log from TF_LOG=debug."
                ),
            );
            None
        }
    }
}

fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let decoded = if !dv.msgpack.is_empty() {
        value::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        serde_json::from_slice(&dv.json)
            .map_err(|e| value::DecodeError {
                message: e.to_string(),
            })
            .and_then(|j| value::from_json(&j, ty, false))
    } else {
        Ok(Value::Null)
    };
    decoded.map_err(|e| {
        Diagnostic::error(
            format!("Cannot decode {what}"),
            format!("Terraform sent a value the provider could not read: {e}."),
        )
        .into()
    })
}

/// ValidateProviderConfig / ValidateResourceConfig / ValidateDataResourceConfig / ...: the schema's
/// attribute validators, then the implementation's own cross-attribute checks.
async fn validate_config(
    schema: &Schema,
    value_type: &Type,
    config: Option<&pb::DynamicValue>,
    check: impl FnOnce(&Value, &mut Diagnostics),
) -> Diagnostics {
    let config = match decode(config, value_type, "configuration") {
        Ok(v) => v,
        Err(d) => return d,
    };
    let mut diags = Diagnostics::new();
    schema.block.validate(&config, &Default::default(), &mut diags);
    let mut extra = Diagnostics::new();
    guarded("validation", &mut diags, async { check(&config, &mut extra) }).await;
    diags.extend(extra);
    diags
}

fn encode(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: value::to_msgpack(v, ty),
        json: Vec::new(),
    })
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} named \"{name}\"; check the spelling, or upgrade the provider."),
    )
    .into()
}

/// State stores (experimental in Terraform) are only used through a provider announcing
/// `state_store_schemas`; this one announces none.
fn no_state_stores() -> Status {
    Status::unimplemented("this provider has no state stores")
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// Shorthand for "answer with these diagnostics only".
macro_rules! bail {
    ($resp:ty, $diags:expr) => {
        return Ok(Response::new(<$resp>::from_diagnostics($diags)))
    };
}

/// The value, or "answer with these diagnostics only" on error.
macro_rules! or_bail {
    ($resp:ty, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(diags) => bail!($resp, diags),
        }
    };
}

trait FromDiagnostics {
    fn from_diagnostics(diags: Diagnostics) -> Self;
}

macro_rules! impl_from_diagnostics {
    ($($t:ty),* $(,)?) => {$(
        impl FromDiagnostics for $t {
            // Some responses have fields besides diagnostics, some do not; one macro serves both.
            #[allow(clippy::needless_update)]
            fn from_diagnostics(diags: Diagnostics) -> Self {
                Self { diagnostics: diags.to_proto(), ..Default::default() }
            }
        }
    )*};
}

impl_from_diagnostics!(
    pb::validate_provider_config::Response,
    pb::validate_resource_config::Response,
    pb::validate_data_resource_config::Response,
    pb::validate_ephemeral_resource_config::Response,
    pb::upgrade_resource_state::Response,
    pb::configure_provider::Response,
    pb::read_resource::Response,
    pb::plan_resource_change::Response,
    pb::apply_resource_change::Response,
    pb::import_resource_state::Response,
    pb::move_resource_state::Response,
    pb::read_data_source::Response,
    pb::open_ephemeral_resource::Response,
    pb::renew_ephemeral_resource::Response,
    pb::close_ephemeral_resource::Response,
    pb::upgrade_resource_identity::Response,
    pb::validate_list_resource_config::Response,
    pb::plan_action::Response,
    pb::validate_action_config::Response,
);

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderServer<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        use pb::get_metadata as m;
        Ok(Response::new(m::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .resources
                .keys()
                .map(|k| m::ResourceMetadata {
                    type_name: (*k).into(),
                })
                .collect(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| m::DataSourceMetadata {
                    type_name: (*k).into(),
                })
                .collect(),
            ephemeral_resources: self
                .ephemeral
                .keys()
                .map(|k| m::EphemeralMetadata {
                    type_name: (*k).into(),
                })
                .collect(),
            list_resources: self
                .lists
                .keys()
                .map(|k| m::ListResourceMetadata {
                    type_name: (*k).into(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response().clone()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        type R = pb::validate_provider_config::Response;
        let config = request.get_ref().config.as_ref();
        let diags = validate_config(&self.provider_schema, &self.provider_type, config, |c, d| {
            self.provider.validate(c, d)
        })
        .await;
        bail!(R, diags)
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        type R = pb::validate_resource_config::Response;
        let req = request.get_ref();
        let Some(r) = self.resources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("resource", &req.type_name))
        };
        let check = |c: &Value, d: &mut Diagnostics| r.implementation.validate(c, d);
        bail!(
            R,
            validate_config(&r.schema, &r.value_type, req.config.as_ref(), check).await
        )
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        type R = pb::validate_data_resource_config::Response;
        let req = request.get_ref();
        let Some(d) = self.data_sources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("data source", &req.type_name))
        };
        let check = |c: &Value, diags: &mut Diagnostics| d.implementation.validate(c, diags);
        bail!(
            R,
            validate_config(&d.schema, &d.value_type, req.config.as_ref(), check).await
        )
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        type R = pb::validate_ephemeral_resource_config::Response;
        let req = request.get_ref();
        let Some(e) = self.ephemeral.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("ephemeral resource", &req.type_name))
        };
        let check = |c: &Value, d: &mut Diagnostics| e.implementation.validate(c, d);
        bail!(
            R,
            validate_config(&e.schema, &e.value_type, req.config.as_ref(), check).await
        )
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        type R = pb::upgrade_resource_state::Response;
        let req = request.get_ref();
        let Some(r) = self.resources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("resource", &req.type_name))
        };
        let mut diags = Diagnostics::new();
        let Some(raw) = req.raw_state.as_ref().filter(|raw| !raw.json.is_empty()) else {
            diags.error(
                "Unsupported state format",
                "This resource's state is in the pre-0.12 flatmap format, which this provider never wrote.",
            );
            bail!(R, diags)
        };
        let mut json: serde_json::Value = match serde_json::from_slice(&raw.json) {
            Ok(j) => j,
            Err(e) => {
                diags.error(
                    "Cannot read stored state",
                    format!("The state is not valid JSON: {e}."),
                );
                bail!(R, diags)
            }
        };
        if req.version > r.schema.version {
            diags.error(
                "State written by a newer provider",
                format!(
                    "This state has schema version {} but this provider knows version {}; use the newer provider.",
                    req.version, r.schema.version
                ),
            );
            bail!(R, diags)
        }
        if req.version < r.schema.version {
            let upgraded = guarded("state upgrade", &mut diags, async {
                let mut inner = Diagnostics::new();
                let out = r
                    .implementation
                    .upgrade_state(req.version, json.clone(), &mut inner);
                (out, inner)
            })
            .await;
            match upgraded {
                Some((Some(j), inner)) => {
                    diags.extend(inner);
                    json = j;
                }
                Some((None, inner)) => {
                    diags.extend(inner);
                    bail!(R, diags)
                }
                None => bail!(R, diags),
            }
        }
        // Attributes removed from the schema since the state was written are dropped, not fatal.
        match value::from_json(&json, &r.value_type, true) {
            Ok(v) => Ok(Response::new(R {
                upgraded_state: encode(&v, &r.value_type),
                diagnostics: diags.to_proto(),
            })),
            Err(e) => {
                diags.error(
                    "Cannot read stored state",
                    format!("The stored state does not match the schema: {e}."),
                );
                bail!(R, diags)
            }
        }
    }

    /// Never an error: Terraform 1.12+ fails every operation on an error diagnostic here.
    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .identities
                .iter()
                .map(|(name, identity)| ((*name).to_owned(), identity.to_proto()))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        type R = pb::upgrade_resource_identity::Response;
        let req = request.get_ref();
        let Some(identity) = self.identities.get(req.type_name.as_str()) else {
            bail!(
                R,
                Diagnostic::error(
                    "Resource identity not supported",
                    format!("{} does not define a resource identity.", req.type_name),
                )
                .into()
            )
        };
        let json = req
            .raw_identity
            .as_ref()
            .map(|raw| raw.json.as_slice())
            .unwrap_or_default();
        match identity.upgrade(req.version, json) {
            Ok(upgraded) => Ok(Response::new(R {
                upgraded_identity: identity.encode(Some(&upgraded)),
                diagnostics: Vec::new(),
            })),
            Err(d) => bail!(R, d.into()),
        }
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        type R = pb::configure_provider::Response;
        let req = request.get_ref();
        let config = or_bail!(
            R,
            decode(req.config.as_ref(), &self.provider_type, "provider configuration")
        );
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let client = guarded("provider configuration", &mut diags, async {
            self.provider
                .configure(&config, &req.terraform_version, &mut inner)
                .await
        })
        .await
        .flatten();
        diags.extend(inner);
        if let Some(client) = client {
            if let Ok(mut slot) = self.client.write() {
                *slot = Some(Arc::new(client));
            }
        }
        bail!(R, diags)
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        type R = pb::read_resource::Response;
        let req = request.get_ref();
        let Some(r) = self.resources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("resource", &req.type_name))
        };
        let state = or_bail!(
            R,
            decode(req.current_state.as_ref(), &r.value_type, "current state")
        );
        let ctx = or_bail!(R, self.context());
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let mut private = Private::from_bytes(req.private.clone());
        let read = guarded(
            "read",
            &mut diags,
            r.implementation.read(&ctx, &state, &mut private, &mut inner),
        )
        .await;
        diags.extend(inner);
        // On failure Terraform must keep what it had, not forget the object.
        let (new_state, private) = match read {
            Some(new) if !diags.has_errors() => (new.unwrap_or(Value::Null), private),
            Some(Some(new)) => (new, private),
            _ => (state, Private::from_bytes(req.private.clone())),
        };
        // The object Terraform holds keeps its identity; a gone object has none.
        let new_identity = self.identity_of(&req.type_name).and_then(|id| {
            if new_state.is_null() {
                return None;
            }
            let held = id.held(req.current_identity.as_ref(), "current identity");
            id.encode(id.keep_held(held, id.of_state(&new_state)).as_ref())
        });
        Ok(Response::new(R {
            new_state: encode(&new_state, &r.value_type),
            diagnostics: diags.to_proto(),
            private: private.into_bytes(),
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        type R = pb::plan_resource_change::Response;
        let req = request.get_ref();
        let Some(r) = self.resources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("resource", &req.type_name))
        };
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode(req.prior_state.as_ref(), &r.value_type, "prior state")?,
                decode(req.proposed_new_state.as_ref(), &r.value_type, "proposed state")?,
                decode(req.config.as_ref(), &r.value_type, "configuration")?,
            ))
        })();
        let (prior, proposed, config) = or_bail!(R, decoded);
        let mut plan = default_plan(&r.schema, &prior, &proposed, &config);
        let mut diags = Diagnostics::new();
        if !plan.planned.is_null() {
            let ctx = or_bail!(R, self.context());
            let prior_private = Private::from_bytes(req.prior_private.clone());
            let request = PlanRequest {
                prior: &prior,
                config: &config,
                schema: &r.schema,
                prior_private: &prior_private,
            };
            let mut inner = Diagnostics::new();
            guarded(
                "plan",
                &mut diags,
                r.implementation
                    .modify_plan(&ctx, &request, &mut plan, &mut inner),
            )
            .await;
            diags.extend(inner);
        }
        let planned_identity = self.identity_of(&req.type_name).and_then(|id| {
            let derived = id.of_state(&plan.planned);
            // A new object (create, or the second plan of a replacement) gets whatever identity its plan
            // already knows; none until every part is known.
            if prior.is_null() || plan.planned.is_null() || plan.is_replace() {
                return id.encode(derived.as_ref());
            }
            let held = id.held(req.prior_identity.as_ref(), "prior identity");
            if let (Some(h), Some(d)) = (&held, &derived) {
                if !id.same(h, d) {
                    diags.error(
                        "Identity would change in an in-place update",
                        format!(
                            "The plan keeps this {} object but changes what identifies it ({}); this is a bug in \
                             the provider, please report it.",
                            req.type_name,
                            id.declared().attributes().join(", ")
                        ),
                    );
                }
            }
            id.encode(id.keep_held(held, derived).as_ref())
        });
        Ok(Response::new(R {
            planned_state: encode(&plan.planned, &r.value_type),
            requires_replace: plan.requires_replace.iter().map(|p| p.to_proto()).collect(),
            // Nothing in our plans depends on private data of an earlier plan of the same change
            // (`planned_private`, Terraform 1.16): what the last apply or refresh kept is carried on.
            planned_private: req.prior_private.clone(),
            diagnostics: diags.to_proto(),
            planned_identity,
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        type R = pb::apply_resource_change::Response;
        let req = request.get_ref();
        let Some(r) = self.resources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("resource", &req.type_name))
        };
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode(req.prior_state.as_ref(), &r.value_type, "prior state")?,
                decode(req.planned_state.as_ref(), &r.value_type, "planned state")?,
                decode(req.config.as_ref(), &r.value_type, "configuration")?,
            ))
        })();
        let (prior, planned, config) = or_bail!(R, decoded);
        let ctx = or_bail!(R, self.context());
        let imp = &r.implementation;
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let mut private = Private::from_bytes(req.planned_private.clone());
        let new_state = if planned.is_null() {
            let done = guarded(
                "delete",
                &mut diags,
                imp.delete(&ctx, &prior, &private, &mut inner),
            )
            .await;
            diags.extend(inner);
            // A failed delete leaves the object in state.
            if done.is_some() && !diags.has_errors() {
                Value::Null
            } else {
                prior.clone()
            }
        } else if prior.is_null() {
            // A new object starts with nothing kept beside it.
            private = Private::default();
            let created = guarded(
                "create",
                &mut diags,
                imp.create(&ctx, &planned, &config, &mut private, &mut inner),
            )
            .await;
            diags.extend(inner);
            created.flatten().unwrap_or(Value::Null)
        } else {
            let updated = guarded(
                "update",
                &mut diags,
                imp.update(&ctx, &prior, &planned, &config, &mut private, &mut inner),
            )
            .await;
            diags.extend(inner);
            updated.flatten().unwrap_or(prior.clone())
        };
        let new_identity = self.identity_of(&req.type_name).and_then(|id| {
            if new_state.is_null() {
                return None;
            }
            let derived = id.of_state(&new_state);
            if prior.is_null() {
                return id.encode(derived.as_ref());
            }
            // An update: the object keeps the identity its plan announced.
            let held = id.held(req.planned_identity.as_ref(), "planned identity");
            id.encode(id.keep_held(held, derived).as_ref())
        });
        Ok(Response::new(R {
            new_state: encode(&new_state, &r.value_type),
            private: private.into_bytes(),
            diagnostics: diags.to_proto(),
            new_identity,
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        type R = pb::import_resource_state::Response;
        let req = request.get_ref();
        let Some(r) = self.resources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("resource", &req.type_name))
        };
        let identity = self.identity_of(&req.type_name);
        // `import { identity = {...} }` (Terraform 1.12) sends the identity and an empty id.
        let requested = match (&identity, req.id.is_empty() && req.identity.is_some()) {
            (_, false) => None,
            (None, true) => bail!(
                R,
                Diagnostic::error(
                    "Import by identity not supported",
                    format!(
                        "{} has no resource identity; import it by id instead.",
                        req.type_name
                    ),
                )
                .into()
            ),
            (Some(id), true) => match id.decode(req.identity.as_ref(), "identity") {
                Ok(Some(requested)) => Some(requested),
                Ok(None) => bail!(
                    R,
                    Diagnostic::error(
                        "Empty identity",
                        "Terraform asked to import by identity but sent none.",
                    )
                    .into()
                ),
                Err(d) => bail!(R, d),
            },
        };
        // Import by identity goes through the resource's own import of the id the identity stands for:
        // one parser, one set of errors.
        let import_id = match (&identity, &requested) {
            (Some(id), Some(requested)) => {
                or_bail!(R, id.declared().import_id(requested).map_err(Diagnostics::from))
            }
            _ => req.id.clone(),
        };
        let ctx = or_bail!(R, self.context());
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let state = guarded(
            "import",
            &mut diags,
            r.implementation.import(&ctx, &import_id, &mut inner),
        )
        .await
        .flatten();
        diags.extend(inner);
        let imported = match state {
            Some(state) if !diags.has_errors() => vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: encode(&state, &r.value_type),
                // The requested identity when the state names the same object (Terraform keeps it as
                // asked for), else the state's; the requested one when the state alone is incomplete.
                identity: identity
                    .as_ref()
                    .and_then(|id| id.encode(id.keep_held(requested, id.of_state(&state)).as_ref())),
                ..Default::default()
            }],
            _ => Vec::new(),
        };
        Ok(Response::new(R {
            imported_resources: imported,
            diagnostics: diags.to_proto(),
            ..Default::default()
        }))
    }

    async fn move_resource_state(
        &self,
        request: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        type R = pb::move_resource_state::Response;
        let req = request.get_ref();
        bail!(
            R,
            Diagnostic::error(
                "Move not supported",
                format!(
                    "{} cannot be moved to {}.",
                    req.source_type_name, req.target_type_name
                ),
            )
            .into()
        )
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        type R = pb::read_data_source::Response;
        let req = request.get_ref();
        let Some(d) = self.data_sources.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("data source", &req.type_name))
        };
        let config = or_bail!(R, decode(req.config.as_ref(), &d.value_type, "configuration"));
        let ctx = or_bail!(R, self.context());
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let state = guarded(
            "read",
            &mut diags,
            d.implementation.read(&ctx, &config, &mut inner),
        )
        .await
        .flatten();
        diags.extend(inner);
        Ok(Response::new(R {
            state: state
                .filter(|_| !diags.has_errors())
                .and_then(|s| encode(&s, &d.value_type)),
            diagnostics: diags.to_proto(),
            ..Default::default()
        }))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        type R = pb::open_ephemeral_resource::Response;
        let req = request.get_ref();
        let Some(e) = self.ephemeral.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("ephemeral resource", &req.type_name))
        };
        let config = or_bail!(R, decode(req.config.as_ref(), &e.value_type, "configuration"));
        let ctx = or_bail!(R, self.context());
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let opened = guarded(
            "open",
            &mut diags,
            e.implementation.open(&ctx, &config, &mut inner),
        )
        .await
        .flatten();
        diags.extend(inner);
        let Some(opened) = opened.filter(|_| !diags.has_errors()) else {
            bail!(R, diags)
        };
        Ok(Response::new(R {
            result: encode(&opened.result, &e.value_type),
            renew_at: opened.renew_at.map(timestamp),
            private: opened.private,
            diagnostics: diags.to_proto(),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        type R = pb::renew_ephemeral_resource::Response;
        let req = request.get_ref();
        let Some(e) = self.ephemeral.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("ephemeral resource", &req.type_name))
        };
        let ctx = or_bail!(R, self.context());
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        let renew_at = guarded(
            "renew",
            &mut diags,
            e.implementation.renew(&ctx, req.private.as_deref(), &mut inner),
        )
        .await
        .flatten();
        diags.extend(inner);
        Ok(Response::new(R {
            renew_at: renew_at.map(timestamp),
            private: req.private.clone(),
            diagnostics: diags.to_proto(),
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        type R = pb::close_ephemeral_resource::Response;
        let req = request.get_ref();
        let Some(e) = self.ephemeral.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("ephemeral resource", &req.type_name))
        };
        let ctx = or_bail!(R, self.context());
        let mut diags = Diagnostics::new();
        let mut inner = Diagnostics::new();
        guarded(
            "close",
            &mut diags,
            e.implementation.close(&ctx, req.private.as_deref(), &mut inner),
        )
        .await;
        diags.extend(inner);
        bail!(R, diags)
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(Default::default()))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!(
                    "this provider defines no function named \"{}\"",
                    request.get_ref().name
                ),
                function_argument: None,
            }),
        }))
    }

    /// Not announced (`ServerCapabilities.generate_resource_config` is false), so Terraform 1.14+ writes
    /// `-generate-config-out` files from the imported state itself, as every earlier version does.
    async fn generate_resource_config(
        &self,
        _: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        Err(Status::unimplemented(
            "GenerateResourceConfig is not served: Terraform generates configuration from the state itself",
        ))
    }

    type ListResourceStream = EventStream<pb::list_resource::Event>;

    /// One event per object found. Every problem (unknown type, bad configuration, provider not configured,
    /// a failed read) is an event with a diagnostic, never a broken stream: Terraform shows diagnostics
    /// from events, while a stream error only says the RPC failed.
    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        let req = request.into_inner();
        let only = |diags: Diagnostics| -> Result<Response<Self::ListResourceStream>, Status> {
            let event = pb::list_resource::Event {
                diagnostic: diags.to_proto(),
                ..Default::default()
            };
            Ok(Response::new(Box::pin(tokio_stream::once(Ok(event)))))
        };
        let type_name = req.type_name.as_str();
        let (Some(l), Some(identity), Some(resource)) = (
            self.lists.get(type_name),
            self.identities.get(type_name),
            self.resources.get(type_name),
        ) else {
            return only(unknown_type("list resource", type_name));
        };
        let config = match decode(req.config.as_ref(), &l.value_type, "list configuration") {
            Ok(config) => config,
            Err(d) => return only(d),
        };
        let mut diags = validate_config(&l.schema, &l.value_type, req.config.as_ref(), |c, d| {
            l.implementation.validate(c, d)
        })
        .await;
        if !config.is_wholly_known() {
            diags.error(
                "Configuration not known yet",
                "A list block's configuration must be known when the query runs; it depends on values known \
                 only after apply.",
            );
        }
        if diags.has_errors() {
            return only(diags);
        }
        let ctx = match self.context() {
            Ok(ctx) => ctx,
            Err(d) => return only(d),
        };
        let (tx, rx) = mpsc::channel(LIST_BUFFER);
        let mut listing = Listing::new(
            tx.clone(),
            identity.clone(),
            resource.value_type.clone(),
            req.include_resource_object,
            req.limit,
        );
        let implementation = l.implementation.clone();
        let type_name = req.type_name.clone();
        tokio::spawn(async move {
            // Validation warnings come first, in an event of their own.
            listing.diagnostics(diags).await;
            let cancel = ctx.cancel.clone();
            let mut failed = Diagnostics::new();
            tokio::select! {
                _ = guarded("list", &mut failed, implementation.list(&ctx, &config, &mut listing)) => {}
                // Terraform stopped reading (its limit, or Ctrl-C): stop the calls behind the listing too.
                _ = tx.closed() => cancel.cancel(),
            }
            listing.diagnostics(failed).await;
            tracing::debug!(list_resource = %type_name, listed = listing.sent(), "list finished");
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        type R = pb::validate_list_resource_config::Response;
        let req = request.get_ref();
        let Some(l) = self.lists.get(req.type_name.as_str()) else {
            bail!(R, unknown_type("list resource", &req.type_name))
        };
        let check = |c: &Value, d: &mut Diagnostics| l.implementation.validate(c, d);
        let mut diags = validate_config(&l.schema, &l.value_type, req.config.as_ref(), check).await;
        // Terraform 1.14 checks `limit` itself and sends only the configuration; other clients may send it.
        if let Ok(limit) = decode(req.limit.as_ref(), &Type::Number, "limit") {
            if limit.as_i64().is_some_and(|l| l < 0) {
                diags.error("Invalid limit", "A list block's limit cannot be negative.");
            }
        }
        bail!(R, diags)
    }

    async fn validate_state_store_config(
        &self,
        _: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        Err(no_state_stores())
    }

    async fn configure_state_store(
        &self,
        _: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        Err(no_state_stores())
    }

    type ReadStateBytesStream = EventStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        _: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        Err(no_state_stores())
    }

    async fn write_state_bytes(
        &self,
        _: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        Err(no_state_stores())
    }

    async fn lock_state(
        &self,
        _: Request<pb::lock_state::Request>,
    ) -> Result<Response<pb::lock_state::Response>, Status> {
        Err(no_state_stores())
    }

    async fn unlock_state(
        &self,
        _: Request<pb::unlock_state::Request>,
    ) -> Result<Response<pb::unlock_state::Response>, Status> {
        Err(no_state_stores())
    }

    async fn get_states(
        &self,
        _: Request<pb::get_states::Request>,
    ) -> Result<Response<pb::get_states::Response>, Status> {
        Err(no_state_stores())
    }

    async fn delete_state(
        &self,
        _: Request<pb::delete_state::Request>,
    ) -> Result<Response<pb::delete_state::Response>, Status> {
        Err(no_state_stores())
    }

    // No action schemas are announced, so Terraform never calls these; a caller naming an action gets the
    // same answer as for any unknown type.
    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        type R = pb::plan_action::Response;
        bail!(R, unknown_type("action", &request.get_ref().action_type))
    }

    type InvokeActionStream = EventStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        use pb::invoke_action::event::{Completed, Type as Kind};
        let completed = pb::invoke_action::Event {
            r#type: Some(Kind::Completed(Completed {
                diagnostics: unknown_type("action", &request.get_ref().action_type).to_proto(),
            })),
        };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(completed)))))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        type R = pb::validate_action_config::Response;
        bail!(R, unknown_type("action", &request.get_ref().type_name))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("StopProvider: cancelling in-flight operations");
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}
