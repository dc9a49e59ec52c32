//! Azure Key Vault secrets (data plane), one emulated vault per path prefix: the vault URI is
//! `http://127.0.0.1:PORT/_vaults/{name}/` (the real one is `https://{name}.vault.azure.net/`). Vaults are
//! made through the control API (`control.rs`), live behind their own lock ([`Vaults`]) and are
//! cleared by reset.
//!
//! Every request passes, in order: the challenge (no `Authorization` → 401 with `WWW-Authenticate`, as
//! Key Vault answers a body-less first request), the token (emulator-issued, audience
//! `https://vault.azure.net`, partner tenant), `api-version`, the vault's firewall and permission
//! switches, then the route.

pub mod control;
pub mod error;
pub mod store;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::access_token::{self, AccessClaims, TokenProblem};
use crate::emulator::{Emulator, ServiceRequest};
use error::KvError;
pub use error::fault_response;
pub use store::Vaults;
use store::{Permission, SecretParams, Vault, VaultRequest};

/// Key Vault's resource id (token audience) in the public cloud.
pub const AUDIENCE: &str = "https://vault.azure.net";
/// Azure Key Vault's first-party application id (a token may name it as its audience too).
pub const APP_ID: &str = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";
/// Key Vault's published delegated scope.
const USER_IMPERSONATION: &str = "user_impersonation";
/// Where vaults are served.
pub const PREFIX: &str = "/_vaults/";

/// The api-versions the emulator accepts: every GA version from 7.0 (azurerm sends 7.4, the Rust SDK
/// 7.6) plus 2025-07-01 and 2026-04-01.
const API_VERSIONS: &[&str] = &[
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    "2025-07-01",
    "2026-04-01",
];
/// Items per page unless `maxresults` says fewer (Key Vault's default and maximum).
const PAGE_SIZE: usize = 25;

/// For the login: Key Vault as a token resource (`https://vault.azure.net/.default` works for client
/// credentials, `…/user_impersonation` or `…/.default` for refresh tokens).
pub fn login_resource(wanted: &str) -> Option<(String, Vec<String>)> {
    let wanted = wanted.trim_end_matches('/');
    (wanted.eq_ignore_ascii_case(AUDIENCE) || wanted.eq_ignore_ascii_case(APP_ID))
        .then(|| (APP_ID.to_owned(), vec![USER_IMPERSONATION.to_owned()]))
}

/// `http://{Host}`: the base the client used, so ids and links point back where it came from.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// Every `/_vaults/...` request: to its vault (logged there), with Key Vault's response headers.
pub async fn dispatch(AxumState(emu): AxumState<Arc<Emulator>>, request: ServiceRequest) -> Response {
    let now = emu.clock.now();
    let tenant = emu.state().partner.tenant_id.clone();
    let origin = origin(&request.headers);
    let rest = request.uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let (vault_name, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut vaults = emu.key_vault.lock();
    let mut response = match vaults.get_mut(&vault_name.to_ascii_lowercase()) {
        None => KvError::new(
            StatusCode::NOT_FOUND,
            "VaultNotFound",
            format!("The emulator has no vault {vault_name:?}; create it with POST /_emulator/vaults."),
        )
        .render(None),
        Some(vault) => {
            let base = format!("{origin}{PREFIX}{}/", vault.name);
            let vault_request = Request {
                emu: &emu,
                method: &request.method,
                path,
                query: request.uri.query(),
                headers: &request.headers,
                body: &request.body,
                base: &base,
                tenant: &tenant,
                now,
            };
            let challenge = format!(r#"Bearer authorization="{origin}/{tenant}", resource="{AUDIENCE}""#);
            let response =
                handle(vault, &vault_request).unwrap_or_else(|error| error.render(Some(&challenge)));
            vault.log(logged(&request, &response));
            response
        }
    };
    drop(vaults);
    add_service_headers(&mut response, &request);
    response
}

/// What a vault's request log keeps of a request.
fn logged(request: &ServiceRequest, response: &Response) -> VaultRequest {
    let headers = &request.headers;
    VaultRequest {
        method: request.method.to_string(),
        path: request.uri.path().to_owned(),
        authorized: headers.contains_key(header::AUTHORIZATION),
        content_length: headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        body_bytes: request.body.len(),
        status: response.status().as_u16(),
    }
}

/// The headers every Key Vault answer carries; the client's request id is echoed (or ours given).
fn add_service_headers(response: &mut Response, request: &ServiceRequest) {
    let h = response.headers_mut();
    h.insert("x-ms-keyvault-region", HeaderValue::from_static(store::LOCATION));
    h.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.0.0"),
    );
    let echo = request
        .headers
        .get("x-ms-client-request-id")
        .cloned()
        .or_else(|| HeaderValue::from_str(&request.ctx.client_request_id).ok());
    if let Some(id) = echo {
        h.insert("x-ms-client-request-id", id);
    }
}

struct Request<'a> {
    emu: &'a Emulator,
    method: &'a Method,
    /// The path after `/_vaults/{name}/`.
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    /// The vault URI, ending with `/`.
    base: &'a str,
    tenant: &'a str,
    now: DateTime<Utc>,
}

