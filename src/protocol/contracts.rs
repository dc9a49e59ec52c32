//! What a provider implements: the provider itself, and its resources, data sources, ephemeral resources
//! and list resources. Every operation is async and receives a [`Context`] with the configured client and
//! the cancellation token that `StopProvider` cancels.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::diagnostics::Diagnostics;
use super::identity::Identity;
use super::list::Listing;
use super::plan::PlannedChange;
use super::schema::Schema;
use super::value::Value;

/// Handed to every operation after `ConfigureProvider`.
pub struct Context<C> {
    /// What the provider's `configure` produced (for this provider, the Microsoft clients).
    pub client: Arc<C>,
    /// Cancelled when Terraform calls `StopProvider` (Ctrl-C): stop waiting, return what exists.
    pub cancel: CancellationToken,
}

impl<C> Clone for Context<C> {
    fn clone(&self) -> Self {
        Context {
            client: self.client.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

/// The provider: its configuration schema, and what it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Client: Send + Sync + 'static;

    /// Shown by `--help`-like output and logs, e.g. "partnercenter".
    fn name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks on the provider block beyond its schema's validators; no network.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Builds the client from the provider block. Must not need the network: credentials are used lazily.
    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<Self::Client>;

    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Client>>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Client>>>;
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<Self::Client>>> {
        Vec::new()
    }
    /// List resources (Terraform 1.14+ `terraform query`); each shares its type name with a resource that
    /// declares an identity.
    fn list_resources(&self) -> Vec<Arc<dyn ListResource<Self::Client>>> {
        Vec::new()
    }
}

/// The request behind a plan, for `Resource::modify_plan`.
pub struct PlanRequest<'a> {
    pub prior: &'a Value,
    pub config: &'a Value,
    pub schema: &'a Schema,
    /// What the last apply or refresh kept beside the prior state.
    pub prior_private: &'a Private,
}

/// Data a resource keeps in Terraform's state beside its values, never shown to users: facts about the
/// remote object that the values cannot carry (e.g. "its replication was confirmed"). Stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Private(Vec<u8>);

impl Private {
    /// Wraps the bytes Terraform sent (empty = nothing stored).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Private(bytes)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The stored value, or `None` when nothing (or something of another shape) is stored: a resource
    /// must treat missing private data as "unknown", since older states and imports have none.
    pub fn get<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        if self.0.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.0).ok()
    }

    pub fn set<T: serde::Serialize>(&mut self, value: &T) {
        self.0 = serde_json::to_vec(value).unwrap_or_default();
    }
}

/// A managed resource. Operations report problems through `diags`; an operation that created or changed
/// something remotely returns its state even when it also reports an error, so Terraform records it.
#[async_trait]
pub trait Resource<C>: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Cross-attribute checks (conflicts and the like); attribute validators run before this. No network.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Refines the default plan: may add warnings, force replacement, or fill in planned values.
    async fn modify_plan(
        &self,
        _ctx: &Context<C>,
        _request: &PlanRequest<'_>,
        _plan: &mut PlannedChange,
        _diags: &mut Diagnostics,
    ) {
    }

    /// `private` starts empty; what the resource stores there is kept beside the new state.
    async fn create(
        &self,
        ctx: &Context<C>,
        planned: &Value,
        config: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    /// `None` means the object no longer exists: Terraform drops it from state and plans a create.
    async fn read(
        &self,
        ctx: &Context<C>,
        state: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    async fn update(
        &self,
        ctx: &Context<C>,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    async fn delete(&self, ctx: &Context<C>, prior: &Value, private: &Private, diags: &mut Diagnostics);

    /// The attributes of this resource's state that identify its remote object (Terraform 1.12+ resource
    /// identity). With one, the server sends identities with every state, serves
    /// `import { identity = {...} }` by handing [`Resource::import`] the id [`Identity::import_id`] makes,
    /// and the type can have a list resource. Declare only attributes that never change while the object
    /// lives (requires-replace or computed once).
    fn identity(&self) -> Option<Identity> {
        None
    }

    /// The state for `terraform import <address> <id>`; Terraform reads it right after.
    async fn import(&self, _ctx: &Context<C>, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        diags.error(
            format!("{} cannot be imported", self.type_name()),
            format!("Import of \"{id}\" is not supported for this resource type."),
        );
        None
    }

    /// Turns stored state of an older schema `version` into the current schema's shape (as JSON).
    /// Called only when `version` is older than the current schema's.
    fn upgrade_state(
        &self,
        version: i64,
        state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        diags.error(
            "Unsupported state version",
            format!(
                "{} has no upgrade from state version {version}; upgrade the provider one release at a time.",
                self.type_name()
            ),
        );
        let _ = state;
        None
    }
}

/// A data source: reads something and returns it.
#[async_trait]
pub trait DataSource<C>: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn read(&self, ctx: &Context<C>, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

/// What `EphemeralResource::open` produced.
pub struct Opened {
    pub result: Value,
    /// When Terraform should call `renew` (if still using the value).
    pub renew_at: Option<SystemTime>,
    /// Opaque data handed back to `renew` and `close`.
    pub private: Option<Vec<u8>>,
}

/// An ephemeral resource (protocol 6.7, Terraform 1.10+): a value that is never stored in state or plan.
#[async_trait]
pub trait EphemeralResource<C>: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn open(&self, ctx: &Context<C>, config: &Value, diags: &mut Diagnostics) -> Option<Opened>;
    async fn renew(
        &self,
        _ctx: &Context<C>,
        _private: Option<&[u8]>,
        _diags: &mut Diagnostics,
    ) -> Option<SystemTime> {
        None
    }
    async fn close(&self, _ctx: &Context<C>, _private: Option<&[u8]>, _diags: &mut Diagnostics) {}
}

/// A list resource (protocol "6.10", Terraform 1.14+ `terraform query`): finds the existing objects of the
/// managed resource type of the same name, e.g. to import them in bulk. Its schema is the `config` block of
/// a `list` block.
#[async_trait]
pub trait ListResource<C>: Send + Sync + 'static {
    /// The managed resource type whose objects it lists; that resource must declare an identity.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Cross-attribute checks beyond the schema's validators; no network.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Pushes every object found into `out` (stopping when it says so). Problems are pushed as
    /// diagnostics: an error ends the query, a warning is shown beside the results.
    async fn list(&self, ctx: &Context<C>, config: &Value, out: &mut Listing);
}
