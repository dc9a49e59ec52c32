//! Microsoft Graph v1.0 (`/v1.0/...`): applications, service principals, oauth2PermissionGrants and app
//! management policies.

pub mod applications;
mod entity_set;
pub mod error;
pub mod odata;
pub mod permission_grants;
pub mod policies;
pub mod service_principals;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Timelike as _, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde_json::Value;

use crate::access_token::{self, AccessClaims, TokenProblem};
use crate::directory::{Application, PermissionGrant, ServicePrincipal};
use crate::emulator::{Emulator, ServiceRequest};
use crate::well_known::Api;
use error::GraphError;
use odata::{EntityKey, Query};

/// Where Graph's `@odata.context` URLs point.
pub const METADATA: &str = "https://graph.microsoft.com/v1.0/$metadata";

/// A parsed request, handed to the entity set's module.
pub struct GraphRequest<'a> {
    pub method: &'a Method,
    pub key: Option<EntityKey>,
    /// Path segments after the addressed entity (e.g. `addPassword`).
    pub rest: Vec<String>,
    pub query: Query,
    pub body: &'a Bytes,
    pub now: DateTime<Utc>,
}

/// Every `/v1.0/...` request lands here: token check, then routing by entity set (case-insensitive,
/// as Graph's segment names are).
pub async fn dispatch(AxumState(emu): AxumState<Arc<Emulator>>, request: ServiceRequest) -> Response {
    let now = emu.clock.now();
    let ServiceRequest {
        method,
        uri,
        headers,
        body,
        ctx,
    } = request;
    match handle(&emu, &method, &uri, &headers, &body, now) {
        Ok(response) => response,
        Err(error) => error.render(now, &ctx),
    }
}

fn handle(
    emu: &Emulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    now: DateTime<Utc>,
) -> Result<Response, GraphError> {
    authenticate(emu, headers, now)?;
    let path = uri.path().strip_prefix("/v1.0").unwrap_or_default();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let Some(first) = segments.first() else {
        return Err(GraphError::segment_not_found(""));
    };
    let (set, alternate) = odata::split_alternate_key(first)?;
    let (key, rest) = match alternate {
        Some(key) => (Some(key), segments[1..].to_vec()),
        None => match segments.get(1) {
            Some(id) => (Some(EntityKey::Id(id.clone())), segments[2..].to_vec()),
            None => (None, vec![]),
        },
    };
    let query = Query::parse(uri.query())?;
    let request = GraphRequest {
        method,
        key,
        rest,
        query,
        body,
        now,
    };
    match set.to_ascii_lowercase().as_str() {
        "applications" => entity_set::route::<Application>(emu, &request),
        "serviceprincipals" => entity_set::route::<ServicePrincipal>(emu, &request),
        "oauth2permissiongrants" => entity_set::route::<PermissionGrant>(emu, &request),
        "policies" => policies::handle(emu, request),
        _ => Err(GraphError::segment_not_found(&set)),
    }
}

/// Graph accepts only tokens for Graph, from the partner tenant, unexpired by the emulator clock.
fn authenticate(emu: &Emulator, headers: &HeaderMap, now: DateTime<Utc>) -> Result<AccessClaims, GraphError> {
    let Some(token) = access_token::bearer(headers) else {
        return Err(GraphError::unauthenticated("Access token is empty."));
    };
    let claims = emu.signer.verify(token, now).map_err(|problem| {
        GraphError::unauthenticated(match problem {
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::NotYetValid => "Lifetime validation failed, the token is not yet valid.",
            TokenProblem::BadSignature => "Access token validation failure. Invalid signature.",
            _ => "IDX14100: JWT is not well formed, there are no dots (.).",
        })
    })?;
    if !Api::MicrosoftGraph.accepts_audience(&claims.aud) {
        return Err(GraphError::unauthenticated(
            "Access token validation failure. Invalid audience.",
        ));
    }
    if !claims.tid.eq_ignore_ascii_case(&emu.state().partner.tenant_id) {
        return Err(GraphError::unauthenticated(
            "Access token validation failure. Invalid tenant.",
        ));
    }
    Ok(claims)
}

/// Graph's timestamp format: ISO 8601 in UTC with `Z`, and the fraction of a second to Graph's 100 ns tick
/// (up to 7 digits, trailing zeros dropped, none for a whole second), e.g. `2026-01-01T08:30:00.1234567Z`.
pub fn graph_time(time: DateTime<Utc>) -> String {
    let whole = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ticks = time.timestamp_subsec_nanos() / 100;
    if ticks == 0 {
        return format!("{whole}Z");
    }
    let fraction = format!("{ticks:07}");
    format!("{whole}.{}Z", fraction.trim_end_matches('0'))
}

/// `time` cut to Graph's precision (100 ns ticks), so that what is stored is what is echoed.
pub fn graph_precision(time: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = time.timestamp_subsec_nanos();
    time.with_nanosecond(nanos - nanos % 100).unwrap_or(time)
}

/// A Graph JSON response with Graph's OData content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
    );
    response
}

/// A collection: `{"@odata.context": ..., "value": [...]}`.
pub fn collection(context: &str, items: Vec<Value>) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::json!({ "@odata.context": format!("{METADATA}#{context}"), "value": items }),
    )
}

/// One entity with its `@odata.context`.
pub fn entity(status: StatusCode, context: &str, mut item: Value) -> Response {
    if let Some(map) = item.as_object_mut() {
        map.insert(
            "@odata.context".into(),
            Value::String(format!("{METADATA}#{context}")),
        );
    }
    json_response(status, &item)
}

/// Parses a JSON request body (an empty body reads as `{}`).
pub fn body_json(body: &Bytes) -> Result<Value, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid JSON in the request body: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_keep_up_to_seven_fractional_digits() {
        let at = |text: &str| -> DateTime<Utc> { text.parse().expect("time") };
        assert_eq!(graph_time(at("2026-01-01T00:00:00Z")), "2026-01-01T00:00:00Z");
        assert_eq!(graph_time(at("2026-01-01T00:00:00.1Z")), "2026-01-01T00:00:00.1Z");
        assert_eq!(
            graph_time(at("2026-01-01T00:00:00.123456789Z")),
            "2026-01-01T00:00:00.1234567Z"
        );
        assert_eq!(
            graph_precision(at("2026-01-01T00:00:00.123456789Z")),
            at("2026-01-01T00:00:00.1234567Z")
        );
    }
}
