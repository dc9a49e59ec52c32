//! List resources (protocol "6.10", Terraform 1.14+ `terraform query`): the server side of the
//! `ListResource` stream. A list resource pushes what it finds into a [`Listing`]; the listing turns each
//! object's state into a stream event carrying the identity (derived from the state exactly as for the
//! managed resource), a display name and, when asked, the state itself, and stops the producer at the
//! request's `limit` or when Terraform stops reading.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::identity::ResolvedIdentity;
use super::proto::tfplugin6 as pb;
use super::value::{self, Type, Value};

pub(crate) type Event = pb::list_resource::Event;

/// Where a list resource sends the objects it finds.
pub struct Listing {
    tx: mpsc::Sender<Result<Event, tonic::Status>>,
    identity: Arc<ResolvedIdentity>,
    state_type: Type,
    include_resource_object: bool,
    /// `None`: as many as there are.
    limit: Option<u64>,
    sent: u64,
    stopped: bool,
}

impl Listing {
    pub(crate) fn new(
        tx: mpsc::Sender<Result<Event, tonic::Status>>,
        identity: Arc<ResolvedIdentity>,
        state_type: Type,
        include_resource_object: bool,
        limit: i64,
    ) -> Self {
        Listing {
            tx,
            identity,
            state_type,
            include_resource_object,
            // Terraform always sends a limit (default 100); 0 is what a client that never set it sends,
            // and "nothing at all" is never what it means.
            limit: u64::try_from(limit).ok().filter(|&l| l > 0),
            sent: 0,
            stopped: false,
        }
    }

    /// Whether Terraform wants each object's whole state (`include_resource = true`). Without it, a state
    /// holding the identity attributes is enough, if the rest costs extra calls.
    pub fn include_resource_object(&self) -> bool {
        self.include_resource_object
    }

    /// True once no more objects are wanted: the limit is reached or Terraform stopped reading.
    pub fn is_done(&self) -> bool {
        self.stopped || self.limit.is_some_and(|l| self.sent >= l) || self.tx.is_closed()
    }

    /// Sends one object: `state` as the managed resource would hold it (the state `terraform import` gives),
    /// `display_name` for people. Returns whether more objects are wanted; stop producing on `false`.
    /// A state without a complete identity is a provider bug: it ends the listing with an error event.
    pub async fn push(&mut self, display_name: impl Into<String>, state: &Value) -> bool {
        if self.is_done() {
            return false;
        }
        let Some(identity) = self.identity.of_state(state) else {
            let display_name = display_name.into();
            self.diagnostics(
                Diagnostic::error(
                    "Listed object without identity",
                    format!(
                        "The provider listed \"{display_name}\" without every identity attribute ({}); this is a \
                         bug in the provider, please report it.",
                        self.identity.declared().attributes().join(", ")
                    ),
                )
                .into(),
            )
            .await;
            self.stopped = true;
            return false;
        };
        let event = Event {
            identity: self.identity.encode(Some(&identity)),
            display_name: display_name.into(),
            resource_object: self
                .include_resource_object
                .then(|| value::to_dynamic(state, &self.state_type)),
            diagnostic: Vec::new(),
        };
        if self.tx.send(Ok(event)).await.is_err() {
            self.stopped = true;
            return false;
        }
        self.sent += 1;
        !self.is_done()
    }

    /// Sends diagnostics in an event of their own (no object): a warning is shown and the query goes on;
    /// an error ends the query, so the listing stops after it. Nothing is sent for no diagnostics.
    pub async fn diagnostics(&mut self, diags: Diagnostics) -> bool {
        if diags.is_empty() || self.stopped {
            return !self.is_done();
        }
        let fatal = diags.has_errors();
        let event = Event {
            diagnostic: diags.to_proto(),
            ..Default::default()
        };
        if self.tx.send(Ok(event)).await.is_err() || fatal {
            self.stopped = true;
        }
        !self.is_done()
    }

    /// Resolves when Terraform stops reading the stream. Borrows nothing, so it can be awaited while the
    /// list resource pushes into this listing.
    pub(crate) fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let tx = self.tx.clone();
        async move { tx.closed().await }
    }

    /// How many objects were sent.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}
