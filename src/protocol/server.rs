//! The `tfplugin6.Provider` gRPC service. Every RPC reads the same way: look the type up, decode the
//! request, run the operation, encode the answer; the lookup ([`Registry::get`]) and the diagnostics
//! runner ([`run`]) exist once. A panic in any provider code becomes an error diagnostic; the plugin keeps
//! serving. Resource identities are derived from the states the resources return (rules in `identity`).
//! RPCs of features this provider does not offer (actions, state stores, provider-generated configuration)
//! answer `Unimplemented` or an empty result, which Terraform tolerates; Terraform never calls them for a
//! provider that announces none.

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

/// A list stream of one event carrying `diags`: how a list that cannot start says why.
fn one_event(diags: Diagnostics) -> EventStream<pb::list_resource::Event> {
    let event = pb::list_resource::Event {
        diagnostic: diags.to_proto(),
        ..Default::default()
    };
    Box::pin(tokio_stream::once(Ok(event)))
}

/// State stores (experimental in Terraform) are only used through a provider announcing
/// `state_store_schemas`; this one announces none.
fn no_state_stores() -> Status {
    Status::unimplemented("this provider has no state stores")
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
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

// ---------------------------------------------------------------------------------------------------------
// The operations behind the RPCs: decoded requests in, responses out

/// What an apply does, by the state it starts from and the state it plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Create,
    Update,
    Delete,
}

impl Change {
    fn of(prior: &Value, planned: &Value) -> Change {
        if planned.is_null() {
            Change::Delete
        } else if prior.is_null() {
            Change::Create
        } else {
            Change::Update
        }
    }
}

/// Stored state as UpgradeResourceState hands it over: JSON (Terraform >= 0.12 never writes flatmap).
fn stored_state(raw: Option<&pb::RawState>) -> Result<serde_json::Value, Diagnostics> {
    let Some(raw) = raw.filter(|raw| !raw.json.is_empty()) else {
        return Err(Diagnostic::error(
            "Unsupported state format",
            "This resource's state is in the pre-0.12 flatmap format, which this provider never wrote.",
        )
        .into());
    };
    serde_json::from_slice(&raw.json).map_err(|e| {
        Diagnostic::error(
            "Cannot read stored state",
            format!("The state is not valid JSON: {e}."),
        )
        .into()
    })
}

impl<P: Provider> ProviderServer<P> {
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

