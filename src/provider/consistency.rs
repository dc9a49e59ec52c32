//! Waiting out Microsoft Entra's replication: a write is acknowledged by one replica, and reads served by
//! others may not show it for a while (seconds, sometimes minutes). A change counts as visible once it has
//! been seen by several reads in a row, as terraform-provider-azuread does.

use std::future::Future;
use std::time::Duration;

use partnercenter_microsoft::{CallContext, Error};

/// Reads in a row that must agree before a change counts as replicated.
pub const CONSECUTIVE_READS: u32 = 3;

const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Why waiting ended without the condition holding.
#[derive(Debug)]
pub enum WaitError<E> {
    /// The call context's deadline passed.
    TimedOut,
    /// StopProvider cancelled the operation.
    Cancelled,
    /// A read failed in a way retrying will not fix.
    Failed(E),
}

/// Polls `holds` until it answers true `CONSECUTIVE_READS` times in a row; a false answer starts the
/// count again. Pauses grow from 100 ms to 5 s. Ends at the context's deadline or cancellation.
pub async fn wait_until<E, F, Fut>(ctx: &CallContext, mut holds: F) -> Result<(), WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, E>>,
{
    let mut agreeing = 0;
    let mut pause = FIRST_PAUSE;
    loop {
        if ctx.is_cancelled() {
            return Err(WaitError::Cancelled);
        }
        match holds().await {
            Ok(true) => {
                agreeing += 1;
                if agreeing >= CONSECUTIVE_READS {
                    return Ok(());
                }
            }
            Ok(false) => {
                agreeing = 0;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            Err(e) => return Err(WaitError::Failed(e)),
        }
        let pause_now = match ctx.remaining() {
            Some(left) if left.is_zero() => return Err(WaitError::TimedOut),
            Some(left) => pause.min(left),
            None => pause,
        };
        tokio::select! {
            _ = ctx.cancellation().cancelled() => return Err(WaitError::Cancelled),
            _ = tokio::time::sleep(pause_now) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Retrying writes that fail while replication catches up.

/// Retries `op` while Graph answers what replication lag looks like, until the deadline. Application
/// updates also get 409 "inconsistent state, retry as per the service design" (azuread retries it too).
pub async fn until_replicated<F, Fut>(call: &CallContext, mut op: F) -> Result<(), Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let mut backoff = Backoff::new();
    loop {
        match op().await {
            Err(e) if replication_lag(&e) || is_conflict(&e) => backoff.pause(call, Some(e)).await?,
            other => return other,
        }
    }
}

/// The answers azuread treats as replication lag (reference §3.9): 404, a grant naming a principal not
/// yet replicated, a principal for an application not yet replicated.
pub fn replication_lag(e: &Error) -> bool {
    let Error::Api(api) = e else { return false };
    let message = api.message.to_ascii_lowercase();
    api.status == 404
        || (api.status == 400
            && (message
                .contains("does not exist or one of its queried reference-property objects are not present")
                || message.contains("does not reference a valid application object")))
        || (api.status == 403 && message.contains("backing application"))
}

pub fn is_conflict(e: &Error) -> bool {
    matches!(e, Error::Api(api) if api.status == 409)
}

/// Growing waits between looks at Graph while replication catches up, within the call's deadline.
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(5);

    pub fn new() -> Self {
        Backoff(Self::FIRST)
    }

    /// Waits; `Err` (the timeout, carrying `last`, or the cancellation) when the deadline or StopProvider
    /// comes first.
    pub async fn pause(&mut self, call: &CallContext, last: Option<Error>) -> Result<(), Error> {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Self::MAX);
        if call.remaining().is_some_and(|left| left <= wait) {
            return Err(Error::Timeout {
                last: last.map(Box::new),
            });
        }
        tokio::select! {
            () = call.cancellation().cancelled() => Err(Error::Cancelled),
            () = tokio::time::sleep(wait) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio_util::sync::CancellationToken;

    #[tokio::test(start_paused = true)]
    async fn a_flapping_read_restarts_the_count() {
        let calls = AtomicU32::new(0);
        let answers = [true, false, true, true, true];
        let ctx = CallContext::new(CancellationToken::new()).with_timeout(Duration::from_secs(60));
        let result: Result<(), WaitError<()>> = wait_until(&ctx, || {
            let i = calls.fetch_add(1, Ordering::SeqCst) as usize;
            async move { Ok(answers[i]) }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn it_gives_up_at_the_deadline_and_on_cancel() {
        let ctx = CallContext::new(CancellationToken::new()).with_timeout(Duration::from_secs(3));
        let never: Result<(), WaitError<()>> = wait_until(&ctx, || async { Ok(false) }).await;
        assert!(matches!(never, Err(WaitError::TimedOut)));

        let token = CancellationToken::new();
        token.cancel();
        let ctx = CallContext::new(token);
        let cancelled: Result<(), WaitError<()>> = wait_until(&ctx, || async { Ok(true) }).await;
        assert!(matches!(cancelled, Err(WaitError::Cancelled)));
    }
}
