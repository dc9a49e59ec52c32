//! Errors of this crate, and the decoding of Microsoft's error bodies (login, Graph, three Partner
//! Center shapes) into one [`ApiError`].

use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Which Microsoft service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Entra ID login (token, device code endpoints).
    Login,
    /// Microsoft Graph.
    Graph,
    /// Partner Center.
    PartnerCenter,
    /// The issuer of a federated (OIDC) token, e.g. GitHub Actions.
    FederatedTokenIssuer,
    /// An Azure Key Vault (data plane).
    KeyVault,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Login => "Entra ID login",
            Self::Graph => "Graph",
            Self::PartnerCenter => "Partner Center",
            Self::FederatedTokenIssuer => "the federated token issuer",
            Self::KeyVault => "Key Vault",
        })
    }
}

/// A non-success answer from a Microsoft service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Who answered.
    pub service: Service,
    /// HTTP status.
    pub status: u16,
    /// What was sent: method and URL path (never a query value that could be a secret).
    pub request: String,
    /// Microsoft's error code, numbers turned into strings ("3000", "Authorization_RequestDenied",
    /// "invalid_grant").
    pub code: Option<String>,
    /// For login errors, the AADSTS code ("AADSTS7000215").
    pub aadsts: Option<String>,
    /// The message (first line of a login `error_description`).
    pub message: String,
    /// The service's request id (header or body).
    pub request_id: Option<String>,
    /// The correlation id (echoed by the service, else the one we sent).
    pub correlation_id: Option<String>,
    /// Login's trace id.
    pub trace_id: Option<String>,
    /// `Retry-After`, when the service sent one.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Whether this answer means "no such object": HTTP 404, Partner Center code 3000, or Graph's
    /// `Request_ResourceNotFound`.
    pub fn is_not_found(&self) -> bool {
        self.status == 404
            || matches!(
                self.code.as_deref(),
                Some("3000" | "Request_ResourceNotFound" | "ResourceNotFound")
            )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.service, self.status)?;
        match &self.code {
            // Partner Center's numeric codes read as codes; one that only repeats the status adds nothing.
            Some(code) if *code == self.status.to_string() => {}
            Some(code) if code.chars().all(|c| c.is_ascii_digit()) => write!(f, " (code {code})")?,
            Some(code) => write!(f, " {code}")?,
            None => {}
        }
        if let Some(aadsts) = &self.aadsts {
            if !self.message.starts_with(aadsts.as_str()) {
                write!(f, " {aadsts}")?;
            }
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        let mut ids = Vec::new();
        if let Some(id) = &self.request_id {
            ids.push(format!("request id {id}"));
        }
        if let Some(id) = &self.trace_id {
            ids.push(format!("trace id {id}"));
        }
        if let Some(id) = &self.correlation_id {
            ids.push(format!("correlation id {id}"));
        }
        if !ids.is_empty() {
            write!(f, " ({})", ids.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Errors of a login flow (authorization code, device code).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The redirect carried another `state` than the one we sent: possibly a forged redirect.
    #[error("the sign-in redirect carried an unexpected state; try again")]
    StateMismatch,
    /// The user or the service refused the sign-in.
    #[error("sign-in failed: {error}: {description}")]
    Denied {
        /// OAuth error code, e.g. `access_denied`.
        error: String,
        /// Its description.
        description: String,
    },
    /// The device code expired before the user finished signing in.
    #[error("the device code expired before sign-in completed; run the login again")]
    DeviceCodeExpired,
    /// The token endpoint answered without a refresh token (offline_access not granted).
    #[error("the token endpoint returned no refresh token; the app must allow the offline_access scope")]
    NoRefreshToken,
    /// The local redirect listener could not be started or read.
    #[error("local redirect listener: {0}")]
    Listener(#[source] std::io::Error),
}

/// Everything an operation of this crate can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Microsoft service answered with an error.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A Key Vault refused or failed a request: a typed fact ([`crate::KeyVaultErrorKind`]) with the
    /// vault, the secret and the permission the operation needs.
    #[error("{0}")]
    KeyVault(Box<crate::key_vault::KeyVaultError>),
    /// The object does not exist; callers that want idempotent deletes treat this as success.
    #[error("{what} does not exist: {source}")]
    NotFound {
        /// What was looked for.
        what: String,
        /// The service's answer.
        source: Box<ApiError>,
    },
    /// The operation is App+User only and no refresh token is configured. Facts only: the caller
    /// says how to get one (for which tenant and application).
    #[error(
        "{operation} is an App+User-only Partner Center operation, so it needs a refresh token \
         (Secure Application Model) and none is configured"
    )]
    RefreshTokenNeeded {
        /// The operation that needs it.
        operation: String,
        /// The configured tenant.
        tenant_id: String,
        /// The configured application.
        client_id: String,
    },
    /// No credential usable for this operation is configured.
    #[error("{operation} needs {needed}, and none is configured")]
    CredentialNeeded {
        /// The operation.
        operation: String,
        /// What would do, e.g. "a client secret or a federated token".
        needed: String,
    },
    /// The request could not be sent or its answer not received.
    #[error("{service}: {request} failed: {detail}")]
    Transport {
        /// The service addressed.
        service: Service,
        /// Method and URL path.
        request: String,
        /// Whether the failure happened before the request could reach the server (safe to retry).
        before_send: bool,
        /// The transport error with its causes, on one line.
        detail: String,
        /// The transport error (its URL removed).
        source: reqwest::Error,
    },
    /// A request that creates something failed in a way that leaves unknown whether it was applied
    /// (connection lost after sending, 5xx, cancelled in flight). Look before retrying.
    #[error("{request} may or may not have been applied; check before retrying: {source}")]
    Ambiguous {
        /// Method and URL path.
        request: String,
        /// What happened.
        source: Box<Error>,
    },
    /// A success (or error) body could not be decoded.
    #[error(
        "{service} answered {status} to {request} with a body that could not be read as {what}: {detail}"
    )]
    Decode {
        /// Who answered.
        service: Service,
        /// HTTP status.
        status: u16,
        /// Method and URL path.
        request: String,
        /// The expected shape.
        what: &'static str,
        /// The decoder's complaint (never the body itself).
        detail: String,
    },
    /// An error another caller also waited on, reported by its text (the original is still held there).
    #[error("{0}")]
    Shared(String),
    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,
    /// The operation's deadline passed; `last` is the error that was being retried, if any.
    #[error("timed out{}", match .last { Some(e) => format!("; last error: {e}"), None => String::new() })]
    Timeout {
        /// The last underlying error.
        last: Option<Box<Error>>,
    },
    /// An endpoint URL is refused.
    #[error("endpoint {name} = {url} is refused: {reason}")]
    InvalidEndpoint {
        /// Which endpoint.
        name: String,
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A service answered in a way its documented protocol rules out (a paging loop, a next link to
    /// another host); sending the same request again will not help.
    #[error("{service} {detail}")]
    Protocol {
        /// Who answered.
        service: Service,
        /// What it did, as a verb phrase ("returned the same continuation token twice while listing
        /// customers").
        detail: String,
    },
    /// Bad configuration or input.
    #[error("{0}")]
    Config(String),
    /// A login flow failed.
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self::Api(Box::new(e))
    }
}

