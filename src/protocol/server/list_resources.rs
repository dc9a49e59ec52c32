//! The list resource RPCs (protocol "6.10", Terraform 1.14+ `terraform query`): validation, and the
//! `ListResource` stream fed by a list resource running on a task of its own.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{EventStream, Kind, ProviderServer, decode, guarded, unknown_type};
use crate::protocol::contracts::{Context, ListResource, Provider};
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::list::Listing;
use crate::protocol::proto::tfplugin6 as pb;
use crate::protocol::value::{Type, Value};

/// How many list events may wait for Terraform to read them before the list resource waits too.
const LIST_BUFFER: usize = 16;

/// A list stream of one event carrying `diags`: how a list that cannot start says why.
pub(super) fn one_event(diags: Diagnostics) -> EventStream<pb::list_resource::Event> {
    let event = pb::list_resource::Event {
        diagnostic: diags.to_proto(),
        ..Default::default()
    };
    Box::pin(tokio_stream::once(Ok(event)))
}

impl<P: Provider> ProviderServer<P> {
    /// ValidateListResourceConfig: the configuration, and the limit when a client sends one.
    pub(super) async fn validate_list(
        &self,
        req: &pb::validate_list_resource_config::Request,
    ) -> Result<pb::validate_list_resource_config::Response, Diagnostics> {
        let l = self.lists.get(&req.type_name)?;
        let mut diags = l.validate(req.config.as_ref(), ListResource::validate).await;
        // Terraform 1.14 checks `limit` itself and sends only the configuration; other clients may send it.
        if let Ok(limit) = decode(req.limit.as_ref(), &Type::Number, "limit") {
            if limit.as_i64().is_some_and(|l| l < 0) {
                diags.error("Invalid limit", "A list block's limit cannot be negative.");
            }
        }
        Ok(pb::validate_list_resource_config::Response {
            diagnostics: diags.to_proto(),
        })
    }

    /// ListResource: checks the request and starts the list resource on a task of its own, whose events
    /// stream as it finds objects.
    pub(super) async fn start_list(
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
