//! Entra ID (login.microsoftonline.com): v1 and v2 token endpoints, authorize and device code, per tenant path.
//! One handler per endpoint serves both versions ([`Version`] is read from the path); what differs between
//! them is in the answers.

mod authorize;
mod client_auth;
mod device_code;
pub mod error;
pub mod sessions;
mod targets;
mod token;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State as AxumState};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use rand::RngCore as _;

use crate::config::Settings;
use crate::directory::Application;
use crate::emulator::{Emulator, State};
use error::Aadsts;

type Shared = AxumState<Arc<Emulator>>;
type Form = HashMap<String, String>;

/// The login routes (one port serves every tenant path).
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::endpoint))
        .route("/{tenant}/oauth2/token", post(token::endpoint))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::endpoint))
        .route("/{tenant}/oauth2/authorize", get(authorize::endpoint))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code::endpoint))
        .route("/{tenant}/oauth2/devicecode", post(device_code::endpoint))
}

/// Which generation of the endpoints a request came to: `/oauth2/v2.0/...` or the v1 `/oauth2/...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl<S: Send + Sync> FromRequestParts<S> for Version {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(if parts.uri.path().contains("/oauth2/v2.0/") {
            Version::V2
        } else {
            Version::V1
        })
    }
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

/// The signed-in user of an app+user token, and whether that sign-in had a second factor (every token
/// minted from it, through refresh tokens too, inherits that).
struct User {
    upn: String,
    object_id: String,
    mfa: bool,
}

impl User {
    /// The seeded partner user, as an interactive sign-in (with or without a second factor) makes them.
    fn demo(state: &State, mfa: bool) -> Self {
        Self {
            upn: state.partner.user.clone(),
            object_id: state.partner.user_object_id.clone(),
            mfa,
        }
    }
}

/// Whether an interactive sign-in performs a second factor: asked for with `amr_values=mfa`, required by
/// Conditional Access, or what the tenant's users do anyway (`sign_ins_use_mfa`).
pub fn sign_in_uses_mfa(settings: &Settings, amr_values: Option<&str>) -> bool {
    let asked = amr_values.is_some_and(|v| v.split([' ', ',']).any(|m| m.eq_ignore_ascii_case("mfa")));
    asked || settings.ca_requires_mfa || settings.sign_ins_use_mfa
}