    async fn upgrade_state(
        &self,
        req: &pb::upgrade_resource_state::Request,
    ) -> Result<pb::upgrade_resource_state::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let stored = stored_state(req.raw_state.as_ref())?;
        let current = r.schema.version;
        if req.version > current {
            return Err(Diagnostic::error(
                "State written by a newer provider",
                format!(
                    "This state has schema version {} but this provider knows version {current}; use the newer \
                     provider.",
                    req.version
                ),
            )
            .into());
        }
        let mut diags = Diagnostics::new();
        let json = if req.version < current {
            let upgraded = run("state upgrade", &mut diags, async |d| {
                r.implementation.upgrade_state(req.version, stored, d)
            })
            .await
            .flatten();
            match upgraded {
                Some(json) => json,
                None => return Err(diags),
            }
        } else {
            stored
        };
        // Attributes removed from the schema since the state was written are dropped, not fatal.
        let state = value::from_json(&json, &r.value_type, true).map_err(|e| {
            Diagnostic::error(
                "Cannot read stored state",
                format!("The stored state does not match the schema: {e}."),
            )
        });
        let Some(state) = diags.take(state) else {
            return Err(diags);
        };
        Ok(pb::upgrade_resource_state::Response {
            upgraded_state: r.encode(&state),
            diagnostics: diags.to_proto(),
        })
    }

    fn upgrade_identity(
        &self,
        req: &pb::upgrade_resource_identity::Request,
    ) -> Result<pb::upgrade_resource_identity::Response, Diagnostics> {
        let identity = self.identity_of(&req.type_name).ok_or_else(|| {
            Diagnostic::error(
                "Resource identity not supported",
                format!("{} does not define a resource identity.", req.type_name),
            )
        })?;
        let json = req.raw_identity.as_ref().map(|raw| raw.json.as_slice());
        let upgraded = identity.upgrade(req.version, json.unwrap_or_default())?;
        Ok(pb::upgrade_resource_identity::Response {
            upgraded_identity: identity.encode(Some(&upgraded)),
            diagnostics: Vec::new(),
        })
    }

    /// ReadResource. On failure Terraform must keep what it had, not forget the object.
    async fn refresh(
        &self,
        req: &pb::read_resource::Request,
    ) -> Result<pb::read_resource::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let state = r.decode(req.current_state.as_ref(), "current state")?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let mut private = Private::from_bytes(req.private.clone());
        let read = run("read", &mut diags, async |d| {
            r.implementation.read(&ctx, &state, &mut private, d).await
        })
        .await;
        let (new_state, private) = match read {
            Some(new) if !diags.has_errors() => (new.unwrap_or(Value::Null), private),
            Some(Some(new)) => (new, private),
            _ => (state, Private::from_bytes(req.private.clone())),
        };
        let identity = self.identity_of(&req.type_name);
        Ok(pb::read_resource::Response {
            new_state: r.encode(&new_state),
            diagnostics: diags.to_proto(),
            private: private.into_bytes(),
            new_identity: identity.and_then(|id| id.after_read(req.current_identity.as_ref(), &new_state)),
            ..Default::default()
        })
    }

    /// PlanResourceChange: the default plan, refined by the resource unless the object is to be destroyed.
    async fn plan(
        &self,
        req: &pb::plan_resource_change::Request,
    ) -> Result<pb::plan_resource_change::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let prior = r.decode(req.prior_state.as_ref(), "prior state")?;
        let proposed = r.decode(req.proposed_new_state.as_ref(), "proposed state")?;
        let config = r.decode(req.config.as_ref(), "configuration")?;
        let mut plan = default_plan(&r.schema, &prior, &proposed, &config);
        let mut diags = Diagnostics::new();
        if !plan.planned.is_null() {
            let ctx = self.context()?;
            let prior_private = Private::from_bytes(req.prior_private.clone());
            let request = PlanRequest {
                prior: &prior,
                config: &config,
                schema: &r.schema,
                prior_private: &prior_private,
            };
            run("plan", &mut diags, async |d| {
                r.implementation.modify_plan(&ctx, &request, &mut plan, d).await
            })
            .await;
        }
        let identity = self.identity_of(&req.type_name);
        let planned_identity = identity.and_then(|id| {
            id.planned(
                &req.type_name,
                &prior,
                &plan,
                req.prior_identity.as_ref(),
                &mut diags,
            )
        });
        Ok(pb::plan_resource_change::Response {
            planned_state: r.encode(&plan.planned),
            requires_replace: plan.requires_replace.iter().map(|p| p.to_proto()).collect(),
            // Nothing in our plans depends on private data of an earlier plan of the same change
            // (`planned_private`, Terraform 1.16): what the last apply or refresh kept is carried on.
            planned_private: req.prior_private.clone(),
            diagnostics: diags.to_proto(),
            planned_identity,
            ..Default::default()
        })
    }

    /// ApplyResourceChange: create, update or delete, by what the plan says.
    async fn apply(
        &self,
        req: &pb::apply_resource_change::Request,
    ) -> Result<pb::apply_resource_change::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let prior = r.decode(req.prior_state.as_ref(), "prior state")?;
        let planned = r.decode(req.planned_state.as_ref(), "planned state")?;
        let config = r.decode(req.config.as_ref(), "configuration")?;
        let ctx = self.context()?;
        let imp = &r.implementation;
        let mut diags = Diagnostics::new();
        let mut private = Private::from_bytes(req.planned_private.clone());
        let new_state = match Change::of(&prior, &planned) {
            Change::Delete => {
                let done = run("delete", &mut diags, async |d| {
                    imp.delete(&ctx, &prior, &private, d).await
                })
                .await;
                // A failed delete leaves the object in state.
                if done.is_some() && !diags.has_errors() {
                    Value::Null
                } else {
                    prior.clone()
                }
            }
            Change::Create => {
                // A new object starts with nothing kept beside it.
                private = Private::default();
                let created = run("create", &mut diags, async |d| {
                    imp.create(&ctx, &planned, &config, &mut private, d).await
                })
                .await;
                created.flatten().unwrap_or(Value::Null)
            }
            Change::Update => {
                let updated = run("update", &mut diags, async |d| {
                    imp.update(&ctx, &prior, &planned, &config, &mut private, d).await
                })
                .await;
                updated.flatten().unwrap_or(prior.clone())
            }
        };
        let identity = self.identity_of(&req.type_name);
        Ok(pb::apply_resource_change::Response {
            new_state: r.encode(&new_state),
            private: private.into_bytes(),
            diagnostics: diags.to_proto(),
            new_identity: identity
                .and_then(|id| id.after_apply(&prior, &new_state, req.planned_identity.as_ref())),
            ..Default::default()
        })
    }

    /// ImportResourceState, by id or (Terraform 1.12+) by identity. Import by identity goes through the
    /// resource's own import of the id the identity stands for: one parser, one set of errors.
    async fn import(
        &self,
        req: &pb::import_resource_state::Request,
    ) -> Result<pb::import_resource_state::Response, Diagnostics> {
        let r = self.resources.get(&req.type_name)?;
        let identity = self.identity_of(&req.type_name);
        let requested = self.requested_identity(req, identity)?;
        let import_id = match (identity, &requested) {
            (Some(id), Some(requested)) => id.declared().import_id(requested)?,
            _ => req.id.clone(),
        };
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let state = run("import", &mut diags, async |d| {
            r.implementation.import(&ctx, &import_id, d).await
        })
        .await
        .flatten();
        let imported = match state {
            Some(state) if !diags.has_errors() => vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: r.encode(&state),
                identity: identity.and_then(|id| id.imported(requested, &state)),
                ..Default::default()
            }],
            _ => Vec::new(),
        };
        Ok(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diags.to_proto(),
            ..Default::default()
        })
    }

    /// The identity `import { identity = {...} }` (Terraform 1.12) asks for: it sends one and an empty id.
    fn requested_identity(
        &self,
        req: &pb::import_resource_state::Request,
        identity: Option<&ResolvedIdentity>,
    ) -> Result<Option<Value>, Diagnostics> {
        if !req.id.is_empty() || req.identity.is_none() {
            return Ok(None);
        }
        let Some(identity) = identity else {
            return Err(Diagnostic::error(
                "Import by identity not supported",
                format!(
                    "{} has no resource identity; import it by id instead.",
                    req.type_name
                ),
            )
            .into());
        };
        identity.requested(req.identity.as_ref()).map(Some)
    }

    async fn read_data(
        &self,
        req: &pb::read_data_source::Request,
    ) -> Result<pb::read_data_source::Response, Diagnostics> {
        let source = self.data_sources.get(&req.type_name)?;
        let config = source.decode(req.config.as_ref(), "configuration")?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let state = run("read", &mut diags, async |d| {
            source.implementation.read(&ctx, &config, d).await
        })
        .await
        .flatten();
        Ok(pb::read_data_source::Response {
            state: state
                .filter(|_| !diags.has_errors())
                .and_then(|s| source.encode(&s)),
            diagnostics: diags.to_proto(),
            ..Default::default()
        })
    }

    async fn open(
        &self,
        req: &pb::open_ephemeral_resource::Request,
    ) -> Result<pb::open_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral.get(&req.type_name)?;
        let config = e.decode(req.config.as_ref(), "configuration")?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let opened = run("open", &mut diags, async |d| {
            e.implementation.open(&ctx, &config, d).await
        })
        .await
        .flatten();
        let Some(opened) = opened.filter(|_| !diags.has_errors()) else {
            return Err(diags);
        };
        Ok(pb::open_ephemeral_resource::Response {
            result: e.encode(&opened.result),
            renew_at: opened.renew_at.map(timestamp),
            private: opened.private,
            diagnostics: diags.to_proto(),
            ..Default::default()
        })
    }

    async fn renew(
        &self,
        req: &pb::renew_ephemeral_resource::Request,
    ) -> Result<pb::renew_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral.get(&req.type_name)?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        let renew_at = run("renew", &mut diags, async |d| {
            e.implementation.renew(&ctx, req.private.as_deref(), d).await
        })
        .await
        .flatten();
        Ok(pb::renew_ephemeral_resource::Response {
            renew_at: renew_at.map(timestamp),
            private: req.private.clone(),
            diagnostics: diags.to_proto(),
        })
    }

    async fn close(
        &self,
        req: &pb::close_ephemeral_resource::Request,
    ) -> Result<pb::close_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral.get(&req.type_name)?;
        let ctx = self.context()?;
        let mut diags = Diagnostics::new();
        run("close", &mut diags, async |d| {
            e.implementation.close(&ctx, req.private.as_deref(), d).await
        })
        .await;
        Ok(pb::close_ephemeral_resource::Response {
            diagnostics: diags.to_proto(),
        })
    }

    /// ListResource: checks the request and starts the list resource on a task of its own, whose events
    /// stream as it finds objects.
    async fn start_list(
        &self,
        req: pb::list_resource::Request,
    ) -> Result<EventStream<pb::list_resource::Event>, Diagnostics> {
        let name = req.type_name.as_str();
        let (Ok(l), Some(identity), Ok(resource)) = (
            self.lists.get(name),
            self.identities.get(name),
            self.resources.get(name),
        ) else {
            return Err(unknown_type(Kind::ListResource, name));
        };
        let config = l.decode(req.config.as_ref(), "list configuration")?;
        let mut diags = l.validate(req.config.as_ref(), ListResource::validate).await;
        if !config.is_wholly_known() {
            diags.error(
                "Configuration not known yet",
                "A list block's configuration must be known when the query runs; it depends on values known \
                 only after apply.",
            );
        }
        if diags.has_errors() {
            return Err(diags);
        }
        let ctx = self.context()?;
        let (tx, rx) = mpsc::channel(LIST_BUFFER);
        let listing = Listing::new(
            tx,
            identity.clone(),
            resource.value_type.clone(),
            req.include_resource_object,
            req.limit,
        );
        let list = RunningList {
            implementation: l.implementation.clone(),
            ctx,
            config,
            listing,
            type_name: req.type_name,
        };
        tokio::spawn(list.run(diags));
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
}

