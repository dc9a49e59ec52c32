//! The one HTTP pipeline: headers, retries, cancellation, tracing without secrets, error decoding and
//! the server's clock. Login, Graph and Partner Center requests all pass through [`Pipeline::send`];
//! Key Vault's own loop (`key_vault/sending.rs`) shares its attempt ([`send_once`]) and retry loop ([`Retries`]).

mod attempt;
mod retries;

pub(crate) use attempt::{Answer, Attempted, Failed, bearer, send_once};
pub(crate) use retries::Retries;

use crate::clock::Clock;
use crate::context::CallContext;
use crate::error::{Error, ResponseIds, Service, decode_error, strip_bom};
use crate::redact::{redact_form, redact_json, redact_url};
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, HeaderMap};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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

    /// The server's current time, from the latest `Date` header and the local clock since.
    pub(crate) fn server_time(&self) -> Option<DateTime<Utc>> {
        let offset = *self.server_offset.lock().unwrap_or_else(|e| e.into_inner());
        offset.map(|o| self.clock.now() + o)
    }

    /// The server's time if seen, else ours: `Retry-After` dates and token lifetimes are the server's
    /// (the emulator's clock can move).
    pub(crate) fn now(&self) -> DateTime<Utc> {
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
        let ids = CallIds::new();
        let may_apply = !req.idempotent;
        let mut retries = Retries::new(ctx, &self.retry, req.service, req.describe());
        loop {
            let attempt = retries.next_attempt()?;
            let attempted = retries
                .in_flight(self.attempt(http, &req, &ids), may_apply)
                .await?;
            let failed = match self.read(&req, &ids, attempt, retries.request(), attempted) {
                Ok(response) => return Ok(response),
                Err(failed) => failed,
            };
            retries.after_failure(failed, may_apply, self.now()).await?;
        }
    }

    /// One attempt: `req` with the call's ids and headers, sent once.
    async fn attempt(&self, http: &reqwest::Client, req: &Request, ids: &CallIds) -> Attempted {
        let mut b = http
            .request(req.method.clone(), req.url.clone())
            .header(ACCEPT, "application/json")
            .header("MS-RequestId", ids.request_id.as_str())
            .header("MS-CorrelationId", ids.correlation_id.as_str());
        match req.service {
            Service::PartnerCenter => b = b.header("MS-PartnerCenter-Client", self.user_agent.as_str()),
            // Entra and Graph echo client-request-id; it ties their logs to our correlation id.
            Service::Graph | Service::Login => b = b.header("client-request-id", ids.correlation_id.as_str()),
            // Key Vault requests do not pass through here (see key_vault/sending.rs).
            Service::FederatedTokenIssuer | Service::KeyVault => {}
        }
        if let Some(token) = &req.bearer {
            b = b.header(AUTHORIZATION, bearer(token));
        }
        for (name, value) in &req.headers {
            b = b.header(*name, value.as_str());
        }
        b = with_body(b, req, &ids.request_id);
        send_once(b, self.retry.attempt_timeout).await
    }

    /// Reads what an attempt brought: the success answer, or the failure (transport, or an error answer
    /// decoded as [`Error::Api`]) for the retry loop. Records the server's clock on the way.
    fn read(
        &self,
        req: &Request,
        ids: &CallIds,
        attempt: u32,
        described: &str,
        attempted: Attempted,
    ) -> Result<Response, Failed> {
        let answer = attempted.into_answer(req.service, described)?;
        self.record_date(&answer.headers);
        let response_ids = response_ids(&answer, &ids.correlation_id, self.now());
        tracing::debug!(
            service = %req.service, method = %req.method, url = %redact_url(&req.url),
            status = answer.status, elapsed_ms = answer.elapsed.as_millis() as u64, attempt,
            request_id = %ids.request_id,
            response_request_id = response_ids.request_id.as_deref().unwrap_or(""),
            correlation_id = %ids.correlation_id, "http"
        );
        if tracing::enabled!(tracing::Level::TRACE) {
            let shown = if req.trace_response_body {
                redact_json(&answer.body)
            } else {
                "<not shown>".to_owned()
            };
            tracing::trace!(service = %req.service, request_id = %ids.request_id, body = %shown, "response body");
        }
        if answer.is_success() {
            return Ok(Response {
                service: req.service,
                status: answer.status,
                request: described.to_owned(),
                body: answer.body,
            });
        }
        let api = decode_error(
            req.service,
            answer.status,
            described.to_owned(),
            response_ids,
            &answer.body,
        );
        Err(Failed::answered(Error::from(api), &answer))
    }
}

/// The ids of one logical call, new per call and kept across its retries.
struct CallIds {
    request_id: String,
    correlation_id: String,
}

impl CallIds {
    fn new() -> Self {
        Self {
            request_id: Uuid::new_v4().to_string(),
            correlation_id: Uuid::new_v4().to_string(),
        }
    }
}

/// `b` with `req`'s body and its content type; the body is traced redacted.
fn with_body(b: reqwest::RequestBuilder, req: &Request, request_id: &str) -> reqwest::RequestBuilder {
    match &req.body {
        Body::None => b,
        Body::Json(bytes) => {
            if tracing::enabled!(tracing::Level::TRACE) {
                tracing::trace!(service = %req.service, request_id, body = %redact_json(bytes), "request body");
            }
            b.header(CONTENT_TYPE, "application/json").body(bytes.clone())
        }
        Body::Form(s) => {
            if tracing::enabled!(tracing::Level::TRACE) {
                tracing::trace!(service = %req.service, request_id, body = %redact_form(s), "request body");
            }
            b.header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(s.clone())
        }
    }
}

fn response_ids(answer: &Answer, sent_correlation: &str, now: DateTime<Utc>) -> ResponseIds {
    let get = |name: &str| answer.header(name);
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
