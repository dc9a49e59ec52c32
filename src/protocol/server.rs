//! The `tfplugin6.Provider` gRPC service. Every RPC reads the same way: look the type up, decode the
//! request, run the operation, encode the answer. The lookup ([`Registry::get`]), the diagnostics runner
//! ([`run`]) and the answers live here, with the RPC table; the operations behind the RPCs live beside
//! this file, one file per kind of type (`server/managed_resources.rs`, `data_sources.rs`,
//! `ephemeral_resources.rs`, `list_resources.rs`). A panic in any provider code becomes an error
//! diagnostic; the plugin keeps serving. Resource identities are derived from the states the resources
//! return (rules in `identity`). RPCs of features this provider does not offer (actions, state stores,
//! provider-generated configuration) answer `Unimplemented` or an empty result, which Terraform tolerates;
//! Terraform never calls them for a provider that announces none.

mod data_sources;
mod ephemeral_resources;
mod list_resources;
mod managed_resources;

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};

use futures::{FutureExt, Stream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::contracts::{Context, DataSource, EphemeralResource, ListResource, Provider, Resource};
use super::diagnostics::{Diagnostic, Diagnostics};
use super::identity::ResolvedIdentity;
use super::proto::tfplugin6 as pb;
use super::schema::Schema;
use super::value::{self, Type, Value};

/// A server-streaming answer.
type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

// ---------------------------------------------------------------------------------------------------------
// The lookup

/// What kind of type a request names.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Resource,
    DataSource,
    EphemeralResource,
    ListResource,
    Action,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Resource => "resource",
            Kind::DataSource => "data source",
            Kind::EphemeralResource => "ephemeral resource",
            Kind::ListResource => "list resource",
            Kind::Action => "action",
        }
    }
}

fn unknown_type(kind: Kind, name: &str) -> Diagnostics {
    let kind = kind.noun();
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} named \"{name}\"; check the spelling, or upgrade the provider."),
    )
    .into()
}

/// What the server needs of every type it registers: its name and schema, and its checks beyond the
/// schema's validators.
trait Registrable {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
}

macro_rules! registrable {
    ($($contract:ident),*) => {$(
        impl<C: 'static> Registrable for dyn $contract<C> {
            fn type_name(&self) -> &'static str {
                $contract::type_name(self)
            }
            fn schema(&self) -> Schema {
                $contract::schema(self)
            }
            fn validate(&self, config: &Value, diags: &mut Diagnostics) {
                $contract::validate(self, config, diags)
            }
        }
    )*};
}

registrable!(Resource, DataSource, EphemeralResource, ListResource);

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

    /// A value Terraform sent (`what` names it in the error), of this type's schema.
    fn decode(&self, dv: Option<&pb::DynamicValue>, what: &str) -> Result<Value, Diagnostics> {
        decode(dv, &self.value_type, what)
    }

    fn encode(&self, v: &Value) -> Option<pb::DynamicValue> {
        Some(value::to_dynamic(v, &self.value_type))
    }

    /// ValidateProviderConfig / ValidateResourceConfig / ...: the schema's attribute validators, then the
    /// implementation's own cross-attribute `check`.
    async fn validate(
        &self,
        config: Option<&pb::DynamicValue>,
        check: impl FnOnce(&T, &Value, &mut Diagnostics),
    ) -> Diagnostics {
        let config = match self.decode(config, "configuration") {
            Ok(v) => v,
            Err(d) => return d,
        };
        let mut diags = Diagnostics::new();
        self.schema
            .block
            .validate(&config, &Default::default(), &mut diags);
        run("validation", &mut diags, async |d| {
            check(&self.implementation, &config, d)
        })
        .await;
        diags
    }
}

/// The registered types of one kind, by type name.
struct Registry<T: ?Sized> {
    kind: Kind,
    types: HashMap<&'static str, Registered<T>>,
}

impl<T: Registrable + ?Sized> Registry<T> {
    fn new(kind: Kind, implementations: Vec<Arc<T>>) -> Self {
        let types = implementations
            .into_iter()
            .map(|i| (i.type_name(), Registered::new(i.clone(), i.schema())))
            .collect();
        Registry { kind, types }
    }

