//! `/applications`: read by object id, `(appId='...')` or `$filter=appId eq`; addPassword / removePassword;
//! PATCH of `requiredResourceAccess` (whole-list replace).

use axum::response::IntoResponse as _;
use chrono::{DateTime, Months, Utc};
use http::{Method, StatusCode};
use rand::Rng as _;
use serde_json::{Value, json};

use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, body_json, collection, entity, graph_time};
use crate::directory::{Application, PasswordCredential, RequiredResourceAccess};
use crate::emulator::{Emulator, State};
use crate::replication::Replication;

pub fn handle(emu: &Emulator, request: GraphRequest<'_>) -> Result<axum::response::Response, GraphError> {
    let mut state = emu.state();
    let Some(key) = request.key.clone() else {
        return match *request.method {
            Method::GET => list(&mut state, &request),
            _ => Err(GraphError::method_not_allowed()),
        };
    };
    let index = find(&state, &key).ok_or_else(|| GraphError::not_found(key.shown()))?;
    let action = request.rest.first().map(|s| s.to_ascii_lowercase());
    match (request.method.clone(), action.as_deref(), request.rest.len()) {
        (Method::GET, None, _) => {
            let seen = state.directory.applications[index].replica_view(request.now);
            Ok(entity(
                StatusCode::OK,
                "applications/$entity",
                to_json(&seen, &state.partner.domain),
            ))
        }
        (Method::PATCH, None, _) => patch(&mut state, index, &request),
        (Method::DELETE, None, _) => {
            let app = state.directory.applications.remove(index);
            if let Some(sp) = state
                .directory
                .service_principals
                .iter()
                .find(|sp| sp.app_id == app.app_id)
            {
                let sp_id = sp.id.clone();
                state.directory.delete_service_principal(&sp_id);
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Method::POST, Some("addpassword"), 1) => add_password(&mut state, index, &request),
        (Method::POST, Some("removepassword"), 1) => remove_password(&mut state, index, &request),
        (_, Some("addpassword" | "removepassword"), 1) => Err(GraphError::method_not_allowed()),
        (_, Some(_), _) => Err(GraphError::segment_not_found(&request.rest[0])),
        _ => Err(GraphError::method_not_allowed()),
    }
}

fn find(state: &State, key: &EntityKey) -> Option<usize> {
    state.directory.applications.iter().position(|a| match key {
        EntityKey::Id(id) => a.id.eq_ignore_ascii_case(id),
        EntityKey::AppId(app_id) => a.app_id.eq_ignore_ascii_case(app_id),
    })
}

fn list(state: &mut State, request: &GraphRequest<'_>) -> Result<axum::response::Response, GraphError> {
    request
        .query
        .only(&["appId", "id", "displayName"], "Application")?;
    let domain = state.partner.domain.clone();
    let items = state
        .directory
        .applications
        .iter_mut()
        .filter(|a| {
            request.query.matches(|p| match p {
                "appid" => Some(a.app_id.clone()),
                "id" => Some(a.id.clone()),
                "displayname" => Some(a.display_name.clone()),
                _ => None,
            })
        })
        .map(|a| to_json(&a.replica_view(request.now), &domain))
        .collect();
    Ok(collection("applications", items))
}

/// Graph's application JSON (secrets never included).
pub fn to_json(app: &Application, domain: &str) -> Value {
    json!({
        "id": app.id,
        "deletedDateTime": null,
        "appId": app.app_id,
        "displayName": app.display_name,
        "createdDateTime": graph_time(app.created_date_time),
        "signInAudience": "AzureADMultipleOrgs",
        "publisherDomain": domain,
        "identifierUris": [],
        "isFallbackPublicClient": app.is_fallback_public_client,
        "keyCredentials": [],
        "passwordCredentials": app.password_credentials.iter().map(|k| password_json(k, false)).collect::<Vec<_>>(),
        "requiredResourceAccess": app.required_resource_access,
        "api": { "oauth2PermissionScopes": [], "requestedAccessTokenVersion": null },
        "web": {
            "redirectUris": app.redirect_uris,
            "implicitGrantSettings": { "enableAccessTokenIssuance": false, "enableIdTokenIssuance": false }
        },
    })
}

fn password_json(key: &PasswordCredential, with_secret: bool) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": key.display_name,
        "endDateTime": graph_time(key.end_date_time),
        "hint": key.hint,
        "keyId": key.key_id,
        "secretText": if with_secret { Value::String(key.secret_text.clone()) } else { Value::Null },
        "startDateTime": graph_time(key.start_date_time),
    })
}

