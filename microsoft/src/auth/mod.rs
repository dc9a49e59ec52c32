//! Credentials and access tokens: acquisition from Entra ID (client secret, federated assertion,
//! refresh token with rotation) and a per-audience, per-kind cache refreshed before expiry.
//!
//! Why not the `oauth2` crate: its token response wants numeric `expires_in` (Entra's v1 endpoint
//! sends strings), its error type drops Entra's `error_codes`/`trace_id`/`correlation_id`, it has no
//! `client_assertion` (federated) authentication, and it would need its own HTTP client adapter that
//! bypasses this crate's retry, cancellation, redaction and server-clock pipeline. What it would
//! give (form building, PKCE) is a few lines here ([`crate::login::Pkce`]).

pub(crate) mod token;

use crate::context::CallContext;
use crate::endpoints::Audiences;
use crate::error::{Error, Service};
use crate::http::{Body, Pipeline, Request};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use token::TokenResponse;
use url::Url;

/// The OAuth client assertion type for federated (workload identity) tokens.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The audience GitHub Actions tokens must carry to be exchanged with Entra ID.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Refresh a cached token this long before it expires (or at half its life, if shorter).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// What the caller has to authenticate with. The crate reads no environment variables or files; the
/// caller passes values in. Empty `tenant_id`/`client_id` are allowed until an operation needs them.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Directory (tenant) id or domain of the partner tenant.
    pub tenant_id: String,
    /// Application (client) id of the web app.
    pub client_id: String,
    /// Client secret (a key of the web app).
    pub client_secret: Option<Secret>,
    /// Secure Application Model refresh token (app+user).
    pub refresh_token: Option<Secret>,
    /// A federated token used as client assertion instead of the secret.
    pub federated: Option<FederatedToken>,
}

/// A federated (OIDC) token to present as `client_assertion`.
#[derive(Debug, Clone)]
pub enum FederatedToken {
    /// A token already at hand (e.g. `ARM_OIDC_TOKEN` or a token file, read by the caller).
    Assertion(Secret),
    /// Ask GitHub Actions for one per token request: `GET {request_url}&audience=api://AzureADTokenExchange`
    /// with `Authorization: Bearer {request_token}`, answer `{"value": "<jwt>"}`.
    GitHubActions {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: Secret,
    },
}

/// The two kinds of access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Client credentials: the application acts as itself.
    AppOnly,
    /// Refresh token (Secure Application Model): the application acts for the signed-in partner user.
    AppUser,
}

/// What an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// App-only preferred; app+user when only a refresh token is configured.
    AppOnlyOrUser,
    /// Partner Center routes documented as App+User only.
    AppUserOnly,
}

