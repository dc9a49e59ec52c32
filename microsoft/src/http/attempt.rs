//! One attempt on the wire: send a prepared request, read the whole answer, or say how it failed
//! ([`Attempted`]); and what a failed attempt leaves for the retry classifier ([`Failed`]). Shared by
//! the pipeline and by Key Vault's own loop.

use crate::error::{Error, Service};
use crate::retry::Outcome;
use crate::secret::Secret;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use std::time::Duration;
use tokio::time::Instant;

/// An answer, whatever its status, body read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// From sending to the last byte of the body.
    pub elapsed: Duration,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A response header as text; an empty or non-text value counts as absent.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

/// How one attempt ended.
#[derive(Debug)]
pub(crate) enum Attempted {
    /// The service answered (any status).
    Answered(Answer),
    /// The request never reached the server (connection refused, DNS, TLS handshake): sending it again
    /// cannot apply it twice.
    NotSent(reqwest::Error),
    /// The connection failed after the request may have been sent (reset, timeout, truncated answer).
    MaybeSent(reqwest::Error),
}

impl Attempted {
    /// The answer, or the transport failure as the caller sees it ([`Error::Transport`]) and the
    /// classifier reads it. `request` is the described request ("GET /v1/customers").
    pub(crate) fn into_answer(self, service: Service, request: &str) -> Result<Answer, Failed> {
        let (ended, source) = match self {
            Self::Answered(answer) => return Ok(answer),
            Self::NotSent(source) => (Ended::NotSent, source),
            Self::MaybeSent(source) => (Ended::MaybeSent, source),
        };
        let before_send = matches!(ended, Ended::NotSent);
        tracing::debug!(service = %service, request, before_send, "http transport error: {source}");
        let error = Error::Transport {
            service,
            request: request.to_owned(),
            before_send,
            detail: error_chain(&source),
            source,
        };
        Err(Failed { error, ended })
    }
}

/// Sends one prepared request, giving up after `timeout` (an attempt that hangs ends here, so the
/// retry loop or the caller can decide), and reads the whole answer.
pub(crate) async fn send_once(request: reqwest::RequestBuilder, timeout: Duration) -> Attempted {
    let started = Instant::now();
    let response = match request.timeout(timeout).send().await {
        Ok(response) => response,
        Err(e) if e.is_connect() => return Attempted::NotSent(e.without_url()),
        Err(e) => return Attempted::MaybeSent(e.without_url()),
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(body) => Attempted::Answered(Answer {
            status,
            headers,
            body: body.to_vec(),
            elapsed: started.elapsed(),
        }),
        Err(e) => Attempted::MaybeSent(e.without_url()),
    }
}

/// `Authorization: Bearer …`, marked sensitive so that no debug output of the request shows it.
pub(crate) fn bearer(token: &Secret) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
    value.set_sensitive(true);
    value
}

/// A failed attempt: the error the caller gets if it is not retried, and how the attempt ended.
#[derive(Debug)]
pub(crate) struct Failed {
    pub error: Error,
    ended: Ended,
}

#[derive(Debug)]
enum Ended {
    /// An error answer, with its raw `Retry-After`.
    Answered {
        status: u16,
        retry_after: Option<String>,
    },
    NotSent,
    MaybeSent,
}

impl Failed {
    /// An error answer: `error` was decoded from it; its status and `Retry-After` go to the classifier.
    pub(crate) fn answered(error: Error, answer: &Answer) -> Self {
        Self {
            error,
            ended: Ended::Answered {
                status: answer.status,
                retry_after: answer.header(RETRY_AFTER.as_str()),
            },
        }
    }

    /// What the retry classifier reads.
    pub(crate) fn outcome(&self) -> Outcome<'_> {
        match &self.ended {
            Ended::Answered { status, retry_after } => Outcome::Status {
                status: *status,
                retry_after: retry_after.as_deref(),
            },
            Ended::NotSent => Outcome::NotSent,
            Ended::MaybeSent => Outcome::MaybeSent,
        }
    }

    /// Whether the server may have acted on the request: the connection failed after sending, or it
    /// answered 5xx.
    pub(crate) fn may_have_applied(&self) -> bool {
        matches!(
            self.ended,
            Ended::MaybeSent
                | Ended::Answered {
                    status: 500..=599,
                    ..
                }
        )
    }
}

/// The error and its causes on one line ("error sending request: connection refused"); reqwest's
/// own message alone hides the cause. URLs were removed before.
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
