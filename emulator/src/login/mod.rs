//! Entra ID (login.microsoftonline.com): v1 and v2 token endpoints, authorize and device code, per tenant path.

pub mod error;
pub mod sessions;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderValue, StatusCode, header};
use rand::{Rng as _, RngCore as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::access_token::{AccessClaims, authentication_methods, unverified_payload};
use crate::config::Settings;
use crate::directory::Application;
use crate::emulator::{Emulator, RequestContext, State};
use crate::well_known;
use error::Aadsts;
use sessions::{AuthorizationCode, DeviceCode, RefreshGrant};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// OpenID Connect scopes: they ask for an id token or refresh token, not for an API.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];
const CODE_LIFETIME_SECONDS: i64 = 600;
const DEVICE_CODE_LIFETIME_SECONDS: i64 = 900;
const VERIFICATION_URI: &str = "https://microsoft.com/devicelogin";

type Shared = AxumState<Arc<Emulator>>;
type Form = HashMap<String, String>;

/// The login routes (one port serves every tenant path).
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token_v2))
        .route("/{tenant}/oauth2/token", post(token_v1))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize_v2))
        .route("/{tenant}/oauth2/authorize", get(authorize_v1))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code_v2))
        .route("/{tenant}/oauth2/devicecode", post(device_code_v1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

fn parse_form(bytes: &[u8]) -> Form {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn param<'a>(form: &'a Form, name: &str) -> Result<&'a str, Aadsts> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Aadsts::missing_parameter(name))
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The tenant a path segment names: the partner's id or domain; `common` / `organizations` where
/// `multi_tenant` endpoints accept them (they resolve to the user's home tenant, the partner).
fn resolve_tenant(state: &State, segment: &str, multi_tenant: bool) -> Result<String, Aadsts> {
    let partner = &state.partner;
    if segment.eq_ignore_ascii_case(&partner.tenant_id)
        || segment.eq_ignore_ascii_case(&partner.domain)
        || (multi_tenant
            && (segment.eq_ignore_ascii_case("common") || segment.eq_ignore_ascii_case("organizations")))
    {
        Ok(partner.tenant_id.clone())
    } else {
        Err(Aadsts::tenant_not_found(segment))
    }
}

fn find_app(state: &State, client_id: &str, tenant: &str) -> Result<Application, Aadsts> {
    state
        .directory
        .application_by_app_id(client_id)
        .cloned()
        .ok_or_else(|| Aadsts::unknown_client(client_id, tenant))
}

/// Client authentication: a secret, a federated client assertion, or nothing for public client flows.
fn authenticate_client(
    app: &Application,
    form: &Form,
    now: DateTime<Utc>,
    required: bool,
) -> Result<(), Aadsts> {
    if let Some(secret) = form.get("client_secret").filter(|s| !s.is_empty()) {
        let key = app.password_credentials.iter().find(|k| &k.secret_text == secret);
        return match key {
            None => Err(Aadsts::invalid_secret(&app.app_id)),
            Some(k) if now >= k.end_date_time => Err(Aadsts::expired_secret(&app.app_id)),
            Some(k) if now < k.start_date_time => Err(Aadsts::invalid_secret(&app.app_id)),
            Some(_) => Ok(()),
        };
    }
    if let Some(assertion) = form.get("client_assertion").filter(|s| !s.is_empty()) {
        if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
            return Err(Aadsts::missing_parameter("client_assertion_type"));
        }
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
        let matched = app.federated_identity_credentials.iter().any(|fic| {
            fic.issuer == iss && fic.subject == sub && fic.audiences.iter().any(|a| auds.contains(a))
        });
        return if matched {
            Ok(())
        } else {
            Err(Aadsts::no_federated_match())
        };
    }
    if required || !app.is_fallback_public_client {
        Err(Aadsts::credential_required())
    } else {
        Ok(())
    }
}

/// What a token is for: its audience and the delegated scope values it carries.
#[derive(Debug, Clone)]
struct Target {
    audience: String,
    api_app_id: String,
    scopes: Vec<String>,
}

/// Looks a resource identifier up among the first-party APIs and the tenant's own apps.
fn find_resource(emu: &Emulator, state: &State, resource: &str) -> Option<(String, Vec<String>)> {
    let wanted = resource.trim_end_matches('/');
    if let Some(key_vault) = crate::key_vault::login_resource(wanted) {
        return Some(key_vault);
    }
    for api in well_known::first_party_apis(&emu.dev_center_scope_id) {
        let named = api.app_id.eq_ignore_ascii_case(wanted)
            || api
                .identifier_uris
                .iter()
                .any(|uri| uri.trim_end_matches('/').eq_ignore_ascii_case(wanted));
        if named {
            return Some((
                api.app_id.to_owned(),
                api.scopes.into_iter().map(|s| s.value).collect(),
            ));
        }
    }
    state
        .directory
        .applications
        .iter()
        .find(|a| {
            a.app_id.eq_ignore_ascii_case(wanted)
                || format!("api://{}", a.app_id).eq_ignore_ascii_case(wanted)
        })
        .map(|a| (a.app_id.clone(), vec![]))
}

fn target_v1(emu: &Emulator, state: &State, resource: &str, tenant: &str) -> Result<Target, Aadsts> {
    let (api_app_id, published) =
        find_resource(emu, state, resource).ok_or_else(|| Aadsts::resource_not_found(resource, tenant))?;
    // v1 tokens carry every consented scope of the resource.
    Ok(Target {
        audience: resource.trim_end_matches('/').to_owned(),
        api_app_id,
        scopes: published,
    })
}

fn target_v2(
    emu: &Emulator,
    state: &State,
    scope: &str,
    client_credentials: bool,
    tenant: &str,
) -> Result<Target, Aadsts> {
    let api_scopes: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)))
        .collect();
    if client_credentials {
        let [only] = api_scopes.as_slice() else {
            return Err(Aadsts::default_scope_required(scope));
        };
        let Some(resource) = only.strip_suffix("/.default") else {
            return Err(Aadsts::default_scope_required(scope));
        };
        let (api_app_id, _) = find_resource(emu, state, resource)
            .ok_or_else(|| Aadsts::resource_not_found(resource, tenant))?;
        return Ok(Target {
            audience: resource.trim_end_matches('/').to_owned(),
            api_app_id,
            scopes: vec![],
        });
    }
    let mut resource: Option<String> = None;
    let mut values = Vec::new();
    for s in &api_scopes {
        // A bare scope value ("User.Read") means Microsoft Graph.
        let (res, value) = match s.rsplit_once('/') {
            Some((res, value)) if s.contains("://") || res.len() == 36 => (res.to_owned(), value.to_owned()),
            _ => (crate::demo::GRAPH_AUDIENCE.to_owned(), (*s).to_owned()),
        };
        match &resource {
            Some(r)
                if !r
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(res.trim_end_matches('/')) =>
            {
                return Err(Aadsts::several_resources());
            }
            _ => resource = Some(res),
        }
        values.push(value);
    }
    let resource = resource.unwrap_or_else(|| crate::demo::GRAPH_AUDIENCE.to_owned());
    if values.is_empty() {
        values.push("User.Read".into());
    }
    let (api_app_id, published) =
        find_resource(emu, state, &resource).ok_or_else(|| Aadsts::resource_not_found(&resource, tenant))?;
    let scopes = if values.iter().any(|v| v == ".default") {
        published
    } else {
        if !published.is_empty() {
            if let Some(unknown) = values
                .iter()
                .find(|v| !published.iter().any(|p| p.eq_ignore_ascii_case(v)))
            {
                return Err(Aadsts::invalid_scope(&format!("{resource}/{unknown}")));
            }
        }
        values
    };
    Ok(Target {
        audience: resource.trim_end_matches('/').to_owned(),
        api_app_id,
        scopes,
    })
}

