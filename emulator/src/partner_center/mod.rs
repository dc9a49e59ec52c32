//! Partner Center v1 (`/v1/...`): token check and the App+User MFA rule, then MPN and organization profiles,
//! customers, indirect reseller relationships.

pub mod continuation;
pub mod customers;
pub mod error;
pub mod profiles;
pub mod relationships;
pub mod throttle;

use std::sync::{Arc, MutexGuard};

use axum::extract::State as AxumState;
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};

use crate::access_token::{self, AccessClaims, TokenProblem};
use crate::emulator::{Emulator, State};
use crate::well_known::Api;
use error::PartnerCenterError;

/// A parsed Partner Center request.
pub struct PartnerCenterRequest<'a> {
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub claims: AccessClaims,
}

/// Every `/v1/...` request lands here: token check, MFA rule, throttle, then the route (paths are
/// case-insensitive).
pub async fn dispatch(
    AxumState(emu): AxumState<Arc<Emulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let now = emu.clock.now();
    let claims = match authenticate(&emu, &headers, now) {
        Ok(claims) => claims,
        Err(error) => return error.render(),
    };
    let validating = asks_mfa_validation(&headers);
    let answered = require_mfa(&emu, &claims, validating)
        .and_then(|()| handle(&emu, &method, &uri, &headers, claims.clone(), now));
    let mut response = answered.unwrap_or_else(|error| error.render());
    if validating {
        // The pre-enforcement check (reference B.2): report, never block.
        response.headers_mut().insert(
            "isMfaCompliant",
            HeaderValue::from_static(if claims.has_mfa() { "true" } else { "false" }),
        );
    }
    response
}

/// `ValidateMfa: true` on the request.
fn asks_mfa_validation(headers: &HeaderMap) -> bool {
    headers
        .get("ValidateMfa")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Since 2026 every App+User call needs a token whose sign-in had MFA; app-only calls are never checked,
/// and a request that asks for validation is only told.
fn require_mfa(emu: &Emulator, claims: &AccessClaims, validating: bool) -> Result<(), PartnerCenterError> {
    let enforced = emu.state().settings.mfa_enforced;
    if enforced && !validating && !claims.is_app_only() && !claims.has_mfa() {
        return Err(PartnerCenterError::MfaRequired);
    }
    Ok(())
}

fn handle(
    emu: &Emulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    claims: AccessClaims,
    now: DateTime<Utc>,
) -> Result<Response, PartnerCenterError> {
    if method != Method::GET {
        return Err(PartnerCenterError::classic(
            StatusCode::METHOD_NOT_ALLOWED,
            405,
            "The requested method is not supported.",
        ));
    }
    let route = Route::parse(uri);
    let names: Vec<&str> = route.segments.iter().map(String::as_str).collect();
    let mut state = emu.state();
    if names.first() == Some(&"customers") {
        let limit = state.settings.customer_rate_limit_per_minute;
        state
            .customer_throttle
            .admit(&claims.tid, now, limit)
            .map_err(|retry_after| PartnerCenterError::Throttled { retry_after })?;
    }
    match names.as_slice() {
        ["profiles", "mpn"] => {
            require_app_user(&claims)?;
            profiles::mpn(&state, route.param("mpnId"))
        }
        ["profiles", "organization"] => {
            require_app_user(&claims)?;
            Ok(profiles::organization(&state))
        }
        ["relationships"] => {
            require_app_user(&claims)?;
            relationships::list(&state, route.param("relationship_type"), route.param("filter"))
        }
        ["customers"] => list_customers(emu, state, route.query, headers, claims),
        ["customers", id] => customers::get(&state.customers, id),
        ["customers", id, "relationships"] => {
            require_app_user(&claims)?;
            relationships::of_customer(&state, id)
        }
        _ => Err(PartnerCenterError::not_found(
            "The requested resource was not found.",
        )),
    }
}

/// A `/v1/...` path (segments decoded and lowercased: Partner Center's paths ignore case) and its query.
struct Route {
    segments: Vec<String>,
    query: Vec<(String, String)>,
}

impl Route {
    fn parse(uri: &Uri) -> Self {
        let segments = uri
            .path()
            .strip_prefix("/v1")
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase()
            })
            .collect();
        let query = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        Self { segments, query }
    }

    /// A query parameter, its name compared without case.
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET /v1/customers`: paging works on the immutable book, so the lock is released before a large page
/// is built.
fn list_customers(
    emu: &Emulator,
    state: MutexGuard<'_, State>,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    claims: AccessClaims,
) -> Result<Response, PartnerCenterError> {
    let book = Arc::clone(&state.customers);
    let partner_tenant = state.partner.tenant_id.clone();
    let full_last_page_has_token = state.settings.full_last_page_has_continuation_token;
    drop(state);
    let request = PartnerCenterRequest {
        query,
        headers,
        claims,
    };
    let paging = customers::Paging {
        signer: &emu.signer,
        book: &book,
        partner_tenant: &partner_tenant,
        full_last_page_has_token,
    };
    customers::list(&request, &paging)
}

/// Partner Center accepts tokens for its own audience only (Azure AD Graph tokens are retired), from the
/// partner tenant, unexpired by the emulator clock.
fn authenticate(
    emu: &Emulator,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<AccessClaims, PartnerCenterError> {
    let token = access_token::bearer(headers)
        .ok_or_else(|| PartnerCenterError::unauthorized("The request has no bearer access token."))?;
    let claims = emu.signer.verify(token, now).map_err(|problem| {
        PartnerCenterError::unauthorized(match problem {
            TokenProblem::Expired => "The access token has expired.",
            _ => "The access token is invalid.",
        })
    })?;
    if !Api::PartnerCenter.accepts_audience(&claims.aud) {
        return Err(PartnerCenterError::unauthorized(format!(
            "The access token audience '{}' is not valid for Partner Center.",
            claims.aud
        )));
    }
    if !claims.tid.eq_ignore_ascii_case(&emu.state().partner.tenant_id) {
        return Err(PartnerCenterError::unauthorized(
            "The access token was issued for another tenant.",
        ));
    }
    Ok(claims)
}

/// App+User-only operations refuse app-only tokens (403, as Partner Center's engineers describe it).
pub fn require_app_user(claims: &AccessClaims) -> Result<(), PartnerCenterError> {
    if claims.is_app_only() {
        Err(PartnerCenterError::app_only_refused())
    } else {
        Ok(())
    }
}

/// A JSON body Partner Center style.
pub fn json_text_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
