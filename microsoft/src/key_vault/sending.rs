//! One Key Vault call until it is done: the challenge when the vault is new to this client, one fresh
//! token after a 401, Key Vault's own schedule for 429, and the shared attempt and retry loop
//! (`crate::http`) for the rest; bodies traced without the secret and wiped after use.

use super::challenge::{Challenge, Challenged, verify_challenge};
use super::error::{error_codes, kind_of};
use super::names::VaultUri;
use super::{KeyVault, KeyVaultError, KeyVaultErrorKind, SecretOperation, THROTTLE_BACKOFF_SECS};
use crate::auth::{Access, TokenKind};
use crate::context::CallContext;
use crate::error::{ApiError, Error, ResponseIds, Service, decode_error, strip_bom};
use crate::http::{Answer, Attempted, Failed, Retries, bearer, describe, send_once};
use crate::redact::{redact_json, redact_url};
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::Value;
use std::time::Duration;
use url::Url;
use uuid::Uuid;

/// One Key Vault call, possibly sent several times.
pub(super) struct Call<'a> {
    operation: SecretOperation,
    vault: &'a VaultUri,
    secret: &'a str,
    method: Method,
    url: Url,
    /// JSON; may hold the secret value: never traced unredacted, wiped after the call.
    body: Option<Vec<u8>>,
    /// Whether sending it twice is harmless.
    idempotent: bool,
}

impl<'a> Call<'a> {
    /// `operation` on secret `secret` of `vault`, at `url`, without a body.
    pub(super) fn new(operation: SecretOperation, vault: &'a VaultUri, secret: &'a str, url: Url) -> Self {
        Self {
            operation,
            vault,
            secret,
            method: operation.method(),
            url,
            body: None,
            idempotent: operation.is_repeatable(),
        }
    }

    pub(super) fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }
}

impl KeyVault {
    /// Sends `call` until a 2xx (status and body), a final error, cancellation or the deadline:
    /// the challenge when the vault is new to this client, one fresh token after a 401, the Key Vault
    /// backoff for 429, and the shared classifier for 5xx and connection failures.
    pub(super) async fn send(&self, ctx: &CallContext, call: Call<'_>) -> Result<(u16, Vec<u8>), Error> {
        let result = self.send_until_done(ctx, &call).await;
        if let Some(body) = call.body {
            wipe(body);
        }
        result
    }

    async fn send_until_done(&self, ctx: &CallContext, call: &Call<'_>) -> Result<(u16, Vec<u8>), Error> {
        let pipeline = &self.client.inner.pipeline;
        let http = pipeline.http()?;
        let correlation_id = Uuid::new_v4().to_string();
        let described = describe(&call.method, &call.url);
        let mut retries = Retries::new(ctx, pipeline.retry_policy(), Service::KeyVault, described);
        let mut progress = Progress::default();
        loop {
            let attempt = retries.next_attempt()?;
            let credential = self.credential(ctx, call).await?;
            // The challenge request carries neither token nor body (as the Azure SDKs send it), so it
            // cannot have been applied: a failure of it is never ambiguous.
            let may_apply = credential.is_token() && !call.idempotent;
            let sending = self.attempt(http, call, &credential, &correlation_id);
            let attempted = retries.in_flight(sending, may_apply).await?;
            let next = match attempted.into_answer(Service::KeyVault, retries.request()) {
                Ok(answer) => {
                    let sent = Sent {
                        call,
                        credential: &credential,
                        attempt,
                        correlation_id: &correlation_id,
                        described: retries.request(),
                    };
                    self.judge(&sent, answer, &mut progress, retries.elapsed())
                        .await?
                }
                Err(failed) => Next::Failed(failed),
            };
            match next {
                Next::Done(status, body) => return Ok((status, body)),
                Next::Again => {}
                Next::Throttled { wait, error } => retries.pause(wait, error).await?,
                Next::Failed(failed) => retries.after_failure(failed, may_apply, pipeline.now()).await?,
            }
        }
    }

    /// How the next attempt authenticates: a vault new to this client is asked without a token (its
    /// challenge), a known one gets a token for this environment's Key Vault audience.
    async fn credential(&self, ctx: &CallContext, call: &Call<'_>) -> Result<Credential, Error> {
        let Some(known) = self.lock().get(call.vault.as_str()).cloned() else {
            return Ok(Credential::Challenge);
        };
        let inner = &self.client.inner;
        let (token, kind) = inner
            .auth
            .token(
                &inner.pipeline,
                ctx,
                inner.audiences.key_vault,
                Access::AppOnlyOrUser,
                call.operation.describe(),
            )
            .await?;
        Ok(Credential::Token {
            token,
            kind,
            challenged: known,
        })
    }

