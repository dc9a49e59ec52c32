//! The token endpoint (`/oauth2/v2.0/token` and v1's `/oauth2/token`): client authentication, then one
//! function per grant type (client credentials, refresh token with rotation, authorization code with
//! PKCE, device code), then the answer in the version's shape.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use http::{HeaderValue, header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::client_auth::authenticate_client;
use super::error::Aadsts;
use super::sessions::RefreshGrant;
use super::targets::{Target, target_v1, target_v2};
use super::{Form, Shared, User, Version, find_app, param, parse_form, random_token, resolve_tenant};
use crate::access_token::{AccessClaims, authentication_methods};
use crate::directory::Application;
use crate::emulator::{Emulator, RequestContext, State};

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(super) const CODE_LIFETIME_SECONDS: i64 = 600;

/// `POST /{tenant}/oauth2[/v2.0]/token`.
pub(super) async fn endpoint(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    version: Version,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let now = emu.clock.now();
    match issue(&emu, &tenant, &parse_form(&body), version, now) {
        Ok(issued) => {
            let mut response = axum::Json(issued.body(version)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache"),
            );
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.render(now, &ctx),
    }
}

/// Authenticates the client, then hands the request to its grant type.
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
    let grant = Grant {
        emu,
        tenant,
        tenant_id,
        client_id,
        app,
        form,
        version,
        now,
    };
    match grant_type.as_str() {
        "client_credentials" => grant.client_credentials(&state),
        "refresh_token" => grant.refresh_token(&mut state),
        "authorization_code" => grant.authorization_code(&mut state),
        DEVICE_CODE_GRANT | "device_code" => grant.device_code(&mut state),
        other => Err(Aadsts::unsupported_grant(other)),
    }
}

/// A token request whose client is authenticated.
struct Grant<'a> {
    emu: &'a Emulator,
    /// The tenant path segment as sent.
    tenant: &'a str,
    /// The tenant it resolved to.
    tenant_id: String,
    client_id: String,
    app: Application,
    form: &'a Form,
    version: Version,
    now: DateTime<Utc>,
}

