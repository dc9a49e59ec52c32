//! The control API under `/_emulator/`: reset, state dump, faults, clock, request log, settings, out-of-band
//! changes (keys, apps, service principals, grants), device code approval, refresh token revocation and
//! helper tokens for tests.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, TimeDelta, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access_token::AccessClaims;
use crate::config::SettingsPatch;
use crate::directory::RequiredResourceAccess;
use crate::emulator::Emulator;
use crate::faults::FaultSpec;

type Shared = AxumState<Arc<Emulator>>;

/// A control call that could not be carried out.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    status: StatusCode,
    message: String,
}

impl ControlError {
    fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type ControlResult = Result<Response, ControlError>;

/// The control routes (nested under `/_emulator`).
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/reset", post(reset))
        .route("/state", get(state_dump))
        .route("/faults", post(add_fault).get(list_faults).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/clock", get(clock).post(move_clock))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/settings", get(settings).post(change_settings))
        .route("/applications", post(create_applications))
        .route("/applications/{app_id}", delete(delete_application))
        .route(
            "/applications/{app_id}/passwords/{key_id}",
            delete(delete_password),
        )
        .route(
            "/applications/{app_id}/passwords/{key_id}/expire",
            post(expire_password),
        )
        .route(
            "/applications/{app_id}/required-resource-access",
            post(write_required_resource_access),
        )
        .route("/service-principals/{app_id}", delete(delete_service_principal))
        .route("/grants/{grant_id}", delete(delete_grant))
        .route("/grants/{grant_id}/remove-scope", post(remove_grant_scope))
        .route("/device-codes/approve", post(approve_device_codes))
        .route("/refresh-tokens/revoke", post(revoke_refresh_tokens))
        .route("/oidc-token", post(oidc_token))
        .route("/access-token", post(access_token))
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ControlError> {
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

async fn state_dump(AxumState(emu): Shared) -> Response {
    let now = emu.clock.now();
    let state = emu.state();
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
        "devCenterScopeId": emu.dev_center_scope_id,
        "resellers": state.resellers,
        "customers": customers,
        "deviceCodes": state.sessions.device_codes,
        "refreshTokens": {
            "issued": state.sessions.refresh_tokens.len(),
            "revoked": state.sessions.refresh_tokens.values().filter(|g| g.revoked).count(),
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
    state.settings.apply(patch);
    Ok(Json(json!(state.settings)).into_response())
}

/// `POST /applications` `{count?, display_name?}`: extra app registrations in the partner tenant (no keys,
/// no service principal), e.g. for benchmarks over many apps. Reset removes them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApplications {
    count: Option<usize>,
    display_name: Option<String>,
}

/// At most this many applications per call, so a typo cannot exhaust memory.
const MAX_NEW_APPLICATIONS: usize = 1000;

async fn create_applications(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let spec: NewApplications = parse_json(&body)?;
    let count = spec.count.unwrap_or(1);
    if count == 0 || count > MAX_NEW_APPLICATIONS {
        return Err(ControlError::bad_request(format!(
            "`count` must be 1..={MAX_NEW_APPLICATIONS}"
        )));
    }
    let now = emu.clock.now();
    let name = spec.display_name.unwrap_or_else(|| "Emulated application".into());
    let mut state = emu.state();
    let mut created = Vec::with_capacity(count);
    for i in 0..count {
        let app = crate::directory::Application {
            id: uuid::Uuid::new_v4().to_string(),
            app_id: uuid::Uuid::new_v4().to_string(),
            display_name: if count == 1 {
                name.clone()
            } else {
                format!("{name} {}", i + 1)
            },
            created_date_time: now,
            redirect_uris: vec![],
            is_fallback_public_client: false,
            password_credentials: vec![],
            required_resource_access: vec![],
            federated_identity_credentials: vec![],
        };
        created.push(json!({ "id": app.id, "appId": app.app_id, "displayName": app.display_name }));
        state.directory.applications.push(app);
    }
    Ok((StatusCode::CREATED, Json(json!({ "applications": created }))).into_response())
}

async fn delete_application(AxumState(emu): Shared, Path(app_id): Path<String>) -> ControlResult {
    let mut state = emu.state();
    let before = state.directory.applications.len();
    state
        .directory
        .applications
        .retain(|a| !a.app_id.eq_ignore_ascii_case(&app_id));
    if before == state.directory.applications.len() {
        return Err(ControlError::not_found(format!(
            "no application with appId {app_id}"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_password(
    AxumState(emu): Shared,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ControlResult {
    let mut state = emu.state();
    let app = state
        .directory
        .application_by_app_id_mut(&app_id)
        .ok_or_else(|| ControlError::not_found(format!("no application with appId {app_id}")))?;
    let before = app.password_credentials.len();
    app.password_credentials
        .retain(|k| !k.key_id.eq_ignore_ascii_case(&key_id));
    if before == app.password_credentials.len() {
        return Err(ControlError::not_found(format!(
            "application {app_id} has no key {key_id}"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn expire_password(
    AxumState(emu): Shared,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ControlResult {
    let now = emu.clock.now();
    let mut state = emu.state();
    let app = state
        .directory
        .application_by_app_id_mut(&app_id)
        .ok_or_else(|| ControlError::not_found(format!("no application with appId {app_id}")))?;
    let key = app
        .password_credentials
        .iter_mut()
        .find(|k| k.key_id.eq_ignore_ascii_case(&key_id))
        .ok_or_else(|| ControlError::not_found(format!("application {app_id} has no key {key_id}")))?;
    key.end_date_time = now - TimeDelta::seconds(1);
    if key.start_date_time > key.end_date_time {
        key.start_date_time = key.end_date_time - TimeDelta::seconds(1);
    }
    Ok(Json(json!({ "keyId": key.key_id, "endDateTime": rfc3339(key.end_date_time) })).into_response())
}

async fn write_required_resource_access(
    AxumState(emu): Shared,
    Path(app_id): Path<String>,
    body: axum::body::Bytes,
) -> ControlResult {
    let entry: RequiredResourceAccess = parse_json(&body)?;
    let mut state = emu.state();
    let app = state
        .directory
        .application_by_app_id_mut(&app_id)
        .ok_or_else(|| ControlError::not_found(format!("no application with appId {app_id}")))?;
    match app
        .required_resource_access
        .iter_mut()
        .find(|r| r.resource_app_id.eq_ignore_ascii_case(&entry.resource_app_id))
    {
        Some(existing) => *existing = entry,
        None => app.required_resource_access.push(entry),
    }
    Ok(Json(json!({ "requiredResourceAccess": app.required_resource_access })).into_response())
}

async fn delete_service_principal(AxumState(emu): Shared, Path(app_id): Path<String>) -> ControlResult {
    let mut state = emu.state();
    let sp_id = state
        .directory
        .service_principals
        .iter()
        .find(|sp| sp.app_id.eq_ignore_ascii_case(&app_id))
        .map(|sp| sp.id.clone())
        .ok_or_else(|| ControlError::not_found(format!("no service principal for appId {app_id}")))?;
    state.directory.delete_service_principal(&sp_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_grant(AxumState(emu): Shared, Path(grant_id): Path<String>) -> ControlResult {
    let mut state = emu.state();
    let before = state.directory.oauth2_permission_grants.len();
    state
        .directory
        .oauth2_permission_grants
        .retain(|g| g.id != grant_id);
    if before == state.directory.oauth2_permission_grants.len() {
        return Err(ControlError::not_found(format!("no grant {grant_id}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct RemoveScope {
    scope: String,
}

async fn remove_grant_scope(
    AxumState(emu): Shared,
    Path(grant_id): Path<String>,
    body: axum::body::Bytes,
) -> ControlResult {
    let RemoveScope { scope } = parse_json(&body)?;
    let mut state = emu.state();
    let grant = state
        .directory
        .oauth2_permission_grants
        .iter_mut()
        .find(|g| g.id == grant_id)
        .ok_or_else(|| ControlError::not_found(format!("no grant {grant_id}")))?;
    grant.scope = grant
        .scope
        .split_whitespace()
        .filter(|s| *s != scope)
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Json(json!({ "id": grant.id, "scope": grant.scope })).into_response())
}

async fn approve_device_codes(AxumState(emu): Shared) -> Response {
    let now = emu.clock.now();
    let mut state = emu.state();
    let mut approved = 0;
    for code in &mut state.sessions.device_codes {
        if !code.approved && !code.redeemed && now < code.expires {
            code.approved = true;
            approved += 1;
        }
    }
    Json(json!({ "approved": approved })).into_response()
}

async fn revoke_refresh_tokens(AxumState(emu): Shared) -> Response {
    let revoked = emu.state().sessions.revoke_all();
    Json(json!({ "revoked": revoked })).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct OidcTokenRequest {
    issuer: Option<String>,
    subject: Option<String>,
    audience: Option<String>,
    lifetime_seconds: Option<i64>,
}

/// A GitHub-Actions-like OIDC token (`{"value": jwt}`, like ACTIONS_ID_TOKEN_REQUEST_URL answers) to use as
/// a `client_assertion`; defaults match the demo app's federated credential.
async fn oidc_token(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let request: OidcTokenRequest = parse_json(&body)?;
    let now = emu.clock.now().timestamp();
    let issuer = request
        .issuer
        .unwrap_or_else(|| crate::demo::FEDERATED_ISSUER.into());
    let subject = request
        .subject
        .unwrap_or_else(|| crate::demo::FEDERATED_SUBJECT.into());
    let audience = request
        .audience
        .unwrap_or_else(|| crate::demo::FEDERATED_AUDIENCE.into());
    let token = emu.signer.sign_json(&json!({
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + request.lifetime_seconds.unwrap_or(300),
        "repository": "contoso/onboarding",
        "ref": "refs/heads/main",
    }));
    Ok(Json(json!({ "value": token, "count": 1 })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessTokenRequest {
    /// `https://graph.microsoft.com` or `https://api.partnercenter.microsoft.com` (or anything, to test refusal).
    audience: String,
    /// `true` = client credentials (app-only), `false` = the demo user (app+user).
    #[serde(default)]
    app_only: bool,
    scp: Option<String>,
    expires_in: Option<i64>,
}

/// Mints an access token directly (tests that exercise an API without going through login).
async fn access_token(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let request: AccessTokenRequest = parse_json(&body)?;
    let now = emu.clock.now().timestamp();
    let state = emu.state();
    let partner = &state.partner;
    let expires_in = request
        .expires_in
        .unwrap_or(state.settings.access_token_lifetime_seconds);
    let claims = AccessClaims {
        aud: request.audience,
        iss: format!("https://sts.windows.net/{}/", partner.tenant_id),
        iat: now,
        nbf: now,
        exp: now + expires_in,
        tid: partner.tenant_id.clone(),
        appid: partner.app_id.clone(),
        oid: if request.app_only {
            partner.app_object_id.clone()
        } else {
            partner.user_object_id.clone()
        },
        sub: partner.user_object_id.clone(),
        idtyp: if request.app_only {
            "app".into()
        } else {
            "user".into()
        },
        ver: "1.0".into(),
        uti: uuid::Uuid::new_v4().simple().to_string(),
        roles: request.app_only.then(Vec::new),
        scp: (!request.app_only).then(|| request.scp.unwrap_or_else(|| "user_impersonation".into())),
        upn: (!request.app_only).then(|| partner.user.clone()),
        name: None,
    };
    let token = emu.signer.issue(&claims);
    Ok(Json(json!({ "access_token": token, "expires_in": expires_in })).into_response())
}