    /// What an answer means for the call: done, send again, wait (429), or a failure for the shared
    /// classifier; or the refusal that ends the call.
    async fn judge(
        &self,
        sent: &Sent<'_>,
        answer: Answer,
        progress: &mut Progress,
        elapsed: Duration,
    ) -> Result<Next, Error> {
        let pipeline = &self.client.inner.pipeline;
        pipeline.record_date(&answer.headers);
        let now = pipeline.now();
        sent.trace(&answer);
        if answer.is_success() {
            return sent.accepted(answer);
        }
        let refusal = Refusal::read(&answer, sent.described, sent.correlation_id, now);
        match answer.status {
            401 => self.unauthorized(sent, &answer.headers, refusal, progress).await,
            429 => {
                let policy = pipeline.retry_policy();
                let error = sent.call.refused(refusal.kind(), refusal, None);
                progress.throttled(&answer, error, policy, elapsed, now)
            }
            _ => {
                let error = sent.call.refused(refusal.kind(), refusal, None);
                Ok(Next::Failed(Failed::answered(error, &answer)))
            }
        }
    }

    /// A 401: the challenge to learn (then send again with a token), a refused token to replace once,
    /// or the refusal that stands.
    async fn unauthorized(
        &self,
        sent: &Sent<'_>,
        headers: &HeaderMap,
        refusal: Refusal,
        progress: &mut Progress,
    ) -> Result<Next, Error> {
        let call = sent.call;
        let inner = &self.client.inner;
        let audience = inner.audiences.key_vault;
        let (token, kind, challenged) = match sent.credential {
            Credential::Challenge => {
                let learnt = progress.challenge(call, headers, refusal, audience)?;
                self.lock().insert(call.vault.as_str().to_owned(), learnt);
                return Ok(Next::Again);
            }
            Credential::Token {
                token,
                kind,
                challenged,
            } => (token, *kind, challenged),
        };
        // The token was refused (revoked, or expired by the vault's clock): one more try with a fresh
        // one, then the refusal stands.
        if !progress.token_refreshed {
            progress.token_refreshed = true;
            tracing::debug!(vault = %call.vault, "{}; fetching a new token and retrying once", refusal.answer);
            inner.auth.invalidate(audience, kind, token).await;
            return Ok(Next::Again);
        }
        // Learn the challenge again next time: the vault may have moved tenants.
        self.lock().remove(call.vault.as_str());
        let detail = format!(
            "a fresh token for {audience} from tenant {} was refused{}",
            inner.auth.tenant_id(),
            challenged
                .tenant
                .as_ref()
                .map(|t| format!("; the vault's challenge names tenant {t}"))
                .unwrap_or_default()
        );
        Err(call.refused(KeyVaultErrorKind::Unauthorized, refusal, Some(detail)))
    }

    /// One attempt: the call with its credential, sent once.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        call: &Call<'_>,
        credential: &Credential,
        correlation_id: &str,
    ) -> Attempted {
        let mut b = http
            .request(call.method.clone(), call.url.clone())
            .header(ACCEPT, "application/json")
            // Key Vault echoes it and logs it with its own x-ms-request-id.
            .header("x-ms-client-request-id", correlation_id);
        if let Credential::Token { token, .. } = credential {
            b = b.header(AUTHORIZATION, bearer(token));
        }
        match (&call.body, credential) {
            (Some(bytes), Credential::Token { .. }) => {
                if tracing::enabled!(tracing::Level::TRACE) {
                    tracing::trace!(service = %Service::KeyVault, correlation_id, body = %redact_body(bytes), "request body");
                }
                b = b.header(CONTENT_TYPE, "application/json").body(bytes.clone());
            }
            // The challenge: the body is removed, and `Content-Length: 0` says so (hyper leaves the
            // header out for an empty body unless it is set).
            (Some(_), Credential::Challenge) => b = b.header(CONTENT_LENGTH, "0").body(Vec::new()),
            // A POST without a body (recover) still says how long it is.
            (None, _) if call.method == Method::POST => b = b.header(CONTENT_LENGTH, "0").body(Vec::new()),
            (None, _) => {}
        }
        let timeout = self.client.inner.pipeline.retry_policy().attempt_timeout;
        send_once(b, timeout).await
    }
}