/// A list resource at work on its own task.
struct RunningList<C> {
    implementation: Arc<dyn ListResource<C>>,
    ctx: Context<C>,
    config: Value,
    listing: Listing,
    type_name: String,
}

impl<C: Send + Sync + 'static> RunningList<C> {
    /// Validation warnings first, in an event of their own; then what the list resource finds; then its
    /// failure, if it panics.
    async fn run(mut self, warnings: Diagnostics) {
        self.listing.diagnostics(warnings).await;
        let cancel = self.ctx.cancel.clone();
        let closed = self.listing.closed();
        let mut failed = Diagnostics::new();
        tokio::select! {
            _ = guarded("list", &mut failed, self.implementation.list(&self.ctx, &self.config, &mut self.listing)) => {}
            // Terraform stopped reading (its limit, or Ctrl-C): stop the calls behind the listing too.
            _ = closed => cancel.cancel(),
        }
        self.listing.diagnostics(failed).await;
        tracing::debug!(list_resource = %self.type_name, listed = self.listing.sent(), "list finished");
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
        Ok(Response::new(events.unwrap_or_else(one_event)))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let req = request.get_ref();
        let l = match self.lists.get(&req.type_name) {
            Ok(l) => l,
            Err(unknown) => return only(unknown),
        };
        let mut diags = l.validate(req.config.as_ref(), ListResource::validate).await;
        // Terraform 1.14 checks `limit` itself and sends only the configuration; other clients may send it.
        if let Ok(limit) = decode(req.limit.as_ref(), &Type::Number, "limit") {
            if limit.as_i64().is_some_and(|l| l < 0) {
                diags.error("Invalid limit", "A list block's limit cannot be negative.");
            }
        }
        only(diags)
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
