//! Login helpers for tests: approve device codes, revoke refresh tokens or make the demo user's (with or
//! without MFA), make OIDC tokens for client assertions, mint access tokens directly.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State as AxumState;
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::{ControlResult, Shared, parse_json};
use crate::access_token::{AccessClaims, authentication_methods};
use crate::emulator::Emulator;
use crate::login::sessions::RefreshGrant;
use crate::login::sign_in_uses_mfa;

pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/device-codes/approve", post(approve_device_codes))
        .route("/refresh-tokens", post(new_refresh_token))
        .route("/refresh-tokens/revoke", post(revoke_refresh_tokens))
        .route("/oidc-token", post(oidc_token))
        .route("/access-token", post(access_token))
}

/// The demo user signs in for every pending code (with MFA as `sign_in_uses_mfa` decides).
async fn approve_device_codes(AxumState(emu): Shared) -> Response {
    let now = emu.clock.now();
    let mut guard = emu.state();
    let state = &mut *guard;
    let mfa = sign_in_uses_mfa(&state.settings, None);
    let mut approved = 0;
    for code in &mut state.sessions.device_codes {
        if !code.approved && !code.redeemed && now < code.expires {
            code.approved = true;
            code.mfa = mfa;
            approved += 1;
        }
    }
    Json(json!({ "approved": approved })).into_response()
}

/// `POST /refresh-tokens` `{mfa}`: a new refresh token of the demo user for the demo app, as if the user
/// had just consented, signing in with (`true`) or without a second factor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRefreshToken {
    mfa: bool,
}

async fn new_refresh_token(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let NewRefreshToken { mfa } = parse_json(&body)?;
    let now = emu.clock.now();
    let mut state = emu.state();
    let grant = RefreshGrant::for_demo_user(&state.partner, mfa, now);
    let token = format!("emu-refresh-{}", uuid::Uuid::new_v4().simple());
    state.sessions.refresh_tokens.insert(token.clone(), grant);
    Ok(Json(json!({ "refresh_token": token })).into_response())
}

async fn revoke_refresh_tokens(AxumState(emu): Shared) -> Response {
    let revoked = emu.state().sessions.revoke_all();
    Json(json!({ "revoked": revoked })).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct OidcTokenRequest {
    issuer: Option<String>,
    subject: Option<String>,
    audience: Option<String>,
    lifetime_seconds: Option<i64>,
}

/// A GitHub-Actions-like OIDC token (`{"value": jwt}`, like ACTIONS_ID_TOKEN_REQUEST_URL answers) to use as
/// a `client_assertion`; defaults match the demo app's federated credential.
async fn oidc_token(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let request: OidcTokenRequest = parse_json(&body)?;
    let now = emu.clock.now().timestamp();
    let issuer = request
        .issuer
        .unwrap_or_else(|| crate::demo::FEDERATED_ISSUER.into());
    let subject = request
        .subject
        .unwrap_or_else(|| crate::demo::FEDERATED_SUBJECT.into());
    let audience = request
        .audience
        .unwrap_or_else(|| crate::demo::FEDERATED_AUDIENCE.into());
    let token = emu.signer.sign_json(&json!({
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + request.lifetime_seconds.unwrap_or(300),
        "repository": "contoso/onboarding",
        "ref": "refs/heads/main",
    }));
    Ok(Json(json!({ "value": token, "count": 1 })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessTokenRequest {
    /// `https://graph.microsoft.com` or `https://api.partnercenter.microsoft.com` (or anything, to test refusal).
    audience: String,
    /// `true` = client credentials (app-only), `false` = the demo user (app+user).
    #[serde(default)]
    app_only: bool,
    scp: Option<String>,
    expires_in: Option<i64>,
    /// App+user only: whether the user's sign-in had a second factor (`amr`); default `true`.
    mfa: Option<bool>,
}

/// Mints an access token directly (tests that exercise an API without going through login).
async fn access_token(AxumState(emu): Shared, body: axum::body::Bytes) -> ControlResult {
    let request: AccessTokenRequest = parse_json(&body)?;
    let now = emu.clock.now().timestamp();
    let state = emu.state();
    let partner = &state.partner;
    let expires_in = request
        .expires_in
        .unwrap_or(state.settings.access_token_lifetime_seconds);
    let claims = AccessClaims {
        aud: request.audience,
        iss: format!("https://sts.windows.net/{}/", partner.tenant_id),
        iat: now,
        nbf: now,
        exp: now + expires_in,
        tid: partner.tenant_id.clone(),
        appid: partner.app_id.clone(),
        oid: if request.app_only {
            partner.app_object_id.clone()
        } else {
            partner.user_object_id.clone()
        },
        sub: partner.user_object_id.clone(),
        idtyp: if request.app_only {
            "app".into()
        } else {
            "user".into()
        },
        ver: "1.0".into(),
        uti: uuid::Uuid::new_v4().simple().to_string(),
        roles: request.app_only.then(Vec::new),
        scp: (!request.app_only).then(|| request.scp.unwrap_or_else(|| "user_impersonation".into())),
        upn: (!request.app_only).then(|| partner.user.clone()),
        name: None,
        amr: (!request.app_only).then(|| authentication_methods(request.mfa.unwrap_or(true))),
    };
    let token = emu.signer.issue(&claims);
    Ok(Json(json!({ "access_token": token, "expires_in": expires_in })).into_response())
}