impl Grant<'_> {
    /// Client credentials: an app-only token for the one resource named.
    fn client_credentials(&self, state: &State) -> Result<Issued, Aadsts> {
        let target = match self.version {
            Version::V2 => target_v2(self.emu, state, param(self.form, "scope")?, true, self.tenant)?,
            Version::V1 => target_v1(self.emu, state, param(self.form, "resource")?, self.tenant)?,
        };
        let (access_token, lifetime) = self.mint(state, &target, None);
        Ok(Issued {
            access_token,
            lifetime,
            now: self.now,
            target,
            refresh_token: None,
            id_token: None,
            user_flow: false,
        })
    }

    /// A refresh token: unrevoked, recently used, this client's; Conditional Access may ask for the
    /// second factor the original sign-in never gave. Always answers with a new refresh token (rotation;
    /// the old one revoked when the settings say so).
    fn refresh_token(&self, state: &mut State) -> Result<Issued, Aadsts> {
        let presented = param(self.form, "refresh_token")?;
        let grant = state
            .sessions
            .refresh_tokens
            .get(presented)
            .ok_or_else(Aadsts::malformed_grant)?;
        if grant.revoked {
            return Err(Aadsts::refresh_token_revoked());
        }
        let inactive = (self.now - grant.last_used).num_seconds();
        if inactive > state.settings.refresh_token_max_inactive_seconds {
            return Err(Aadsts::refresh_token_inactive(grant.issued, inactive));
        }
        if !grant.client_id.eq_ignore_ascii_case(&self.client_id) {
            return Err(Aadsts::grant_for_other_client());
        }
        let user = User {
            upn: grant.user.clone(),
            object_id: grant.user_object_id.clone(),
            mfa: grant.mfa,
        };
        let scope = self.form.get("scope").map(String::as_str);
        let target = self.user_target(state, scope)?;
        if state.settings.ca_requires_mfa && !user.mfa {
            return Err(Aadsts::mfa_required(&target.audience));
        }
        let revoke_old = state.settings.rotate_refresh_tokens_revokes_old;
        if let Some(grant) = state.sessions.refresh_tokens.get_mut(presented) {
            grant.last_used = self.now;
            grant.revoked |= revoke_old;
        }
        Ok(self.user_tokens(state, target, &user, true, wants(scope, "openid")))
    }

    /// An authorization code: unredeemed, fresh, this client's, for this redirect URI, its PKCE
    /// challenge met.
    fn authorization_code(&self, state: &mut State) -> Result<Issued, Aadsts> {
        let code = param(self.form, "code")?;
        let entry = state
            .sessions
            .codes
            .get_mut(code)
            .ok_or_else(Aadsts::code_expired)?;
        if entry.redeemed {
            return Err(Aadsts::code_redeemed());
        }
        if (self.now - entry.issued).num_seconds() > CODE_LIFETIME_SECONDS {
            return Err(Aadsts::code_expired());
        }
        if !entry.client_id.eq_ignore_ascii_case(&self.client_id) {
            return Err(Aadsts::grant_for_other_client());
        }
        if let Some(redirect) = self.form.get("redirect_uri") {
            if redirect != &entry.redirect_uri {
                return Err(Aadsts::redirect_mismatch(redirect, &self.client_id));
            }
        }
        if let Some(challenge) = &entry.code_challenge {
            let verifier = self.form.get("code_verifier").ok_or_else(Aadsts::pkce_mismatch)?;
            if &pkce_challenge(&entry.code_challenge_method, verifier) != challenge {
                return Err(Aadsts::pkce_mismatch());
            }
        }
        entry.redeemed = true;
        let scope = self.form.get("scope").cloned().or_else(|| entry.scope.clone());
        let mfa = entry.mfa;
        let user = User::demo(state, mfa);
        let target = self.user_target(state, scope.as_deref())?;
        let v1 = self.version == Version::V1;
        let refresh = v1 || wants(scope.as_deref(), "offline_access");
        let id = v1 || wants(scope.as_deref(), "openid");
        Ok(self.user_tokens(state, target, &user, refresh, id))
    }

    /// A device code: this client's, unexpired, approved (else `authorization_pending`).
    fn device_code(&self, state: &mut State) -> Result<Issued, Aadsts> {
        let code = self
            .form
            .get("device_code")
            .or_else(|| self.form.get("code"))
            .ok_or_else(|| Aadsts::missing_parameter("device_code"))?;
        let entry = state
            .sessions
            .device_codes
            .iter_mut()
            .find(|d| &d.device_code == code)
            .ok_or_else(Aadsts::grant_for_other_client)?;
        if entry.redeemed || !entry.client_id.eq_ignore_ascii_case(&self.client_id) {
            return Err(Aadsts::grant_for_other_client());
        }
        if self.now >= entry.expires {
            return Err(Aadsts::device_code_expired());
        }
        if !entry.approved {
            return Err(Aadsts::authorization_pending());
        }
        entry.redeemed = true;
        let (scope, resource, mfa) = (entry.scope.clone(), entry.resource.clone(), entry.mfa);
        let user = User::demo(state, mfa);
        let target = match (self.version, resource) {
            (Version::V1, Some(resource)) => target_v1(self.emu, state, &resource, self.tenant)?,
            _ => self.user_target(state, scope.as_deref())?,
        };
        let refresh = self.version == Version::V1 || wants(scope.as_deref(), "offline_access");
        let id = wants(scope.as_deref(), "openid");
        Ok(self.user_tokens(state, target, &user, refresh, id))
    }

    /// The user-flow target: v2 names it with `scope`, v1 with `resource`. Without either, the Partner
    /// Center user_impersonation scope (what the seeded refresh token was consented for).
    fn user_target(&self, state: &State, scope: Option<&str>) -> Result<Target, Aadsts> {
        match self.version {
            Version::V2 => {
                let scope = scope.unwrap_or("https://api.partnercenter.microsoft.com/user_impersonation");
                target_v2(self.emu, state, scope, false, self.tenant)
            }
            Version::V1 => {
                let resource = self
                    .form
                    .get("resource")
                    .map_or(crate::demo::PARTNER_CENTER_AUDIENCE, String::as_str);
                target_v1(self.emu, state, resource, self.tenant)
            }
        }
    }

    /// The answer of a user flow: an access token for `user`, a new refresh token and an id token when
    /// asked for.
    fn user_tokens(&self, state: &mut State, target: Target, user: &User, refresh: bool, id: bool) -> Issued {
        let (access_token, lifetime) = self.mint(state, &target, Some(user));
        let refresh_token = refresh.then(|| new_refresh_token(state, &self.client_id, user, self.now));
        let id_token = id.then(|| id_token(self.emu, &self.tenant_id, &self.client_id, user, self.now));
        Issued {
            access_token,
            lifetime,
            now: self.now,
            target,
            refresh_token,
            id_token,
            user_flow: true,
        }
    }

    /// A signed access token for `target`: app-only, or for `user`.
    fn mint(&self, state: &State, target: &Target, user: Option<&User>) -> (String, i64) {
        let (app, now) = (&self.app, self.now);
        let lifetime = state.settings.access_token_lifetime_seconds;
        let app_sp = state
            .directory
            .service_principals
            .iter()
            .find(|sp| sp.app_id.eq_ignore_ascii_case(&app.app_id));
        let app_oid = app_sp.map_or_else(|| app.id.clone(), |sp| sp.id.clone());
        let mut claims = AccessClaims {
            aud: target.audience.clone(),
            iss: format!("https://sts.windows.net/{}/", self.tenant_id),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: now.timestamp() + lifetime,
            tid: self.tenant_id.clone(),
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
                claims.sub =
                    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{}{}", user.object_id, app.app_id)));
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
        (self.emu.signer.issue(&claims), lifetime)
    }
}

