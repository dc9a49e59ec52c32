//! Per-call cancellation and deadline: every operation stops at whichever comes first.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What bounds one logical operation: a cancellation token (the caller's "stop now") and an optional
/// deadline (the caller's timeout). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    cancel: CancellationToken,
    deadline: Option<Instant>,
}

/// Why a wait ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupted {
    Cancelled,
    DeadlineReached,
}

impl From<Interrupted> for crate::error::Error {
    fn from(i: Interrupted) -> Self {
        match i {
            Interrupted::Cancelled => Self::Cancelled,
            Interrupted::DeadlineReached => Self::Timeout { last: None },
        }
    }
}

impl CallContext {
    /// A context cancelled by `cancel`, with no deadline.
    pub fn new(cancel: CancellationToken) -> Self {
        Self {
            cancel,
            deadline: None,
        }
    }

    /// The same context with a deadline `timeout` from now (keeping an earlier deadline if set).
    pub fn with_timeout(self, timeout: Duration) -> Self {
        let at = Instant::now() + timeout;
        self.with_deadline(at)
    }

    /// The same context with a deadline at `at` (keeping an earlier deadline if set).
    pub fn with_deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(match self.deadline {
            Some(d) if d < at => d,
            _ => at,
        });
        self
    }

    /// The cancellation token.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left before the deadline (`None` without a deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the caller has cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Runs `fut` unless cancellation or the deadline comes first.
    pub(crate) async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Interrupted> {
        if self.cancel.is_cancelled() {
            return Err(Interrupted::Cancelled);
        }
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Interrupted::Cancelled),
            () = deadline => Err(Interrupted::DeadlineReached),
            out = fut => Ok(out),
        }
    }

    /// Sleeps for `d`, or less if cancelled or the deadline comes first.
    pub(crate) async fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        self.run(tokio::time::sleep(d)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancellation_interrupts_a_sleep() {
        let token = CancellationToken::new();
        let ctx = CallContext::new(token.clone());
        let t = tokio::spawn(async move { ctx.sleep(Duration::from_secs(30)).await });
        token.cancel();
        let r = tokio::time::timeout(Duration::from_secs(2), t)
            .await
            .expect("prompt")
            .expect("join");
        assert_eq!(r, Err(Interrupted::Cancelled));
    }

    #[tokio::test]
    async fn deadline_interrupts_a_sleep_and_earlier_deadline_wins() {
        let ctx = CallContext::default()
            .with_timeout(Duration::from_millis(20))
            .with_timeout(Duration::from_secs(60));
        assert!(ctx.remaining().expect("deadline") <= Duration::from_millis(20));
        assert_eq!(
            ctx.sleep(Duration::from_secs(30)).await,
            Err(Interrupted::DeadlineReached)
        );
    }
}
