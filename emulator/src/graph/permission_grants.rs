//! `/oauth2PermissionGrants` (any casing): list with `$filter=clientId eq`, get (as a lagging replica may
//! answer), create (201), PATCH scope (204), DELETE (204).

use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::entity_set::{EntitySet, addressed, one, seen};
use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, body_json};
use crate::directory::PermissionGrant;
use crate::emulator::{Emulator, State};

impl EntitySet for PermissionGrant {
    const NAME: &'static str = "oauth2PermissionGrants";
    const TYPE_NAME: &'static str = "OAuth2PermissionGrant";
    const FILTERABLE: &'static [&'static str] = &["clientId", "resourceId", "consentType", "principalId"];

    fn property(&self, name: &str) -> Option<String> {
        match name {
            "clientid" => Some(self.client_id.clone()),
            "resourceid" => Some(self.resource_id.clone()),
            "consenttype" => Some(self.consent_type.clone()),
            "principalid" => self.principal_id.clone(),
            _ => None,
        }
    }

    /// Grants have no alternate key; their ids compare exactly.
    fn is(&self, key: &EntityKey) -> bool {
        matches!(key, EntityKey::Id(id) if *id == self.id)
    }

    fn to_json(&self, _: &State) -> Value {
        to_json(self)
    }

    fn create(_: &Emulator, state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
        create(state, request)
    }

    fn member(state: &mut State, key: EntityKey, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
        if let Some(segment) = request.rest.first() {
            return Err(GraphError::segment_not_found(segment));
        }
        if let EntityKey::AppId(_) = key {
            return Err(GraphError::bad_request(
                "oAuth2PermissionGrant has no appId alternate key.",
            ));
        }
        let now = request.now;
        match *request.method {
            Method::GET => {
                let grant = seen::<PermissionGrant>(state, &key, now)?;
                Ok(one(StatusCode::OK, &grant, state))
            }
            Method::PATCH => {
                let index = addressed::<PermissionGrant>(state, &key, now)?;
                let body = body_json(request.body)?;
                let scope = body.get("scope").and_then(Value::as_str).ok_or_else(|| {
                    GraphError::bad_request("Only the 'scope' property of a grant can be updated.")
                })?;
                // The new value replaces the old one.
                state
                    .directory
                    .set_grant_scope(index, scope.to_owned(), &mut state.replicator, now);
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Method::DELETE => {
                let index = addressed::<PermissionGrant>(state, &key, now)?;
                state
                    .directory
                    .remove::<PermissionGrant>(index, &mut state.replicator, now);
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            _ => Err(GraphError::method_not_allowed()),
        }
    }
}

fn text(body: &Value, name: &str) -> Result<String, GraphError> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| GraphError::bad_request(format!("Property '{name}' is required.")))
}

/// A service principal a new grant names must exist where this request lands (one created moments ago
/// is not there yet; azuread retries on exactly this message).
fn service_principal_reachable(state: &mut State, id: &str, now: DateTime<Utc>) -> Result<(), GraphError> {
    match state.replicator.for_write(
        &mut state.directory.service_principals,
        |sp| sp.id.eq_ignore_ascii_case(id),
        now,
    ) {
        Some(_) => Ok(()),
        None => Err(GraphError::bad_request(format!(
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
    service_principal_reachable(state, &client_id, request.now)?;
    service_principal_reachable(state, &resource_id, request.now)?;
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
    let grant = PermissionGrant {
        id: PermissionGrant::new_id(),
        client_id,
        consent_type,
        principal_id,
        resource_id,
        scope,
        replication: None,
    };
    let shown = one(StatusCode::CREATED, &grant, state);
    state.directory.add(grant, &mut state.replicator, request.now);
    Ok(shown)
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
