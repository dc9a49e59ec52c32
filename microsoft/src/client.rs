//! The client: configuration, the shared pipeline and token cache, and the entry points per API.

use crate::auth::{Access, Auth, Credentials};
use crate::clock::{Clock, SystemClock};
use crate::context::CallContext;
use crate::endpoints::{Audiences, Endpoints, Environment, check_endpoint};
use crate::error::Error;
use crate::http::{Pipeline, Request, Response};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// How to build a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The cloud; fixes the token audiences.
    pub environment: Environment,
    /// Where requests go, overrides already applied (defaults: `environment.endpoints()`).
    pub endpoints: Endpoints,
    /// What to authenticate with.
    pub credentials: Credentials,
    /// `User-Agent`, also sent as `MS-PartnerCenter-Client`.
    pub user_agent: String,
    /// Retry bounds.
    pub retry: RetryPolicy,
    /// The wall clock (token expiry, HTTP-date `Retry-After`, server time).
    pub clock: Arc<dyn Clock>,
}

impl ClientOptions {
    /// Options with the environment's endpoints, default retry policy and the system clock.
    pub fn new(environment: Environment, credentials: Credentials) -> Self {
        Self {
            environment,
            endpoints: environment.endpoints(),
            credentials,
            user_agent: concat!("partnercenter-microsoft/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Client for Entra ID login, Microsoft Graph and Partner Center. Cheap to clone; clones share the
/// token cache, the rotated refresh token and the connection pool.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub environment: Environment,
    pub endpoints: Endpoints,
    pub audiences: Audiences,
    pub pipeline: Pipeline,
    pub auth: Auth,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("environment", &self.inner.environment)
            .field("endpoints", &self.inner.endpoints)
            .field("tenant_id", &self.inner.auth.tenant_id())
            .field("client_id", &self.inner.auth.client_id())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client. Refuses endpoints that are not `https://`, except `http://` on loopback.
    pub fn new(options: ClientOptions) -> Result<Self, Error> {
        let e = &options.endpoints;
        check_endpoint("login", &e.login)?;
        check_endpoint("graph", &e.graph)?;
        check_endpoint("partner_center", &e.partner_center)?;
        let audiences = options.environment.audiences();
        let pipeline = Pipeline::new(&options.user_agent, options.retry, options.clock)?;
        let auth = Auth::new(options.credentials, e.login.clone(), audiences);
        Ok(Self {
            inner: Arc::new(Inner {
                environment: options.environment,
                endpoints: options.endpoints,
                audiences,
                pipeline,
                auth,
            }),
        })
    }

    /// The environment.
    pub fn environment(&self) -> Environment {
        self.inner.environment
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The token audiences in use.
    pub fn audiences(&self) -> Audiences {
        self.inner.audiences
    }

    /// The server's current time, from the `Date` header of the latest answer (any service) plus the
    /// local time elapsed since; `None` before the first answer. Key expiry is judged by this clock.
    pub fn server_time(&self) -> Option<DateTime<Utc>> {
        self.inner.pipeline.server_time()
    }

    /// The server's time if known, else the local clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.pipeline.now()
    }

    /// The refresh token in use: the configured one, or the latest rotation returned by the token
    /// endpoint.
    pub fn current_refresh_token(&self) -> Option<Secret> {
        self.inner.auth.current_refresh_token()
    }

    /// Microsoft Graph v1.0 operations.
    pub fn graph(&self) -> crate::graph::Graph {
        crate::graph::Graph::new(self.clone())
    }

    /// Partner Center v1 operations.
    pub fn partner_center(&self) -> crate::partner_center::PartnerCenter {
        crate::partner_center::PartnerCenter::new(self.clone())
    }

    /// Interactive sign-in flows that obtain a refresh token.
    pub fn login(&self) -> crate::login::Login {
        crate::login::Login::new(self.clone())
    }

    /// Sends an authenticated request to `audience`.
    pub(crate) async fn send_authed(
        &self,
        ctx: &CallContext,
        audience: &str,
        access: Access,
        operation: &str,
        req: Request,
    ) -> Result<Response, Error> {
        let auth = &self.inner.auth;
        let pipeline = &self.inner.pipeline;
        let (token, kind) = auth.token(pipeline, ctx, audience, access, operation).await?;
        let retry = req.clone_for_retry();
        match pipeline.send(ctx, req.bearer(token.clone())).await {
            // A 401 means the request was not processed: the token was refused (revoked, or expired
            // by the service's clock, which may run ahead of ours). Fetch a new one and try once more.
            Err(Error::Api(e)) if e.status == 401 => {
                tracing::debug!(audience, "{e}; fetching a new token and retrying once");
                auth.invalidate(audience, kind, &token).await;
                let (token, _) = auth.token(pipeline, ctx, audience, access, operation).await?;
                pipeline.send(ctx, retry.bearer(token)).await
            }
            other => other,
        }
    }
}
