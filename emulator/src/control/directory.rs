//! Out-of-band directory changes: what an administrator or another tool does to the tenant behind the
//! provider's back. Each is a directory write and replicates like one made through Graph.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::response::IntoResponse as _;
use axum::routing::{delete, post};
use chrono::TimeDelta;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::{ControlError, ControlResult, Shared, parse_json, rfc3339};
use crate::directory::{
    Application, DirectoryObject, PermissionGrant, RequiredResourceAccess, ServicePrincipal,
};
use crate::emulator::{Emulator, State};

pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
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
        .route("/grants", post(create_grant))
        .route("/grants/{grant_id}", delete(delete_grant))
        .route("/grants/{grant_id}/remove-scope", post(remove_grant_scope))
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
    let mut guard = emu.state();
    let state = &mut *guard;
    let mut created = Vec::with_capacity(count);
    for i in 0..count {
        let display_name = if count == 1 {
            name.clone()
        } else {
            format!("{name} {}", i + 1)
        };
        let app = Application::new(display_name, crate::graph::graph_precision(now));
        created.push(json!({ "id": app.id, "appId": app.app_id, "displayName": app.display_name }));
        state.directory.add(app, &mut state.replicator, now);
    }
    Ok((StatusCode::CREATED, Json(json!({ "applications": created }))).into_response())
}

/// The index of the application with this App ID on the primary.
fn application_index(state: &State, app_id: &str) -> Result<usize, ControlError> {
    state
        .directory
        .applications
        .iter()
        .position(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| ControlError::not_found(format!("no application with appId {app_id}")))
}

/// The application is deleted; its service principal stays (as when someone deletes only the
/// registration's object through another tool).
async fn delete_application(AxumState(emu): Shared, Path(app_id): Path<String>) -> ControlResult {
    delete_out_of_band::<Application>(&emu, |state| application_index(state, &app_id))
}

/// Deletes the object `index_of` finds on the primary, as a write by someone else (it replicates).
fn delete_out_of_band<T: DirectoryObject>(
    emu: &Emulator,
    index_of: impl FnOnce(&State) -> Result<usize, ControlError>,
) -> ControlResult {
    let now = emu.clock.now();
    let mut guard = emu.state();
    let state = &mut *guard;
    let index = index_of(state)?;
    state.directory.remove::<T>(index, &mut state.replicator, now);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_password(
    AxumState(emu): Shared,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ControlResult {
    let now = emu.clock.now();
    let mut guard = emu.state();
    let state = &mut *guard;
    let index = application_index(state, &app_id)?;
    let app = &mut state.directory.applications[index];
    if !app.remove_password(&key_id, &mut state.replicator, now) {
        return Err(ControlError::not_found(format!(
            "application {app_id} has no key {key_id}"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The key's `endDateTime` becomes one second before now, everywhere at once (key properties have no
/// replication lag in the emulator; only keys added or removed do).
async fn expire_password(
    AxumState(emu): Shared,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ControlResult {
    let now = emu.clock.now();
    let mut state = emu.state();
    let index = application_index(&state, &app_id)?;
    let key = state.directory.applications[index]
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
    let now = emu.clock.now();
    let mut guard = emu.state();
    let state = &mut *guard;
    let index = application_index(state, &app_id)?;
    let app = &mut state.directory.applications[index];
    state.replicator.updating(app, now);
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

/// The service principal is deleted, with the grants that name it.
async fn delete_service_principal(AxumState(emu): Shared, Path(app_id): Path<String>) -> ControlResult {
    delete_out_of_band::<ServicePrincipal>(&emu, |state| {
        state
            .directory
            .service_principal_index(&app_id)
            .ok_or_else(|| ControlError::not_found(format!("no service principal for appId {app_id}")))
    })
}

/// `POST /grants` `{clientAppId, resourceAppId, scope, consentType?}`: consent given out of band, between
/// the service principals of two App IDs. `consentType` is `AllPrincipals` (default) or `Principal` (for
/// the demo user).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewGrant {
    client_app_id: String,
    resource_app_id: String,
    scope: String,
    #[serde(default)]
    consent_type: Option<String>,
}

async fn create_grant(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let request: NewGrant = parse_json(&body)?;
    let now = emu.clock.now();
    let mut guard = emu.state();
    let state = &mut *guard;
    let principal_id = |app_id: &str| {
        state
            .directory
            .service_principal_index(app_id)
            .and_then(|i| state.directory.service_principals.get(i))
            .map(|sp| sp.id.clone())
            .ok_or_else(|| ControlError::not_found(format!("no service principal for appId {app_id}")))
    };
    let client_id = principal_id(&request.client_app_id)?;
    let resource_id = principal_id(&request.resource_app_id)?;
    let consent_type = request.consent_type.unwrap_or_else(|| "AllPrincipals".into());
    let principal = match consent_type.as_str() {
        "AllPrincipals" => None,
        "Principal" => Some(state.partner.user_object_id.clone()),
        other => {
            return Err(ControlError::bad_request(format!(
                "consentType must be AllPrincipals or Principal, not {other}"
            )));
        }
    };
    let duplicate = state.directory.oauth2_permission_grants.iter().any(|g| {
        g.client_id == client_id
            && g.resource_id == resource_id
            && g.consent_type == consent_type
            && g.principal_id == principal
    });
    if duplicate {
        return Err(ControlError::conflict(
            "a grant for this client, resource and consent type already exists",
        ));
    }
    let grant = PermissionGrant {
        id: PermissionGrant::new_id(),
        client_id,
        consent_type,
        principal_id: principal,
        resource_id,
        scope: request.scope,
        replication: None,
    };
    let id = grant.id.clone();
    state.directory.add(grant, &mut state.replicator, now);
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

fn grant_index(state: &State, grant_id: &str) -> Result<usize, ControlError> {
    state
        .directory
        .oauth2_permission_grants
        .iter()
        .position(|g| g.id == grant_id)
        .ok_or_else(|| ControlError::not_found(format!("no grant {grant_id}")))
}

async fn delete_grant(AxumState(emu): Shared, Path(grant_id): Path<String>) -> ControlResult {
    delete_out_of_band::<PermissionGrant>(&emu, |state| grant_index(state, &grant_id))
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
    let now = emu.clock.now();
    let mut guard = emu.state();
    let state = &mut *guard;
    let index = grant_index(state, &grant_id)?;
    let remaining = state.directory.oauth2_permission_grants[index]
        .scope
        .split_whitespace()
        .filter(|s| *s != scope)
        .collect::<Vec<_>>()
        .join(" ");
    state
        .directory
        .set_grant_scope(index, remaining.clone(), &mut state.replicator, now);
    Ok(Json(json!({ "id": grant_id, "scope": remaining })).into_response())
}
