//! `/servicePrincipals`: get by id, `(appId='...')` or `$filter=appId eq`; create from an appId (first-party
//! APIs get their published scopes); the grants of one service principal.

use axum::response::{IntoResponse as _, Response};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, body_json, collection, entity, permission_grants};
use crate::directory::{MICROSOFT_TENANT_ID, ServicePrincipal};
use crate::emulator::{Emulator, State};
use crate::replication::{self, Replication};
use crate::well_known;

pub fn handle(emu: &Emulator, request: GraphRequest<'_>) -> Result<Response, GraphError> {
    let mut state = emu.state();
    let Some(key) = request.key.clone() else {
        return match *request.method {
            Method::GET => list(&mut state, &request),
            Method::POST => create(emu, &mut state, &request),
            _ => Err(GraphError::method_not_allowed()),
        };
    };
    let action = request.rest.first().map(|s| s.to_ascii_lowercase());
    match (request.method.clone(), action.as_deref()) {
        (Method::GET, None) => {
            let sp = visible(&mut state, &key, &request)?;
            Ok(entity(StatusCode::OK, "servicePrincipals/$entity", to_json(&sp)))
        }
        (Method::GET, Some("oauth2permissiongrants")) if request.rest.len() == 1 => {
            let sp = visible(&mut state, &key, &request)?;
            let now = request.now;
            let items = state
                .directory
                .oauth2_permission_grants
                .iter_mut()
                .filter(|g| g.client_id.eq_ignore_ascii_case(&sp.id))
                .filter_map(|g| {
                    replication::read_sees(&mut g.replication, now).then(|| permission_grants::to_json(g))
                })
                .collect();
            Ok(collection("oauth2PermissionGrants", items))
        }
        // azuread PATCHes a new service principal right after creating it; accept and ignore the fields.
        (Method::PATCH, None) => {
            find(&state, &key).ok_or_else(|| GraphError::not_found(key.shown()))?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Method::DELETE, None) => {
            let index = find(&state, &key).ok_or_else(|| GraphError::not_found(key.shown()))?;
            let id = state.directory.service_principals[index].id.clone();
            state.directory.delete_service_principal(&id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (_, Some(_)) => Err(GraphError::segment_not_found(&request.rest[0])),
        _ => Err(GraphError::method_not_allowed()),
    }
}

fn find(state: &State, key: &EntityKey) -> Option<usize> {
    state
        .directory
        .service_principals
        .iter()
        .position(|sp| match key {
            EntityKey::Id(id) => sp.id.eq_ignore_ascii_case(id),
            EntityKey::AppId(app_id) => sp.app_id.eq_ignore_ascii_case(app_id),
        })
}

/// The service principal as a reader sees it (404 while it is still replicating).
fn visible(
    state: &mut State,
    key: &EntityKey,
    request: &GraphRequest<'_>,
) -> Result<ServicePrincipal, GraphError> {
    let index = find(state, key).ok_or_else(|| GraphError::not_found(key.shown()))?;
    let sp = &mut state.directory.service_principals[index];
    if replication::read_sees(&mut sp.replication, request.now) {
        Ok(sp.clone())
    } else {
        Err(GraphError::not_found(key.shown()))
    }
}

fn list(state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    request
        .query
        .only(&["appId", "id", "displayName"], "ServicePrincipal")?;
    let now = request.now;
    let items = state
        .directory
        .service_principals
        .iter_mut()
        .filter(|sp| {
            request.query.matches(|p| match p {
                "appid" => Some(sp.app_id.clone()),
                "id" => Some(sp.id.clone()),
                "displayname" => Some(sp.display_name.clone()),
                _ => None,
            })
        })
        .filter_map(|sp| replication::read_sees(&mut sp.replication, now).then(|| to_json(sp)))
        .collect();
    Ok(collection("servicePrincipals", items))
}

fn create(emu: &Emulator, state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let body = body_json(request.body)?;
    let app_id = body
        .get("appId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::bad_request("Property 'appId' is required when creating a service principal.")
        })?
        .to_owned();
    if state
        .directory
        .service_principals
        .iter()
        .any(|sp| sp.app_id.eq_ignore_ascii_case(&app_id))
    {
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property servicePrincipalNames already exists.",
        ));
    }
    let first_party = well_known::first_party_apis(&emu.dev_center_scope_id)
        .into_iter()
        .find(|api| api.app_id.eq_ignore_ascii_case(&app_id));
    let (display_name, owner, scopes, canonical_app_id) = match first_party {
        Some(api) => (
            api.display_name.to_owned(),
            MICROSOFT_TENANT_ID.to_owned(),
            api.scopes,
            api.app_id.to_owned(),
        ),
        None => match state.directory.application_by_app_id(&app_id) {
            Some(app) => (
                app.display_name.clone(),
                state.partner.tenant_id.clone(),
                vec![],
                app.app_id.clone(),
            ),
            None => {
                return Err(GraphError::bad_request(format!(
                    "The appId '{app_id}' of the service principal does not reference a valid application object."
                )));
            }
        },
    };
    let sp = ServicePrincipal {
        id: uuid::Uuid::new_v4().to_string(),
        app_id: canonical_app_id,
        display_name,
        app_owner_organization_id: owner,
        oauth2_permission_scopes: scopes,
        replication: Replication::for_new_object(&state.settings, request.now),
    };
    let shown = to_json(&sp);
    state.directory.service_principals.push(sp);
    Ok(entity(StatusCode::CREATED, "servicePrincipals/$entity", shown))
}

/// Graph's servicePrincipal JSON.
pub fn to_json(sp: &ServicePrincipal) -> Value {
    json!({
        "id": sp.id,
        "deletedDateTime": null,
        "accountEnabled": true,
        "appId": sp.app_id,
        "appDisplayName": sp.display_name,
        "displayName": sp.display_name,
        "appOwnerOrganizationId": sp.app_owner_organization_id,
        "servicePrincipalType": "Application",
        "servicePrincipalNames": [sp.app_id],
        "tags": [],
        "appRoles": [],
        "oauth2PermissionScopes": sp.oauth2_permission_scopes,
    })
}
