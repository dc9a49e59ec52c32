//! When to retry a request and how long to wait: a pure classifier over one attempt's outcome.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// Bounds of the retry loop. The call's deadline (see [`crate::CallContext`]) bounds it further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles per attempt.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for; the 429/503 is returned instead.
    pub max_retry_after: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// One attempt (connect, send, read the answer) gives up after this long; for a creating
    /// request that is an ambiguous failure.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            max_elapsed: Duration::from_secs(600),
            attempt_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Never retry; for tests and for callers that retry themselves.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// What one attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// An HTTP answer, with its `Retry-After` header if any.
    Status {
        /// HTTP status.
        status: u16,
        /// Raw `Retry-After` value.
        retry_after: Option<&'a str>,
    },
    /// The request never reached the server (connection refused, DNS, TLS handshake).
    NotSent,
    /// The connection failed after the request may have been sent (reset, timeout, truncated answer).
    MaybeSent,
}

/// Everything the classifier looks at; no I/O, no clock reads.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// How the attempt ended.
    pub outcome: Outcome<'a>,
    /// Attempts made so far, this one included (1 after the first).
    pub attempt: u32,
    /// Whether repeating the request cannot do harm (GET, PUT, PATCH, DELETE, token requests).
    pub idempotent: bool,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// The current time, to read an HTTP-date `Retry-After`.
    pub now: DateTime<Utc>,
    /// A uniform sample in `[0, 1)` for full jitter.
    pub jitter: f64,
}

/// The classifier's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// The service said when: wait this long, then retry.
    RetryAfter(Duration),
    /// Wait this long (exponential backoff with full jitter), then retry.
    Backoff(Duration),
    /// Return the outcome to the caller.
    DoNotRetry,
}

/// Decides whether and when to retry, per the Partner Center throttling guidance (wait for
/// `Retry-After`, then back off exponentially) and Graph's (429/503 may carry `Retry-After`).
/// Requests that create things are retried only when the server cannot have acted on them: 429, or a
/// connection that never reached it.
pub fn classify(policy: &RetryPolicy, a: &Attempt<'_>) -> RetryDecision {
    if a.attempt >= policy.max_attempts {
        return RetryDecision::DoNotRetry;
    }
    let backoff = || {
        let exp = a.attempt.saturating_sub(1).min(20);
        let ceiling = policy
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(policy.max_delay);
        ceiling.mul_f64(a.jitter.clamp(0.0, 1.0))
    };
    let decision = match a.outcome {
        Outcome::Status {
            status: 429,
            retry_after,
        } => match retry_after.and_then(|v| parse_retry_after(v, a.now)) {
            Some(d) => RetryDecision::RetryAfter(d),
            None => RetryDecision::Backoff(backoff()),
        },
        Outcome::Status {
            status: 500 | 502 | 503 | 504,
            retry_after,
        } if a.idempotent => match retry_after.and_then(|v| parse_retry_after(v, a.now)) {
            Some(d) => RetryDecision::RetryAfter(d),
            None => RetryDecision::Backoff(backoff()),
        },
        Outcome::NotSent => RetryDecision::Backoff(backoff()),
        Outcome::MaybeSent if a.idempotent => RetryDecision::Backoff(backoff()),
        _ => RetryDecision::DoNotRetry,
    };
    let wait = match decision {
        RetryDecision::RetryAfter(d) if d > policy.max_retry_after => return RetryDecision::DoNotRetry,
        RetryDecision::RetryAfter(d) | RetryDecision::Backoff(d) => d,
        RetryDecision::DoNotRetry => return decision,
    };
    if a.elapsed.saturating_add(wait) > policy.max_elapsed {
        return RetryDecision::DoNotRetry;
    }
    decision
}