/// The signed-in user of an app+user token, and whether that sign-in had a second factor (every token
/// minted from it, through refresh tokens too, inherits that).
struct User {
    upn: String,
    object_id: String,
    mfa: bool,
}

/// A token response in the making.
struct Issued {
    access_token: String,
    lifetime: i64,
    now: DateTime<Utc>,
    target: Target,
    refresh_token: Option<String>,
    id_token: Option<String>,
    user_flow: bool,
}

fn mint(
    emu: &Emulator,
    state: &State,
    tenant_id: &str,
    app: &Application,
    target: &Target,
    user: Option<&User>,
    now: DateTime<Utc>,
) -> (String, i64) {
    let lifetime = state.settings.access_token_lifetime_seconds;
    let app_sp = state
        .directory
        .service_principals
        .iter()
        .find(|sp| sp.app_id.eq_ignore_ascii_case(&app.app_id));
    let app_oid = app_sp.map_or_else(|| app.id.clone(), |sp| sp.id.clone());
    let mut claims = AccessClaims {
        aud: target.audience.clone(),
        iss: format!("https://sts.windows.net/{tenant_id}/"),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: now.timestamp() + lifetime,
        tid: tenant_id.to_owned(),
        appid: app.app_id.clone(),
        oid: app_oid.clone(),
        sub: app_oid,
        idtyp: "app".into(),
        ver: "1.0".into(),
        uti: random_token(16),
        roles: None,
        scp: None,
        upn: None,
        name: None,
        amr: None,
    };
    match user {
        Some(user) => {
            claims.idtyp = "user".into();
            claims.oid = user.object_id.clone();
            claims.sub = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{}{}", user.object_id, app.app_id)));
            claims.scp = Some(target.scopes.join(" "));
            claims.upn = Some(user.upn.clone());
            claims.name = Some(crate::demo::USER_DISPLAY_NAME.into());
            claims.amr = Some(authentication_methods(user.mfa));
        }
        None if target.api_app_id == crate::demo::MICROSOFT_GRAPH_APP_ID => {
            // The application permissions a Partner Center web app is usually granted on Graph.
            claims.roles = Some(vec![
                "Application.ReadWrite.All".into(),
                "DelegatedPermissionGrant.ReadWrite.All".into(),
            ]);
        }
        None => {}
    }
    (emu.signer.issue(&claims), lifetime)
}