    /// The one lookup of every RPC: the type a request names, or the diagnostic that it does not exist.
    fn get(&self, type_name: &str) -> Result<&Registered<T>, Diagnostics> {
        self.types
            .get(type_name)
            .ok_or_else(|| unknown_type(self.kind, type_name))
    }

    /// The configuration of the type a request names, validated.
    async fn validate(&self, type_name: &str, config: Option<&pb::DynamicValue>) -> Diagnostics {
        match self.get(type_name) {
            Ok(r) => r.validate(config, T::validate).await,
            Err(unknown) => unknown,
        }
    }

    fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.types.keys().map(|k| (*k).to_owned())
    }

    fn schemas(&self) -> Vec<(&'static str, &Schema)> {
        self.types.iter().map(|(k, r)| (*k, &r.schema)).collect()
    }

    fn proto_schemas(&self) -> HashMap<String, pb::Schema> {
        self.types
            .iter()
            .map(|(k, r)| ((*k).to_owned(), r.schema.to_proto()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------------------
// The diagnostics runner

/// Runs one operation of provider code. It reports into diagnostics of its own, which follow `diags` in the
/// answer; a panic becomes an error diagnostic in `diags` and `None`, and the plugin keeps serving.
async fn run<T>(
    what: &str,
    diags: &mut Diagnostics,
    operation: impl AsyncFnOnce(&mut Diagnostics) -> T,
) -> Option<T> {
    let mut reported = Diagnostics::new();
    let outcome = guarded(what, diags, operation(&mut reported)).await;
    diags.extend(reported);
    outcome
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
    value::from_dynamic(dv, ty).map_err(|e| {
        Diagnostic::error(
            format!("Cannot decode {what}"),
            format!("Terraform sent a value the provider could not read: {e}."),
        )
        .into()
    })
}

// ---------------------------------------------------------------------------------------------------------
// Answers

/// A response that can carry diagnostics alone: the answer of an RPC that stopped early.
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

/// The answer of an RPC: its response, or one with only the diagnostics that stopped it.
fn answer<R: FromDiagnostics>(result: Result<R, Diagnostics>) -> Result<Response<R>, Status> {
    Ok(Response::new(result.unwrap_or_else(R::from_diagnostics)))
}

/// An answer made of diagnostics only.
fn only<R: FromDiagnostics>(diags: Diagnostics) -> Result<Response<R>, Status> {
    answer(Err(diags))
}

/// State stores (experimental in Terraform) are only used through a provider announcing
/// `state_store_schemas`; this one announces none.
fn no_state_stores() -> Status {
    Status::unimplemented("this provider has no state stores")
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

// ---------------------------------------------------------------------------------------------------------
// The server

/// Everything the provider serves, looked up by type name.
pub struct ProviderServer<P: Provider> {
    provider: Registered<P>,
    resources: Registry<dyn Resource<P::Client>>,
    data_sources: Registry<dyn DataSource<P::Client>>,
    ephemeral: Registry<dyn EphemeralResource<P::Client>>,
    /// Resource identities by resource type; types without one are absent.
    identities: HashMap<&'static str, Arc<ResolvedIdentity>>,
    /// Only list resources whose resource type has an identity (Terraform requires one per event).
    lists: Registry<dyn ListResource<P::Client>>,
    client: RwLock<Option<Arc<P::Client>>>,
    stop: CancellationToken,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
}

/// Schemas by type name, for the `schema` subcommand and docs generation.
pub struct RegisteredSchemas<'a> {
    pub provider: &'a Schema,
    pub resources: Vec<(&'static str, &'a Schema)>,
    pub data_sources: Vec<(&'static str, &'a Schema)>,
}

impl<P: Provider> ProviderServer<P> {
    pub fn new(provider: P) -> Self {
        let schema = provider.schema();
        let resources = Registry::new(Kind::Resource, provider.resources());
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
            .collect();
        ProviderServer {
            resources,
            data_sources: Registry::new(Kind::DataSource, provider.data_sources()),
            ephemeral: Registry::new(Kind::EphemeralResource, provider.ephemeral_resources()),
            identities,
            lists: Registry::new(Kind::ListResource, lists),
            provider: Registered::new(Arc::new(provider), schema),
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
        self.schema_response
            .get_or_init(|| pb::get_provider_schema::Response {
                provider: Some(self.provider.schema.to_proto()),
                resource_schemas: self.resources.proto_schemas(),
                data_source_schemas: self.data_sources.proto_schemas(),
                ephemeral_resource_schemas: self.ephemeral.proto_schemas(),
                list_resource_schemas: self.lists.proto_schemas(),
                server_capabilities: Some(capabilities()),
                ..Default::default()
            })
    }

    /// The registered schemas, for docs generation.
    pub fn schemas(&self) -> RegisteredSchemas<'_> {
        RegisteredSchemas {
            provider: &self.provider.schema,
            resources: self.resources.schemas(),
            data_sources: self.data_sources.schemas(),
        }
    }

    /// The identity of a resource type, if it declares one.
    fn identity_of(&self, type_name: &str) -> Option<&ResolvedIdentity> {
        self.identities.get(type_name).map(Arc::as_ref)
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
    resources: &Registry<dyn Resource<C>>,
) -> HashMap<&'static str, Arc<ResolvedIdentity>> {
    resources
        .types
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

impl<P: Provider> ProviderServer<P> {
    /// ConfigureProvider: the client every later operation gets in its context.
    async fn configure(
        &self,
        req: &pb::configure_provider::Request,
    ) -> Result<pb::configure_provider::Response, Diagnostics> {
        let config = self
            .provider
            .decode(req.config.as_ref(), "provider configuration")?;
        let mut diags = Diagnostics::new();
        let client = run("provider configuration", &mut diags, async |d| {
            self.provider
                .implementation
                .configure(&config, &req.terraform_version, d)
                .await
        })
        .await
        .flatten();
        if let Some(client) = client {
            if let Ok(mut slot) = self.client.write() {
                *slot = Some(Arc::new(client));
            }
        }
        Ok(pb::configure_provider::Response {
            diagnostics: diags.to_proto(),
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// The RPCs: each converts and delegates

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
                .names()
                .map(|type_name| m::ResourceMetadata { type_name })
                .collect(),
            data_sources: self
                .data_sources
                .names()
                .map(|type_name| m::DataSourceMetadata { type_name })
                .collect(),
            ephemeral_resources: self
                .ephemeral
                .names()
                .map(|type_name| m::EphemeralMetadata { type_name })
                .collect(),
            list_resources: self
                .lists
                .names()
                .map(|type_name| m::ListResourceMetadata { type_name })
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
        let config = request.get_ref().config.as_ref();
        only(self.provider.validate(config, P::validate).await)
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.get_ref();
        only(self.resources.validate(&req.type_name, req.config.as_ref()).await)
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = request.get_ref();
        only(
            self.data_sources
                .validate(&req.type_name, req.config.as_ref())
                .await,
        )
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let req = request.get_ref();
        only(self.ephemeral.validate(&req.type_name, req.config.as_ref()).await)
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        answer(self.upgrade_state(request.get_ref()).await)
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
        answer(self.upgrade_identity(request.get_ref()))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        answer(self.configure(request.get_ref()).await)
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        answer(self.refresh(request.get_ref()).await)
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        answer(self.plan(request.get_ref()).await)
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        answer(self.apply(request.get_ref()).await)
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        answer(self.import(request.get_ref()).await)
    }

    async fn move_resource_state(
        &self,
        request: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let req = request.get_ref();
        only(
            Diagnostic::error(
                "Move not supported",
                format!(
                    "{} cannot be moved to {}.",
                    req.source_type_name, req.target_type_name
                ),
            )
            .into(),
        )
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        answer(self.read_data(request.get_ref()).await)
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        answer(self.open(request.get_ref()).await)
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        answer(self.renew(request.get_ref()).await)
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        answer(self.close(request.get_ref()).await)
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
        let events = self.start_list(request.into_inner()).await;
        Ok(Response::new(events.unwrap_or_else(list_resources::one_event)))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        answer(self.validate_list(request.get_ref()).await)
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
        only(unknown_type(Kind::Action, &request.get_ref().action_type))
    }

    type InvokeActionStream = EventStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        use pb::invoke_action::event::{Completed, Type as Kind};
        let completed = pb::invoke_action::Event {
            r#type: Some(Kind::Completed(Completed {
                diagnostics: unknown_type(self::Kind::Action, &request.get_ref().action_type).to_proto(),
            })),
        };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(completed)))))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        only(unknown_type(Kind::Action, &request.get_ref().type_name))
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
