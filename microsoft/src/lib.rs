//! Clients for Microsoft Entra ID login, Microsoft Graph v1.0 and Partner Center v1.
//!
//! One [`Client`] per configuration; clones share one HTTP pipeline and one token cache.
//!
//! ```no_run
//! # async fn demo() -> Result<(), partnercenter_microsoft::Error> {
//! use partnercenter_microsoft::*;
//! use futures::TryStreamExt;
//!
//! let credentials = Credentials {
//!     tenant_id: "6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90".into(),
//!     client_id: "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47".into(),
//!     client_secret: Some(Secret::new("...")),
//!     ..Credentials::default()
//! };
//! let client = Client::new(ClientOptions::new(Environment::Public, credentials))?;
//! let ctx = CallContext::new(tokio_util::sync::CancellationToken::new())
//!     .with_timeout(std::time::Duration::from_secs(60));
//! let app = client.graph().application_by_app_id(&ctx, "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47").await?;
//! let customers: Vec<Customer> = client
//!     .partner_center()
//!     .customers(&ctx, CustomerQuery::default())
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! - **Endpoints and audiences**: [`Environment`] maps to default [`Endpoints`] (overridable) and to
//!   fixed [`Audiences`] (never overridden). `http://` endpoints are refused unless loopback.
//! - **Tokens**: cached per (audience, [`TokenKind`]), refreshed 5 minutes before expiry (or at half
//!   life), single flight. App-only (client credentials, v2, `<audience>/.default`) serves Graph and
//!   the customer list; app+user (refresh token, v2, `user_impersonation offline_access`) serves the
//!   App+User-only Partner Center routes, and is the fallback when only a refresh token is configured.
//!   A missing refresh token is [`Error::RefreshTokenNeeded`]. A rotated refresh token replaces the
//!   old one for the life of the client ([`Client::current_refresh_token`]).
//! - **Calls**: every operation takes a [`CallContext`] (cancellation + deadline). Retries (429 with
//!   `Retry-After`, 5xx, connection failures; see [`retry::classify`]) stop at cancellation
//!   ([`Error::Cancelled`]) or the deadline ([`Error::Timeout`] with the last error). Creating POSTs
//!   are not retried when they may have been applied: [`Error::Ambiguous`].
//! - **Errors**: [`Error::Api`] holds an [`ApiError`] decoded from any documented error shape.
//! - **Server clock**: [`Client::server_time`] follows the `Date` header of the latest answer.
//! - **Secrets**: [`Secret`] never prints; traces (`debug` for requests, `trace` for bodies) are
//!   redacted by [`redact`].

mod auth;
mod client;
mod clock;
mod context;
mod endpoints;
mod error;
pub mod graph;
mod http;
pub mod login;
pub mod partner_center;
pub mod redact;
pub mod retry;
mod secret;

pub use auth::{
    CLIENT_ASSERTION_TYPE, Credentials, FEDERATED_AUDIENCE, FederatedToken, REFRESH_MARGIN, TokenKind,
};
pub use client::{Client, ClientOptions};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::CallContext;
pub use endpoints::{Audiences, Endpoints, Environment, check_endpoint};
pub use error::{ApiError, Error, LOGIN_COMMAND, LoginError, Service};
pub use graph::{
    Application, ConsentType, CreatedPassword, Graph, NewGrant, NewPassword, PasswordCredential,
    PermissionGrant, PermissionScope, RequiredResourceAccess, ResourceAccess, ResourceAccessKind,
    ServicePrincipal,
};
pub use partner_center::{
    Address, Customer, CustomerQuery, IndirectReseller, MpnProfile, OrganizationProfile, PartnerCenter,
    RelationshipToPartner,
};
pub use retry::{RetryDecision, RetryPolicy};
pub use secret::Secret;

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
