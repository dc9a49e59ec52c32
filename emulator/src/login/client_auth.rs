//! Client authentication at the token endpoint: a client secret, a federated client assertion (workload
//! identity federation), or nothing for public client flows.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::Value;

use super::Form;
use super::error::Aadsts;
use crate::access_token::unverified_payload;
use crate::directory::Application;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Checks how `app` authenticates; `required` for grants that have no user (client credentials).
pub(super) fn authenticate_client(
    app: &Application,
    form: &Form,
    now: DateTime<Utc>,
    required: bool,
) -> Result<(), Aadsts> {
    if let Some(secret) = form.get("client_secret").filter(|s| !s.is_empty()) {
        return check_secret(app, secret, now);
    }
    if let Some(assertion) = form.get("client_assertion").filter(|s| !s.is_empty()) {
        if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
            return Err(Aadsts::missing_parameter("client_assertion_type"));
        }
        return check_assertion(app, assertion, now);
    }
    if required || !app.is_fallback_public_client {
        Err(Aadsts::credential_required())
    } else {
        Ok(())
    }
}

/// A secret must be one of the app's keys, inside its validity.
fn check_secret(app: &Application, secret: &str, now: DateTime<Utc>) -> Result<(), Aadsts> {
    let key = app.password_credentials.iter().find(|k| k.secret_text == secret);
    match key {
        None => Err(Aadsts::invalid_secret(&app.app_id)),
        Some(k) if now >= k.end_date_time => Err(Aadsts::expired_secret(&app.app_id)),
        Some(k) if now < k.start_date_time => Err(Aadsts::invalid_secret(&app.app_id)),
        Some(_) => Ok(()),
    }
}

/// A federated assertion must be current (five minutes of skew for `nbf`) and match one of the app's
/// federated credentials by issuer, subject and an audience. Its signature is not checked.
fn check_assertion(app: &Application, assertion: &str, now: DateTime<Utc>) -> Result<(), Aadsts> {
    let Some(claims) = unverified_payload(assertion) else {
        return Err(Aadsts::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ));
    };
    let now_ts = now.timestamp();
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(i64::MIN);
    if now_ts >= exp || nbf > now_ts + 300 {
        return Err(Aadsts::assertion_out_of_time());
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (iss, sub) = (text("iss"), text("sub"));
    let auds: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![],
    };
    let matched = app
        .federated_identity_credentials
        .iter()
        .any(|fic| fic.issuer == iss && fic.subject == sub && fic.audiences.iter().any(|a| auds.contains(a)));
    if matched {
        Ok(())
    } else {
        Err(Aadsts::no_federated_match())
    }
}