#[derive(Clone)]
struct Cached {
    token: Secret,
    refresh_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// Token acquisition and cache, shared by all clones of a [`crate::Client`].
pub(crate) struct Auth {
    tenant_id: String,
    client_id: String,
    client_secret: Option<Secret>,
    federated: Option<FederatedToken>,
    /// The current refresh token; replaced when the token endpoint rotates it.
    refresh_token: Mutex<Option<Secret>>,
    login: Url,
    audiences: Audiences,
    slots: Mutex<HashMap<(String, TokenKind), Slot>>,
    /// Held while a refresh token is redeemed: with rotation, two concurrent redemptions of the same
    /// token (Graph and Partner Center at once) could see the second refused as revoked.
    redeeming: tokio::sync::Mutex<()>,
}

impl Auth {
    pub(crate) fn new(credentials: Credentials, login: Url, audiences: Audiences) -> Self {
        Self {
            tenant_id: credentials.tenant_id.trim().to_owned(),
            client_id: credentials.client_id.trim().to_owned(),
            client_secret: credentials.client_secret,
            federated: credentials.federated,
            refresh_token: Mutex::new(credentials.refresh_token),
            login,
            audiences,
            slots: Mutex::new(HashMap::new()),
            redeeming: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn client_secret(&self) -> Option<&Secret> {
        self.client_secret.as_ref()
    }

    pub(crate) fn login_base(&self) -> &Url {
        &self.login
    }

    /// The refresh token in use (the latest rotation).
    pub(crate) fn current_refresh_token(&self) -> Option<Secret> {
        self.refresh_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_refresh_token(&self, rt: Secret) {
        *self.refresh_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(rt);
    }

    fn has_app_credential(&self) -> bool {
        self.client_secret.is_some() || self.federated.is_some()
    }

    /// Which kind of token `operation` will use, or why none can be had.
    pub(crate) fn kind_for(&self, access: Access, operation: &str) -> Result<TokenKind, Error> {
        if self.tenant_id.is_empty() || self.client_id.is_empty() {
            return Err(Error::CredentialNeeded {
                operation: operation.to_owned(),
                needed: "tenant_id and client_id".to_owned(),
            });
        }
        let has_rt = self.current_refresh_token().is_some();
        match access {
            Access::AppUserOnly if has_rt => Ok(TokenKind::AppUser),
            Access::AppUserOnly => Err(Error::RefreshTokenNeeded {
                operation: operation.to_owned(),
                tenant_id: self.tenant_id.clone(),
                client_id: self.client_id.clone(),
            }),
            Access::AppOnlyOrUser if self.has_app_credential() => Ok(TokenKind::AppOnly),
            Access::AppOnlyOrUser if has_rt => Ok(TokenKind::AppUser),
            Access::AppOnlyOrUser => Err(Error::CredentialNeeded {
                operation: operation.to_owned(),
                needed: "a client secret, a federated (OIDC) token or a refresh token".to_owned(),
            }),
        }
    }

    /// An access token for `audience`, from the cache or the token endpoint. Concurrent callers for
    /// the same audience and kind wait for one token request (single flight).
    pub(crate) async fn token(
        &self,
        pipeline: &Pipeline,
        ctx: &CallContext,
        audience: &str,
        access: Access,
        operation: &str,
    ) -> Result<(Secret, TokenKind), Error> {
        let kind = self.kind_for(access, operation)?;
        let slot = self.slot(audience, kind);
        let mut guard = ctx.run(slot.lock()).await?;
        let now = pipeline.now();
        if let Some(c) = guard.as_ref() {
            if now < c.refresh_at {
                return Ok((c.token.clone(), kind));
            }
        }
        match self.fetch(pipeline, ctx, audience, kind).await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *guard = Some(fresh);
                Ok((token, kind))
            }
            // A failed early refresh keeps using a token that is still valid.
            Err(e) => match guard.as_ref() {
                Some(c) if now < c.expires_at && !e.is_cancelled() => {
                    tracing::debug!(
                        audience,
                        "token refresh failed, using the cached token until it expires: {e}"
                    );
                    Ok((c.token.clone(), kind))
                }
                _ => Err(e),
            },
        }
    }

    fn slot(&self, audience: &str, kind: TokenKind) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry((audience.to_owned(), kind)).or_default().clone()
    }

    /// Drops `token` from the cache if it is still the cached one: the service refused it (revoked,
    /// or expired by the service's clock), so the next caller fetches a new one.
    pub(crate) async fn invalidate(&self, audience: &str, kind: TokenKind, token: &Secret) {
        let slot = self.slot(audience, kind);
        let mut guard = slot.lock().await;
        if guard.as_ref().is_some_and(|c| &c.token == token) {
            *guard = None;
        }
    }

    fn user_scope(&self, audience: &str) -> String {
        if audience == self.audiences.partner_center {
            format!("{audience}/user_impersonation offline_access")
        } else {
            format!("{audience}/.default offline_access")
        }
    }