fn id_token(emu: &Emulator, tenant_id: &str, client_id: &str, user: &User, now: DateTime<Utc>) -> String {
    emu.signer.sign_json(&json!({
        "aud": client_id,
        "iss": format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        "iat": now.timestamp(),
        "nbf": now.timestamp(),
        "exp": now.timestamp() + 3600,
        "name": crate::demo::USER_DISPLAY_NAME,
        "oid": user.object_id,
        "preferred_username": user.upn,
        "sub": user.object_id,
        "tid": tenant_id,
        "ver": "2.0",
    }))
}

fn new_refresh_token(state: &mut State, client_id: &str, user: &User, now: DateTime<Utc>) -> String {
    let token = format!("emu-refresh-{}", random_token(32));
    state.sessions.refresh_tokens.insert(
        token.clone(),
        RefreshGrant {
            client_id: client_id.to_owned(),
            user: user.upn.clone(),
            user_object_id: user.object_id.clone(),
            mfa: user.mfa,
            issued: now,
            last_used: now,
            revoked: false,
        },
    );
    token
}

async fn token_v2(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    token(&emu, &ctx, &tenant, &parse_form(&body), Version::V2)
}

async fn token_v1(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    token(&emu, &ctx, &tenant, &parse_form(&body), Version::V1)
}

