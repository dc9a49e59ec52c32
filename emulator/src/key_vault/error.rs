//! Key Vault's error body, `{"error":{"code","message","innererror":{"code"}}}`, with the real codes and
//! (where the reference has them) the real messages.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// Help links Key Vault puts at the end of its not-found and forbidden messages.
const NOT_FOUND_HELP: &str =
    "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";
const FORBIDDEN_HELP: &str =
    "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287";

/// A Key Vault refusal.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct KvError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub inner: Option<&'static str>,
    /// A 401 that carries the `WWW-Authenticate` challenge.
    pub challenge: bool,
}

impl KvError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner: None,
            challenge: false,
        }
    }

    fn with_inner(mut self, inner: &'static str) -> Self {
        self.inner = Some(inner);
        self
    }

    /// 401 with the challenge. `message` is what the vault says about the token (or its absence).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
        }
    }

    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// The message JSREC recorded; `what` is the name, or `name/version`.
    pub fn secret_not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            format!(
                "A secret with (name/id) {what} was not found in this key vault. If you recently deleted this \
                 secret you may be able to recover it using the correct recovery command. {NOT_FOUND_HELP}"
            ),
        )
    }

    pub fn deleted_secret_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            format!("Deleted Secret not found: {name}"),
        )
    }

    pub fn disabled(operation: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("Operation {operation} is not allowed on a disabled secret."),
        )
        .with_inner("SecretDisabled")
    }

    pub fn deleted_but_recoverable(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; \
                 in this state, the secret can only be recovered or purged."
            ),
        )
        .with_inner("ObjectIsDeletedButRecoverable")
    }

    pub fn being_deleted(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Secret {name} is currently being deleted; retry later."),
        )
        .with_inner("ObjectIsBeingDeleted")
    }

    pub fn being_recovered(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Secret {name} is currently being recovered and cannot be re-created; retry later."),
        )
        .with_inner("ObjectIsBeingRecovered")
    }

    /// 403 from Azure RBAC, in the shape users capture (lines joined with CRLF).
    pub fn forbidden_by_rbac(
        caller: &str,
        action: &str,
        resource: &str,
        vault: &str,
        location: &str,
    ) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or \
                 role definitions were changed recently, please observe propagation time.\r\nCaller: {caller}\r\n\
                 Action: '{action}'\r\nResource: '{resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\n\
                 DecisionReason: null \r\nVault: {vault};location={location}\r\n"
            ),
        )
        .with_inner("ForbiddenByRbac")
    }

    /// 403 from the vault's access policy.
    pub fn forbidden_by_policy(caller: &str, permission: &str, vault: &str, location: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "The user, group or application '{caller}' does not have secrets {permission} permission on key \
                 vault '{vault};location={location}'. {FORBIDDEN_HELP}"
            ),
        )
        .with_inner("ForbiddenByPolicy")
    }

    /// 403 from the vault's network rules.
    pub fn forbidden_by_firewall(caller: &str, vault: &str, location: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Client address is not authorized and caller is not a trusted service.\r\nClient address: \
                 127.0.0.1\r\nCaller: {caller}\r\nVault: {vault};location={location}"
            ),
        )
        .with_inner("ForbiddenByFirewall")
    }

    /// The 429 body vcsjones/AzureSignTool#219 captured (no `Retry-After`).
    pub fn throttled() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        )
    }

    /// The default body of an injected fault with this status.
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            429 => Self::throttled(),
            400 => Self::bad_parameter("The request is invalid."),
            401 => Self::new(status, "Unauthorized", "Request is not authorized."),
            403 => Self::new(status, "Forbidden", "Access denied."),
            404 => Self::new(status, "NotFound", "The requested resource was not found."),
            409 => Self::new(
                status,
                "Conflict",
                "The request conflicts with the current state.",
            ),
            503 => Self::new(
                status,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
            ),
            _ => Self::new(status, "InternalServerError", "An unexpected error occurred."),
        }
    }

    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(inner) = self.inner {
            error["innererror"] = json!({ "code": inner });
        }
        json!({ "error": error })
    }

    /// The response; `challenge` is the `WWW-Authenticate` value for a 401 that carries one.
    pub fn render(&self, challenge: Option<&str>) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.challenge {
            if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(c).ok()) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// The response of an injected fault on a vault route (the route's own error shape).
pub fn fault_response(status: StatusCode) -> Response {
    KvError::for_status(status).render(None)
}
