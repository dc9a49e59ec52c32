//! Clients for Microsoft Entra ID login, Microsoft Graph v1.0, Partner Center v1 and Azure Key Vault
//! secrets.
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
//! # What is where
//!
//! | need | API |
//! |---|---|
//! | configure | [`Client::new`]`(`[`ClientOptions`]`)`, [`ClientOptions::new`], [`Environment`] (`"public"`, `"usgovernment"`, `"china"`), [`Endpoints`], [`Credentials`], [`FederatedToken`], [`RetryPolicy`] |
//! | bound a call | [`CallContext::new`]`(CancellationToken)`, [`CallContext::with_timeout`], [`CallContext::with_deadline`] |
//! | Graph | [`Client::graph`] → [`Graph`]: `application_by_app_id`, `add_password`, `remove_password`, `set_required_resource_access`, `service_principal_by_app_id`, `create_service_principal`, `delegated_grants`, `create_delegated_grant`, `update_grant_scope`, `delete_grant` |
//! | Partner Center | [`Client::partner_center`] → [`PartnerCenter`]: `mpn_profile`, `organization_profile`, `customers` (a `Stream`), `indirect_resellers` |
//! | Key Vault | [`Client::key_vault`] (or [`KeyVault::new`]; keep it, it remembers each vault's challenge) → [`KeyVault`]: `set_secret`, `get_secret`, `get_secret_value`, `version_status`, `latest`, `latest_version`, `secret_versions`, `update_secret_attributes`, `delete_secret`, `deleted_secret`, `recover_deleted_secret`, `purge_deleted_secret`; [`VaultUri`], [`SecretId`], [`SecretAttributes`], [`SecretBundle`] |
//! | sign-in | [`Client::login`] → [`login::Login`]: `authorization_code`, `device_code`; network-free [`login::authorize_url`], [`login::admin_consent_url`] |
//! | server clock | [`Client::server_time`], [`Client::now`] |
//! | errors | [`Error`], [`ApiError`], [`LoginError`], [`KeyVaultError`] ([`Error::key_vault`], [`KeyVaultErrorKind`]) |
//! | fuzzing | [`decode`]: the response decoders on raw bytes, no network |
//!
//! # Behaviour
//!
//! - **Endpoints and audiences**: [`Environment`] maps to default [`Endpoints`] (overridable) and to
//!   fixed [`Audiences`] (never overridden). `http://` endpoints are refused unless loopback.
//! - **Tokens**: cached per (audience, [`TokenKind`]), refreshed 5 minutes before expiry (or at half
//!   life), judged by the server's clock once a `Date` header was seen; single flight. App-only
//!   (client credentials, v2, `<audience>/.default`) serves Graph and the customer list; app+user
//!   (refresh token, v2, `<audience>/user_impersonation offline_access`, client secret included when
//!   configured) serves the App+User-only Partner Center routes, and is the fallback when only a
//!   refresh token is configured. A missing refresh token is [`Error::RefreshTokenNeeded`]. A rotated
//!   refresh token replaces the old one for the life of the client ([`Client::current_refresh_token`]).
//!   A 401 from Graph or Partner Center drops the cached token and retries once with a new one.
//! - **Calls**: every operation takes a [`CallContext`] (cancellation + deadline). Retries (429 with
//!   `Retry-After`, 500/502/503/504, connection failures; see [`retry::classify`]) stop at
//!   cancellation ([`Error::Cancelled`]) or the deadline ([`Error::Timeout`] with the last error).
//!   POSTs that create (addPassword, service principal, grant) are not retried when they may have been
//!   applied: [`Error::Ambiguous`] tells the caller to look before retrying. `MS-CorrelationId` and
//!   `MS-RequestId` are new per call and kept across its retries.
//! - **Paging**: [`PartnerCenter::customers`] follows `links.next` or `continuationToken` to the
//!   end; Partner Center filters on one field, so the most selective filter is sent and the others
//!   are applied client-side ([`CustomerQuery`]).
//! - **Errors**: [`Error::Api`] holds an [`ApiError`] decoded from any documented error shape (login
//!   AADSTS, Graph, three Partner Center shapes), with request and correlation ids and the AADSTS code
//!   of login failures. [`Error::is_not_found`] and [`Error::NotFound`] mark "no such object";
//!   [`Error::Protocol`] a service breaking its own protocol (a paging loop, a next link to another
//!   host). Bodies may start with a UTF-8 BOM; unknown enum values are kept. Errors are facts (codes,
//!   which credential, what is missing): what to do about them is the caller's to say.
//! - **Key Vault**: the first request to a vault goes without token and body; its `WWW-Authenticate`
//!   challenge is verified (the vault host must be under the challenge's resource, except loopback
//!   `http://` vaults such as the emulator's; the resource must be the environment's
//!   [`Audiences::key_vault`]) before a token is sent. api-version `2025-07-01`. A 429 without
//!   `Retry-After` waits 1, 2, 4, 8, 16 s; a PUT that may have been applied is [`Error::Ambiguous`].
//!   Refusals are [`Error::KeyVault`] with a [`KeyVaultErrorKind`] (`ForbiddenByRbac`,
//!   `ForbiddenByPolicy`, `DeletedButRecoverable`, `SecretDisabled`, `Throttled`, …), the operation's
//!   permission, the vault, the secret and `x-ms-request-id`: facts, never advice.
//! - **Server clock**: [`Client::server_time`] follows the `Date` header of the latest answer.
//! - **Secrets**: [`Secret`] never prints; traces (`debug` per request, `trace` for bodies) are
//!   redacted by [`redact`]. The crate reads no environment variables and no files.

mod auth;
mod client;
mod clock;
mod context;
pub mod decode;
mod endpoints;
mod error;
#[cfg(test)]
mod fixtures;
pub mod graph;
mod http;
pub mod key_vault;
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
pub use error::{ApiError, Error, LoginError, Service};
pub use graph::{
    Application, ConsentType, CreatedPassword, Graph, NewGrant, NewPassword, PasswordCredential,
    PermissionGrant, PermissionScope, RequiredResourceAccess, ResourceAccess, ResourceAccessKind,
    ServicePrincipal,
};
pub use key_vault::{
    DeletedSecret, KeyVault, KeyVaultError, KeyVaultErrorKind, SecretAttributes, SecretBundle, SecretId,
    SecretOperation, VaultUri, VersionAttributes, VersionStatus,
};
pub use partner_center::{
    Address, Customer, CustomerQuery, IndirectReseller, MpnProfile, OrganizationProfile, PartnerCenter,
    RelationshipToPartner,
};
pub use retry::{RetryDecision, RetryPolicy};
pub use secret::Secret;

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