fn token(emu: &Emulator, ctx: &RequestContext, tenant: &str, form: &Form, version: Version) -> Response {
    let now = emu.clock.now();
    match issue(emu, tenant, form, version, now) {
        Ok(issued) => {
            let mut response = axum::Json(token_response(&issued, version)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache"),
            );
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.render(now, ctx),
    }
}

fn token_response(issued: &Issued, version: Version) -> Value {
    let lifetime = issued.lifetime;
    let scope = issued.user_flow.then(|| match version {
        Version::V1 => issued.target.scopes.join(" "),
        Version::V2 => issued
            .target
            .scopes
            .iter()
            .map(|s| format!("{}/{s}", issued.target.audience))
            .collect::<Vec<_>>()
            .join(" "),
    });
    let mut body = match version {
        Version::V2 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": issued.access_token,
        }),
        // v1 sends its numbers as JSON strings.
        Version::V1 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime.to_string(),
            "ext_expires_in": lifetime.to_string(),
            "expires_on": (issued.now.timestamp() + lifetime).to_string(),
            "not_before": issued.now.timestamp().to_string(),
            "resource": issued.target.audience,
            "access_token": issued.access_token,
        }),
    };
    if let Some(map) = body.as_object_mut() {
        if let Some(scope) = scope {
            map.insert("scope".into(), Value::String(scope));
        }
        if let Some(rt) = &issued.refresh_token {
            map.insert("refresh_token".into(), Value::String(rt.clone()));
        }
        if let Some(id) = &issued.id_token {
            map.insert("id_token".into(), Value::String(id.clone()));
        }
    }
    body
}

fn wants(scope: Option<&str>, name: &str) -> bool {
    scope.is_some_and(|s| s.split_whitespace().any(|v| v.eq_ignore_ascii_case(name)))
}

