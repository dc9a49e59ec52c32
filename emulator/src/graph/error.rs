//! Microsoft Graph's error body: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};

use crate::emulator::RequestContext;

/// A Graph error with one of the real `code` strings.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `error.details[]`, sent only when not empty.
    pub details: Vec<ErrorDetail>,
}

/// One entry of `error.details`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    pub target: &'static str,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// addPassword refused by an enabled `passwordAddition` restriction (reference C.3).
    pub fn credential_type_not_allowed(policy_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "CredentialTypeNotAllowedAsPerAppPolicy",
            format!("Credential type not allowed as per assigned policy '{policy_id}'."),
        )
    }

    /// addPassword whose end date lies beyond the policy's `maxLifetime` (reference C.3).
    pub fn credential_lifetime_too_long(policy_id: &str, max_lifetime: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "CredentialInvalidLifetimeAsPerAppPolicy",
            format!(
                "Credential lifetime exceeds the max value allowed as per assigned policy '{policy_id}'."
            ),
        );
        error.details.push(ErrorDetail {
            code: "InvalidKeyEndDate",
            message: format!(
                "The end date of the credential exceeds the max lifetime '{max_lifetime}' allowed as per assigned policy '{policy_id}'."
            ),
            target: "EndDate",
        });
        error
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }

    pub fn not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub fn segment_not_found(segment: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The request is not supported for this resource and HTTP method.",
        )
    }

    /// The error an injected fault answers with when the fault names no body.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("Request_BadRequest", "The request is invalid."),
            401 => ("InvalidAuthenticationToken", "Access token validation failure."),
            403 => (
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            404 => (
                "Request_ResourceNotFound",
                "The requested resource does not exist.",
            ),
            409 => (
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value already exists.",
            ),
            429 => ("TooManyRequests", "Too many requests. Please try again later."),
            503 => (
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please try again later.",
            ),
            504 => ("UnknownError", "The gateway timed out."),
            _ => ("generalException", "An unexpected error occurred."),
        };
        Self::new(status, code, message)
    }

    pub fn render(&self, now: DateTime<Utc>, ctx: &RequestContext) -> Response {
        let mut error = serde_json::json!({
            "code": self.code,
            "message": self.message,
        });
        if let Some(map) = error.as_object_mut() {
            if !self.details.is_empty() {
                map.insert("details".into(), serde_json::json!(self.details));
            }
            map.insert(
                "innerError".into(),
                serde_json::json!({
                    "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": ctx.request_id,
                    "client-request-id": ctx.client_request_id,
                }),
            );
        }
        let body = serde_json::json!({ "error": error });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        }
        response
    }
}
