//! Waiting out Microsoft Entra's replication, in one place: a write is acknowledged by one replica, and
//! reads served by others may not show it for a while (seconds, sometimes minutes), a removed object may
//! stay readable, and an object created moments ago may answer 404. So no single read decides anything:
//! a change counts as visible once several reads in a row agree (as terraform-provider-azuread does,
//! reference §3.9), and an object counts as gone only when several reads in a row agree it is absent.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use partnercenter_microsoft::{CallContext, Error};

/// Reads in a row that must agree before a change counts as replicated.
pub const CONSECUTIVE_READS: u32 = 3;

/// How sure "absent" must be before an object is declared gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Absence {
    /// Reads in a row that must all miss the object.
    pub reads: u32,
    /// ... spread over at least this long since the first miss.
    pub over_at_least: Duration,
}

impl Absence {
    /// An object whose replication was confirmed (every replica had it): a few agreeing reads.
    pub const OF_REPLICATED: Absence = Absence {
        reads: CONSECUTIVE_READS,
        over_at_least: Duration::ZERO,
    };
    /// An object whose replication was never seen (its create was interrupted, or it is brand new): a
    /// replica that never had it cannot tell "gone" from "not yet", so take longer.
    pub const OF_UNREPLICATED: Absence = Absence {
        reads: 5,
        over_at_least: Duration::from_secs(10),
    };
    /// Never "gone": keep looking until found or the deadline.
    pub const NEVER: Absence = Absence {
        reads: u32::MAX,
        over_at_least: Duration::MAX,
    };
}

/// What agreeing reads decided about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<T> {
    /// A read saw it (one sighting is enough: it exists somewhere).
    Found(T),
    /// Reads agreed it is absent.
    Gone,
}

/// Why waiting ended without an answer.
#[derive(Debug)]
pub enum WaitError<E> {
    /// The call context's deadline passed.
    TimedOut,
    /// StopProvider cancelled the operation.
    Cancelled,
    /// A read failed in a way retrying will not fix.
    Failed(E),
}

impl WaitError<Error> {
    /// A read cut short by the deadline is the deadline, not a failure of the read.
    fn normalized(self) -> Self {
        match self {
            WaitError::Failed(e) if e.is_timeout() => WaitError::TimedOut,
            WaitError::Failed(e) if e.is_cancelled() => WaitError::Cancelled,
            other => other,
        }
    }
}

/// Pauses between reads: short at first (most lag is a few reads), growing to 2 s.
struct Pacing(Duration);

impl Pacing {
    const FIRST: Duration = Duration::from_millis(100);
    const LONGEST: Duration = Duration::from_secs(2);

    fn new() -> Self {
        Pacing(Self::FIRST)
    }

    /// Sleeps for the next pause, within the deadline; `Err` at the deadline or cancellation.
    async fn pause<E>(&mut self, ctx: &CallContext) -> Result<(), WaitError<E>> {
        let pause = self.0;
        self.0 = (self.0 * 3 / 2).min(Self::LONGEST);
        let pause = match ctx.remaining() {
            Some(left) if left.is_zero() => return Err(WaitError::TimedOut),
            Some(left) => pause.min(left),
            None => pause,
        };
        tokio::select! {
            _ = ctx.cancellation().cancelled() => Err(WaitError::Cancelled),
            _ = tokio::time::sleep(pause) => Ok(()),
        }
    }
}

/// Polls `holds` until it answers true `CONSECUTIVE_READS` times in a row; a false answer starts the
/// count again. Ends at the context's deadline or cancellation.
pub async fn wait_until<E, F, Fut>(ctx: &CallContext, mut holds: F) -> Result<(), WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, E>>,
{
    let mut agreeing = 0;
    let mut pacing = Pacing::new();
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
            Ok(false) => agreeing = 0,
            Err(e) => return Err(WaitError::Failed(e)),
        }
        pacing.pause(ctx).await?;
    }
}

/// [`wait_until`] for Graph reads, with a read cut short by the deadline reported as the deadline.
pub async fn wait_until_visible<F, Fut>(ctx: &CallContext, holds: F) -> Result<(), WaitError<Error>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, Error>>,
{
    wait_until(ctx, holds).await.map_err(WaitError::normalized)
}

