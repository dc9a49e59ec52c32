//! The Partner Center provider: the one place where Terraform meets Microsoft. Lists every resource and
//! data source it serves.

pub mod app_policies;
pub mod applications;
pub mod config;
pub mod consistency;
pub mod data_sources;
pub mod duration;
pub mod errors;
pub mod key_vault_delivery;
pub mod resources;
pub mod timeouts;
pub mod validation;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use partnercenter_microsoft::CallContext;
use tokio_util::sync::CancellationToken;

use crate::protocol::{Context, DataSource, Diagnostics, ListResource, Provider, Resource, Schema, Value};
use config::Configured;

/// The provider's address in the Terraform Registry.
pub const SOURCE_ADDRESS: &str = "registry.terraform.io/cspkit/partnercenter";

/// Looks up an environment variable (injected so tests need not touch the process environment).
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct PartnerCenter {
    env: EnvLookup,
}

impl PartnerCenter {
    /// The provider reading fallbacks from the process environment.
    pub fn new() -> Self {
        PartnerCenter {
            env: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// The provider with a given environment, for tests.
    pub fn with_env(env: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        PartnerCenter { env: Box::new(env) }
    }
}

impl Default for PartnerCenter {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Provider for PartnerCenter {
    type Client = Configured;

    fn name(&self) -> &'static str {
        "partnercenter"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        config::validate(config, diags);
    }

    async fn configure(
        &self,
        config: &Value,
        _terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<Configured> {
        config::configure(config, &*self.env, diags)
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<Configured>>> {
        vec![
            Arc::new(resources::web_app_key::WebAppKey),
            Arc::new(resources::permission_grant::PermissionGrant),
        ]
    }

    fn list_resources(&self) -> Vec<Arc<dyn ListResource<Configured>>> {
        vec![Arc::new(resources::web_app_key_list::WebAppKeyList)]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Configured>>> {
        vec![
            Arc::new(data_sources::consent_url::ConsentUrl),
            Arc::new(data_sources::mpn_id::MpnId),
            Arc::new(data_sources::domain::Domain),
            Arc::new(data_sources::customers::Customers),
            Arc::new(data_sources::indirect_resellers::IndirectResellers),
            Arc::new(data_sources::web_app_keys::WebAppKeys),
        ]
    }
}

/// How long a read may retry before giving up (data sources have no `timeouts` block).
const READ_TIMEOUT: Duration = Duration::from_secs(300);

/// A Microsoft call context for a data source read: cancelled by StopProvider, bounded by the read timeout.
pub(crate) fn operation_context(ctx: &Context<Configured>) -> CallContext {
    call_context(ctx, READ_TIMEOUT)
}

/// A Microsoft call context cancelled by StopProvider and bounded by `timeout`.
pub(crate) fn call_context(ctx: &Context<Configured>, timeout: Duration) -> CallContext {
    CallContext::new(ctx.cancel.clone()).with_timeout(timeout)
}

/// How long finishing what an interrupted or failed operation started may take.
const FINISHING_TIMEOUT: Duration = Duration::from_secs(60);

/// A context for finishing what an interrupted or failed operation started (removing a key whose answer
/// was lost, undoing half a write): the operation's own context may be cancelled or out of time, but
/// leaving nothing behind must still be possible.
pub(crate) fn detached_context() -> CallContext {
    CallContext::new(CancellationToken::new()).with_timeout(FINISHING_TIMEOUT)
}

/// `call` without its cancellation, for finishing a write already sent (confirming it, or what goes with
/// it): `call`'s deadline or [`FINISHING_TIMEOUT`] from now, whichever comes first.
pub(crate) fn finishing(call: &CallContext) -> CallContext {
    let detached = detached_context();
    match call.deadline() {
        Some(at) => detached.with_deadline(at),
        None => detached,
    }
}
