//! The one HTTP pipeline: headers, retries, cancellation, tracing without secrets, error decoding and
//! the server's clock. Login, Graph and Partner Center requests all pass through [`Pipeline::send`].

use crate::clock::Clock;
use crate::context::{CallContext, Interrupted};
use crate::error::{Error, ResponseIds, Service, decode_error, strip_bom};
use crate::redact::{redact_form, redact_json, redact_url};
use crate::retry::{Attempt, Outcome, RetryDecision, RetryPolicy, classify, parse_retry_after};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

/// A request body; form bodies are built here so their secrets can be redacted in traces.
#[derive(Clone)]
pub(crate) enum Body {
    None,
    Json(Vec<u8>),
    Form(String),
}

impl Body {
    pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<Self, Error> {
        serde_json::to_vec(value)
            .map(Body::Json)
            .map_err(|e| Error::Config(format!("encoding a request body: {e}")))
    }

    pub(crate) fn form(pairs: &[(&str, &str)]) -> Self {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(pairs);
        Body::Form(s.finish())
    }
}

/// One logical call: it may be sent several times, with the same `MS-RequestId`.
pub(crate) struct Request {
    pub service: Service,
    pub method: Method,
    pub url: Url,
    pub bearer: Option<Secret>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// Whether sending twice is harmless. Defaults from the method; POSTs that only read or exchange
    /// tokens (token endpoint, removePassword) set it to true.
    pub idempotent: bool,
    /// Whether the (redacted) response body may be traced; false for bodies that are a secret as a
    /// whole (a federated token issuer's answer).
    pub trace_response_body: bool,
}

impl Request {
    pub(crate) fn new(service: Service, method: Method, url: Url) -> Self {
        let idempotent = method != Method::POST;
        Self {
            service,
            method,
            url,
            bearer: None,
            headers: Vec::new(),
            body: Body::None,
            idempotent,
            trace_response_body: true,
        }
    }

    pub(crate) fn bearer(mut self, token: Secret) -> Self {
        self.bearer = Some(token);
        self
    }

    pub(crate) fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// A copy to send again (same method, URL, headers and body; no token).
    pub(crate) fn clone_for_retry(&self) -> Self {
        Self {
            service: self.service,
            method: self.method.clone(),
            url: self.url.clone(),
            bearer: None,
            headers: self.headers.clone(),
            body: self.body.clone(),
            idempotent: self.idempotent,
            trace_response_body: self.trace_response_body,
        }
    }

    /// "GET /v1/customers?size=500" — what errors show as the request (no host, secrets redacted).
    pub(crate) fn describe(&self) -> String {
        describe(&self.method, &self.url)
    }
}

pub(crate) fn describe(method: &Method, url: &Url) -> String {
    let shown = redact_url(url);
    let path = Url::parse(&shown)
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
        .unwrap_or(shown);
    format!("{method} {path}")
}

/// A success answer, body read.
#[derive(Debug)]
pub(crate) struct Response {
    pub service: Service,
    pub status: u16,
    pub request: String,
    pub body: Vec<u8>,
}

impl Response {
    /// Decodes the body as JSON (after a BOM). Decoder messages that could quote a value are reduced
    /// to the position, so a malformed token answer cannot leak into an error.
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &'static str) -> Result<T, Error> {
        serde_json::from_slice(strip_bom(&self.body)).map_err(|e| Error::Decode {
            service: self.service,
            status: self.status,
            request: self.request.clone(),
            what,
            detail: safe_serde_message(&e),
        })
    }
}

pub(crate) fn safe_serde_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with("missing field") || msg.starts_with("EOF") {
        msg
    } else {
        format!(
            "malformed JSON ({:?}) at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        )
    }
}

/// Sends requests with the crate's retry policy and headers, and remembers the server's clock.
pub(crate) struct Pipeline {
    /// Built on first use: loading the system's root certificates and the TLS library costs megabytes
    /// and milliseconds that a run without network calls (validate, a plan of pure data) should not pay.
    http: std::sync::OnceLock<reqwest::Client>,
    user_agent: String,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    /// Server `Date` minus the local clock, from the latest answer.
    server_offset: Mutex<Option<chrono::Duration>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub(crate) fn new(user_agent: &str, retry: RetryPolicy, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        Ok(Self {
            http: std::sync::OnceLock::new(),
            user_agent: user_agent.to_owned(),
            retry,
            clock,
            server_offset: Mutex::new(None),
        })
    }

