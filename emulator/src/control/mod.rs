//! The control API under `/_emulator/`: reset, state dump, faults, clock, request log and settings here;
//! out-of-band directory changes, login helpers and app management policies in the submodules.

mod directory;
mod login;
mod policies;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::SettingsPatch;
use crate::emulator::Emulator;
use crate::faults::FaultSpec;

type Shared = AxumState<Arc<Emulator>>;

/// A control call that could not be carried out.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ControlError {
    status: StatusCode,
    message: String,
}

impl ControlError {
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            message: message.into(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

pub(crate) type ControlResult = Result<Response, ControlError>;

/// The control routes (nested under `/_emulator`).
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/reset", post(reset))
        .route("/state", get(state_dump))
        .route("/faults", post(add_fault).get(list_faults).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/clock", get(clock).post(move_clock))
        .route("/replication/settle", post(settle_replication))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/settings", get(settings).post(change_settings))
        .merge(directory::routes())
        .merge(login::routes())
        .merge(policies::routes())
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A JSON request body (an empty one reads as `{}`).
pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ControlError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ControlError::bad_request(format!("invalid JSON body: {e}")))
}

async fn reset(AxumState(emu): Shared) -> Response {
    emu.reset();
    Json(json!({ "reset": true, "now": rfc3339(emu.clock.now()) })).into_response()
}

/// The primary's truth (what exists, whatever replicas show), each object with its write still
/// replicating (`replication: {change, missesLeft, visibleAt, readersSee?}`), and the deleted objects
/// lagging replicas still serve (`removed…`).
async fn state_dump(AxumState(emu): Shared) -> Response {
    let now = emu.clock.now();
    let mut state = emu.state();
    state.directory.forget_replicated(now);
    let partner = &state.partner;
    let customers: Vec<Value> = state
        .customers
        .customers
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "commerceId": c.commerce_id,
                "companyName": c.company_name,
                "domain": c.domain,
                "relationshipToPartner": c.relationship_to_partner,
                "associatedPartnerId": c.associated_partner_id,
            })
        })
        .collect();
    let refresh_tokens = &state.sessions.refresh_tokens;
    let body = json!({
        "now": rfc3339(now),
        "tenants": [{
            "tenantId": partner.tenant_id,
            "domain": partner.domain,
            "companyName": partner.company_name,
            "mpnId": partner.mpn_id,
            "user": partner.user,
            "userObjectId": partner.user_object_id,
        }],
        "applications": state.directory.applications,
        "servicePrincipals": state.directory.service_principals,
        "oauth2PermissionGrants": state.directory.oauth2_permission_grants,
        "removedApplications": state.directory.removed_applications,
        "removedServicePrincipals": state.directory.removed_service_principals,
        "removedOauth2PermissionGrants": state.directory.removed_oauth2_permission_grants,
        "appManagementPolicies": state.policies,
        "devCenterScopeId": emu.dev_center_scope_id,
        "resellers": state.resellers,
        "customers": customers,
        "deviceCodes": state.sessions.device_codes,
        "refreshTokens": {
            "issued": refresh_tokens.len(),
            "revoked": refresh_tokens.values().filter(|g| g.revoked).count(),
            "withoutMfa": refresh_tokens.values().filter(|g| !g.mfa).count(),
        },
        "settings": state.settings,
    });
    Json(body).into_response()
}

async fn add_fault(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let spec: FaultSpec = parse_json(&body)?;
    let fault = emu
        .faults()
        .add(spec)
        .map_err(|e| ControlError::bad_request(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": fault.id, "fault": fault })),
    )
        .into_response())
}

async fn list_faults(AxumState(emu): Shared) -> Response {
    Json(json!({ "faults": emu.faults().list() })).into_response()
}

async fn clear_faults(AxumState(emu): Shared) -> Response {
    emu.faults().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_fault(AxumState(emu): Shared, Path(id): Path<String>) -> ControlResult {
    if emu.faults().remove(&id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ControlError::not_found(format!("no fault {id}")))
    }
}

async fn clock(AxumState(emu): Shared) -> Response {
    Json(json!({ "now": rfc3339(emu.clock.now()) })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    set: Option<DateTime<Utc>>,
    advance_seconds: Option<i64>,
}

async fn move_clock(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let change: ClockChange = parse_json(&body)?;
    match (change.set, change.advance_seconds) {
        (Some(at), None) => emu.clock.set(at),
        (None, Some(seconds)) => emu.clock.advance(seconds),
        _ => {
            return Err(ControlError::bad_request(
                "give exactly one of `set` (RFC 3339) or `advance_seconds`",
            ));
        }
    }
    Ok(Json(json!({ "now": rfc3339(emu.clock.now()) })).into_response())
}

async fn requests(AxumState(emu): Shared) -> Response {
    Json(json!(emu.requests().records())).into_response()
}

async fn clear_requests(AxumState(emu): Shared) -> Response {
    emu.requests().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn settings(AxumState(emu): Shared) -> Response {
    Json(json!(emu.state().settings)).into_response()
}

async fn change_settings(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let patch: SettingsPatch = parse_json(&body)?;
    let mut state = emu.state();
    state.change_settings(patch);
    Ok(Json(json!(state.settings)).into_response())
}

/// Every pending directory write becomes visible everywhere: time has passed (a key deleted in the portal
/// minutes before the next plan). Tests that mean "right after" leave the lag alone.
async fn settle_replication(AxumState(emu): Shared) -> ControlResult {
    emu.state().directory.settle();
    Ok(StatusCode::NO_CONTENT.into_response())
}
