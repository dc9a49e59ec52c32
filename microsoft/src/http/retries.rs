//! The retry loop of one logical call, around the pure classifier ([`crate::retry::classify`]): stop
//! at cancellation or the deadline, say when an interrupted or failed request may have been applied
//! ([`Error::Ambiguous`]), wait between attempts and remember the error being retried.

use super::attempt::Failed;
use crate::context::{CallContext, Interrupted};
use crate::error::{Error, Service};
use crate::retry::{Attempt, RetryDecision, RetryPolicy, classify};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Where one call stands between its attempts.
pub(crate) struct Retries<'a> {
    ctx: &'a CallContext,
    policy: &'a RetryPolicy,
    service: Service,
    /// The described request ("PUT /secrets/app-key"), for errors and traces.
    request: String,
    started: Instant,
    /// Attempts the classifier sent again so far.
    retried: u32,
    /// The error being retried, for a [`Error::Timeout`].
    last: Option<Error>,
}

impl<'a> Retries<'a> {
    pub(crate) fn new(
        ctx: &'a CallContext,
        policy: &'a RetryPolicy,
        service: Service,
        request: String,
    ) -> Self {
        Self {
            ctx,
            policy,
            service,
            request,
            started: Instant::now(),
            retried: 0,
            last: None,
        }
    }

    /// The described request.
    pub(crate) fn request(&self) -> &str {
        &self.request
    }

    /// Time since the call began.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Before an attempt: the attempt's number (1 for the first), or the end of the call when the caller
    /// cancelled or the deadline passed. Stopping before an attempt starts is never ambiguous.
    pub(crate) fn next_attempt(&mut self) -> Result<u32, Error> {
        if self.ctx.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if self.ctx.remaining().is_some_and(|r| r.is_zero()) {
            return Err(self.timeout());
        }
        Ok(self.retried + 1)
    }

    /// Runs one attempt under the call's cancellation and deadline. An attempt stopped in flight ends
    /// the call, ambiguously when sending it again could apply it twice (`may_apply`).
    pub(crate) async fn in_flight<F: Future>(
        &mut self,
        attempt: F,
        may_apply: bool,
    ) -> Result<F::Output, Error> {
        match self.ctx.run(attempt).await {
            Ok(output) => Ok(output),
            Err(stop) => {
                let error = match stop {
                    Interrupted::Cancelled => Error::Cancelled,
                    Interrupted::DeadlineReached => self.timeout(),
                };
                tracing::debug!(service = %self.service, request = %self.request, "stopped while in flight: {error}");
                Err(if may_apply { self.ambiguous(error) } else { error })
            }
        }
    }

    /// After a failed attempt: waits as the classifier says and returns to send again, or returns the
    /// error that ends the call (ambiguous when a request that could apply twice may have been applied).
    pub(crate) async fn after_failure(
        &mut self,
        failed: Failed,
        may_apply: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let decision = classify(
            self.policy,
            &Attempt {
                outcome: failed.outcome(),
                attempt: self.retried + 1,
                idempotent: !may_apply,
                elapsed: self.elapsed(),
                now,
                jitter: rand::random::<f64>(),
            },
        );
        match decision {
            RetryDecision::RetryAfter(wait) | RetryDecision::Backoff(wait) => {
                self.retried += 1;
                self.pause(wait, failed.error).await
            }
            RetryDecision::DoNotRetry if may_apply && failed.may_have_applied() => {
                Err(self.ambiguous(failed.error))
            }
            RetryDecision::DoNotRetry => Err(failed.error),
        }
    }

    /// Waits `wait` before the next attempt, unless that passes the deadline (then the error being
    /// retried ends the call inside [`Error::Timeout`]) or the caller cancels.
    pub(crate) async fn pause(&mut self, wait: Duration, error: Error) -> Result<(), Error> {
        if self.ctx.remaining().is_some_and(|left| wait >= left) {
            return Err(Error::Timeout {
                last: Some(Box::new(error)),
            });
        }
        tracing::debug!(
            service = %self.service, request = %self.request, attempt = self.retried,
            wait_ms = wait.as_millis() as u64, "retrying: {error}"
        );
        self.last = Some(error);
        match self.ctx.sleep(wait).await {
            Ok(()) => Ok(()),
            Err(Interrupted::Cancelled) => Err(Error::Cancelled),
            Err(Interrupted::DeadlineReached) => Err(self.timeout()),
        }
    }

    fn timeout(&mut self) -> Error {
        Error::Timeout {
            last: self.last.take().map(Box::new),
        }
    }

    fn ambiguous(&self, source: Error) -> Error {
        Error::Ambiguous {
            request: self.request.clone(),
            source: Box::new(source),
        }
    }
}