impl Error {
    /// The service's answer behind this error, looking through `Ambiguous`, `Timeout` and `NotFound`.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            Self::KeyVault(e) => Some(&e.answer),
            Self::NotFound { source, .. } => Some(source),
            Self::Ambiguous { source, .. } => source.api(),
            Self::Timeout { last: Some(e) } => e.api(),
            _ => None,
        }
    }

    /// Whether this means "no such object".
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. } => true,
            Self::Api(e) => e.is_not_found(),
            Self::KeyVault(e) => e.is_not_found(),
            _ => false,
        }
    }

    /// The Key Vault refusal behind this error, looking through `Ambiguous` and `Timeout`.
    pub fn key_vault(&self) -> Option<&crate::key_vault::KeyVaultError> {
        match self {
            Self::KeyVault(e) => Some(e),
            Self::Ambiguous { source, .. } => source.key_vault(),
            Self::Timeout { last: Some(e) } => e.key_vault(),
            _ => None,
        }
    }

    /// Whether a creating request may have been applied although it failed.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Self::Ambiguous { .. })
    }

    /// Whether the caller cancelled (directly or while a create was in flight).
    pub fn is_cancelled(&self) -> bool {
        match self {
            Self::Cancelled => true,
            Self::Ambiguous { source, .. } => source.is_cancelled(),
            _ => false,
        }
    }

    /// Whether the deadline passed (directly or while a create was in flight).
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Timeout { .. } => true,
            Self::Ambiguous { source, .. } => source.is_timeout(),
            _ => false,
        }
    }
}

