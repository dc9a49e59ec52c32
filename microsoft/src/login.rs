//! Interactive sign-in that yields a Secure Application Model refresh token: authorization code with
//! PKCE and a loopback redirect listener, or device code; plus the network-free URL builders.

use crate::auth::{login_url, token::number_or_string};
use crate::client::Client;
use crate::context::{CallContext, Interrupted};
use crate::endpoints::Environment;
use crate::error::{ApiError, Error, LoginError};
use crate::http::Body;
use crate::secret::Secret;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// The scopes a Secure Application Model sign-in asks for in `environment`:
/// `<Partner Center audience>/user_impersonation offline_access`.
pub fn partner_center_user_scopes(environment: Environment) -> String {
    format!(
        "{}/user_impersonation offline_access",
        environment.audiences().partner_center
    )
}

/// The parameters of a v2 authorize URL.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams<'a> {
    /// Tenant id or domain (or `organizations`).
    pub tenant: &'a str,
    /// Application (client) id.
    pub client_id: &'a str,
    /// Where the browser is sent back.
    pub redirect_uri: &'a str,
    /// Space-separated scopes.
    pub scopes: &'a str,
    /// Opaque value echoed back; checked against forgery.
    pub state: &'a str,
    /// PKCE S256 challenge, if the flow uses PKCE.
    pub code_challenge: Option<&'a str>,
    /// `login`, `none`, `consent` or `select_account`.
    pub prompt: Option<&'a str>,
    /// Pre-fills the account.
    pub login_hint: Option<&'a str>,
}

/// `{login}/{tenant}/oauth2/v2.0/authorize?client_id&response_type=code&redirect_uri&response_mode=query
/// &scope&state[&code_challenge&code_challenge_method=S256][&prompt][&login_hint]`. Network-free.
pub fn authorize_url(login_base: &Url, p: &AuthorizeParams<'_>) -> Result<Url, Error> {
    let mut url = login_url(login_base, p.tenant, &["oauth2", "v2.0", "authorize"])?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", p.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", p.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", p.scopes)
            .append_pair("state", p.state);
        if let Some(c) = p.code_challenge {
            q.append_pair("code_challenge", c)
                .append_pair("code_challenge_method", "S256");
        }
        if let Some(v) = p.prompt {
            q.append_pair("prompt", v);
        }
        if let Some(v) = p.login_hint {
            q.append_pair("login_hint", v);
        }
    }
    Ok(url)
}

/// `{login}/{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state`: a tenant admin grants the
/// app's permissions for the whole tenant. Use a tenant id, not `common`. Network-free.
pub fn admin_consent_url(
    login_base: &Url,
    tenant: &str,
    client_id: &str,
    scope: &str,
    redirect_uri: Option<&str>,
    state: Option<&str>,
) -> Result<Url, Error> {
    let mut url = login_url(login_base, tenant, &["v2.0", "adminconsent"])?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", client_id).append_pair("scope", scope);
        if let Some(r) = redirect_uri {
            q.append_pair("redirect_uri", r);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    Ok(url)
}

/// A PKCE pair (RFC 7636, S256).
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The verifier, sent when redeeming the code.
    pub verifier: Secret,
    /// `BASE64URL(SHA256(verifier))`, sent in the authorize URL.
    pub challenge: String,
}

impl Pkce {
    /// A new pair from 32 random bytes.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self::from_verifier(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: String) -> Self {
        let challenge =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// Options of the authorization code flow.
#[derive(Debug, Clone, Default)]
pub struct AuthCodeOptions {
    /// Listener port; default: a free port in 8400–8999 (the range Partner Center PowerShell uses,
    /// so app registrations with `http://localhost` redirect URIs work).
    pub port: Option<u16>,
    /// `prompt` value, e.g. `select_account`.
    pub prompt: Option<String>,
    /// `login_hint` value.
    pub login_hint: Option<String>,
}

/// What the user must do to finish a device code sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodePrompt {
    /// Entra's ready-made instruction ("To sign in, use a web browser to open ...").
    pub message: String,
    /// The code to enter.
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: String,
    /// How long the code is valid.
    pub expires_in: Duration,
}

/// Sign-in flows. Obtained from [`Client::login`]; they use the client's login endpoint, tenant,
/// client id and (when configured) client secret, which a web app needs to redeem codes.
#[derive(Debug, Clone)]
pub struct Login {
    client: Client,
}

#[derive(Deserialize)]
struct CodeRedeemed {
    #[serde(default)]
    refresh_token: Option<Secret>,
}

impl Login {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    fn ids(&self) -> Result<(String, String), Error> {
        let auth = &self.client.inner.auth;
        if auth.tenant_id().is_empty() || auth.client_id().is_empty() {
            return Err(Error::CredentialNeeded {
                operation: "signing in".into(),
                needed: "tenant_id and client_id".into(),
            });
        }
        Ok((auth.tenant_id().to_owned(), auth.client_id().to_owned()))
    }

    fn scopes(&self) -> String {
        partner_center_user_scopes(self.client.environment())
    }