/// How an attempt authenticates.
enum Credential {
    /// The vault is new to this client: no token and no body, to learn its challenge.
    Challenge,
    /// A token for the vault's audience (and the kind the cache keeps it under); what the vault's
    /// challenge said, for a later refusal.
    Token {
        token: Secret,
        kind: TokenKind,
        challenged: Challenged,
    },
}

impl Credential {
    fn is_token(&self) -> bool {
        matches!(self, Self::Token { .. })
    }
}

/// What to do after an answer.
enum Next {
    /// A 2xx: its status and body.
    Done(u16, Vec<u8>),
    /// Send again at once: the challenge was learnt, or a fresh token replaces a refused one.
    Again,
    /// A 429: wait as Key Vault prescribes, then send again.
    Throttled { wait: Duration, error: Error },
    /// A failure for the shared classifier (5xx and the like).
    Failed(Failed),
}

/// What one call has been through, for Key Vault's own bounds.
#[derive(Default)]
struct Progress {
    /// 429s waited for (the index into [`THROTTLE_BACKOFF_SECS`]).
    throttled: usize,
    /// Whether a refused token was replaced already.
    token_refreshed: bool,
    /// Challenges answered.
    challenges: u32,
}

impl Progress {
    /// A 401 to the challenge request: the vault's challenge, verified before any token is sent.
    /// Bounded: a vault (or a concurrent call forgetting it) cannot keep this call challenging forever.
    fn challenge(
        &mut self,
        call: &Call<'_>,
        headers: &HeaderMap,
        refusal: Refusal,
        audience: &str,
    ) -> Result<Challenged, Error> {
        self.challenges += 1;
        let refused =
            |refusal, why: String| call.refused(KeyVaultErrorKind::ChallengeRefused, refusal, Some(why));
        if self.challenges > 2 {
            return Err(refused(
                refusal,
                "the vault kept asking for a token without accepting one".to_owned(),
            ));
        }
        let Some(challenge) = Challenge::from_headers(headers) else {
            return Err(refused(
                refusal,
                "the vault answered 401 without a Bearer challenge (WWW-Authenticate); no token was sent"
                    .to_owned(),
            ));
        };
        if let Err(why) = verify_challenge(call.vault, &challenge, audience) {
            return Err(refused(refusal, why));
        }
        Ok(Challenged {
            tenant: challenge.tenant(),
        })
    }

    /// A 429 means "not processed", also for a write: wait for `Retry-After` (within the policy), or
    /// as Key Vault prescribes without one; after the last wait the 429 stands.
    fn throttled(
        &mut self,
        answer: &Answer,
        error: Error,
        policy: &RetryPolicy,
        elapsed: Duration,
        now: DateTime<Utc>,
    ) -> Result<Next, Error> {
        let retry_after = answer
            .header(RETRY_AFTER.as_str())
            .and_then(|v| parse_retry_after(&v, now));
        let wait = match retry_after {
            Some(d) if d <= policy.max_retry_after => Some(d),
            Some(_) => None,
            None => THROTTLE_BACKOFF_SECS
                .get(self.throttled)
                .map(|s| Duration::from_secs(*s)),
        };
        match wait.filter(|w| elapsed.saturating_add(*w) <= policy.max_elapsed) {
            Some(wait) => {
                self.throttled += 1;
                Ok(Next::Throttled { wait, error })
            }
            None => Err(error),
        }
    }
}

/// One attempt of a call, as sent.
struct Sent<'a> {
    call: &'a Call<'a>,
    credential: &'a Credential,
    attempt: u32,
    correlation_id: &'a str,
    described: &'a str,
}