/// Removes a leading UTF-8 byte order mark; Partner Center sends one on some profile bodies.
pub(crate) fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Identifiers taken from response headers, before the body is read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseIds {
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub retry_after: Option<Duration>,
}

/// Builds an [`ApiError`] from any of the documented error bodies:
/// login `{error, error_description, error_codes, trace_id, correlation_id}`,
/// Graph `{error: {code, message, innerError: {request-id, client-request-id}}}`,
/// Partner Center `{code, description, data, source}`, `{code, message, description, errorName, ...}`
/// and `{statusCode, message}`. Unknown or non-JSON bodies keep the status and a short message.
pub(crate) fn decode_error(
    service: Service,
    status: u16,
    request: String,
    ids: ResponseIds,
    body: &[u8],
) -> ApiError {
    let mut e = ApiError {
        service,
        status,
        request,
        code: None,
        aadsts: None,
        message: String::new(),
        request_id: ids.request_id,
        correlation_id: ids.correlation_id,
        trace_id: None,
        retry_after: ids.retry_after,
    };
    match serde_json::from_slice::<Value>(strip_bom(body)) {
        Ok(Value::Object(map)) => match map.get("error") {
            Some(Value::Object(inner)) => read_graph_error(&mut e, inner),
            Some(Value::String(code)) => read_login_error(&mut e, code, &map),
            _ => read_partner_center_error(&mut e, &map),
        },
        _ => e.message = short_text(body),
    }
    if e.message.is_empty() {
        e.message = reason_phrase(status).to_owned();
    }
    e
}

type JsonObject = serde_json::Map<String, Value>;

/// Graph: `{"error": {"code", "message", "innerError": {"request-id", "client-request-id"}}}`; the
/// headers' ids win over the body's.
fn read_graph_error(e: &mut ApiError, inner: &JsonObject) {
    e.code = scalar(inner.get("code"));
    e.message = scalar(inner.get("message")).unwrap_or_default();
    let ie = inner.get("innerError").or_else(|| inner.get("innererror"));
    if let Some(Value::Object(ie)) = ie {
        if e.request_id.is_none() {
            e.request_id = scalar(ie.get("request-id"));
        }
        if e.correlation_id.is_none() {
            e.correlation_id = scalar(ie.get("client-request-id"));
        }
    }
}

/// Login: `{"error": "invalid_client", "error_description": "AADSTS7000215: ...", "error_codes":
/// [7000215], "trace_id", "correlation_id"}`; the AADSTS code from the description, else the first
/// error code.
fn read_login_error(e: &mut ApiError, code: &str, map: &JsonObject) {
    e.code = Some(code.to_owned());
    let description = scalar(map.get("error_description")).unwrap_or_default();
    e.aadsts = aadsts_of(&description).or_else(|| {
        map.get("error_codes")
            .and_then(|c| c.as_array())
            .and_then(|c| c.first())
            .and_then(|c| scalar(Some(c)))
            .map(|n| format!("AADSTS{n}"))
    });
    e.message = first_line(&description);
    e.trace_id = scalar(map.get("trace_id"));
    if let Some(c) = scalar(map.get("correlation_id")) {
        e.correlation_id = Some(c);
    }
}

/// Partner Center: three shapes share "code"/"statusCode" and one of "description"/"message".
fn read_partner_center_error(e: &mut ApiError, map: &JsonObject) {
    e.code = scalar(map.get("code"))
        .or_else(|| scalar(map.get("errorName")))
        .or_else(|| scalar(map.get("statusCode")));
    e.message = scalar(map.get("description"))
        .filter(|s| !s.is_empty())
        .or_else(|| scalar(map.get("message")))
        .or_else(|| scalar(map.get("Message")))
        .unwrap_or_default();
    if let (Some(code), Some(name)) = (&e.code, scalar(map.get("errorName"))) {
        if code != &name && !e.message.contains(&name) {
            e.message = format!("{} ({name})", e.message);
        }
    }
}

/// A short plain-text body is shown; HTML error pages and long bodies are not.
fn short_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(strip_bom(body));
    let text = text.trim();
    if !text.is_empty() && text.len() <= 200 && !text.starts_with('<') {
        text.to_owned()
    } else {
        String::new()
    }
}