    /// Authorization code + PKCE: listens on `127.0.0.1`, hands the sign-in URL to `show` (the caller
    /// prints it; nothing is opened here), waits for the redirect, checks `state`, redeems the code and
    /// returns the refresh token.
    pub async fn authorization_code<F>(
        &self,
        ctx: &CallContext,
        options: AuthCodeOptions,
        show: F,
    ) -> Result<Secret, Error>
    where
        F: FnOnce(&Url) + Send,
    {
        let (tenant, client_id) = self.ids()?;
        let (listener, port) = bind(options.port).await?;
        let redirect_uri = format!("http://localhost:{port}");
        let pkce = Pkce::generate();
        let state = uuid::Uuid::new_v4().simple().to_string();
        let scopes = self.scopes();
        let url = authorize_url(
            self.client.inner.auth.login_base(),
            &AuthorizeParams {
                tenant: &tenant,
                client_id: &client_id,
                redirect_uri: &redirect_uri,
                scopes: &scopes,
                state: &state,
                code_challenge: Some(&pkce.challenge),
                prompt: options.prompt.as_deref(),
                login_hint: options.login_hint.as_deref(),
            },
        )?;
        show(&url);
        let code = ctx.run(wait_for_redirect(&listener, &state)).await??;
        drop(listener);
        let mut form = vec![
            ("client_id", client_id.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", pkce.verifier.expose()),
            ("scope", scopes.as_str()),
        ];
        if let Some(s) = self.client.inner.auth.client_secret() {
            form.push(("client_secret", s.expose()));
        }
        let redeemed: CodeRedeemed = self.token_request(ctx, "token", Body::form(&form)).await?;
        redeemed
            .refresh_token
            .ok_or(Error::Login(LoginError::NoRefreshToken))
    }

    /// Device code: asks for a code, hands the instructions to `show`, then polls the token endpoint
    /// at the given interval (`authorization_pending` waits, `slow_down` adds 5 s, `expired_token`
    /// ends) and returns the refresh token.
    pub async fn device_code<F>(&self, ctx: &CallContext, show: F) -> Result<Secret, Error>
    where
        F: FnOnce(&DeviceCodePrompt) + Send,
    {
        let (_tenant, client_id) = self.ids()?;
        let scopes = self.scopes();
        let dc: DeviceCode = self
            .token_request(
                ctx,
                "devicecode",
                Body::form(&[("client_id", &client_id), ("scope", &scopes)]),
            )
            .await?;
        show(&dc.prompt());
        self.poll_device_code(ctx, &client_id, &dc).await
    }

    /// Polls the token endpoint until the user has signed in, the code expires or the caller stops.
    async fn poll_device_code(
        &self,
        ctx: &CallContext,
        client_id: &str,
        dc: &DeviceCode,
    ) -> Result<Secret, Error> {
        let ends = tokio::time::Instant::now() + dc.expires_in();
        let poll_ctx = ctx.clone().with_deadline(ends);
        let mut interval = Duration::from_secs(dc.interval.unwrap_or(5).max(1));
        loop {
            match poll_ctx.sleep(interval).await {
                Ok(()) => {}
                Err(Interrupted::Cancelled) => return Err(Error::Cancelled),
                Err(Interrupted::DeadlineReached) if ctx.remaining().is_some_and(|r| r.is_zero()) => {
                    return Err(Error::Timeout { last: None });
                }
                Err(Interrupted::DeadlineReached) => return Err(LoginError::DeviceCodeExpired.into()),
            }
            let mut form = vec![
                ("client_id", client_id),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", dc.device_code.expose()),
            ];
            if let Some(s) = self.client.inner.auth.client_secret() {
                form.push(("client_secret", s.expose()));
            }
            match self
                .token_request::<CodeRedeemed>(ctx, "token", Body::form(&form))
                .await
            {
                Ok(r) => return r.refresh_token.ok_or(Error::Login(LoginError::NoRefreshToken)),
                Err(Error::Api(e)) => interval += still_pending(e)?,
                Err(e) => return Err(e),
            }
        }
    }

    async fn token_request<T: serde::de::DeserializeOwned>(
        &self,
        ctx: &CallContext,
        endpoint: &str,
        body: Body,
    ) -> Result<T, Error> {
        let inner = &self.client.inner;
        inner
            .auth
            .token_request(&inner.pipeline, ctx, endpoint, body)
            .await
    }
}

/// The device code endpoint's answer (v2; v1's `verification_url` and string numbers accepted).
#[derive(Deserialize)]
struct DeviceCode {
    device_code: Secret,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "number_or_string")]
    interval: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

impl DeviceCode {
    fn expires_in(&self) -> Duration {
        Duration::from_secs(self.expires_in.unwrap_or(900))
    }

    fn prompt(&self) -> DeviceCodePrompt {
        DeviceCodePrompt {
            message: self.message.clone().unwrap_or_else(|| {
                format!(
                    "To sign in, open {} and enter the code {}.",
                    self.verification_uri, self.user_code
                )
            }),
            user_code: self.user_code.clone(),
            verification_uri: self.verification_uri.clone(),
            expires_in: self.expires_in(),
        }
    }
}

