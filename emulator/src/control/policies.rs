//! App management policies set up by tests: the tenant default (`PUT /policies/default`) and policies
//! assigned to applications (`POST /policies`). Graph serves them and addPassword obeys them; reset
//! clears them.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State as AxumState;
use axum::response::IntoResponse as _;
use axum::routing::{post, put};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::{ControlError, ControlResult, Shared, parse_json};
use crate::app_policies::{
    AppManagementConfiguration, AppManagementPolicy, DEFAULT_POLICY_ID, TenantAppManagementPolicy,
};
use crate::emulator::{Emulator, State};

pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/policies", post(create_policy))
        // POST too, for control clients that only speak GET, POST and DELETE.
        .route(
            "/policies/default",
            put(set_default_policy).post(set_default_policy),
        )
}

/// `PUT /policies/default` with a `tenantAppManagementPolicy` (absent fields take Graph's defaults:
/// disabled, no restrictions); answers the policy as Graph will serve it.
async fn set_default_policy(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let mut policy: TenantAppManagementPolicy = parse_json(&body)?;
    policy.id = DEFAULT_POLICY_ID.into();
    policy
        .application_restrictions
        .validate()
        .map_err(ControlError::bad_request)?;
    let mut state = emu.state();
    state.policies.default_policy = policy;
    Ok(Json(json!(state.policies.default_policy)).into_response())
}

/// `POST /policies` `{displayName, description?, isEnabled? (true), restrictions, appliesTo: [appId…]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewPolicy {
    display_name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "enabled")]
    is_enabled: bool,
    #[serde(default)]
    restrictions: AppManagementConfiguration,
    #[serde(default)]
    applies_to: Vec<String>,
}

fn enabled() -> bool {
    true
}

async fn create_policy(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let request: NewPolicy = parse_json(&body)?;
    request
        .restrictions
        .validate()
        .map_err(ControlError::bad_request)?;
    let mut state = emu.state();
    for app_id in &request.applies_to {
        check_assignable(&state, app_id)?;
    }
    let policy = AppManagementPolicy {
        id: uuid::Uuid::new_v4().to_string(),
        display_name: request.display_name,
        description: request.description,
        is_enabled: request.is_enabled,
        restrictions: request.restrictions,
        applies_to: request.applies_to,
    };
    let id = policy.id.clone();
    state.policies.policies.push(policy);
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// An application takes one policy: it must exist and have none yet.
fn check_assignable(state: &State, app_id: &str) -> Result<(), ControlError> {
    if state.directory.application_by_app_id(app_id).is_none() {
        return Err(ControlError::bad_request(format!(
            "appliesTo: no application with appId {app_id}"
        )));
    }
    let taken = state
        .policies
        .policies
        .iter()
        .find(|p| p.applies_to.iter().any(|a| a.eq_ignore_ascii_case(app_id)));
    match taken {
        Some(policy) => Err(ControlError::conflict(format!(
            "application {app_id} already has policy {} (an application takes one)",
            policy.id
        ))),
        None => Ok(()),
    }
}