    /// The shared HTTP client (connection pool, TLS roots, user agent); Key Vault sends through it
    /// with its own challenge and retry loop.
    pub(crate) fn http(&self) -> Result<&reqwest::Client, Error> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .user_agent(&self.user_agent)
            .connect_timeout(Duration::from_secs(15))
            // Headers carrying tokens are dropped by reqwest on cross-host redirects; few are expected.
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| client))
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The server's current time, from the latest `Date` header and the local clock since.
    pub(crate) fn server_time(&self) -> Option<DateTime<Utc>> {
        let offset = *self.server_offset.lock().unwrap_or_else(|e| e.into_inner());
        offset.map(|o| self.clock.now() + o)
    }

    /// The server's time if seen, else ours: `Retry-After` dates are the server's.
    fn now(&self) -> DateTime<Utc> {
        self.server_time().unwrap_or_else(|| self.clock.now())
    }

    /// The retry bounds every caller of this pipeline shares.
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    pub(crate) fn record_date(&self, headers: &HeaderMap) {
        let Some(date) = headers.get(DATE).and_then(|v| v.to_str().ok()) else {
            return;
        };
        if let Ok(at) = DateTime::parse_from_rfc2822(date) {
            let offset = at.with_timezone(&Utc) - self.clock.now();
            *self.server_offset.lock().unwrap_or_else(|e| e.into_inner()) = Some(offset);
        }
    }

    /// Sends `req`, retrying per policy, until success, a final error, cancellation or the deadline.
    /// Non-2xx answers become [`Error::Api`]; a creating request that may have been applied becomes
    /// [`Error::Ambiguous`].
    pub(crate) async fn send(&self, ctx: &CallContext, req: Request) -> Result<Response, Error> {
        let http = self.http()?;
        let request_id = Uuid::new_v4().to_string();
        let correlation_id = Uuid::new_v4().to_string();
        let described = req.describe();
        let started = Instant::now();
        let mut last: Option<Error> = None;
        let mut attempt: u32 = 0;
        let ambiguous = |source: Error| Error::Ambiguous {
            request: described.clone(),
            source: Box::new(source),
        };
        loop {
            // Stopping before an attempt starts is never ambiguous.
            if ctx.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if ctx.remaining().is_some_and(|r| r.is_zero()) {
                return Err(Error::Timeout {
                    last: last.map(Box::new),
                });
            }
            attempt += 1;
            let t0 = Instant::now();
            let sent = ctx
                .run(self.attempt(http, &req, &request_id, &correlation_id))
                .await;
            let result = match sent {
                Ok(r) => r,
                Err(stop) => {
                    let err = match stop {
                        Interrupted::Cancelled => Error::Cancelled,
                        Interrupted::DeadlineReached => Error::Timeout {
                            last: last.map(Box::new),
                        },
                    };
                    tracing::debug!(service = %req.service, request = %described, attempt, "stopped while in flight: {err}");
                    return Err(if req.idempotent { err } else { ambiguous(err) });
                }
            };
            let elapsed_ms = t0.elapsed().as_millis() as u64;
            let (err, outcome_status, retry_after) = match result {
                Ok((status, headers, body)) => {
                    self.record_date(&headers);
                    let ids = response_ids(&headers, &correlation_id, self.now());
                    tracing::debug!(
                        service = %req.service, method = %req.method, url = %redact_url(&req.url),
                        status, elapsed_ms, attempt, request_id = %request_id,
                        response_request_id = ids.request_id.as_deref().unwrap_or(""),
                        correlation_id = %correlation_id, "http"
                    );
                    if tracing::enabled!(tracing::Level::TRACE) {
                        let shown = if req.trace_response_body {
                            redact_json(&body)
                        } else {
                            "<not shown>".to_owned()
                        };
                        tracing::trace!(service = %req.service, request_id = %request_id, body = %shown, "response body");
                    }
                    if (200..300).contains(&status) {
                        return Ok(Response {
                            service: req.service,
                            status,
                            request: described,
                            body,
                        });
                    }
                    let raw_retry_after = headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let api = decode_error(req.service, status, described.clone(), ids, &body);
                    (Error::from(api), Some(status), raw_retry_after)
                }
                Err((before_send, source)) => {
                    tracing::debug!(
                        service = %req.service, method = %req.method, url = %redact_url(&req.url),
                        elapsed_ms, attempt, request_id = %request_id, before_send,
                        "http transport error: {source}"
                    );
                    (
                        Error::Transport {
                            service: req.service,
                            request: described.clone(),
                            before_send,
                            detail: error_chain(&source),
                            source,
                        },
                        None,
                        None,
                    )
                }
            };
            let outcome = match (&err, outcome_status) {
                (_, Some(status)) => Outcome::Status {
                    status,
                    retry_after: retry_after.as_deref(),
                },
                (
                    Error::Transport {
                        before_send: true, ..
                    },
                    None,
                ) => Outcome::NotSent,
                _ => Outcome::MaybeSent,
            };
            let decision = classify(
                &self.retry,
                &Attempt {
                    outcome,
                    attempt,
                    idempotent: req.idempotent,
                    elapsed: started.elapsed(),
                    now: self.now(),
                    jitter: rand::random::<f64>(),
                },
            );
            let wait = match decision {
                RetryDecision::RetryAfter(d) | RetryDecision::Backoff(d) => d,
                RetryDecision::DoNotRetry => {
                    let may_have_applied = !req.idempotent
                        && matches!(
                            outcome,
                            Outcome::MaybeSent
                                | Outcome::Status {
                                    status: 500..=599,
                                    ..
                                }
                        );
                    return Err(if may_have_applied { ambiguous(err) } else { err });
                }
            };
            if let Some(left) = ctx.remaining() {
                if wait >= left {
                    return Err(Error::Timeout {
                        last: Some(Box::new(err)),
                    });
                }
            }
            tracing::debug!(service = %req.service, request = %described, attempt, wait_ms = wait.as_millis() as u64, "retrying: {err}");
            last = Some(err);
            match ctx.sleep(wait).await {
                Ok(()) => {}
                Err(Interrupted::Cancelled) => return Err(Error::Cancelled),
                Err(Interrupted::DeadlineReached) => {
                    return Err(Error::Timeout {
                        last: last.map(Box::new),
                    });
                }
            }
        }
    }

    /// One attempt: the answer's status, headers and body, or the transport error and whether it
    /// happened before the request could reach the server.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        req: &Request,
        request_id: &str,
        correlation_id: &str,
    ) -> Result<(u16, HeaderMap, Vec<u8>), (bool, reqwest::Error)> {
        let mut b = http
            .request(req.method.clone(), req.url.clone())
            .header(ACCEPT, "application/json")
            .header("MS-RequestId", request_id)
            .header("MS-CorrelationId", correlation_id);
        match req.service {
            Service::PartnerCenter => b = b.header("MS-PartnerCenter-Client", self.user_agent.as_str()),
            // Entra and Graph echo client-request-id; it ties their logs to our correlation id.
            Service::Graph | Service::Login => b = b.header("client-request-id", correlation_id),
            // Key Vault requests do not pass through here (see key_vault.rs).
            Service::FederatedTokenIssuer | Service::KeyVault => {}
        }
        if let Some(token) = &req.bearer {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
            v.set_sensitive(true);
            b = b.header(AUTHORIZATION, v);
        }
        for (name, value) in &req.headers {
            b = b.header(*name, value.as_str());
        }
        match &req.body {
            Body::None => {}
            Body::Json(bytes) => {
                if tracing::enabled!(tracing::Level::TRACE) {
                    tracing::trace!(service = %req.service, request_id, body = %redact_json(bytes), "request body");
                }
                b = b.header(CONTENT_TYPE, "application/json").body(bytes.clone());
            }
            Body::Form(s) => {
                if tracing::enabled!(tracing::Level::TRACE) {
                    tracing::trace!(service = %req.service, request_id, body = %redact_form(s), "request body");
                }
                b = b
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(s.clone());
            }
        }
        // An attempt that hangs ends here, so the retry loop (or the caller) can decide.
        b = b.timeout(self.retry.attempt_timeout);
        let resp = b.send().await.map_err(|e| (e.is_connect(), e.without_url()))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| (false, e.without_url()))?;
        Ok((status, headers, body.to_vec()))
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

fn response_ids(headers: &HeaderMap, sent_correlation: &str, now: DateTime<Utc>) -> ResponseIds {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    ResponseIds {
        request_id: get("request-id")
            .or_else(|| get("MS-RequestId"))
            .or_else(|| get("x-ms-request-id")),
        correlation_id: get("MS-CorrelationId")
            .or_else(|| get("client-request-id"))
            .or_else(|| Some(sent_correlation.to_owned())),
        retry_after: get("Retry-After").and_then(|v| parse_retry_after(&v, now)),
    }
}
