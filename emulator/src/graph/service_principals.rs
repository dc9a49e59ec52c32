//! `/servicePrincipals`: get by id, `(appId='...')` or `$filter=appId eq` (as a lagging replica may answer);
//! create from an appId (first-party APIs get their published scopes); delete; the grants of one service
//! principal.

use axum::response::{IntoResponse as _, Response};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::entity_set::{APP_OBJECT_FILTERABLE, EntitySet, addressed, app_object_property, one, seen};
use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, body_json, collection, permission_grants};
use crate::directory::{MICROSOFT_TENANT_ID, ServicePrincipal};
use crate::emulator::{Emulator, State};
use crate::well_known;

impl EntitySet for ServicePrincipal {
    const NAME: &'static str = "servicePrincipals";
    const TYPE_NAME: &'static str = "ServicePrincipal";
    const FILTERABLE: &'static [&'static str] = APP_OBJECT_FILTERABLE;

    fn property(&self, name: &str) -> Option<String> {
        app_object_property(name, &self.id, &self.app_id, &self.display_name)
    }

    fn is(&self, key: &EntityKey) -> bool {
        key.names(&self.id, &self.app_id)
    }

    fn to_json(&self, _: &State) -> Value {
        to_json(self)
    }

    fn create(emu: &Emulator, state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
        create(emu, state, request)
    }

    fn member(state: &mut State, key: EntityKey, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
        let action = request.rest.first().map(|s| s.to_ascii_lowercase());
        match (request.method.clone(), action.as_deref()) {
            (Method::GET, None) => {
                let sp = seen::<ServicePrincipal>(state, &key, request.now)?;
                Ok(one(StatusCode::OK, &sp, state))
            }
            (Method::GET, Some("oauth2permissiongrants")) if request.rest.len() == 1 => {
                let sp = seen::<ServicePrincipal>(state, &key, request.now)?;
                grants_of(state, &sp, request)
            }
            // azuread PATCHes a new service principal right after creating it; accept and ignore the fields.
            (Method::PATCH, None) => {
                addressed::<ServicePrincipal>(state, &key, request.now)?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (Method::DELETE, None) => {
                let index = addressed::<ServicePrincipal>(state, &key, request.now)?;
                state
                    .directory
                    .remove::<ServicePrincipal>(index, &mut state.replicator, request.now);
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (_, Some(segment)) => Err(GraphError::segment_not_found(segment)),
            _ => Err(GraphError::method_not_allowed()),
        }
    }
}

/// `GET /servicePrincipals/{id}/oauth2PermissionGrants`: the grants whose client is `sp`.
fn grants_of(
    state: &mut State,
    sp: &ServicePrincipal,
    request: &GraphRequest<'_>,
) -> Result<Response, GraphError> {
    let directory = &mut state.directory;
    let grants = state.replicator.list(
        &mut directory.oauth2_permission_grants,
        &mut directory.removed_oauth2_permission_grants,
        |g| g.client_id.eq_ignore_ascii_case(&sp.id),
        request.now,
    );
    Ok(collection(
        "oauth2PermissionGrants",
        grants.iter().map(permission_grants::to_json).collect(),
    ))
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
    if state.directory.service_principal_index(&app_id).is_some() {
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
        None => {
            // The application must exist where this request lands: one created moments ago is not
            // there yet (azuread retries on exactly this message).
            let index = state
                .replicator
                .for_write(
                    &mut state.directory.applications,
                    |a| a.app_id.eq_ignore_ascii_case(&app_id),
                    request.now,
                )
                .ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "The appId '{app_id}' of the service principal does not reference a valid application object."
                    ))
                })?;
            let app = &state.directory.applications[index];
            (
                app.display_name.clone(),
                state.partner.tenant_id.clone(),
                vec![],
                app.app_id.clone(),
            )
        }
    };
    let sp = ServicePrincipal {
        id: uuid::Uuid::new_v4().to_string(),
        app_id: canonical_app_id,
        display_name,
        app_owner_organization_id: owner,
        oauth2_permission_scopes: scopes,
        replication: None,
    };
    let shown = one(StatusCode::CREATED, &sp, state);
    state.directory.add(sp, &mut state.replicator, request.now);
    Ok(shown)
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
