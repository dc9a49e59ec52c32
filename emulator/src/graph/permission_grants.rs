//! `/oauth2PermissionGrants` (any casing): list with `$filter=clientId eq`, get, create (201), PATCH scope
//! (204), DELETE (204).

use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use rand::RngCore as _;
use serde_json::{Value, json};

use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, body_json, collection, entity};
use crate::directory::PermissionGrant;
use crate::emulator::{Emulator, State};
use crate::replication::{self, Replication};

pub fn handle(emu: &Emulator, request: GraphRequest<'_>) -> Result<Response, GraphError> {
    let mut state = emu.state();
    let Some(key) = request.key.clone() else {
        return match *request.method {
            Method::GET => list(&mut state, &request),
            Method::POST => create(&mut state, &request),
            _ => Err(GraphError::method_not_allowed()),
        };
    };
    if let Some(segment) = request.rest.first() {
        return Err(GraphError::segment_not_found(segment));
    }
    let EntityKey::Id(id) = key else {
        return Err(GraphError::bad_request(
            "oAuth2PermissionGrant has no appId alternate key.",
        ));
    };
    let index = state
        .directory
        .oauth2_permission_grants
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    match *request.method {
        Method::GET => {
            let grant = &mut state.directory.oauth2_permission_grants[index];
            if !replication::read_sees(&mut grant.replication, request.now) {
                return Err(GraphError::not_found(&id));
            }
            Ok(entity(
                StatusCode::OK,
                "oauth2PermissionGrants/$entity",
                to_json(grant),
            ))
        }
        Method::PATCH => {
            let body = body_json(request.body)?;
            let scope = body.get("scope").and_then(Value::as_str).ok_or_else(|| {
                GraphError::bad_request("Only the 'scope' property of a grant can be updated.")
            })?;
            // The new value replaces the old one.
            state.directory.oauth2_permission_grants[index].scope = scope.to_owned();
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::DELETE => {
            state.directory.oauth2_permission_grants.remove(index);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(GraphError::method_not_allowed()),
    }
}

fn list(state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    request.query.only(
        &["clientId", "resourceId", "consentType", "principalId"],
        "OAuth2PermissionGrant",
    )?;
    let now = request.now;
    let items = state
        .directory
        .oauth2_permission_grants
        .iter_mut()
        .filter(|g| {
            request.query.matches(|p| match p {
                "clientid" => Some(g.client_id.clone()),
                "resourceid" => Some(g.resource_id.clone()),
                "consenttype" => Some(g.consent_type.clone()),
                "principalid" => g.principal_id.clone(),
                _ => None,
            })
        })
        .filter_map(|g| replication::read_sees(&mut g.replication, now).then(|| to_json(g)))
        .collect();
    Ok(collection("oauth2PermissionGrants", items))
}

fn text(body: &Value, name: &str) -> Result<String, GraphError> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| GraphError::bad_request(format!("Property '{name}' is required.")))
}

/// A service principal a new grant names must be readable (it may still be replicating).
fn service_principal_readable(
    state: &mut State,
    id: &str,
    request: &GraphRequest<'_>,
) -> Result<(), GraphError> {
    let now = request.now;
    let sp = state
        .directory
        .service_principals
        .iter_mut()
        .find(|sp| sp.id.eq_ignore_ascii_case(id));
    let seen = sp.is_some_and(|sp| replication::read_sees(&mut sp.replication, now));
    match seen {
        true => Ok(()),
        false => Err(GraphError::bad_request(format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ))),
    }
}

fn create(state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let body = body_json(request.body)?;
    let client_id = text(&body, "clientId")?;
    let resource_id = text(&body, "resourceId")?;
    let consent_type = text(&body, "consentType")?;
    let scope = body
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let principal_id = body.get("principalId").and_then(Value::as_str).map(str::to_owned);
    match consent_type.as_str() {
        "AllPrincipals" if principal_id.is_some() => {
            return Err(GraphError::bad_request(
                "principalId must be null when consentType is AllPrincipals.",
            ));
        }
        "Principal" if principal_id.is_none() => {
            return Err(GraphError::bad_request(
                "principalId is required when consentType is Principal.",
            ));
        }
        "AllPrincipals" | "Principal" => {}
        other => {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{other}' for property 'consentType'."
            )));
        }
    }
    service_principal_readable(state, &client_id, request)?;
    service_principal_readable(state, &resource_id, request)?;
    let duplicate = state.directory.oauth2_permission_grants.iter().any(|g| {
        g.client_id.eq_ignore_ascii_case(&client_id)
            && g.resource_id.eq_ignore_ascii_case(&resource_id)
            && g.consent_type == consent_type
            && g.principal_id == principal_id
    });
    if duplicate {
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        ));
    }
    // Real grant ids are 43-character base64url strings, not GUIDs.
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let grant = PermissionGrant {
        id: URL_SAFE_NO_PAD.encode(raw),
        client_id,
        consent_type,
        principal_id,
        resource_id,
        scope,
        replication: Replication::for_new_object(&state.settings, request.now),
    };
    let shown = to_json(&grant);
    state.directory.oauth2_permission_grants.push(grant);
    Ok(entity(
        StatusCode::CREATED,
        "oauth2PermissionGrants/$entity",
        shown,
    ))
}

/// Graph's oAuth2PermissionGrant JSON.
pub fn to_json(grant: &PermissionGrant) -> Value {
    json!({
        "clientId": grant.client_id,
        "consentType": grant.consent_type,
        "id": grant.id,
        "principalId": grant.principal_id,
        "resourceId": grant.resource_id,
        "scope": grant.scope,
    })
}
