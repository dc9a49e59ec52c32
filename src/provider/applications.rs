//! One provider process's view of app registrations: writes to one application's credentials and
//! permissions are serialized (Graph replaces whole collections, so concurrent writers would lose each
//! other's changes), and concurrent reads of one application are coalesced into one Graph call, so
//! refreshing many keys of an app costs one read, not one per key. App IDs are GUIDs, compared without
//! regard to case: `0D4E…` and `0d4e…` share one lock and one read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use partnercenter_microsoft::graph::Application;
use partnercenter_microsoft::{CallContext, Client, Error, RequiredResourceAccess};
use tokio::sync::OwnedMutexGuard;

/// How long a completed read answers further reads. Terraform refreshes a configuration's resources in
/// waves of `-parallelism`; this spans the waves of one refresh without serving a stale view for long.
const REUSE_FOR: Duration = Duration::from_secs(2);

type ReadResult = Result<Option<Arc<Application>>, Arc<Error>>;

enum Read {
    InFlight(Shared<BoxFuture<'static, ReadResult>>),
    Done { at: Instant, result: ReadResult },
}

#[derive(Default)]
pub struct Applications {
    reads: Mutex<HashMap<String, Read>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The `requiredResourceAccess` this process last wrote to each application: the next writer merges
    /// into a read that shows it, not into a lagging replica's older list (which would lose the entry).
    written_access: Mutex<HashMap<String, Vec<RequiredResourceAccess>>>,
}

impl Applications {
    /// The application with App ID `app_id` (`None` if it does not exist), sharing a read in flight or
    /// just finished. For refreshes; operations that must see their own writes use [`Self::read_fresh`].
    pub async fn read_shared(&self, client: &Client, ctx: &CallContext, app_id: &str) -> ReadResult {
        let app_id = &app_id.to_ascii_lowercase();
        let pending = {
            let Ok(mut reads) = self.reads.lock() else {
                return self.read_fresh(client, ctx, app_id).await;
            };
            match reads.get(app_id) {
                Some(Read::Done { at, result }) if at.elapsed() < REUSE_FOR => return result.clone(),
                Some(Read::InFlight(shared)) => shared.clone(),
                _ => {
                    let (client, ctx, id) = (client.clone(), ctx.clone(), app_id.to_owned());
                    let read: BoxFuture<'static, ReadResult> = async move {
                        client
                            .graph()
                            .application_by_app_id(&ctx, &id)
                            .await
                            .map(|a| a.map(Arc::new))
                            .map_err(Arc::new)
                    }
                    .boxed();
                    let shared = read.shared();
                    reads.insert(app_id.to_owned(), Read::InFlight(shared.clone()));
                    shared
                }
            }
        };
        let result = pending.await;
        if let Ok(mut reads) = self.reads.lock() {
            // Failures are not reused: the next caller tries again.
            if result.is_ok() {
                reads.insert(
                    app_id.to_owned(),
                    Read::Done {
                        at: Instant::now(),
                        result: result.clone(),
                    },
                );
            } else {
                reads.remove(app_id);
            }
        }
        result
    }

    /// A read that sees every write made before it; also refreshes the shared view.
    pub async fn read_fresh(&self, client: &Client, ctx: &CallContext, app_id: &str) -> ReadResult {
        let app_id = &app_id.to_ascii_lowercase();
        let result = client
            .graph()
            .application_by_app_id(ctx, app_id)
            .await
            .map(|a| a.map(Arc::new))
            .map_err(Arc::new);
        if let (Ok(mut reads), Ok(_)) = (self.reads.lock(), &result) {
            reads.insert(
                app_id.to_owned(),
                Read::Done {
                    at: Instant::now(),
                    result: result.clone(),
                },
            );
        }
        result
    }

    /// Forgets the shared view of an application after a write to it.
    pub fn invalidate(&self, app_id: &str) {
        if let Ok(mut reads) = self.reads.lock() {
            reads.remove(&app_id.to_ascii_lowercase());
        }
    }

    /// Records the `requiredResourceAccess` list just written to `app_id`.
    pub fn remember_written_access(&self, app_id: &str, list: &[RequiredResourceAccess]) {
        if let Ok(mut written) = self.written_access.lock() {
            written.insert(app_id.to_ascii_lowercase(), list.to_vec());
        }
    }

    /// The list this process last wrote to `app_id`, if any.
    pub fn written_access(&self, app_id: &str) -> Option<Vec<RequiredResourceAccess>> {
        self.written_access
            .lock()
            .ok()
            .and_then(|written| written.get(&app_id.to_ascii_lowercase()).cloned())
    }

    /// Serializes writes to one application (keys and permissions alike). Hold the guard across the
    /// whole read-modify-write, then call [`Self::invalidate`].
    pub async fn lock(&self, app_id: &str) -> OwnedMutexGuard<()> {
        let lock = match self.locks.lock() {
            Ok(mut locks) => locks.entry(app_id.to_ascii_lowercase()).or_default().clone(),
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        };
        lock.lock_owned().await
    }
}

/// The shared application read hands errors out behind an `Arc` (several waiting callers get the same
/// one); callers want the error itself. When others still hold it, an equivalent is rebuilt from the facts
/// that decisions look at (Microsoft's answer, not found, timeout, cancellation).
pub fn unshare(e: Arc<Error>) -> Error {
    Arc::try_unwrap(e).unwrap_or_else(|shared| match &*shared {
        Error::Api(answer) => Error::Api(answer.clone()),
        Error::NotFound { what, source } => Error::NotFound {
            what: what.clone(),
            source: source.clone(),
        },
        Error::Cancelled => Error::Cancelled,
        Error::Timeout { .. } => Error::Timeout { last: None },
        other => Error::Shared(other.to_string()),
    })
}
