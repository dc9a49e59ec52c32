//! Partner Center's error bodies: the classic `{code, description, data, source}` (numeric code; a string
//! for the MFA refusal, 900421) and the throttling shape `{statusCode, message}` with `Retry-After`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// One Partner Center error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PartnerCenterError {
    #[error("{status} code {code}: {description}")]
    Classic {
        status: StatusCode,
        code: u32,
        description: String,
    },
    #[error("429: rate limit exceeded, retry in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// An App+User token without MFA while enforcement is on: 401 with code `"900421"` (a JSON string,
    /// reference B.2).
    #[error("401 code 900421: MFA required")]
    MfaRequired,
}

impl PartnerCenterError {
    pub fn classic(status: StatusCode, code: u32, description: impl Into<String>) -> Self {
        Self::Classic {
            status,
            code,
            description: description.into(),
        }
    }

    /// Invalid input (bad `size`, `filter`, continuation token): 400, code 2000.
    pub fn invalid_input(description: impl Into<String>) -> Self {
        Self::classic(StatusCode::BAD_REQUEST, 2000, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::classic(StatusCode::NOT_FOUND, 3000, description)
    }

    pub fn unauthorized(description: impl Into<String>) -> Self {
        Self::classic(StatusCode::UNAUTHORIZED, 401, description)
    }

    /// An App+User-only operation called with an app-only token.
    pub fn app_only_refused() -> Self {
        Self::classic(
            StatusCode::FORBIDDEN,
            403,
            "This resource can't be accessed by application credentials.",
        )
    }

    /// The error an injected fault answers with when the fault names no body.
    pub fn for_status(status: StatusCode, retry_after: Option<u64>) -> Self {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Self::Throttled {
                retry_after: retry_after.unwrap_or(60),
            };
        }
        let description = match status.as_u16() {
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Resource not found",
            500 => "An internal error occurred while processing the request.",
            502 => "Bad gateway",
            503 => "The service is temporarily unavailable.",
            504 => "The request timed out.",
            _ => "The request failed.",
        };
        Self::classic(status, u32::from(status.as_u16()), description)
    }

    pub fn render(&self) -> Response {
        match self {
            Self::MfaRequired => {
                let description = "Multi-factor authentication (MFA) is required for App+User calls to \
                                   Partner Center. The access token has no MFA claim (amr does not contain \
                                   'mfa'); sign the user in again with MFA.";
                let body = serde_json::json!({
                    "code": "900421",
                    "description": description,
                    "data": [],
                    "source": "PartnerFD",
                });
                let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer authorization_uri=\"https://login.windows.net/\", error=\"insufficient_claims\", error_description=\"MFA required\"",
                    ),
                );
                response
            }
            Self::Classic {
                status,
                code,
                description,
            } => {
                let body = serde_json::json!({
                    "code": code,
                    "description": description,
                    "data": [],
                    "source": "PartnerFD",
                });
                let mut response = (*status, axum::Json(body)).into_response();
                if *status == StatusCode::UNAUTHORIZED {
                    let challenge = format!(
                        "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{}\"",
                        description.replace('"', "'")
                    );
                    if let Ok(value) = HeaderValue::from_str(&challenge) {
                        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
                    }
                }
                response
            }
            Self::Throttled { retry_after } => {
                let body = serde_json::json!({
                    "statusCode": 429,
                    "message": format!("Rate limit is exceeded. Try again in {retry_after} seconds."),
                });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
                response
            }
        }
    }
}