    async fn fetch(
        &self,
        pipeline: &Pipeline,
        ctx: &CallContext,
        audience: &str,
        kind: TokenKind,
    ) -> Result<Cached, Error> {
        let _redeeming = match kind {
            TokenKind::AppUser => Some(ctx.run(self.redeeming.lock()).await?),
            TokenKind::AppOnly => None,
        };
        let assertion = self.client_assertion(pipeline, ctx).await?;
        let mut form: Vec<(&str, String)> = vec![("client_id", self.client_id.clone())];
        let rt;
        match kind {
            TokenKind::AppOnly => {
                form.push(("grant_type", "client_credentials".into()));
                form.push(("scope", format!("{audience}/.default")));
            }
            TokenKind::AppUser => {
                rt = self
                    .current_refresh_token()
                    .ok_or_else(|| Error::RefreshTokenNeeded {
                        operation: "an App+User request".into(),
                        tenant_id: self.tenant_id.clone(),
                        client_id: self.client_id.clone(),
                    })?;
                form.push(("grant_type", "refresh_token".into()));
                form.push(("refresh_token", rt.expose().to_owned()));
                form.push(("scope", self.user_scope(audience)));
            }
        }
        // Prefer the federated assertion when given (the caller passes one only when asked to use
        // OIDC); a web app's refresh also needs its secret.
        if let Some(a) = &assertion {
            form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.into()));
            form.push(("client_assertion", a.expose().to_owned()));
        } else if let Some(s) = &self.client_secret {
            form.push(("client_secret", s.expose().to_owned()));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = self
            .token_request(pipeline, ctx, "token", Body::form(&pairs))
            .await?;
        let response: TokenResponse = answer;
        if let Some(rotated) = response.refresh_token.clone() {
            if kind == TokenKind::AppUser {
                tracing::debug!(
                    "the token endpoint rotated the refresh token; using the new one from now on"
                );
                self.set_refresh_token(rotated);
            }
        }
        let now = pipeline.now();
        let lifetime = response.lifetime(now);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let to_chrono = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Ok(Cached {
            token: response.access_token,
            // A lifetime beyond chrono's range (a hostile or broken answer) must not panic.
            refresh_at: now
                .checked_add_signed(to_chrono(lifetime - margin))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            expires_at: now
                .checked_add_signed(to_chrono(lifetime))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        })
    }

    /// `POST {login}/{tenant}/oauth2/v2.0/{endpoint}` with a form; token requests are safe to repeat.
    pub(crate) async fn token_request<T: serde::de::DeserializeOwned>(
        &self,
        pipeline: &Pipeline,
        ctx: &CallContext,
        endpoint: &str,
        body: Body,
    ) -> Result<T, Error> {
        let url = login_url(&self.login, &self.tenant_id, &["oauth2", "v2.0", endpoint])?;
        let req = Request::new(Service::Login, Method::POST, url)
            .body(body)
            .idempotent(true);
        pipeline.send(ctx, req).await?.json("a token response")
    }

    async fn client_assertion(
        &self,
        pipeline: &Pipeline,
        ctx: &CallContext,
    ) -> Result<Option<Secret>, Error> {
        match &self.federated {
            None => Ok(None),
            Some(FederatedToken::Assertion(s)) => Ok(Some(s.clone())),
            Some(FederatedToken::GitHubActions {
                request_url,
                request_token,
            }) => {
                let mut url = Url::parse(request_url).map_err(|e| {
                    Error::Config(format!("the GitHub Actions token request URL is not a URL: {e}"))
                })?;
                crate::endpoints::check_endpoint("federated token request URL", &url)?;
                url.query_pairs_mut().append_pair("audience", FEDERATED_AUDIENCE);
                let mut req = Request::new(Service::FederatedTokenIssuer, Method::GET, url)
                    .bearer(request_token.clone());
                req.trace_response_body = false;
                #[derive(Deserialize)]
                struct Answer {
                    value: Secret,
                }
                let a: Answer = pipeline
                    .send(ctx, req)
                    .await?
                    .json("a federated token ({value})")?;
                Ok(Some(a.value))
            }
        }
    }
}

/// `{login}/{tenant}/{segments...}`, the tenant percent-encoded as one path segment.
pub(crate) fn login_url(login: &Url, tenant: &str, segments: &[&str]) -> Result<Url, Error> {
    let mut url = crate::endpoints::join(login, "")?;
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::Config(format!("login endpoint {login} cannot have a path")))?;
        path.pop_if_empty();
        path.push(tenant);
        path.extend(segments);
    }
    Ok(url)
}