fn issue(
    emu: &Emulator,
    tenant: &str,
    form: &Form,
    version: Version,
    now: DateTime<Utc>,
) -> Result<Issued, Aadsts> {
    let mut state = emu.state();
    let grant_type = param(form, "grant_type")?.to_owned();
    let client_credentials = grant_type == "client_credentials";
    let tenant_id = resolve_tenant(&state, tenant, !client_credentials)?;
    let client_id = param(form, "client_id")?.to_owned();
    let app = find_app(&state, &client_id, tenant)?;
    authenticate_client(&app, form, now, client_credentials)?;
    let demo_user = |state: &State, mfa: bool| User {
        upn: state.partner.user.clone(),
        object_id: state.partner.user_object_id.clone(),
        mfa,
    };

    // The user-flow target: v2 names it with `scope`, v1 with `resource`. Without either, the Partner
    // Center user_impersonation scope (what the seeded refresh token was consented for).
    let user_target = |state: &State, scope: Option<&str>| -> Result<Target, Aadsts> {
        match version {
            Version::V2 => match scope {
                Some(scope) => target_v2(emu, state, scope, false, tenant),
                None => target_v2(
                    emu,
                    state,
                    "https://api.partnercenter.microsoft.com/user_impersonation",
                    false,
                    tenant,
                ),
            },
            Version::V1 => {
                let resource = form
                    .get("resource")
                    .map_or(crate::demo::PARTNER_CENTER_AUDIENCE, String::as_str);
                target_v1(emu, state, resource, tenant)
            }
        }
    };

    match grant_type.as_str() {
        "client_credentials" => {
            let target = match version {
                Version::V2 => target_v2(emu, &state, param(form, "scope")?, true, tenant)?,
                Version::V1 => target_v1(emu, &state, param(form, "resource")?, tenant)?,
            };
            let (access_token, lifetime) = mint(emu, &state, &tenant_id, &app, &target, None, now);
            Ok(Issued {
                access_token,
                lifetime,
                now,
                target,
                refresh_token: None,
                id_token: None,
                user_flow: false,
            })
        }
        "refresh_token" => {
            let presented = param(form, "refresh_token")?.to_owned();
            let max_inactive = state.settings.refresh_token_max_inactive_seconds;
            let revoke_old = state.settings.rotate_refresh_tokens_revokes_old;
            let ca_requires_mfa = state.settings.ca_requires_mfa;
            let grant = state
                .sessions
                .refresh_tokens
                .get(&presented)
                .ok_or_else(Aadsts::malformed_grant)?;
            if grant.revoked {
                return Err(Aadsts::refresh_token_revoked());
            }
            let inactive = (now - grant.last_used).num_seconds();
            if inactive > max_inactive {
                return Err(Aadsts::refresh_token_inactive(grant.issued, inactive));
            }
            if !grant.client_id.eq_ignore_ascii_case(&client_id) {
                return Err(Aadsts::grant_for_other_client());
            }
            let user = User {
                upn: grant.user.clone(),
                object_id: grant.user_object_id.clone(),
                mfa: grant.mfa,
            };
            let target = user_target(&state, form.get("scope").map(String::as_str))?;
            // Conditional Access asks for the second factor the original sign-in never gave.
            if ca_requires_mfa && !user.mfa {
                return Err(Aadsts::mfa_required(&target.audience));
            }
            if let Some(grant) = state.sessions.refresh_tokens.get_mut(&presented) {
                grant.last_used = now;
                grant.revoked |= revoke_old;
            }
            let (access_token, lifetime) = mint(emu, &state, &tenant_id, &app, &target, Some(&user), now);
            let refresh_token = Some(new_refresh_token(&mut state, &client_id, &user, now));
            let id_token = wants(form.get("scope").map(String::as_str), "openid")
                .then(|| id_token(emu, &tenant_id, &client_id, &user, now));
            Ok(Issued {
                access_token,
                lifetime,
                now,
                target,
                refresh_token,
                id_token,
                user_flow: true,
            })
        }
        "authorization_code" => {
            let code = param(form, "code")?;
            let entry = state
                .sessions
                .codes
                .get_mut(code)
                .ok_or_else(Aadsts::code_expired)?;
            if entry.redeemed {
                return Err(Aadsts::code_redeemed());
            }
            if (now - entry.issued).num_seconds() > CODE_LIFETIME_SECONDS {
                return Err(Aadsts::code_expired());
            }
            if !entry.client_id.eq_ignore_ascii_case(&client_id) {
                return Err(Aadsts::grant_for_other_client());
            }
            if let Some(redirect) = form.get("redirect_uri") {
                if redirect != &entry.redirect_uri {
                    return Err(Aadsts::redirect_mismatch(redirect, &client_id));
                }
            }
            if let Some(challenge) = &entry.code_challenge {
                let verifier = form.get("code_verifier").ok_or_else(Aadsts::pkce_mismatch)?;
                let computed = if entry.code_challenge_method.eq_ignore_ascii_case("S256") {
                    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
                } else {
                    verifier.clone()
                };
                if &computed != challenge {
                    return Err(Aadsts::pkce_mismatch());
                }
            }
            entry.redeemed = true;
            let scope = form.get("scope").cloned().or_else(|| entry.scope.clone());
            let mfa = entry.mfa;
            let user = demo_user(&state, mfa);
            let target = user_target(&state, scope.as_deref())?;
            let (access_token, lifetime) = mint(emu, &state, &tenant_id, &app, &target, Some(&user), now);
            let refresh_token = (version == Version::V1 || wants(scope.as_deref(), "offline_access"))
                .then(|| new_refresh_token(&mut state, &client_id, &user, now));
            let id_token = (version == Version::V1 || wants(scope.as_deref(), "openid"))
                .then(|| id_token(emu, &tenant_id, &client_id, &user, now));
            Ok(Issued {
                access_token,
                lifetime,
                now,
                target,
                refresh_token,
                id_token,
                user_flow: true,
            })
        }
        DEVICE_CODE_GRANT | "device_code" => {
            let code = form
                .get("device_code")
                .or_else(|| form.get("code"))
                .ok_or_else(|| Aadsts::missing_parameter("device_code"))?;
            let entry = state
                .sessions
                .device_codes
                .iter_mut()
                .find(|d| &d.device_code == code)
                .ok_or_else(Aadsts::grant_for_other_client)?;
            if entry.redeemed || !entry.client_id.eq_ignore_ascii_case(&client_id) {
                return Err(Aadsts::grant_for_other_client());
            }
            if now >= entry.expires {
                return Err(Aadsts::device_code_expired());
            }
            if !entry.approved {
                return Err(Aadsts::authorization_pending());
            }
            entry.redeemed = true;
            let scope = entry.scope.clone();
            let resource = entry.resource.clone();
            let mfa = entry.mfa;
            let user = demo_user(&state, mfa);
            let target = match (version, resource) {
                (Version::V1, Some(resource)) => target_v1(emu, &state, &resource, tenant)?,
                _ => user_target(&state, scope.as_deref())?,
            };
            let (access_token, lifetime) = mint(emu, &state, &tenant_id, &app, &target, Some(&user), now);
            let refresh_token = (version == Version::V1 || wants(scope.as_deref(), "offline_access"))
                .then(|| new_refresh_token(&mut state, &client_id, &user, now));
            let id_token =
                wants(scope.as_deref(), "openid").then(|| id_token(emu, &tenant_id, &client_id, &user, now));
            Ok(Issued {
                access_token,
                lifetime,
                now,
                target,
                refresh_token,
                id_token,
                user_flow: true,
            })
        }
        other => Err(Aadsts::unsupported_grant(other)),
    }
}