impl Request<'_> {
    fn query(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn params(&self) -> Result<SecretParams, KvError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(SecretParams::default());
        }
        serde_json::from_slice(self.body)
            .map_err(|e| KvError::bad_parameter(format!("The request body is not valid JSON: {e}")))
    }
}

/// Which route, with the permission and RBAC data action it needs.
enum Route<'a> {
    ListSecrets,
    Set(&'a str),
    Get(&'a str, &'a str),
    Update(&'a str, &'a str),
    Delete(&'a str),
    Versions(&'a str),
    ListDeleted,
    GetDeleted(&'a str),
    Purge(&'a str),
    Recover(&'a str),
}

impl Route<'_> {
    fn permission(&self) -> (Permission, &'static str) {
        match self {
            Route::ListSecrets | Route::Versions(_) | Route::ListDeleted | Route::GetDeleted(_) => (
                Permission::List,
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ),
            Route::Set(_) => (
                Permission::Set,
                "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            ),
            Route::Update(..) => (Permission::Set, "Microsoft.KeyVault/vaults/secrets/update/action"),
            Route::Get(..) => (
                Permission::Get,
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            ),
            Route::Delete(_) => (Permission::Delete, "Microsoft.KeyVault/vaults/secrets/delete"),
            Route::Purge(_) => (
                Permission::Purge,
                "Microsoft.KeyVault/vaults/secrets/purge/action",
            ),
            Route::Recover(_) => (
                Permission::Recover,
                "Microsoft.KeyVault/vaults/secrets/recover/action",
            ),
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Route::ListSecrets | Route::ListDeleted => None,
            Route::Set(n)
            | Route::Get(n, _)
            | Route::Update(n, _)
            | Route::Delete(n)
            | Route::Versions(n)
            | Route::GetDeleted(n)
            | Route::Purge(n)
            | Route::Recover(n) => Some(n),
        }
    }
}

/// `secrets/{n}/` (trailing slash) and `secrets/{n}` both address the latest version.
fn route<'a>(method: &Method, segments: &[&'a str]) -> Result<Route<'a>, KvError> {
    let not_allowed = || {
        KvError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The method {method} is not allowed on this resource."),
        )
    };
    let m = method.as_str();
    let route = match segments {
        ["secrets"] | ["secrets", ""] => match m {
            "GET" => Route::ListSecrets,
            _ => return Err(not_allowed()),
        },
        ["secrets", n] => match m {
            "PUT" => Route::Set(n),
            "GET" => Route::Get(n, ""),
            "PATCH" => Route::Update(n, ""),
            "DELETE" => Route::Delete(n),
            _ => return Err(not_allowed()),
        },
        ["secrets", n, "versions"] => match m {
            "GET" => Route::Versions(n),
            _ => return Err(not_allowed()),
        },
        ["secrets", n, v] => match m {
            "GET" => Route::Get(n, v),
            "PATCH" => Route::Update(n, v),
            _ => return Err(not_allowed()),
        },
        ["deletedsecrets"] | ["deletedsecrets", ""] => match m {
            "GET" => Route::ListDeleted,
            _ => return Err(not_allowed()),
        },
        ["deletedsecrets", n] => match m {
            "GET" => Route::GetDeleted(n),
            "DELETE" => Route::Purge(n),
            _ => return Err(not_allowed()),
        },
        ["deletedsecrets", n, "recover"] => match m {
            "POST" => Route::Recover(n),
            _ => return Err(not_allowed()),
        },
        _ => {
            return Err(KvError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The requested resource was not found on this vault (the emulator serves secrets only).",
            ));
        }
    };
    Ok(route)
}

fn handle(vault: &mut Vault, r: &Request<'_>) -> Result<Response, KvError> {
    let claims = authenticate(r)?;
    match r.query("api-version") {
        None => {
            return Err(KvError::bad_parameter(
                "The 'api-version' query parameter is required; there is no default.",
            ));
        }
        Some(v) if !API_VERSIONS.contains(&v.as_str()) => {
            return Err(KvError::bad_parameter(format!(
                "The specified version ({v}) is not recognized. Consider using the latest supported version (2026-04-01)."
            )));
        }
        Some(_) => {}
    }
    let segments: Vec<&str> = r.path.split('/').collect();
    let route = route(r.method, &segments)?;
    let caller = format!(
        "appid={};oid={};iss=https://sts.windows.net/{}/",
        claims.appid, claims.oid, claims.tid
    );
    let (permission, action) = route.permission();
    vault.authorize(&caller, permission, action, route.secret())?;
    let (base, now) = (r.base, r.now);
    let ok = |body: Value| Json(body).into_response();
    Ok(match route {
        Route::Set(n) => ok(vault.set(base, n, r.params()?, now)?),
        Route::Get(n, v) => ok(vault.get(base, n, v)?),
        Route::Update(n, v) => ok(vault.update(base, n, v, r.params()?, now)?),
        Route::Delete(n) => ok(vault.delete(base, n, now)?),
        Route::GetDeleted(n) => ok(vault.get_deleted(base, n, now)?),
        Route::Purge(n) => {
            vault.purge(n, now)?;
            StatusCode::NO_CONTENT.into_response()
        }
        Route::Recover(n) => ok(vault.recover(base, n, now)?),
        Route::ListSecrets => {
            let items = vault.list_secrets(base);
            ok(page(r, items, &format!("{base}secrets"))?)
        }
        Route::Versions(n) => {
            let items = vault.list_versions(base, n)?;
            ok(page(r, items, &format!("{base}secrets/{n}/versions"))?)
        }
        Route::ListDeleted => {
            let items = vault.list_deleted(base, now);
            ok(page(r, items, &format!("{base}deletedsecrets"))?)
        }
    })
}