/// A string or number as a string; numbers are how Partner Center sends most codes.
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn aadsts_of(description: &str) -> Option<String> {
    let start = description.find("AADSTS")?;
    let digits: String = description[start + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_owned()
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no error message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::fixture;

    fn decode(service: Service, status: u16, name: &str) -> ApiError {
        decode_error(
            service,
            status,
            "GET /x".into(),
            ResponseIds {
                correlation_id: Some("sent-corr".into()),
                ..Default::default()
            },
            &fixture(name),
        )
    }

    #[test]
    fn partner_center_numeric_code_with_description() {
        let e = decode(Service::PartnerCenter, 404, "pc_error_code_description.json");
        assert_eq!(e.code.as_deref(), Some("3000"));
        assert!(e.message.contains("could not be found"), "{}", e.message);
        assert!(e.is_not_found());
        assert!(
            e.to_string()
                .starts_with("Partner Center answered 404 (code 3000): Partner Organization")
        );
    }

    #[test]
    fn partner_center_error_name_shape() {
        let e = decode(Service::PartnerCenter, 409, "pc_error_error_name.json");
        assert_eq!(e.code.as_deref(), Some("600061"));
        assert!(
            e.message.contains("PartnerConfirmedAgreementAlreadyExists"),
            "{}",
            e.message
        );
    }

    #[test]
    fn partner_center_throttling_shape() {
        let e = decode(Service::PartnerCenter, 429, "pc_error_throttled.json");
        assert_eq!(e.code.as_deref(), Some("429"));
        assert!(e.message.starts_with("Rate limit is exceeded"));
    }

    #[test]
    fn partner_center_bom_and_string_code() {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend_from_slice(br#"{"code":"2000","description":"No more records"}"#);
        let e = decode_error(
            Service::PartnerCenter,
            400,
            "GET /v1/customers".into(),
            ResponseIds::default(),
            &body,
        );
        assert_eq!(e.code.as_deref(), Some("2000"));
        assert_eq!(e.message, "No more records");
    }

    #[test]
    fn graph_error_shape() {
        let e = decode(Service::Graph, 403, "graph_error.json");
        assert_eq!(e.code.as_deref(), Some("Authorization_RequestDenied"));
        assert_eq!(
            e.request_id.as_deref(),
            Some("9f5a3e1c-6b1f-4f59-a0a6-1e2e8f1b8a77")
        );
        assert_eq!(e.correlation_id.as_deref(), Some("sent-corr"));
        let shown = e.to_string();
        assert!(
            shown.starts_with("Graph answered 403 Authorization_RequestDenied: Insufficient privileges"),
            "{shown}"
        );
        assert!(
            shown.contains("(request id 9f5a3e1c-6b1f-4f59-a0a6-1e2e8f1b8a77, correlation id sent-corr)"),
            "{shown}"
        );
    }

    #[test]
    fn login_wrong_secret_keeps_aadsts_and_ids() {
        let e = decode(Service::Login, 401, "login_error_invalid_client.json");
        assert_eq!(e.code.as_deref(), Some("invalid_client"));
        assert_eq!(e.aadsts.as_deref(), Some("AADSTS7000215"));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("0a1b2c3d-0000-4000-8000-000000000001")
        );
        assert_eq!(
            e.correlation_id.as_deref(),
            Some("0a1b2c3d-0000-4000-8000-000000000002")
        );
        assert!(!e.message.contains("Trace ID"), "first line only: {}", e.message);
        // What to do about it is the provider's to say (src/provider/errors.rs), keyed by the AADSTS code.
        assert!(!e.to_string().contains("client_secret"), "{e}");
    }

    #[test]
    fn login_expired_refresh_token_and_unknown_tenant_are_named_by_aadsts() {
        let e = decode(Service::Login, 400, "login_error_expired_refresh_token.json");
        assert_eq!(e.aadsts.as_deref(), Some("AADSTS700082"));
        let body = br#"{"error":"invalid_request","error_description":"Tenant 'x' not found.","error_codes":[90002]}"#;
        let e = decode_error(
            Service::Login,
            400,
            "POST /t/oauth2/v2.0/token".into(),
            ResponseIds::default(),
            body,
        );
        assert_eq!(e.aadsts.as_deref(), Some("AADSTS90002"));
    }

    #[test]
    fn non_json_bodies_keep_the_status() {
        let e = decode_error(
            Service::Graph,
            502,
            "GET /x".into(),
            ResponseIds::default(),
            b"<html>bad gateway</html>",
        );
        assert_eq!(e.message, "Bad Gateway");
        assert_eq!(e.code, None);
    }
}
