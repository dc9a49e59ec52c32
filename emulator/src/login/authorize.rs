//! The authorize endpoint (`/oauth2/v2.0/authorize` and v1's `/oauth2/authorize`): signs the demo user in
//! without a page and sends the browser back with `code` and `state` (a redirect, or a self-posting form
//! for `response_mode=form_post`).

use axum::Extension;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};

use super::error::Aadsts;
use super::sessions::AuthorizationCode;
use super::token::id_token;
use super::{
    Form, Shared, User, Version, find_app, param, parse_form, random_token, resolve_tenant, sign_in_uses_mfa,
};
use crate::emulator::{Emulator, RequestContext, State};

/// `GET /{tenant}/oauth2[/v2.0]/authorize?...`.
pub(super) async fn endpoint(
    AxumState(emu): Shared,
    Extension(ctx): Extension<RequestContext>,
    version: Version,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let now = emu.clock.now();
    let params = parse_form(query.unwrap_or_default().as_bytes());
    match authorize(&emu, &tenant, &params, version, now) {
        Ok(response) => response,
        Err(error) => error.render(now, &ctx),
    }
}

/// An authorize request that names a known client, a code response and an accepted redirect URI.
struct Authorize<'a> {
    tenant_id: String,
    client_id: String,
    redirect_uri: String,
    /// `S256` or `plain`.
    code_challenge_method: String,
    response_type: &'a str,
    params: &'a Form,
}

fn authorize(
    emu: &Emulator,
    tenant: &str,
    params: &Form,
    version: Version,
    now: DateTime<Utc>,
) -> Result<Response, Aadsts> {
    let mut state = emu.state();
    let request = Authorize::read(&state, tenant, params)?;
    let mfa = sign_in_uses_mfa(&state.settings, params.get("amr_values").map(String::as_str));
    let code = request.issue_code(&mut state, version, mfa, now);
    let user = User::demo(&state, mfa);
    drop(state);
    let mut reply: Vec<(&str, String)> = vec![("code", code)];
    if request.response_type.split_whitespace().any(|t| t == "id_token") {
        let id = id_token(emu, &request.tenant_id, &request.client_id, &user, now);
        reply.push(("id_token", id));
    }
    if let Some(s) = params.get("state") {
        reply.push(("state", s.clone()));
    }
    reply.push(("session_state", uuid::Uuid::new_v4().to_string()));
    if params.get("response_mode").is_some_and(|m| m == "form_post") {
        return Ok(form_post(&request.redirect_uri, &reply));
    }
    redirect(&request.redirect_uri, &request.client_id, &reply)
}

impl<'a> Authorize<'a> {
    fn read(state: &State, tenant: &str, params: &'a Form) -> Result<Self, Aadsts> {
        let tenant_id = resolve_tenant(state, tenant, true)?;
        let client_id = param(params, "client_id")?.to_owned();
        let app = find_app(state, &client_id, tenant)?;
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
        Ok(Self {
            tenant_id,
            client_id,
            redirect_uri,
            code_challenge_method: method,
            response_type,
            params,
        })
    }

    /// A new authorization code, remembered for its redemption (v2 keeps the request's scope).
    fn issue_code(&self, state: &mut State, version: Version, mfa: bool, now: DateTime<Utc>) -> String {
        let code = format!("0.AQ{}", random_token(48));
        let scope = match version {
            Version::V2 => self.params.get("scope").cloned(),
            Version::V1 => None,
        };
        state.sessions.codes.insert(
            code.clone(),
            AuthorizationCode {
                client_id: self.client_id.clone(),
                redirect_uri: self.redirect_uri.clone(),
                scope,
                code_challenge: self.params.get("code_challenge").cloned(),
                code_challenge_method: self.code_challenge_method.clone(),
                issued: now,
                redeemed: false,
                mfa,
            },
        );
        code
    }
}

/// Entra accepts any port on a loopback redirect URI (RFC 8252 native apps).
fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    })
}

/// `response_mode=form_post`: a page that posts the reply to the redirect URI.
fn form_post(redirect_uri: &str, reply: &[(&str, String)]) -> Response {
    let inputs: String = reply
        .iter()
        .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}"/>"#, html_escape(v)))
        .collect();
    let page = format!(
        r#"<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="{}">{inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"/></noscript></form><script language="javascript">document.forms[0].submit();</script></body></html>"#,
        html_escape(redirect_uri)
    );
    Html(page).into_response()
}

/// The default `response_mode=query`: 302 to the redirect URI with the reply in its query.
fn redirect(redirect_uri: &str, client_id: &str, reply: &[(&str, String)]) -> Result<Response, Aadsts> {
    let mut location =
        url::Url::parse(redirect_uri).map_err(|_| Aadsts::redirect_mismatch(redirect_uri, client_id))?;
    {
        let mut pairs = location.query_pairs_mut();
        for (k, v) in reply {
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