/// Key Vault accepts tokens issued by the emulator for `https://vault.azure.net` in the partner tenant.
/// The messages follow Key Vault's AKV100xx texts where the reference has them.
fn authenticate(r: &Request<'_>) -> Result<AccessClaims, KvError> {
    let Some(token) = access_token::bearer(r.headers) else {
        return Err(KvError::unauthorized(
            "AKV10000: Request is missing a Bearer or PoP token.",
        ));
    };
    let claims = r.emu.signer.verify(token, r.now).map_err(|problem| {
        KvError::unauthorized(match problem {
            TokenProblem::Expired => "Token validation failed: the access token has expired.",
            TokenProblem::NotYetValid => "Token validation failed: the access token is not valid yet.",
            TokenProblem::BadSignature => "Token validation failed: invalid signature.",
            TokenProblem::Malformed => "Token validation failed: the token is not a well-formed JWT.",
        })
    })?;
    let aud = claims.aud.trim_end_matches('/');
    if !(aud.eq_ignore_ascii_case(AUDIENCE) || aud.eq_ignore_ascii_case(APP_ID)) {
        return Err(KvError::unauthorized(format!(
            "AKV10022: Invalid audience. Expected {AUDIENCE}, found: {}.",
            claims.aud
        )));
    }
    if !claims.tid.eq_ignore_ascii_case(r.tenant) {
        return Err(KvError::unauthorized(format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{}/, found: {}.",
            r.tenant, claims.iss
        )));
    }
    Ok(claims)
}

/// A page of `items`: `maxresults` (1-25, default 25), an opaque `$skiptoken`, and an absolute
/// `nextLink` that repeats the request's api-version (clients may rewrite it; any accepted version
/// works).
fn page(r: &Request<'_>, items: Vec<Value>, collection: &str) -> Result<Value, KvError> {
    let size = match r.query("maxresults") {
        None => PAGE_SIZE,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(KvError::bad_parameter(format!(
                    "The value of maxresults ({m}) is invalid; it must be between 1 and {PAGE_SIZE}."
                )));
            }
        },
    };
    let start = match r.query("$skiptoken") {
        None => 0,
        Some(token) => {
            read_skiptoken(&token).ok_or_else(|| KvError::bad_parameter("The $skiptoken is invalid."))?
        }
    };
    let end = start.saturating_add(size).min(items.len());
    let value: Vec<Value> = items.get(start..end).map(<[Value]>::to_vec).unwrap_or_default();
    let next = (end < items.len()).then(|| {
        let api = r.query("api-version").unwrap_or_default();
        format!(
            "{collection}?api-version={api}&$skiptoken={}&maxresults={size}",
            skiptoken(end)
        )
    });
    Ok(json!({ "value": value, "nextLink": next }))
}

/// Opaque to clients (base64url, like the real ones), an offset to the emulator.
fn skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("kv-emulator:{offset}"))
}

fn read_skiptoken(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("kv-emulator:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_treat_an_empty_version_as_the_latest() {
        let get = Method::GET;
        assert!(matches!(route(&get, &["secrets", "n"]), Ok(Route::Get("n", ""))));
        assert!(matches!(
            route(&get, &["secrets", "n", ""]),
            Ok(Route::Get("n", ""))
        ));
        assert!(matches!(
            route(&get, &["secrets", "n", "versions"]),
            Ok(Route::Versions("n"))
        ));
        assert!(matches!(
            route(&Method::PATCH, &["secrets", "n", ""]),
            Ok(Route::Update("n", ""))
        ));
        assert!(matches!(
            route(&Method::POST, &["deletedsecrets", "n", "recover"]),
            Ok(Route::Recover("n"))
        ));
        assert!(route(&Method::POST, &["secrets", "n"]).is_err());
        assert!(route(&get, &["keys", "n"]).is_err());
    }

    #[test]
    fn skiptokens_round_trip_and_refuse_junk() {
        assert_eq!(read_skiptoken(&skiptoken(50)), Some(50));
        assert_eq!(read_skiptoken("junk"), None);
    }

    #[test]
    fn the_vault_audience_is_a_login_resource() {
        assert!(login_resource("https://vault.azure.net/").is_some());
        assert!(login_resource(APP_ID).is_some());
        assert!(login_resource("https://vault.azure.cn").is_none());
    }
}
