//! `/policies/defaultAppManagementPolicy`, `/policies/appManagementPolicies[/{id}[/appliesTo]]`: the app
//! management policies a client reads to learn whether (and for how long) it may add a password.

use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::error::GraphError;
use super::odata::EntityKey;
use super::{GraphRequest, collection, entity};
use crate::app_policies::AppManagementPolicy;
use crate::emulator::{Emulator, State};

pub fn handle(emu: &Emulator, request: GraphRequest<'_>) -> Result<Response, GraphError> {
    if *request.method != Method::GET {
        return Err(GraphError::method_not_allowed());
    }
    let Some(EntityKey::Id(name)) = request.key.clone() else {
        return Err(GraphError::segment_not_found("policies"));
    };
    let state = emu.state();
    let rest: Vec<String> = request.rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (name.to_ascii_lowercase().as_str(), rest.as_slice()) {
        ("defaultappmanagementpolicy", []) => Ok(entity(
            StatusCode::OK,
            "policies/defaultAppManagementPolicy/$entity",
            json!(state.policies.default_policy),
        )),
        ("appmanagementpolicies", []) => Ok(collection(
            "policies/appManagementPolicies",
            state.policies.policies.iter().map(policy_json).collect(),
        )),
        ("appmanagementpolicies", [_]) => {
            let policy = found(&state, &request.rest[0])?;
            Ok(entity(
                StatusCode::OK,
                "policies/appManagementPolicies/$entity",
                policy_json(policy),
            ))
        }
        ("appmanagementpolicies", [_, "appliesto"]) => {
            let policy = found(&state, &request.rest[0])?;
            Ok(collection("directoryObjects", applies_to(&state, policy)))
        }
        ("defaultappmanagementpolicy" | "appmanagementpolicies", [.., segment]) => {
            Err(GraphError::segment_not_found(segment))
        }
        _ => Err(GraphError::segment_not_found(&name)),
    }
}

fn found<'a>(state: &'a State, id: &str) -> Result<&'a AppManagementPolicy, GraphError> {
    state.policies.policy(id).ok_or_else(|| GraphError::not_found(id))
}

/// Graph's appManagementPolicy JSON (`restrictions`, not `applicationRestrictions` as on the default).
fn policy_json(policy: &AppManagementPolicy) -> Value {
    json!({
        "id": policy.id,
        "displayName": policy.display_name,
        "description": policy.description,
        "isEnabled": policy.is_enabled,
        "restrictions": policy.restrictions,
    })
}

/// The applications the policy is assigned to, as directory objects (those deleted since are left out).
fn applies_to(state: &State, policy: &AppManagementPolicy) -> Vec<Value> {
    policy
        .applies_to
        .iter()
        .filter_map(|app_id| state.directory.application_by_app_id(app_id))
        .map(|app| {
            json!({
                "@odata.type": "#microsoft.graph.application",
                "id": app.id,
                "appId": app.app_id,
                "displayName": app.display_name,
            })
        })
        .collect()
}