/// Reads `Retry-After` as delay seconds or an HTTP date (RFC 9110 §10.2.3). A date in the past
/// means "now".
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("valid date")
    }

    fn attempt(outcome: Outcome<'_>, idempotent: bool, n: u32) -> Attempt<'_> {
        Attempt {
            outcome,
            attempt: n,
            idempotent,
            elapsed: Duration::from_secs(1),
            now: now(),
            jitter: 0.5,
        }
    }

    fn status(status: u16, retry_after: Option<&str>) -> Outcome<'_> {
        Outcome::Status { status, retry_after }
    }

    #[test]
    fn throttled_requests_wait_for_retry_after_in_seconds_or_date() {
        let p = RetryPolicy::default();
        assert_eq!(
            classify(&p, &attempt(status(429, Some("57")), false, 1)),
            RetryDecision::RetryAfter(Duration::from_secs(57))
        );
        assert_eq!(
            classify(
                &p,
                &attempt(status(429, Some("Fri, 02 Jan 2026 03:04:15 GMT")), true, 1)
            ),
            RetryDecision::RetryAfter(Duration::from_secs(10))
        );
        // A date in the past: retry at once.
        assert_eq!(
            classify(
                &p,
                &attempt(status(429, Some("Thu, 01 Jan 2026 00:00:00 GMT")), true, 1)
            ),
            RetryDecision::RetryAfter(Duration::ZERO)
        );
        // No or unreadable header: back off.
        assert_eq!(
            classify(&p, &attempt(status(429, Some("soon")), true, 1)),
            RetryDecision::Backoff(Duration::from_millis(250))
        );
    }

    #[test]
    fn server_errors_retry_only_idempotent_requests() {
        let p = RetryPolicy::default();
        for s in [500, 502, 503, 504] {
            assert!(
                matches!(
                    classify(&p, &attempt(status(s, None), true, 1)),
                    RetryDecision::Backoff(_)
                ),
                "{s}"
            );
            assert_eq!(
                classify(&p, &attempt(status(s, None), false, 1)),
                RetryDecision::DoNotRetry,
                "{s}"
            );
        }
        assert_eq!(
            classify(&p, &attempt(status(503, Some("3")), true, 1)),
            RetryDecision::RetryAfter(Duration::from_secs(3))
        );
        for s in [400, 401, 403, 404, 409, 412, 501] {
            assert_eq!(
                classify(&p, &attempt(status(s, None), true, 1)),
                RetryDecision::DoNotRetry,
                "{s}"
            );
        }
    }

    #[test]
    fn connection_failures_depend_on_whether_the_request_could_have_been_sent() {
        let p = RetryPolicy::default();
        assert!(matches!(
            classify(&p, &attempt(Outcome::NotSent, false, 1)),
            RetryDecision::Backoff(_)
        ));
        assert!(matches!(
            classify(&p, &attempt(Outcome::MaybeSent, true, 1)),
            RetryDecision::Backoff(_)
        ));
        assert_eq!(
            classify(&p, &attempt(Outcome::MaybeSent, false, 1)),
            RetryDecision::DoNotRetry
        );
    }

    #[test]
    fn backoff_doubles_with_full_jitter_and_is_capped() {
        let p = RetryPolicy::default();
        let d = |n, jitter| {
            classify(
                &p,
                &Attempt {
                    jitter,
                    ..attempt(status(503, None), true, n)
                },
            )
        };
        assert_eq!(d(1, 1.0), RetryDecision::Backoff(Duration::from_millis(500)));
        assert_eq!(d(2, 1.0), RetryDecision::Backoff(Duration::from_secs(1)));
        assert_eq!(d(3, 1.0), RetryDecision::Backoff(Duration::from_secs(2)));
        assert_eq!(d(3, 0.0), RetryDecision::Backoff(Duration::ZERO));
        let p = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        assert_eq!(
            classify(
                &p,
                &Attempt {
                    jitter: 1.0,
                    ..attempt(status(503, None), true, 40)
                }
            ),
            RetryDecision::Backoff(Duration::from_secs(30))
        );
    }

    #[test]
    fn attempts_elapsed_time_and_long_retry_after_are_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(
            classify(&p, &attempt(status(429, Some("1")), true, 6)),
            RetryDecision::DoNotRetry
        );
        assert_eq!(
            classify(&p, &attempt(status(429, Some("301")), true, 1)),
            RetryDecision::DoNotRetry
        );
        let late = Attempt {
            elapsed: Duration::from_secs(599),
            ..attempt(status(429, Some("5")), true, 1)
        };
        assert_eq!(classify(&p, &late), RetryDecision::DoNotRetry);
        assert_eq!(
            classify(&RetryPolicy::none(), &attempt(status(429, Some("1")), true, 1)),
            RetryDecision::DoNotRetry
        );
    }

    #[test]
    fn absurd_retry_after_values_are_ignored_not_a_panic() {
        // Found by fuzz/login_responses: from_secs_f64 panics on values beyond Duration.
        for v in ["1E48", "-1.5", "NaN", "inf"] {
            assert_eq!(parse_retry_after(v, now()), None, "{v}");
        }
    }
}