/// Whether an interactive sign-in performs a second factor: asked for with `amr_values=mfa`, required by
/// Conditional Access, or what the tenant's users do anyway (`sign_ins_use_mfa`).
pub fn sign_in_uses_mfa(settings: &Settings, amr_values: Option<&str>) -> bool {
    let asked = amr_values.is_some_and(|v| v.split([' ', ',']).any(|m| m.eq_ignore_ascii_case("mfa")));
    asked || settings.ca_requires_mfa || settings.sign_ins_use_mfa
}

/// Entra accepts any port on a loopback redirect URI (RFC 8252 native apps).
fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    })
}

async fn authorize_v2(
    state: Shared,
    ctx: Extension<RequestContext>,
    tenant: Path<String>,
    query: RawQuery,
) -> Response {
    authorize(state, ctx, tenant, query, Version::V2)
}

async fn authorize_v1(
    state: Shared,
    ctx: Extension<RequestContext>,
    tenant: Path<String>,
    query: RawQuery,
) -> Response {
    authorize(state, ctx, tenant, query, Version::V1)
}

/// Signs the demo user in without a page and sends the browser back with `code` and `state`.
fn authorize(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    version: Version,
) -> Response {
    let now = emu.clock.now();
    let params = parse_form(query.unwrap_or_default().as_bytes());
    match authorize_inner(&emu, &tenant, &params, version, now) {
        Ok(response) => response,
        Err(error) => error.render(now, &ctx),
    }
}