fn patch(
    state: &mut State,
    index: usize,
    request: &GraphRequest<'_>,
) -> Result<axum::response::Response, GraphError> {
    let body = body_json(request.body)?;
    let Value::Object(fields) = body else {
        return Err(GraphError::bad_request("The request body must be a JSON object."));
    };
    let mut required = None;
    let mut display_name = None;
    for (name, value) in fields {
        match name.as_str() {
            "requiredResourceAccess" => {
                let list: Vec<RequiredResourceAccess> = serde_json::from_value(value).map_err(|e| {
                    GraphError::bad_request(format!(
                        "Invalid value for property 'requiredResourceAccess': {e}"
                    ))
                })?;
                required = Some(list);
            }
            "displayName" => display_name = value.as_str().map(str::to_owned),
            "passwordCredentials" | "keyCredentials" => {
                return Err(GraphError::bad_request(
                    "Updates to credentials are not supported through PATCH; use addPassword and removePassword.",
                ));
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Property '{other}' is not supported by the emulator's PATCH /applications."
                )));
            }
        }
    }
    let app = &mut state.directory.applications[index];
    if let Some(list) = required {
        // PATCH replaces the whole collection (Graph does not merge).
        app.required_resource_access = list;
    }
    if let Some(name) = display_name {
        app.display_name = name;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn parse_time(value: Option<&Value>, field: &str) -> Result<Option<DateTime<Utc>>, GraphError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| GraphError::bad_request(format!("Invalid value '{text}' for property '{field}'."))),
        Some(other) => Err(GraphError::bad_request(format!(
            "Invalid value '{other}' for property '{field}'."
        ))),
    }
}

/// Graph's secrets look like `abc8Q~...` (40 characters); the hint is the first three.
fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const TAIL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-";
    let mut rng = rand::rng();
    let head: String = (0..3)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    let tail: String = (0..34)
        .map(|_| char::from(TAIL[rng.random_range(0..TAIL.len())]))
        .collect();
    format!("{head}8Q~{tail}")
}

fn add_password(
    state: &mut State,
    index: usize,
    request: &GraphRequest<'_>,
) -> Result<axum::response::Response, GraphError> {
    let body = body_json(request.body)?;
    let credential = body.get("passwordCredential").cloned().unwrap_or(Value::Null);
    let start = parse_time(credential.get("startDateTime"), "startDateTime")?.unwrap_or(request.now);
    let end = match parse_time(credential.get("endDateTime"), "endDateTime")? {
        Some(end) => end,
        // Graph's default lifetime is two years from the start.
        None => start.checked_add_months(Months::new(24)).unwrap_or(start),
    };
    if end <= start {
        return Err(GraphError::bad_request("Key credential end date is invalid."));
    }
    let secret = new_secret();
    let key = PasswordCredential {
        key_id: uuid::Uuid::new_v4().to_string(),
        display_name: credential
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        start_date_time: start,
        end_date_time: end,
        hint: secret.chars().take(3).collect(),
        secret_text: secret,
        replication: Replication::for_new_object(&state.settings, request.now),
    };
    let shown = password_json(&key, true);
    state.directory.applications[index].password_credentials.push(key);
    Ok(entity(
        StatusCode::OK,
        "microsoft.graph.passwordCredential",
        shown,
    ))
}

fn remove_password(
    state: &mut State,
    index: usize,
    request: &GraphRequest<'_>,
) -> Result<axum::response::Response, GraphError> {
    let body = body_json(request.body)?;
    let key_id = body
        .get("keyId")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Required parameter 'keyId' is missing."))?
        .to_owned();
    let app = &mut state.directory.applications[index];
    let before = app.password_credentials.len();
    app.password_credentials
        .retain(|k| !k.key_id.eq_ignore_ascii_case(&key_id));
    if app.password_credentials.len() == before {
        return Err(GraphError::bad_request(format!(
            "No password credential found with keyId '{key_id}' on application '{}'.",
            app.app_id
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