impl Sent<'_> {
    fn trace(&self, answer: &Answer) {
        let call = self.call;
        tracing::debug!(
            service = %Service::KeyVault, method = %call.method, url = %redact_url(&call.url),
            status = answer.status, elapsed_ms = answer.elapsed.as_millis() as u64, attempt = self.attempt,
            challenge = !self.credential.is_token(),
            response_request_id = answer.header("x-ms-request-id").as_deref().unwrap_or(""),
            correlation_id = %self.correlation_id, "http"
        );
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(service = %Service::KeyVault, correlation_id = %self.correlation_id, body = %redact_body(&answer.body), "response body");
        }
    }

    /// A 2xx. To the challenge request of a write it is a refusal: a vault that serves a body-less
    /// write without credentials is not Key Vault, and its answer cannot be the write's.
    fn accepted(&self, answer: Answer) -> Result<Next, Error> {
        if matches!(self.credential, Credential::Token { .. }) {
            return Ok(Next::Done(answer.status, answer.body));
        }
        if self.call.body.is_some() {
            let status = answer.status;
            wipe(answer.body);
            let refusal = Refusal {
                answer: decode_error(
                    Service::KeyVault,
                    status,
                    self.described.to_owned(),
                    ResponseIds::default(),
                    b"",
                ),
                codes: Vec::new(),
            };
            return Err(self.call.refused(
                KeyVaultErrorKind::ChallengeRefused,
                refusal,
                Some("the vault accepted a request without credentials instead of asking for a token; nothing was written".to_owned()),
            ));
        }
        // A vault that needs no token (a proxy in front): nothing to learn.
        tracing::debug!(vault = %self.call.vault, "the vault answered without asking for a token");
        Ok(Next::Done(answer.status, answer.body))
    }
}

/// A vault's error answer: the shared decoding plus the nested `innererror` codes it does not keep.
struct Refusal {
    answer: ApiError,
    /// Every `code`, outermost first.
    codes: Vec<String>,
}

impl Refusal {
    fn read(answer: &Answer, described: &str, correlation_id: &str, now: DateTime<Utc>) -> Self {
        let ids = ResponseIds {
            request_id: answer.header("x-ms-request-id"),
            correlation_id: answer
                .header("x-ms-client-request-id")
                .or_else(|| Some(correlation_id.to_owned())),
            retry_after: answer
                .header(RETRY_AFTER.as_str())
                .and_then(|v| parse_retry_after(&v, now)),
        };
        Self {
            answer: decode_error(
                Service::KeyVault,
                answer.status,
                described.to_owned(),
                ids,
                &answer.body,
            ),
            codes: error_codes(&answer.body),
        }
    }

    fn kind(&self) -> KeyVaultErrorKind {
        kind_of(self.answer.status, &self.codes)
    }

    /// The innermost code, when there are nested ones.
    fn inner_code(&self) -> Option<String> {
        self.codes.last().filter(|_| self.codes.len() > 1).cloned()
    }
}

impl Call<'_> {
    /// The refusal as a fact about this call: what was being done, where, and what the vault said.
    fn refused(&self, kind: KeyVaultErrorKind, refusal: Refusal, detail: Option<String>) -> Error {
        let inner_code = refusal.inner_code();
        Error::KeyVault(Box::new(KeyVaultError {
            kind,
            operation: self.operation,
            vault: self.vault.to_string(),
            secret: Some(self.secret.to_owned()),
            answer: refusal.answer,
            inner_code,
            detail,
        }))
    }
}

/// A Key Vault body for traces: every string `value` (the secret) replaced, then the crate's
/// redaction of token-like fields. `value` arrays (list pages) are kept.
fn redact_body(body: &[u8]) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k.eq_ignore_ascii_case("value") && v.is_string() {
                        *v = Value::String("<redacted>".to_owned());
                    } else {
                        strip(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    match serde_json::from_slice::<Value>(strip_bom(body)) {
        Ok(mut v) => {
            strip(&mut v);
            redact_json(v.to_string().as_bytes())
        }
        Err(_) if body.is_empty() => String::new(),
        Err(_) => format!("<{} bytes, not JSON, not shown>", body.len()),
    }
}

/// Overwrites a buffer that held a secret value (best effort, as [`Secret`] does on drop).
pub(super) fn wipe(mut bytes: Vec<u8>) {
    bytes.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_bodies_hide_the_value_and_keep_the_rest() {
        let shown =
            redact_body(br#"{"value":"s3cret-value","id":"x","tags":{"k":"v"},"nested":{"value":"s2"}}"#);
        assert!(!shown.contains("s3cret") && !shown.contains("s2"), "{shown}");
        assert!(shown.contains("\"tags\":{\"k\":\"v\"}"), "{shown}");
        let page = redact_body(br#"{"value":[{"id":"a"}],"nextLink":null}"#);
        assert!(page.contains("\"id\":\"a\""), "{page}");
    }
}