fn authorize_inner(
    emu: &Emulator,
    tenant: &str,
    params: &Form,
    version: Version,
    now: DateTime<Utc>,
) -> Result<Response, Aadsts> {
    let mut state = emu.state();
    let tenant_id = resolve_tenant(&state, tenant, true)?;
    let client_id = param(params, "client_id")?.to_owned();
    let app = find_app(&state, &client_id, tenant)?;
    let response_type = param(params, "response_type")?;
    if !response_type.split_whitespace().any(|t| t == "code") {
        return Err(Aadsts::new(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            70005,
            "The provided value for the input parameter 'response_type' is not allowed for this request.",
        ));
    }
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri.clone(),
        None => app.redirect_uris.first().cloned().unwrap_or_default(),
    };
    if !is_loopback_redirect(&redirect_uri) && !app.redirect_uris.iter().any(|r| r == &redirect_uri) {
        return Err(Aadsts::redirect_mismatch(&redirect_uri, &client_id));
    }
    let method = params
        .get("code_challenge_method")
        .cloned()
        .unwrap_or_else(|| "plain".into());
    if !method.eq_ignore_ascii_case("S256") && !method.eq_ignore_ascii_case("plain") {
        return Err(Aadsts::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter or unsupported Code_Challenge_Method.",
        ));
    }
    let code = format!("0.AQ{}", random_token(48));
    let mfa = sign_in_uses_mfa(&state.settings, params.get("amr_values").map(String::as_str));
    let scope = match version {
        Version::V2 => params.get("scope").cloned(),
        Version::V1 => None,
    };
    state.sessions.codes.insert(
        code.clone(),
        AuthorizationCode {
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            scope,
            code_challenge: params.get("code_challenge").cloned(),
            code_challenge_method: method,
            issued: now,
            redeemed: false,
            mfa,
        },
    );
    let user = User {
        upn: state.partner.user.clone(),
        object_id: state.partner.user_object_id.clone(),
        mfa,
    };
    drop(state);
    let mut reply: Vec<(&str, String)> = vec![("code", code)];
    if response_type.split_whitespace().any(|t| t == "id_token") {
        reply.push(("id_token", id_token(emu, &tenant_id, &client_id, &user, now)));
    }
    if let Some(s) = params.get("state") {
        reply.push(("state", s.clone()));
    }
    reply.push(("session_state", uuid::Uuid::new_v4().to_string()));

    if params.get("response_mode").is_some_and(|m| m == "form_post") {
        let inputs: String = reply
            .iter()
            .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}"/>"#, html_escape(v)))
            .collect();
        let page = format!(
            r#"<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="{}">{inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"/></noscript></form><script language="javascript">document.forms[0].submit();</script></body></html>"#,
            html_escape(&redirect_uri)
        );
        return Ok(Html(page).into_response());
    }
    let mut location =
        url::Url::parse(&redirect_uri).map_err(|_| Aadsts::redirect_mismatch(&redirect_uri, &client_id))?;
    {
        let mut pairs = location.query_pairs_mut();
        for (k, v) in &reply {
            pairs.append_pair(k, v);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn device_code_v2(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    device_code(&emu, &ctx, &tenant, &parse_form(&body), Version::V2)
}

async fn device_code_v1(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    device_code(&emu, &ctx, &tenant, &parse_form(&body), Version::V1)
}

fn device_code(
    emu: &Emulator,
    ctx: &RequestContext,
    tenant: &str,
    form: &Form,
    version: Version,
) -> Response {
    let now = emu.clock.now();
    let started = (|| -> Result<DeviceCode, Aadsts> {
        let mut state = emu.state();
        resolve_tenant(&state, tenant, true)?;
        let client_id = param(form, "client_id")?.to_owned();
        find_app(&state, &client_id, tenant)?;
        const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::rng();
        let user_code: String = (0..9)
            .map(|_| char::from(LETTERS[rng.random_range(0..LETTERS.len())]))
            .collect();
        let entry = DeviceCode {
            device_code: format!("DAQABAAEAAA{}", random_token(48)),
            user_code,
            client_id,
            scope: form.get("scope").cloned(),
            resource: form.get("resource").cloned(),
            expires: now + TimeDelta::seconds(DEVICE_CODE_LIFETIME_SECONDS),
            approved: false,
            redeemed: false,
            mfa: false,
        };
        state.sessions.device_codes.push(entry.clone());
        Ok(entry)
    })();
    let entry = match started {
        Ok(entry) => entry,
        Err(error) => return error.render(now, ctx),
    };
    let message = format!(
        "To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the code {} to authenticate.",
        entry.user_code
    );
    let body = match version {
        Version::V2 => json!({
            "user_code": entry.user_code,
            "device_code": entry.device_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": DEVICE_CODE_LIFETIME_SECONDS,
            "interval": 5,
            "message": message,
        }),
        Version::V1 => json!({
            "user_code": entry.user_code,
            "device_code": entry.device_code,
            "verification_url": VERIFICATION_URI,
            "expires_in": DEVICE_CODE_LIFETIME_SECONDS.to_string(),
            "interval": "5",
            "message": message,
        }),
    };
    axum::Json(body).into_response()
}
