//! `/applications`: create; read by object id, `(appId='...')` or `$filter=appId eq` (as a lagging replica may
//! answer); addPassword / removePassword; PATCH of `requiredResourceAccess` (whole-list replace) and
//! `displayName`; DELETE.

use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Months, Utc};
use http::{Method, StatusCode};
use rand::Rng as _;
use serde_json::{Value, json};

use super::entity_set::{APP_OBJECT_FILTERABLE, EntitySet, addressed, app_object_property, one, seen};
use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, body_json, entity, graph_precision, graph_time};
use crate::app_policies::PasswordRefusal;
use crate::directory::{Application, PasswordCredential, RequiredResourceAccess, ServicePrincipal};
use crate::emulator::{Emulator, State};

impl EntitySet for Application {
    const NAME: &'static str = "applications";
    const TYPE_NAME: &'static str = "Application";
    const FILTERABLE: &'static [&'static str] = APP_OBJECT_FILTERABLE;

    fn property(&self, name: &str) -> Option<String> {
        app_object_property(name, &self.id, &self.app_id, &self.display_name)
    }

    fn is(&self, key: &EntityKey) -> bool {
        key.names(&self.id, &self.app_id)
    }

    fn to_json(&self, state: &State) -> Value {
        to_json(self, &state.partner.domain)
    }

    fn create(_: &Emulator, state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
        create(state, request)
    }

    fn member(state: &mut State, key: EntityKey, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
        let action = request.rest.first().map(|s| s.to_ascii_lowercase());
        match (request.method.clone(), action.as_deref(), request.rest.len()) {
            (Method::GET, None, _) => {
                let seen = seen::<Application>(state, &key, request.now)?;
                Ok(one(StatusCode::OK, &seen, state))
            }
            (Method::PATCH, None, _) => patch(state, &key, request),
            (Method::DELETE, None, _) => delete(state, &key, request.now),
            (Method::POST, Some(action @ ("addpassword" | "removepassword")), 1) => {
                let index = addressed::<Application>(state, &key, request.now)?;
                let body = body_json(request.body)?;
                if action == "addpassword" {
                    add_password(state, index, &body, request.now)
                } else {
                    remove_password(state, index, &body, request.now)
                }
            }
            (_, Some("addpassword" | "removepassword"), 1) => Err(GraphError::method_not_allowed()),
            (_, Some(segment), _) => Err(GraphError::segment_not_found(segment)),
            _ => Err(GraphError::method_not_allowed()),
        }
    }
}

/// `POST /applications` `{displayName, requiredResourceAccess?, signInAudience?}` → 201.
fn create(state: &mut State, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let body = body_json(request.body)?;
    let Value::Object(fields) = body else {
        return Err(GraphError::bad_request("The request body must be a JSON object."));
    };
    let mut display_name = None;
    let mut required = Vec::new();
    for (name, value) in fields {
        match name.as_str() {
            "displayName" => display_name = value.as_str().map(str::to_owned),
            "requiredResourceAccess" => required = required_resource_access(value)?,
            // The emulator serves one audience; the value is accepted and not kept.
            "signInAudience" => {}
            other => {
                return Err(GraphError::bad_request(format!(
                    "Property '{other}' is not supported by the emulator's POST /applications."
                )));
            }
        }
    }
    let display_name = display_name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
        GraphError::bad_request("Property 'displayName' is required when creating an application.")
    })?;
    let mut app = Application::new(display_name, graph_precision(request.now));
    app.required_resource_access = required;
    let shown = one(StatusCode::CREATED, &app, state);
    state.directory.add(app, &mut state.replicator, request.now);
    Ok(shown)
}

fn delete(state: &mut State, key: &EntityKey, now: DateTime<Utc>) -> Result<Response, GraphError> {
    let index = addressed::<Application>(state, key, now)?;
    let app_id = state.directory.applications[index].app_id.clone();
    state
        .directory
        .remove::<Application>(index, &mut state.replicator, now);
    // Deleting a registration deletes its service principal in the home tenant too.
    if let Some(sp) = state.directory.service_principal_index(&app_id) {
        state
            .directory
            .remove::<ServicePrincipal>(sp, &mut state.replicator, now);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
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

fn required_resource_access(value: Value) -> Result<Vec<RequiredResourceAccess>, GraphError> {
    serde_json::from_value(value).map_err(|e| {
        GraphError::bad_request(format!(
            "Invalid value for property 'requiredResourceAccess': {e}"
        ))
    })
}

fn patch(state: &mut State, key: &EntityKey, request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let index = addressed::<Application>(state, key, request.now)?;
    let body = body_json(request.body)?;
    let Value::Object(fields) = body else {
        return Err(GraphError::bad_request("The request body must be a JSON object."));
    };
    let mut required = None;
    let mut display_name = None;
    for (name, value) in fields {
        match name.as_str() {
            "requiredResourceAccess" => required = Some(required_resource_access(value)?),
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
    if required.is_none() && display_name.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let app = &mut state.directory.applications[index];
    state.replicator.updating(app, request.now);
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

/// `POST /applications/{id}/addPassword` to the application at `index`.
fn add_password(
    state: &mut State,
    index: usize,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Response, GraphError> {
    let credential = body.get("passwordCredential").cloned().unwrap_or(Value::Null);
    // Graph keeps what the client sent to its 100 ns tick (7 fractional digits).
    let start = parse_time(credential.get("startDateTime"), "startDateTime")?.unwrap_or(now);
    let start = graph_precision(start);
    let end = match parse_time(credential.get("endDateTime"), "endDateTime")? {
        Some(end) => graph_precision(end),
        // Graph's default lifetime is two years from the start.
        None => start.checked_add_months(Months::new(24)).unwrap_or(start),
    };
    if end <= start {
        return Err(GraphError::bad_request("Key credential end date is invalid."));
    }
    let app = &state.directory.applications[index];
    state
        .policies
        .check_new_password(app, start, end)
        .map_err(|refusal| match refusal {
            PasswordRefusal::NotAllowed { policy_id } => GraphError::credential_type_not_allowed(&policy_id),
            PasswordRefusal::LifetimeTooLong {
                policy_id,
                max_lifetime,
            } => GraphError::credential_lifetime_too_long(&policy_id, &max_lifetime),
        })?;
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
        replication: None,
    };
    let shown = password_json(&key, true);
    state.directory.applications[index].add_password(key, &mut state.replicator, now);
    Ok(entity(
        StatusCode::OK,
        "microsoft.graph.passwordCredential",
        shown,
    ))
}

/// `POST /applications/{id}/removePassword` to the application at `index`.
fn remove_password(
    state: &mut State,
    index: usize,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Response, GraphError> {
    let key_id = body
        .get("keyId")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Required parameter 'keyId' is missing."))?
        .to_owned();
    let app = &mut state.directory.applications[index];
    if !app.remove_password(&key_id, &mut state.replicator, now) {
        return Err(GraphError::bad_request(format!(
            "No password credential found with keyId '{key_id}' on application '{}'.",
            app.app_id
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