/// Looks for an object until the answer is certain: the first sighting is `Found`; `Gone` once `rule`'s
/// reads in a row have missed it. `look` answers `Ok(None)` for "not in this read" (including a 404 of
/// its parent, which may be replication lag too). A failing read ends the search with its error: it is
/// never taken for absence.
pub async fn look_until_certain<T, F, Fut>(
    ctx: &CallContext,
    rule: Absence,
    mut look: F,
) -> Result<Verdict<T>, WaitError<Error>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, Error>>,
{
    let mut misses = 0;
    let mut first_miss: Option<Instant> = None;
    let mut pacing = Pacing::new();
    loop {
        if ctx.is_cancelled() {
            return Err(WaitError::Cancelled);
        }
        match look().await {
            Ok(Some(found)) => return Ok(Verdict::Found(found)),
            Ok(None) => {
                misses += 1;
                let since = *first_miss.get_or_insert_with(Instant::now);
                if misses >= rule.reads && since.elapsed() >= rule.over_at_least {
                    return Ok(Verdict::Gone);
                }
            }
            Err(e) => return Err(WaitError::Failed(e).normalized()),
        }
        pacing.pause(ctx).await?;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Retrying writes that fail while replication catches up.

/// Retries `op` while Graph answers what replication lag looks like, until the deadline. Application
/// updates also get 409 "inconsistent state, retry as per the service design" (azuread retries it too).
pub async fn until_replicated<T, F, Fut>(call: &CallContext, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
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
    let Some(api) = e.api() else { return false };
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

/// Growing waits between attempts while replication catches up, within the call's deadline.
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

    fn context(timeout: u64) -> CallContext {
        CallContext::new(CancellationToken::new()).with_timeout(Duration::from_secs(timeout))
    }

    #[tokio::test(start_paused = true)]
    async fn a_flapping_read_restarts_the_count() {
        let calls = AtomicU32::new(0);
        let answers = [true, false, true, true, true];
        let result: Result<(), WaitError<()>> = wait_until(&context(60), || {
            let i = calls.fetch_add(1, Ordering::SeqCst) as usize;
            async move { Ok(answers[i]) }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn it_gives_up_at_the_deadline_and_on_cancel() {
        let never: Result<(), WaitError<()>> = wait_until(&context(3), || async { Ok(false) }).await;
        assert!(matches!(never, Err(WaitError::TimedOut)));

        let token = CancellationToken::new();
        token.cancel();
        let ctx = CallContext::new(token);
        let cancelled: Result<(), WaitError<()>> = wait_until(&ctx, || async { Ok(true) }).await;
        assert!(matches!(cancelled, Err(WaitError::Cancelled)));
    }

    #[tokio::test(start_paused = true)]
    async fn one_sighting_finds_and_only_agreeing_misses_declare_gone() {
        // Missing twice (a lagging replica), then seen: found, never gone.
        let calls = AtomicU32::new(0);
        let verdict = look_until_certain(&context(60), Absence::OF_REPLICATED, || {
            let i = calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok((i == 2).then_some("key")) }
        })
        .await
        .unwrap();
        assert_eq!(verdict, Verdict::Found("key"));

        let calls = AtomicU32::new(0);
        let verdict: Verdict<()> = look_until_certain(&context(60), Absence::OF_REPLICATED, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(None) }
        })
        .await
        .unwrap();
        assert_eq!(verdict, Verdict::Gone);
        assert_eq!(calls.load(Ordering::SeqCst), CONSECUTIVE_READS);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreplicated_object_needs_time_as_well_as_reads() {
        let started = tokio::time::Instant::now();
        let verdict: Verdict<()> =
            look_until_certain(&context(120), Absence::OF_UNREPLICATED, || async { Ok(None) })
                .await
                .unwrap();
        assert_eq!(verdict, Verdict::Gone);
        assert!(started.elapsed() >= Absence::OF_UNREPLICATED.over_at_least);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_read_is_never_absence() {
        let verdict: Result<Verdict<()>, _> =
            look_until_certain(&context(60), Absence::OF_REPLICATED, || async {
                Err(Error::Config("boom".into()))
            })
            .await;
        assert!(matches!(verdict, Err(WaitError::Failed(_))));
    }
}