/// PKCE (RFC 7636): the challenge a verifier makes with `method` (`S256` or `plain`).
fn pkce_challenge(method: &str, verifier: &str) -> String {
    if method.eq_ignore_ascii_case("S256") {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    } else {
        verifier.to_owned()
    }
}

fn wants(scope: Option<&str>, name: &str) -> bool {
    scope.is_some_and(|s| s.split_whitespace().any(|v| v.eq_ignore_ascii_case(name)))
}

/// An id token for `user`, signed by the emulator.
pub(super) fn id_token(
    emu: &Emulator,
    tenant_id: &str,
    client_id: &str,
    user: &User,
    now: DateTime<Utc>,
) -> String {
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

impl Issued {
    /// The answer's body: v2 with numbers, v1 with numbers as strings and the resource; `scope` for user
    /// flows (v2 prefixes each value with the audience).
    fn body(&self, version: Version) -> Value {
        let lifetime = self.lifetime;
        let scope = self.user_flow.then(|| match version {
            Version::V1 => self.target.scopes.join(" "),
            Version::V2 => self
                .target
                .scopes
                .iter()
                .map(|s| format!("{}/{s}", self.target.audience))
                .collect::<Vec<_>>()
                .join(" "),
        });
        let mut body = match version {
            Version::V2 => json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": self.access_token,
            }),
            // v1 sends its numbers as JSON strings.
            Version::V1 => json!({
                "token_type": "Bearer",
                "expires_in": lifetime.to_string(),
                "ext_expires_in": lifetime.to_string(),
                "expires_on": (self.now.timestamp() + lifetime).to_string(),
                "not_before": self.now.timestamp().to_string(),
                "resource": self.target.audience,
                "access_token": self.access_token,
            }),
        };
        if let Some(map) = body.as_object_mut() {
            let optional = [
                ("scope", scope),
                ("refresh_token", self.refresh_token.clone()),
                ("id_token", self.id_token.clone()),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    map.insert(name.into(), Value::String(value));
                }
            }
        }
        body
    }
}