/// A refused device code redemption that means "not yet": how much longer to wait between polls
/// (`authorization_pending`: no longer; `slow_down`: 5 s more). Anything else ends the sign-in.
fn still_pending(e: Box<ApiError>) -> Result<Duration, Error> {
    match e.code.as_deref() {
        Some("authorization_pending") => Ok(Duration::ZERO),
        Some("slow_down") => Ok(Duration::from_secs(5)),
        Some("expired_token" | "code_expired") => Err(LoginError::DeviceCodeExpired.into()),
        Some(code @ ("authorization_declined" | "access_denied")) => Err(LoginError::Denied {
            error: code.to_owned(),
            description: e.message.clone(),
        }
        .into()),
        _ => Err(Error::Api(e)),
    }
}

/// Binds `127.0.0.1:port`, or a free port in 8400–8999.
async fn bind(port: Option<u16>) -> Result<(TcpListener, u16), Error> {
    let listen = |p: u16| async move { TcpListener::bind(("127.0.0.1", p)).await };
    if let Some(p) = port {
        let l = listen(p).await.map_err(LoginError::Listener)?;
        return Ok((l, p));
    }
    let mut last = None;
    for _ in 0..30 {
        let p = rand::random_range(8400..=8999u16);
        match listen(p).await {
            Ok(l) => return Ok((l, p)),
            Err(e) => last = Some(e),
        }
    }
    Err(
        LoginError::Listener(last.unwrap_or_else(|| std::io::Error::other("no free port in 8400-8999")))
            .into(),
    )
}

const DONE_PAGE: &str =
    "<!doctype html><title>Signed in</title><p>Sign-in complete. You can close this window.</p>";
const FAILED_PAGE: &str =
    "<!doctype html><title>Sign-in failed</title><p>Sign-in failed. Return to the terminal for details.</p>";

/// Serves the loopback redirect until a request carries `code` or `error`; other requests (a
/// browser's favicon) get 404.
async fn wait_for_redirect(listener: &TcpListener, state: &str) -> Result<Secret, Error> {
    loop {
        let (mut conn, _) = listener.accept().await.map_err(LoginError::Listener)?;
        let Ok(Ok(target)) =
            tokio::time::timeout(Duration::from_secs(10), read_request_target(&mut conn)).await
        else {
            continue;
        };
        let url = Url::parse(&format!("http://localhost{target}")).ok();
        let params: Vec<(String, String)> = url
            .map(|u| {
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (code, error) = (get("code"), get("error"));
        if code.is_none() && error.is_none() {
            let _ = respond(&mut conn, "404 Not Found", "").await;
            continue;
        }
        let ok = code.is_some() && get("state").as_deref() == Some(state);
        let _ = respond(&mut conn, "200 OK", if ok { DONE_PAGE } else { FAILED_PAGE }).await;
        if let Some(error) = error {
            return Err(LoginError::Denied {
                error,
                description: get("error_description").unwrap_or_default(),
            }
            .into());
        }
        if get("state").as_deref() != Some(state) {
            return Err(LoginError::StateMismatch.into());
        }
        return code
            .map(Secret::new)
            .ok_or(Error::Login(LoginError::StateMismatch));
    }
}

/// Reads the request head and returns its target (`/?code=...`).
async fn read_request_target(conn: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Ok(target.to_owned()),
        _ => Err(std::io::Error::other("not a GET request")),
    }
}

async fn respond(conn: &mut tokio::net::TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(msg.as_bytes()).await?;
    conn.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let g = Pkce::generate();
        assert_eq!(g.verifier.expose().len(), 43);
        assert_ne!(g.verifier.expose(), Pkce::generate().verifier.expose());
    }

    #[test]
    fn authorize_url_is_built_without_network() {
        let base = Url::parse("https://login.microsoftonline.com").expect("url");
        let url = authorize_url(
            &base,
            &AuthorizeParams {
                tenant: "contoso.onmicrosoft.com",
                client_id: "app",
                redirect_uri: "http://localhost:8400",
                scopes: &partner_center_user_scopes(Environment::Public),
                state: "st",
                code_challenge: Some("ch"),
                prompt: Some("select_account"),
                login_hint: None,
            },
        )
        .expect("url");
        assert_eq!(url.path(), "/contoso.onmicrosoft.com/oauth2/v2.0/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            q["scope"],
            "https://api.partnercenter.microsoft.com/user_impersonation offline_access"
        );
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], "http://localhost:8400");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["prompt"], "select_account");
        let c = admin_consent_url(
            &base,
            "t",
            "app",
            "https://graph.microsoft.com/.default",
            None,
            Some("s"),
        )
        .expect("url");
        assert_eq!(
            c.as_str(),
            "https://login.microsoftonline.com/t/v2.0/adminconsent?client_id=app&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&state=s"
        );
    }
}
