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
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
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
        let body = serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": ctx.request_id,
                    "client-request-id": ctx.client_request_id,
                }
            }
        });
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
