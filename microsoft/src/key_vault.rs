//! Azure Key Vault secrets (data plane): write a secret as a new version, read versions' metadata,
//! disable a version, soft delete and recovery; challenge-based authentication as the Azure SDKs do
//! it, and Key Vault's refusals as typed facts ([`KeyVaultError`]).
//!
//! Key Vault requests do not go through the shared pipeline's retry loop (`http.rs`): the first
//! request to a vault must be sent without a token and without its body (the challenge), Key Vault
//! prescribes its own backoff for 429 without `Retry-After` (1, 2, 4, 8, 16 s), its error bodies nest
//! `innererror` codes the shared decoder does not keep, and its bodies carry the secret in a field
//! (`value`) the shared redaction leaves alone. The connection pool, token cache, retry bounds and
//! the classifier for 5xx and connection failures ([`crate::retry::classify`]) are shared.

use crate::auth::{Access, TokenKind};
use crate::client::Client;
use crate::context::CallContext;
use crate::endpoints::{check_endpoint, is_loopback, next_link_on};
use crate::error::{ApiError, Error, ResponseIds, Service, decode_error, strip_bom};
use crate::http::{Answer, Attempted, Failed, Retries, bearer, describe, safe_serde_message, send_once};
use crate::redact::{redact_json, redact_url};
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;
use uuid::Uuid;

/// The api-version sent on every request. `2026-04-01` is the newest GA version in the REST specs,
/// but the specs' own readme and the Learn reference still name `2025-07-01` as the newest stable
/// one, and the secret operations used here are the same in both: `2025-07-01` is the conservative
/// pick (reference A.1). Vaults accept older versions too (azurerm sends 7.4).
pub const API_VERSION: &str = "2025-07-01";

/// Largest secret value Key Vault stores: "25k bytes" (KVDOCS about-secrets). Read as 25 KiB; values
/// written here (application keys) are tens of bytes.
pub const MAX_VALUE_BYTES: usize = 25 * 1024;
/// Longest `contentType`, in characters.
pub const MAX_CONTENT_TYPE_CHARS: usize = 255;
/// Most tags on a secret.
pub const MAX_TAGS: usize = 15;
/// Longest tag name or value, in characters.
pub const MAX_TAG_CHARS: usize = 256;
/// Longest secret name, in characters.
pub const MAX_NAME_CHARS: usize = 127;

/// Waits for a 429 that came without `Retry-After`, as the Key Vault throttling guidance prescribes
/// (KVDOCS overview-throttling); after the last one the 429 is returned.
const THROTTLE_BACKOFF_SECS: [u64; 5] = [1, 2, 4, 8, 16];

// ---------------------------------------------------------------------------------------------
// Names and identifiers

/// A vault's base URI, e.g. `https://contoso-kv.vault.azure.net/`. Always ends with `/`.
///
/// `https://` is required, except `http://` on loopback hosts (the emulator serves vaults as
/// `http://127.0.0.1:PORT/_vaults/{name}/`). A real vault's URI has no path and its first host label
/// is a vault name (3–24 of `0-9a-zA-Z-`, starting with a letter, ending with a letter or digit, no
/// `--`); a loopback URI may carry a path prefix.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VaultUri(Url);

impl VaultUri {
    /// Parses and checks a vault URI.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidEndpoint {
            name: "vault_uri".to_owned(),
            url: s.to_owned(),
            reason,
        };
        let mut url = Url::parse(s.trim()).map_err(|e| invalid(format!("not a URL: {e}")))?;
        check_endpoint("vault_uri", &url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("a vault URI carries no user name or password".to_owned()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a vault URI has no query or fragment".to_owned()));
        }
        let Some(host) = url.host_str().map(str::to_owned) else {
            return Err(invalid("a vault URI needs a host".to_owned()));
        };
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        if !is_loopback(&url) {
            if url.path() != "/" {
                return Err(invalid(format!(
                    "a vault URI has no path (got {:?}); use the vault's base URI, e.g. https://{host}/",
                    url.path()
                )));
            }
            let label = host.split('.').next().unwrap_or_default();
            if host.parse::<std::net::IpAddr>().is_ok() || !is_vault_name(label) {
                return Err(invalid(format!(
                    "{label:?} is not a vault name (3-24 letters, digits and single hyphens, starting \
                     with a letter, ending with a letter or digit)"
                )));
            }
        }
        Ok(Self(url))
    }

    /// The URI, ending with `/`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URI as a URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The host (lowercase).
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Whether the challenge's resource need not be verified: a plain-http loopback vault (the
    /// emulator), whose host cannot be a subdomain of any Key Vault resource.
    fn is_loopback_http(&self) -> bool {
        self.0.scheme() == "http" && is_loopback(&self.0)
    }

    /// `{vault}{path}?api-version=…`, each path segment percent-encoded.
    fn url_for(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.0.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::Config(format!("vault URI {} cannot have a path", self.0)))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        url.query_pairs_mut().append_pair("api-version", API_VERSION);
        Ok(url)
    }
}

impl fmt::Display for VaultUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for VaultUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultUri({})", self.0)
    }
}

impl FromStr for VaultUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// KVDOCS about-keys-secrets-certificates: 3–24 characters of `0-9a-zA-Z-`, no `--`; the portal
/// also requires a letter first and a letter or digit last.
fn is_vault_name(s: &str) -> bool {
    (3..=24).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("--")
}

/// Checks a secret name: `^[0-9a-zA-Z-]{1,127}$` (the REST spec's pattern and the documented length).
pub fn check_secret_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{name:?} is not a Key Vault secret name: 1-{MAX_NAME_CHARS} characters of 0-9, a-z, A-Z and -"
        )))
    }
}

/// One version of a secret: `{vault}secrets/{name}/{version}`. Compared case-insensitively, as Key
/// Vault ids must be.
#[derive(Debug, Clone)]
pub struct SecretId {
    /// The vault.
    pub vault: VaultUri,
    /// The secret's name.
    pub name: String,
    /// The version (32 hex characters as Key Vault makes them).
    pub version: String,
}

impl SecretId {
    /// Parses a versioned id such as `https://kv.vault.azure.net/secrets/app-key/0123…cdef`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Config(format!("{s:?} is not a versioned Key Vault secret id: {why}"));
        let url = Url::parse(s.trim()).map_err(|e| bad(&e.to_string()))?;
        let segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
        let n = segments.len();
        if n < 3 || !segments[n - 3].eq_ignore_ascii_case("secrets") {
            return Err(bad("expected …/secrets/{name}/{version}"));
        }
        let (name, version) = (segments[n - 2], segments[n - 1]);
        check_secret_name(name)?;
        if !is_version(version) {
            return Err(bad("the version is empty or not alphanumeric"));
        }
        let mut vault = url.clone();
        vault.set_query(None);
        vault.set_fragment(None);
        vault.set_path(&format!("{}/", segments[..n - 3].join("/")));
        Ok(Self {
            vault: VaultUri::parse(vault.as_str())?,
            name: name.to_owned(),
            version: version.to_owned(),
        })
    }

    fn url(&self) -> Result<Url, Error> {
        self.vault.url_for(&["secrets", &self.name, &self.version])
    }
}

/// Whether `v` can be a version: 1-64 letters and digits (Key Vault makes 32 hex characters).
fn is_version(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric())
}

impl PartialEq for SecretId {
    fn eq(&self, other: &Self) -> bool {
        self.vault == other.vault
            && self.name.eq_ignore_ascii_case(&other.name)
            && self.version.eq_ignore_ascii_case(&other.version)
    }
}

impl Eq for SecretId {}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}secrets/{}/{}", self.vault, self.name, self.version)
    }
}

impl FromStr for SecretId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// What a new version carries besides its value (`SecretSetParameters` without `value`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretAttributes {
    /// `contentType` (at most 255 characters).
    pub content_type: Option<String>,
    /// Tags (at most 15; names and values at most 256 characters).
    pub tags: BTreeMap<String, String>,
    /// `nbf`: informational; Key Vault serves the secret before it too.
    pub not_before: Option<DateTime<Utc>>,
    /// `exp`: informational; Key Vault serves the secret after it too.
    pub expires: Option<DateTime<Utc>>,
    /// `enabled` (Key Vault's default: true).
    pub enabled: Option<bool>,
}

impl SecretAttributes {
    /// Checks the documented limits, before any request.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(ct) = &self.content_type {
            if ct.chars().count() > MAX_CONTENT_TYPE_CHARS {
                return Err(Error::Config(format!(
                    "a Key Vault content type has at most {MAX_CONTENT_TYPE_CHARS} characters (got {})",
                    ct.chars().count()
                )));
            }
        }
        check_tags(&self.tags)
    }
}

/// Checks tags against Key Vault's limits.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::Config(format!(
            "a Key Vault secret has at most {MAX_TAGS} tags (got {})",
            tags.len()
        )));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > MAX_TAG_CHARS {
            return Err(Error::Config(format!(
                "Key Vault tag name {k:?} must have 1-{MAX_TAG_CHARS} characters"
            )));
        }
        if v.chars().count() > MAX_TAG_CHARS {
            return Err(Error::Config(format!(
                "the value of Key Vault tag {k:?} has more than {MAX_TAG_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// The attributes Key Vault keeps per version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionAttributes {
    /// Whether the version can be read. A disabled version answers 403 `SecretDisabled`.
    pub enabled: bool,
    /// `nbf`.
    pub not_before: Option<DateTime<Utc>>,
    /// `exp`.
    pub expires: Option<DateTime<Utc>>,
    /// When the version was made.
    pub created: Option<DateTime<Utc>>,
    /// When it was last changed.
    pub updated: Option<DateTime<Utc>>,
    /// `recoveryLevel`, e.g. `Recoverable+Purgeable` (soft delete on, purge protection off).
    pub recovery_level: Option<String>,
    /// `recoverableDays` (7–90; 0 without soft delete).
    pub recoverable_days: Option<u32>,
}

/// A secret version's metadata (`SecretBundle` or `SecretItem` without `value`). The value is never
/// kept here; [`KeyVault::get_secret_value`] returns it separately as a [`Secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretBundle {
    /// The versioned id.
    pub id: SecretId,
    /// The version's attributes.
    pub attributes: VersionAttributes,
    /// `contentType`.
    pub content_type: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Whether Key Vault manages the secret (the secret behind a certificate).
    pub managed: bool,
}

/// A soft-deleted secret (`DeletedSecretBundle` without `value`): its latest version's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedSecret {
    /// The latest version when it was deleted.
    pub secret: SecretBundle,
    /// `recoveryId`: `{vault}deletedsecrets/{name}`.
    pub recovery_id: Option<String>,
    /// `deletedDate`.
    pub deleted: Option<DateTime<Utc>>,
    /// `scheduledPurgeDate`.
    pub scheduled_purge: Option<DateTime<Utc>>,
}

/// Whether one version can be read: the answer to "does my version still exist and is it enabled".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionStatus {
    /// Readable; its metadata.
    Enabled(Box<SecretBundle>),
    /// The version exists but is disabled (403 `SecretDisabled`).
    Disabled,
    /// No such version, or the secret is deleted (404 `SecretNotFound`).
    NotFound,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireBundle {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    attributes: Option<WireAttributes>,
    #[serde(default)]
    managed: Option<bool>,
    #[serde(default)]
    recovery_id: Option<String>,
    #[serde(default)]
    deleted_date: Option<i64>,
    #[serde(default)]
    scheduled_purge_date: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAttributes {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    updated: Option<i64>,
    #[serde(default)]
    recovery_level: Option<String>,
    #[serde(default)]
    recoverable_days: Option<u32>,
}

#[derive(Deserialize)]
struct WireValue {
    #[serde(default)]
    value: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePage {
    #[serde(default)]
    value: Vec<WireBundle>,
    #[serde(default)]
    next_link: Option<String>,
}

/// The name and version at the end of a versioned id (`…/secrets/{name}/{version}`). The vault part
/// is not read: the caller's vault URI stands for it.
fn name_and_version(id: &str) -> Result<(String, String), String> {
    let url = Url::parse(id).map_err(|e| format!("the id is not a URL: {e}"))?;
    let segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
    match segments.as_slice() {
        [.., secrets, name, version]
            if secrets.eq_ignore_ascii_case("secrets")
                && check_secret_name(name).is_ok()
                && is_version(version) =>
        {
            Ok(((*name).to_owned(), (*version).to_owned()))
        }
        _ => Err("the id does not end in /secrets/{name}/{version}".to_owned()),
    }
}

fn unix(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|s| DateTime::from_timestamp(s, 0))
}

impl WireBundle {
    /// The metadata, its id resolved against the vault the call used (a proxy or the emulator may
    /// name its vault differently than the caller reached it).
    fn into_bundle(self, vault: &VaultUri, name: &str) -> Result<SecretBundle, String> {
        let id = self.id.ok_or("the answer has no id")?;
        let (found, version) = name_and_version(&id)?;
        if !found.eq_ignore_ascii_case(name) {
            return Err(format!("the answer names secret {found:?}, not {name:?}"));
        }
        let a = self.attributes;
        Ok(SecretBundle {
            id: SecretId {
                vault: vault.clone(),
                name: found,
                version,
            },
            attributes: VersionAttributes {
                enabled: a.as_ref().and_then(|a| a.enabled).unwrap_or(true),
                not_before: unix(a.as_ref().and_then(|a| a.nbf)),
                expires: unix(a.as_ref().and_then(|a| a.exp)),
                created: unix(a.as_ref().and_then(|a| a.created)),
                updated: unix(a.as_ref().and_then(|a| a.updated)),
                recovery_level: a.as_ref().and_then(|a| a.recovery_level.clone()),
                recoverable_days: a.as_ref().and_then(|a| a.recoverable_days),
            },
            content_type: self.content_type,
            tags: self.tags.unwrap_or_default(),
            managed: self.managed.unwrap_or(false),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The operation a Key Vault error happened in, and the permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretOperation {
    /// `PUT /secrets/{name}` (a new version).
    Set,
    /// `GET /secrets/{name}/{version}`.
    Get,
    /// `GET /secrets/{name}/versions`.
    ListVersions,
    /// `PATCH /secrets/{name}/{version}`.
    Update,
    /// `DELETE /secrets/{name}`.
    Delete,
    /// `GET /deletedsecrets/{name}`.
    GetDeleted,
    /// `POST /deletedsecrets/{name}/recover`.
    Recover,
    /// `DELETE /deletedsecrets/{name}`.
    Purge,
}

impl SecretOperation {
    /// The access-policy permission it needs, e.g. `secrets/set`.
    pub fn permission(self) -> &'static str {
        match self {
            Self::Set | Self::Update => "secrets/set",
            Self::Get => "secrets/get",
            Self::ListVersions | Self::GetDeleted => "secrets/list",
            Self::Delete => "secrets/delete",
            Self::Recover => "secrets/recover",
            Self::Purge => "secrets/purge",
        }
    }

    /// The Azure RBAC data action it needs (the "Key Vault Secrets Officer" role has them all; "Key
    /// Vault Secrets User" only `getSecret` and `readMetadata`).
    pub fn rbac_data_action(self) -> &'static str {
        match self {
            Self::Set => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            Self::Update => "Microsoft.KeyVault/vaults/secrets/update/action",
            Self::Get => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            Self::ListVersions | Self::GetDeleted => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            Self::Delete => "Microsoft.KeyVault/vaults/secrets/delete",
            Self::Recover => "Microsoft.KeyVault/vaults/secrets/recover/action",
            Self::Purge => "Microsoft.KeyVault/vaults/secrets/purge/action",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Set => "writing a secret version",
            Self::Get => "reading a secret version",
            Self::ListVersions => "listing a secret's versions",
            Self::Update => "updating a secret version's attributes",
            Self::Delete => "deleting a secret",
            Self::GetDeleted => "reading a deleted secret",
            Self::Recover => "recovering a deleted secret",
            Self::Purge => "purging a deleted secret",
        }
    }
}

impl fmt::Display for SecretOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// What a Key Vault refusal means, from the status and the (inner) error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyVaultErrorKind {
    /// 401 although a fresh token was sent: the vault refuses the token (wrong tenant or audience).
    Unauthorized,
    /// The vault's authentication challenge was not acceptable (missing, unreadable, a resource the
    /// vault's host is not under, or an audience other than this environment's Key Vault), so no
    /// token was sent. [`KeyVaultError::detail`] says which.
    ChallengeRefused,
    /// 403 `ForbiddenByRbac`: the caller lacks the operation's RBAC data action on the vault.
    ForbiddenByRbac,
    /// 403 `ForbiddenByPolicy`: the vault's access policy lacks the operation's permission.
    ForbiddenByPolicy,
    /// 403 `ForbiddenByFirewall`: the vault's network rules refuse the caller's address.
    ForbiddenByFirewall,
    /// 403 `SecretDisabled`: the version is disabled.
    SecretDisabled,
    /// Another 403.
    Forbidden,
    /// 404 `SecretNotFound` (also for a deleted secret's versions).
    SecretNotFound,
    /// Another 404 (e.g. a wrong vault path behind a proxy).
    NotFound,
    /// 409 `ObjectIsDeletedButRecoverable`: the name is soft-deleted; recover or purge it first.
    DeletedButRecoverable,
    /// 409 `ObjectIsBeingDeleted`: a delete is still running; retry later.
    BeingDeleted,
    /// 409 `ObjectIsBeingRecovered`: a recover is still running; retry later.
    BeingRecovered,
    /// Another 409.
    Conflict,
    /// 429 `Throttled`, still after the prescribed backoff (or with a `Retry-After` too long to wait).
    Throttled,
    /// 400 (`BadParameter` and the like).
    BadRequest,
    /// 5xx.
    ServiceError,
    /// Anything else.
    Other,
}

/// A Key Vault refusal as facts: what was being done, where, and what the vault answered. Holds no
/// secret value and no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVaultError {
    /// What it means.
    pub kind: KeyVaultErrorKind,
    /// What was being done (and so which permission was needed).
    pub operation: SecretOperation,
    /// The vault URI.
    pub vault: String,
    /// The secret's name, when the call named one.
    pub secret: Option<String>,
    /// The answer: status, `error.code`, message, `x-ms-request-id`, correlation id, `Retry-After`.
    pub answer: ApiError,
    /// The innermost `innererror.code` (`ForbiddenByRbac`, `SecretDisabled`, …).
    pub inner_code: Option<String>,
    /// Facts found by this client rather than sent by the vault (for [`KeyVaultErrorKind::ChallengeRefused`]
    /// and [`KeyVaultErrorKind::Unauthorized`]: what the challenge said).
    pub detail: Option<String>,
}

impl KeyVaultError {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.answer.status
    }

    /// `error.code`.
    pub fn code(&self) -> Option<&str> {
        self.answer.code.as_deref()
    }

    /// `x-ms-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.answer.request_id.as_deref()
    }

    /// Whether this means "no such secret or version".
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.kind,
            KeyVaultErrorKind::SecretNotFound | KeyVaultErrorKind::NotFound
        )
    }
}

impl fmt::Display for KeyVaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (needs {}) in vault {}",
            self.operation,
            self.operation.permission(),
            self.vault
        )?;
        if let Some(s) = &self.secret {
            write!(f, ", secret {s}")?;
        }
        write!(f, ": Key Vault answered {}", self.answer.status)?;
        if let Some(code) = &self.answer.code {
            write!(f, " {code}")?;
        }
        if let Some(inner) = self
            .inner_code
            .as_ref()
            .filter(|i| Some(*i) != self.answer.code.as_ref())
        {
            write!(f, " ({inner})")?;
        }
        // Key Vault's RBAC messages span lines ("Caller: …", "Action: …"); one line reads better.
        let message: Vec<&str> = self
            .answer
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if !message.is_empty() {
            write!(f, ": {}", message.join(" "))?;
        }
        let mut ids = Vec::new();
        if let Some(id) = &self.answer.request_id {
            ids.push(format!("request id {id}"));
        }
        if let Some(id) = &self.answer.correlation_id {
            ids.push(format!("client request id {id}"));
        }
        if !ids.is_empty() {
            write!(f, " ({})", ids.join(", "))?;
        }
        if let Some(d) = &self.detail {
            write!(f, "; {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KeyVaultError {}

/// Every `code` from `error` down through nested `innererror`s, outermost first.
fn error_codes(body: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(v) = serde_json::from_slice::<Value>(strip_bom(body)) else {
        return out;
    };
    let mut node = v.get("error");
    // Bounded: a hostile body cannot make this loop long.
    for _ in 0..32 {
        let Some(n) = node.filter(|n| n.is_object()) else {
            break;
        };
        if let Some(code) = n.get("code").and_then(Value::as_str) {
            out.push(code.to_owned());
        }
        node = n.get("innererror").or_else(|| n.get("innerError"));
    }
    out
}

fn kind_of(status: u16, codes: &[String]) -> KeyVaultErrorKind {
    use KeyVaultErrorKind as K;
    let has = |c: &str| codes.iter().any(|x| x.eq_ignore_ascii_case(c));
    match status {
        401 => K::Unauthorized,
        403 if has("ForbiddenByRbac") => K::ForbiddenByRbac,
        403 if has("ForbiddenByPolicy") => K::ForbiddenByPolicy,
        403 if has("ForbiddenByFirewall") => K::ForbiddenByFirewall,
        403 if has("SecretDisabled") => K::SecretDisabled,
        403 => K::Forbidden,
        404 if has("SecretNotFound") => K::SecretNotFound,
        404 => K::NotFound,
        409 if has("ObjectIsDeletedButRecoverable") => K::DeletedButRecoverable,
        409 if has("ObjectIsBeingDeleted") => K::BeingDeleted,
        409 if has("ObjectIsBeingRecovered") => K::BeingRecovered,
        409 => K::Conflict,
        429 => K::Throttled,
        400 => K::BadRequest,
        500..=599 => K::ServiceError,
        _ if has("Throttled") => K::Throttled,
        _ => K::Other,
    }
}

// ---------------------------------------------------------------------------------------------
// The challenge

/// The parameters of a `WWW-Authenticate: Bearer …` challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub authorization: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
}

impl Challenge {
    /// The first `Bearer` challenge among the header values; `None` if there is none.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(Self::parse)
    }

    /// Reads `Bearer authorization="…", resource="…"` (also `authorization_uri`, `scope`, with commas
    /// or spaces between parameters). Stops at the next scheme in the same header value.
    pub(crate) fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, mut rest) = header.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut params: HashMap<String, String> = HashMap::new();
        loop {
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let key_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            if key_len == 0 || !rest[key_len..].trim_start().starts_with('=') {
                break;
            }
            let key = rest[..key_len].to_ascii_lowercase();
            rest = rest[key_len..].trim_start()[1..].trim_start();
            let value;
            if let Some(quoted) = rest.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                out.push(escaped);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        _ => out.push(c),
                    }
                }
                value = out;
                rest = &quoted[end.min(quoted.len())..];
            } else {
                let len = rest
                    .find(|c: char| c == ',' || c.is_whitespace())
                    .unwrap_or(rest.len());
                value = rest[..len].to_owned();
                rest = &rest[len..];
            }
            params.entry(key).or_insert(value);
        }
        Some(Self {
            authorization: params
                .remove("authorization")
                .or_else(|| params.remove("authorization_uri")),
            resource: params.remove("resource"),
            scope: params.remove("scope"),
        })
    }

    /// The scope to ask a token for: `scope=`, else `resource=` + `/.default`.
    pub(crate) fn scope(&self) -> Option<String> {
        if let Some(s) = self.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            return Some(s.to_owned());
        }
        let r = self
            .resource
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())?;
        Some(format!("{}/.default", r.trim_end_matches('/')))
    }

    /// The tenant: the first path segment of `authorization=`.
    pub(crate) fn tenant(&self) -> Option<String> {
        let url = Url::parse(self.authorization.as_deref()?).ok()?;
        let first = url.path_segments()?.next()?.to_owned();
        (!first.is_empty()).then_some(first)
    }
}

/// What this client learnt from a vault's challenge.
#[derive(Debug, Clone)]
struct Challenged {
    /// The tenant the vault named (facts for a later 401).
    tenant: Option<String>,
}

/// Checks a challenge before any token is sent: the scope's resource must be a parent domain of the
/// vault's host (as the Azure SDKs verify it), and must be this environment's Key Vault audience (the
/// token cache asks for fixed audiences only). Loopback `http://` vaults skip the domain check: the
/// emulator's vaults live on 127.0.0.1 and name the real resource.
fn verify_challenge(vault: &VaultUri, challenge: &Challenge, audience: &str) -> Result<(), String> {
    let scope = challenge.scope().ok_or_else(|| {
        "the vault's challenge names neither a scope nor a resource, so no token was sent".to_owned()
    })?;
    let resource = scope
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches("/.default")
        .trim_end_matches('/')
        .to_owned();
    if !vault.is_loopback_http() {
        let host = Url::parse(&resource)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .ok_or_else(|| {
                format!(
                    "the vault's challenge names resource {resource:?}, which is not a URL; no token was sent"
                )
            })?;
        let vault_host = vault.host().to_ascii_lowercase();
        if !vault_host.ends_with(&format!(".{host}")) {
            return Err(format!(
                "the vault's challenge names resource {resource}, and the vault host {vault_host} is \
                 not under {host}; no token was sent"
            ));
        }
    }
    if !resource.eq_ignore_ascii_case(audience.trim_end_matches('/')) {
        return Err(format!(
            "the vault's challenge asks for a token for {resource}, but Key Vault in this client's \
             environment is {audience}; no token was sent (check the environment)"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Traces

/// A Key Vault body for traces: every string `value` (the secret) replaced, then the crate's
/// redaction of token-like fields. `value` arrays (list pages) are kept.
fn redact_body(body: &[u8]) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k.eq_ignore_ascii_case("value") && v.is_string() {
                        *v = Value::String("<redacted>".to_owned());
                    } else {
                        strip(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    match serde_json::from_slice::<Value>(strip_bom(body)) {
        Ok(mut v) => {
            strip(&mut v);
            redact_json(v.to_string().as_bytes())
        }
        Err(_) if body.is_empty() => String::new(),
        Err(_) => format!("<{} bytes, not JSON, not shown>", body.len()),
    }
}

/// Overwrites a buffer that held a secret value (best effort, as [`Secret`] does on drop).
fn wipe(mut bytes: Vec<u8>) {
    bytes.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&bytes);
}

// ---------------------------------------------------------------------------------------------
// The client

/// One Key Vault call, possibly sent several times.
struct Call<'a> {
    operation: SecretOperation,
    vault: &'a VaultUri,
    secret: Option<&'a str>,
    method: Method,
    url: Url,
    /// JSON; may hold the secret value: never traced unredacted, wiped after the call.
    body: Option<Vec<u8>>,
    /// Whether sending it twice is harmless. A PUT makes a new version each time, so it is not.
    idempotent: bool,
}

/// Key Vault secret operations. Obtained from [`Client::key_vault`] or [`KeyVault::new`]; shares the
/// client's connection pool and token cache. Clones share the challenges learnt per vault: keep one
/// for the life of the client, or each new one sends one more unauthenticated, body-less request per
/// vault.
///
/// Tokens are app-only (client credentials) when a client secret or federated token is configured,
/// else app+user from the refresh token, for the environment's Key Vault audience
/// ([`crate::Audiences::key_vault`]).
#[derive(Clone)]
pub struct KeyVault {
    client: Client,
    challenged: Arc<Mutex<HashMap<String, Challenged>>>,
}

impl fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vaults: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("KeyVault")
            .field("client", &self.client)
            .field("challenged_vaults", &vaults)
            .finish()
    }
}

impl Client {
    /// Key Vault secret operations (see [`KeyVault`]: keep the value to reuse what it learns per
    /// vault).
    pub fn key_vault(&self) -> KeyVault {
        KeyVault::new(self)
    }
}

impl KeyVault {
    /// Key Vault operations through `client`.
    pub fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            challenged: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Challenged>> {
        // The map holds plain data; a panic elsewhere cannot leave it inconsistent.
        self.challenged.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `PUT {vault}secrets/{name}`: a new version holding `value`. Not retried once it may have been
    /// applied (connection lost after sending, 5xx, timeout or cancellation in flight): that is
    /// [`Error::Ambiguous`], and the caller looks at [`Self::latest`] before writing again.
    pub async fn set_secret(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
        value: &Secret,
        attributes: &SecretAttributes,
    ) -> Result<SecretBundle, Error> {
        check_secret_name(name)?;
        attributes.validate()?;
        let len = value.expose().len();
        if len > MAX_VALUE_BYTES {
            return Err(Error::Config(format!(
                "a Key Vault secret value has at most {MAX_VALUE_BYTES} bytes (got {len})"
            )));
        }
        let mut attrs = serde_json::Map::new();
        if let Some(e) = attributes.enabled {
            attrs.insert("enabled".into(), e.into());
        }
        if let Some(t) = attributes.not_before {
            attrs.insert("nbf".into(), t.timestamp().into());
        }
        if let Some(t) = attributes.expires {
            attrs.insert("exp".into(), t.timestamp().into());
        }
        let mut body = serde_json::Map::new();
        body.insert("value".into(), value.expose().into());
        if let Some(ct) = &attributes.content_type {
            body.insert("contentType".into(), ct.clone().into());
        }
        if !attributes.tags.is_empty() {
            body.insert(
                "tags".into(),
                serde_json::to_value(&attributes.tags).unwrap_or_default(),
            );
        }
        if !attrs.is_empty() {
            body.insert("attributes".into(), Value::Object(attrs));
        }
        let body = Value::Object(body);
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::Config(format!("encoding a secret: {e}")));
        drop(body);
        let call = Call {
            operation: SecretOperation::Set,
            vault,
            secret: Some(name),
            method: Method::PUT,
            url: vault.url_for(&["secrets", name])?,
            body: Some(bytes?),
            idempotent: false,
        };
        let (status, answer) = self.send(ctx, call).await?;
        let out = decode_bundle(&answer, status, "PUT secret", vault, name);
        wipe(answer);
        out
    }

    /// `GET {id}`: the version's metadata. A disabled version is [`KeyVaultErrorKind::SecretDisabled`],
    /// a missing one [`KeyVaultErrorKind::SecretNotFound`]. The value Key Vault sends along is dropped
    /// at once (needs `secrets/get` all the same).
    pub async fn get_secret(&self, ctx: &CallContext, id: &SecretId) -> Result<SecretBundle, Error> {
        self.get_secret_value(ctx, id).await.map(|(bundle, _)| bundle)
    }

    /// `GET {id}`: the version's metadata and its value.
    pub async fn get_secret_value(
        &self,
        ctx: &CallContext,
        id: &SecretId,
    ) -> Result<(SecretBundle, Secret), Error> {
        self.get(ctx, &id.vault, &id.name, &id.version).await
    }

    async fn get(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
        version: &str,
    ) -> Result<(SecretBundle, Secret), Error> {
        check_secret_name(name)?;
        if !version.is_empty() && !is_version(version) {
            return Err(Error::Config(format!(
                "{version:?} is not a Key Vault secret version"
            )));
        }
        // An empty version (`…/secrets/{name}/`) is the latest, as the SDKs send it.
        let url = vault.url_for(&["secrets", name, version])?;
        let call = Call {
            operation: SecretOperation::Get,
            vault,
            secret: Some(name),
            method: Method::GET,
            url,
            body: None,
            idempotent: true,
        };
        let (status, answer) = self.send(ctx, call).await?;
        let bundle = decode_bundle(&answer, status, "GET secret", vault, name);
        let value = serde_json::from_slice::<WireValue>(strip_bom(&answer))
            .ok()
            .and_then(|v| v.value);
        wipe(answer);
        let value = value.ok_or_else(|| Error::Decode {
            service: Service::KeyVault,
            status,
            request: "GET secret".to_owned(),
            what: "a secret bundle with a value",
            detail: "no value".to_owned(),
        });
        Ok((bundle?, value?))
    }

    /// Whether version `id` is readable: [`VersionStatus::Enabled`] with its metadata,
    /// [`VersionStatus::Disabled`] or [`VersionStatus::NotFound`]. Other refusals are errors.
    pub async fn version_status(&self, ctx: &CallContext, id: &SecretId) -> Result<VersionStatus, Error> {
        match self.get_secret(ctx, id).await {
            Ok(b) => Ok(VersionStatus::Enabled(Box::new(b))),
            Err(e) => match e.key_vault().map(|k| k.kind) {
                Some(KeyVaultErrorKind::SecretDisabled) => Ok(VersionStatus::Disabled),
                Some(KeyVaultErrorKind::SecretNotFound) => Ok(VersionStatus::NotFound),
                _ => Err(e),
            },
        }
    }

    /// The latest version's metadata (`GET {vault}secrets/{name}/`); `None` when the secret does not
    /// exist (or is deleted). When the latest version is disabled (403 `SecretDisabled`), the
    /// versions are listed (needs `secrets/list`) and the newest `created` wins; versions created in
    /// the same second keep the listing's order, the last one winning.
    pub async fn latest(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<Option<SecretBundle>, Error> {
        match self.get(ctx, vault, name, "").await {
            Ok((bundle, _)) => Ok(Some(bundle)),
            Err(e) => match e.key_vault().map(|k| k.kind) {
                Some(KeyVaultErrorKind::SecretNotFound) => Ok(None),
                Some(KeyVaultErrorKind::SecretDisabled) => {
                    let versions = self.secret_versions(ctx, vault, name).await?;
                    let newest = versions
                        .into_iter()
                        .enumerate()
                        .max_by_key(|(i, b)| (b.attributes.created, *i))
                        .map(|(_, b)| b);
                    Ok(newest)
                }
                _ => Err(e),
            },
        }
    }

    /// The latest version's id; `None` when the secret does not exist (see [`Self::latest`]).
    pub async fn latest_version(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<Option<SecretId>, Error> {
        Ok(self.latest(ctx, vault, name).await?.map(|b| b.id))
    }

    /// `GET {vault}secrets/{name}/versions`, every page (`nextLink` is followed on the same vault
    /// only, with this client's api-version put back). Metadata only; Key Vault lists no values.
    /// A secret that does not exist gives an empty list.
    pub async fn secret_versions(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<Vec<SecretBundle>, Error> {
        check_secret_name(name)?;
        let mut url = vault.url_for(&["secrets", name, "versions"])?;
        url.query_pairs_mut().append_pair("maxresults", "25");
        let mut out = Vec::new();
        let mut next = Some(url);
        let mut seen = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            if !seen.insert(url.to_string()) {
                return Err(Error::Protocol {
                    service: Service::KeyVault,
                    detail: format!("repeated an earlier page in nextLink ({})", redact_url(&url)),
                });
            }
            let call = Call {
                operation: SecretOperation::ListVersions,
                vault,
                secret: Some(name),
                method: Method::GET,
                url,
                body: None,
                idempotent: true,
            };
            let (status, answer) = match self.send(ctx, call).await {
                Ok(r) => r,
                Err(e) if out.is_empty() && e.key_vault().is_some_and(KeyVaultError::is_not_found) => {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e),
            };
            let page: WirePage = serde_json::from_slice(strip_bom(&answer)).map_err(|e| Error::Decode {
                service: Service::KeyVault,
                status,
                request: "GET secret versions".to_owned(),
                what: "a page of secret versions",
                detail: safe_serde_message(&e),
            })?;
            for item in page.value {
                out.push(item.into_bundle(vault, name).map_err(|detail| Error::Decode {
                    service: Service::KeyVault,
                    status,
                    request: "GET secret versions".to_owned(),
                    what: "a secret item",
                    detail,
                })?);
            }
            next = match page.next_link.filter(|l| !l.trim().is_empty()) {
                Some(link) => Some(next_link(vault, &link)?),
                None => None,
            };
        }
        Ok(out)
    }

    /// `PATCH {id}` `{"attributes":{"enabled":…}}`: enables or disables one version (the value is
    /// never changed). Safe to retry.
    pub async fn update_secret_attributes(
        &self,
        ctx: &CallContext,
        id: &SecretId,
        enabled: bool,
    ) -> Result<SecretBundle, Error> {
        check_secret_name(&id.name)?;
        let body = serde_json::json!({ "attributes": { "enabled": enabled } });
        let call = Call {
            operation: SecretOperation::Update,
            vault: &id.vault,
            secret: Some(&id.name),
            method: Method::PATCH,
            url: id.url()?,
            body: Some(body.to_string().into_bytes()),
            idempotent: true,
        };
        let (status, answer) = self.send(ctx, call).await?;
        decode_bundle(&answer, status, "PATCH secret", &id.vault, &id.name)
    }

    /// `DELETE {vault}secrets/{name}`: the whole secret, every version (soft delete where enabled).
    pub async fn delete_secret(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<DeletedSecret, Error> {
        check_secret_name(name)?;
        let call = Call {
            operation: SecretOperation::Delete,
            vault,
            secret: Some(name),
            method: Method::DELETE,
            url: vault.url_for(&["secrets", name])?,
            body: None,
            idempotent: true,
        };
        let (status, answer) = self.send(ctx, call).await?;
        decode_deleted(&answer, status, vault, name)
    }

    /// `GET {vault}deletedsecrets/{name}`; `None` when no deleted secret has that name.
    pub async fn deleted_secret(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<Option<DeletedSecret>, Error> {
        check_secret_name(name)?;
        let call = Call {
            operation: SecretOperation::GetDeleted,
            vault,
            secret: Some(name),
            method: Method::GET,
            url: vault.url_for(&["deletedsecrets", name])?,
            body: None,
            idempotent: true,
        };
        match self.send(ctx, call).await {
            Ok((status, answer)) => decode_deleted(&answer, status, vault, name).map(Some),
            Err(e) if e.key_vault().is_some_and(KeyVaultError::is_not_found) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST {vault}deletedsecrets/{name}/recover`: the latest version's metadata. Key Vault finishes
    /// a recovery asynchronously: a write right after may get [`KeyVaultErrorKind::BeingRecovered`].
    pub async fn recover_deleted_secret(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<SecretBundle, Error> {
        check_secret_name(name)?;
        let call = Call {
            operation: SecretOperation::Recover,
            vault,
            secret: Some(name),
            method: Method::POST,
            url: vault.url_for(&["deletedsecrets", name, "recover"])?,
            body: None,
            idempotent: false,
        };
        let (status, answer) = self.send(ctx, call).await?;
        let out = decode_bundle(&answer, status, "POST recover", vault, name);
        wipe(answer);
        out
    }

    /// `DELETE {vault}deletedsecrets/{name}`: gone for good (204).
    pub async fn purge_deleted_secret(
        &self,
        ctx: &CallContext,
        vault: &VaultUri,
        name: &str,
    ) -> Result<(), Error> {
        check_secret_name(name)?;
        let call = Call {
            operation: SecretOperation::Purge,
            vault,
            secret: Some(name),
            method: Method::DELETE,
            url: vault.url_for(&["deletedsecrets", name])?,
            body: None,
            idempotent: true,
        };
        self.send(ctx, call).await.map(|_| ())
    }

    /// Sends `call` until a 2xx (status and body), a final error, cancellation or the deadline:
    /// the challenge when the vault is new to this client, one fresh token after a 401, the Key Vault
    /// backoff for 429, and the shared classifier for 5xx and connection failures.
    async fn send(&self, ctx: &CallContext, call: Call<'_>) -> Result<(u16, Vec<u8>), Error> {
        let result = self.send_until_done(ctx, &call).await;
        if let Some(body) = call.body {
            wipe(body);
        }
        result
    }

    async fn send_until_done(&self, ctx: &CallContext, call: &Call<'_>) -> Result<(u16, Vec<u8>), Error> {
        let pipeline = &self.client.inner.pipeline;
        let http = pipeline.http()?;
        let correlation_id = Uuid::new_v4().to_string();
        let described = describe(&call.method, &call.url);
        let mut retries = Retries::new(ctx, pipeline.retry_policy(), Service::KeyVault, described);
        let mut progress = Progress::default();
        loop {
            let attempt = retries.next_attempt()?;
            let credential = self.credential(ctx, call).await?;
            // The challenge request carries neither token nor body (as the Azure SDKs send it), so it
            // cannot have been applied: a failure of it is never ambiguous.
            let may_apply = credential.is_token() && !call.idempotent;
            let sending = self.attempt(http, call, &credential, &correlation_id);
            let attempted = retries.in_flight(sending, may_apply).await?;
            let next = match attempted.into_answer(Service::KeyVault, retries.request()) {
                Ok(answer) => {
                    let sent = Sent {
                        call,
                        credential: &credential,
                        attempt,
                        correlation_id: &correlation_id,
                        described: retries.request(),
                    };
                    self.judge(&sent, answer, &mut progress, retries.elapsed())
                        .await?
                }
                Err(failed) => Next::Failed(failed),
            };
            match next {
                Next::Done(status, body) => return Ok((status, body)),
                Next::Again => {}
                Next::Throttled { wait, error } => retries.pause(wait, error).await?,
                Next::Failed(failed) => retries.after_failure(failed, may_apply, pipeline.now()).await?,
            }
        }
    }

    /// How the next attempt authenticates: a vault new to this client is asked without a token (its
    /// challenge), a known one gets a token for this environment's Key Vault audience.
    async fn credential(&self, ctx: &CallContext, call: &Call<'_>) -> Result<Credential, Error> {
        let Some(known) = self.lock().get(call.vault.as_str()).cloned() else {
            return Ok(Credential::Challenge);
        };
        let inner = &self.client.inner;
        let (token, kind) = inner
            .auth
            .token(
                &inner.pipeline,
                ctx,
                inner.audiences.key_vault,
                Access::AppOnlyOrUser,
                call.operation.describe(),
            )
            .await?;
        Ok(Credential::Token {
            token,
            kind,
            challenged: known,
        })
    }

    /// What an answer means for the call: done, send again, wait (429), or a failure for the shared
    /// classifier; or the refusal that ends the call.
    async fn judge(
        &self,
        sent: &Sent<'_>,
        answer: Answer,
        progress: &mut Progress,
        elapsed: Duration,
    ) -> Result<Next, Error> {
        let pipeline = &self.client.inner.pipeline;
        pipeline.record_date(&answer.headers);
        let now = pipeline.now();
        sent.trace(&answer);
        if answer.is_success() {
            return sent.accepted(answer);
        }
        let refusal = Refusal::read(&answer, sent.described, sent.correlation_id, now);
        match answer.status {
            401 => self.unauthorized(sent, &answer.headers, refusal, progress).await,
            429 => {
                let policy = pipeline.retry_policy();
                let error = sent.call.refused(refusal.kind(), refusal, None);
                progress.throttled(&answer, error, policy, elapsed, now)
            }
            _ => {
                let error = sent.call.refused(refusal.kind(), refusal, None);
                Ok(Next::Failed(Failed::answered(error, &answer)))
            }
        }
    }

    /// A 401: the challenge to learn (then send again with a token), a refused token to replace once,
    /// or the refusal that stands.
    async fn unauthorized(
        &self,
        sent: &Sent<'_>,
        headers: &HeaderMap,
        refusal: Refusal,
        progress: &mut Progress,
    ) -> Result<Next, Error> {
        let call = sent.call;
        let inner = &self.client.inner;
        let audience = inner.audiences.key_vault;
        let (token, kind, challenged) = match sent.credential {
            Credential::Challenge => {
                let learnt = progress.challenge(call, headers, refusal, audience)?;
                self.lock().insert(call.vault.as_str().to_owned(), learnt);
                return Ok(Next::Again);
            }
            Credential::Token {
                token,
                kind,
                challenged,
            } => (token, *kind, challenged),
        };
        // The token was refused (revoked, or expired by the vault's clock): one more try with a fresh
        // one, then the refusal stands.
        if !progress.token_refreshed {
            progress.token_refreshed = true;
            tracing::debug!(vault = %call.vault, "{}; fetching a new token and retrying once", refusal.answer);
            inner.auth.invalidate(audience, kind, token).await;
            return Ok(Next::Again);
        }
        // Learn the challenge again next time: the vault may have moved tenants.
        self.lock().remove(call.vault.as_str());
        let detail = format!(
            "a fresh token for {audience} from tenant {} was refused{}",
            inner.auth.tenant_id(),
            challenged
                .tenant
                .as_ref()
                .map(|t| format!("; the vault's challenge names tenant {t}"))
                .unwrap_or_default()
        );
        Err(call.refused(KeyVaultErrorKind::Unauthorized, refusal, Some(detail)))
    }

    /// One attempt: the call with its credential, sent once.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        call: &Call<'_>,
        credential: &Credential,
        correlation_id: &str,
    ) -> Attempted {
        let mut b = http
            .request(call.method.clone(), call.url.clone())
            .header(ACCEPT, "application/json")
            // Key Vault echoes it and logs it with its own x-ms-request-id.
            .header("x-ms-client-request-id", correlation_id);
        if let Credential::Token { token, .. } = credential {
            b = b.header(AUTHORIZATION, bearer(token));
        }
        match (&call.body, credential) {
            (Some(bytes), Credential::Token { .. }) => {
                if tracing::enabled!(tracing::Level::TRACE) {
                    tracing::trace!(service = %Service::KeyVault, correlation_id, body = %redact_body(bytes), "request body");
                }
                b = b.header(CONTENT_TYPE, "application/json").body(bytes.clone());
            }
            // The challenge: the body is removed, and `Content-Length: 0` says so (hyper leaves the
            // header out for an empty body unless it is set).
            (Some(_), Credential::Challenge) => b = b.header(CONTENT_LENGTH, "0").body(Vec::new()),
            // A POST without a body (recover) still says how long it is.
            (None, _) if call.method == Method::POST => b = b.header(CONTENT_LENGTH, "0").body(Vec::new()),
            (None, _) => {}
        }
        let timeout = self.client.inner.pipeline.retry_policy().attempt_timeout;
        send_once(b, timeout).await
    }
}

/// How an attempt authenticates.
enum Credential {
    /// The vault is new to this client: no token and no body, to learn its challenge.
    Challenge,
    /// A token for the vault's audience (and the kind the cache keeps it under); what the vault's
    /// challenge said, for a later refusal.
    Token {
        token: Secret,
        kind: TokenKind,
        challenged: Challenged,
    },
}

impl Credential {
    fn is_token(&self) -> bool {
        matches!(self, Self::Token { .. })
    }
}

/// What to do after an answer.
enum Next {
    /// A 2xx: its status and body.
    Done(u16, Vec<u8>),
    /// Send again at once: the challenge was learnt, or a fresh token replaces a refused one.
    Again,
    /// A 429: wait as Key Vault prescribes, then send again.
    Throttled { wait: Duration, error: Error },
    /// A failure for the shared classifier (5xx and the like).
    Failed(Failed),
}

/// What one call has been through, for Key Vault's own bounds.
#[derive(Default)]
struct Progress {
    /// 429s waited for (the index into [`THROTTLE_BACKOFF_SECS`]).
    throttled: usize,
    /// Whether a refused token was replaced already.
    token_refreshed: bool,
    /// Challenges answered.
    challenges: u32,
}

impl Progress {
    /// A 401 to the challenge request: the vault's challenge, verified before any token is sent.
    /// Bounded: a vault (or a concurrent call forgetting it) cannot keep this call challenging forever.
    fn challenge(
        &mut self,
        call: &Call<'_>,
        headers: &HeaderMap,
        refusal: Refusal,
        audience: &str,
    ) -> Result<Challenged, Error> {
        self.challenges += 1;
        let refused =
            |refusal, why: String| call.refused(KeyVaultErrorKind::ChallengeRefused, refusal, Some(why));
        if self.challenges > 2 {
            return Err(refused(
                refusal,
                "the vault kept asking for a token without accepting one".to_owned(),
            ));
        }
        let Some(challenge) = Challenge::from_headers(headers) else {
            return Err(refused(
                refusal,
                "the vault answered 401 without a Bearer challenge (WWW-Authenticate); no token was sent"
                    .to_owned(),
            ));
        };
        if let Err(why) = verify_challenge(call.vault, &challenge, audience) {
            return Err(refused(refusal, why));
        }
        Ok(Challenged {
            tenant: challenge.tenant(),
        })
    }

    /// A 429 means "not processed", also for a write: wait for `Retry-After` (within the policy), or
    /// as Key Vault prescribes without one; after the last wait the 429 stands.
    fn throttled(
        &mut self,
        answer: &Answer,
        error: Error,
        policy: &RetryPolicy,
        elapsed: Duration,
        now: DateTime<Utc>,
    ) -> Result<Next, Error> {
        let retry_after = answer
            .header(RETRY_AFTER.as_str())
            .and_then(|v| parse_retry_after(&v, now));
        let wait = match retry_after {
            Some(d) if d <= policy.max_retry_after => Some(d),
            Some(_) => None,
            None => THROTTLE_BACKOFF_SECS
                .get(self.throttled)
                .map(|s| Duration::from_secs(*s)),
        };
        match wait.filter(|w| elapsed.saturating_add(*w) <= policy.max_elapsed) {
            Some(wait) => {
                self.throttled += 1;
                Ok(Next::Throttled { wait, error })
            }
            None => Err(error),
        }
    }
}

/// One attempt of a call, as sent.
struct Sent<'a> {
    call: &'a Call<'a>,
    credential: &'a Credential,
    attempt: u32,
    correlation_id: &'a str,
    described: &'a str,
}

impl Sent<'_> {
    fn trace(&self, answer: &Answer) {
        let call = self.call;
        tracing::debug!(
            service = %Service::KeyVault, method = %call.method, url = %redact_url(&call.url),
            status = answer.status, elapsed_ms = answer.elapsed.as_millis() as u64, attempt = self.attempt,
            challenge = !self.credential.is_token(),
            response_request_id = answer.header("x-ms-request-id").as_deref().unwrap_or(""),
            correlation_id = %self.correlation_id, "http"
        );
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(service = %Service::KeyVault, correlation_id = %self.correlation_id, body = %redact_body(&answer.body), "response body");
        }
    }

    /// A 2xx. To the challenge request of a write it is a refusal: a vault that serves a body-less
    /// write without credentials is not Key Vault, and its answer cannot be the write's.
    fn accepted(&self, answer: Answer) -> Result<Next, Error> {
        if matches!(self.credential, Credential::Token { .. }) {
            return Ok(Next::Done(answer.status, answer.body));
        }
        if self.call.body.is_some() {
            let status = answer.status;
            wipe(answer.body);
            let refusal = Refusal {
                answer: decode_error(
                    Service::KeyVault,
                    status,
                    self.described.to_owned(),
                    ResponseIds::default(),
                    b"",
                ),
                codes: Vec::new(),
            };
            return Err(self.call.refused(
                KeyVaultErrorKind::ChallengeRefused,
                refusal,
                Some("the vault accepted a request without credentials instead of asking for a token; nothing was written".to_owned()),
            ));
        }
        // A vault that needs no token (a proxy in front): nothing to learn.
        tracing::debug!(vault = %self.call.vault, "the vault answered without asking for a token");
        Ok(Next::Done(answer.status, answer.body))
    }
}

/// A vault's error answer: the shared decoding plus the nested `innererror` codes it does not keep.
struct Refusal {
    answer: ApiError,
    /// Every `code`, outermost first.
    codes: Vec<String>,
}

impl Refusal {
    fn read(answer: &Answer, described: &str, correlation_id: &str, now: DateTime<Utc>) -> Self {
        let ids = ResponseIds {
            request_id: answer.header("x-ms-request-id"),
            correlation_id: answer
                .header("x-ms-client-request-id")
                .or_else(|| Some(correlation_id.to_owned())),
            retry_after: answer
                .header(RETRY_AFTER.as_str())
                .and_then(|v| parse_retry_after(&v, now)),
        };
        Self {
            answer: decode_error(
                Service::KeyVault,
                answer.status,
                described.to_owned(),
                ids,
                &answer.body,
            ),
            codes: error_codes(&answer.body),
        }
    }

    fn kind(&self) -> KeyVaultErrorKind {
        kind_of(self.answer.status, &self.codes)
    }

    /// The innermost code, when there are nested ones.
    fn inner_code(&self) -> Option<String> {
        self.codes.last().filter(|_| self.codes.len() > 1).cloned()
    }
}

impl Call<'_> {
    /// The refusal as a fact about this call: what was being done, where, and what the vault said.
    fn refused(&self, kind: KeyVaultErrorKind, refusal: Refusal, detail: Option<String>) -> Error {
        let inner_code = refusal.inner_code();
        Error::KeyVault(Box::new(KeyVaultError {
            kind,
            operation: self.operation,
            vault: self.vault.to_string(),
            secret: self.secret.map(str::to_owned),
            answer: refusal.answer,
            inner_code,
            detail,
        }))
    }
}

fn decode_bundle(
    body: &[u8],
    status: u16,
    request: &str,
    vault: &VaultUri,
    name: &str,
) -> Result<SecretBundle, Error> {
    let decode_err = |detail: String| Error::Decode {
        service: Service::KeyVault,
        status,
        request: request.to_owned(),
        what: "a secret bundle",
        detail,
    };
    let wire: WireBundle =
        serde_json::from_slice(strip_bom(body)).map_err(|e| decode_err(safe_serde_message(&e)))?;
    wire.into_bundle(vault, name).map_err(decode_err)
}

fn decode_deleted(body: &[u8], status: u16, vault: &VaultUri, name: &str) -> Result<DeletedSecret, Error> {
    let decode_err = |detail: String| Error::Decode {
        service: Service::KeyVault,
        status,
        request: "deleted secret".to_owned(),
        what: "a deleted secret bundle",
        detail,
    };
    let mut wire: WireBundle =
        serde_json::from_slice(strip_bom(body)).map_err(|e| decode_err(safe_serde_message(&e)))?;
    let recovery_id = wire.recovery_id.take();
    let deleted = unix(wire.deleted_date.take());
    let scheduled_purge = unix(wire.scheduled_purge_date.take());
    Ok(DeletedSecret {
        secret: wire.into_bundle(vault, name).map_err(decode_err)?,
        recovery_id,
        deleted,
        scheduled_purge,
    })
}

/// The next page's URL: absolute, on the vault's own origin and under its path (a token must not go
/// elsewhere), with this client's api-version in place of whatever the link carries.
fn next_link(vault: &VaultUri, link: &str) -> Result<Url, Error> {
    let url = next_link_on(Service::KeyVault, vault.url(), vault.url().join(link.trim()))?;
    if !url.path().starts_with(vault.url().path()) {
        return Err(Error::Protocol {
            service: Service::KeyVault,
            detail: "sent a nextLink outside the vault".to_owned(),
        });
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("api-version"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("api-version", API_VERSION);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_uris_are_checked_and_normalised() {
        let v = VaultUri::parse("https://Contoso-KV.vault.azure.net").expect("ok");
        assert_eq!(v.as_str(), "https://contoso-kv.vault.azure.net/");
        assert_eq!(v.host(), "contoso-kv.vault.azure.net");
        let e = VaultUri::parse("http://127.0.0.1:8080/_vaults/kv1").expect("loopback");
        assert_eq!(e.as_str(), "http://127.0.0.1:8080/_vaults/kv1/");
        assert!(e.is_loopback_http());
        for bad in [
            "http://kv.vault.azure.net/",
            "https://kv.vault.azure.net/secrets/x",
            "https://kv.vault.azure.net/?a=b",
            "https://u:p@kv1.vault.azure.net/",
            "https://a--b.vault.azure.net/",
            "https://ab.vault.azure.net/",
            "https://1kv.vault.azure.net/",
            "https://10.0.0.1/",
            "ftp://kv1.vault.azure.net/",
            "not a url",
        ] {
            assert!(VaultUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_names_follow_the_documented_pattern() {
        check_secret_name("app-key-0d4e3a1b").expect("ok");
        check_secret_name(&"a".repeat(127)).expect("127 characters");
        for bad in ["", "a_b", "a.b", "a/b", "ä", &"a".repeat(128)] {
            assert!(check_secret_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_ids_round_trip_and_compare_case_insensitively() {
        let s = "https://kv1.vault.azure.net/secrets/app-key/03bcccc7c8cf4546a0e3e21e52560441";
        let id = SecretId::parse(s).expect("parses");
        assert_eq!(id.name, "app-key");
        assert_eq!(id.version, "03bcccc7c8cf4546a0e3e21e52560441");
        assert_eq!(id.to_string(), s);
        let upper =
            SecretId::parse(&s.replace("app-key", "APP-KEY").replace("03bc", "03BC")).expect("parses");
        assert_eq!(id, upper);
        let emu =
            SecretId::parse("http://127.0.0.1:1/_vaults/kv1/secrets/n/0123456789abcdef0123456789abcdef")
                .expect("emulator id");
        assert_eq!(emu.vault.as_str(), "http://127.0.0.1:1/_vaults/kv1/");
        for bad in [
            "https://kv1.vault.azure.net/secrets/app-key",
            "https://kv1.vault.azure.net/keys/app-key/03bc",
            "https://kv1.vault.azure.net/secrets/app_key/03bc",
        ] {
            assert!(SecretId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attributes_are_checked_against_the_limits() {
        let mut a = SecretAttributes::default();
        a.validate().expect("empty is fine");
        a.tags = (0..15).map(|i| (format!("t{i}"), "v".repeat(256))).collect();
        a.validate().expect("15 tags of 256");
        a.tags.insert("t15".into(), "v".into());
        assert!(a.validate().is_err());
        a.tags.clear();
        a.tags.insert("x".repeat(257), "v".into());
        assert!(a.validate().is_err());
        a.tags.clear();
        a.content_type = Some("c".repeat(256));
        assert!(a.validate().is_err());
    }

    #[test]
    fn challenges_are_read_like_the_sdks_read_them() {
        let c = Challenge::parse(
            r#"Bearer authorization="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#,
        )
        .expect("bearer");
        assert_eq!(c.scope().as_deref(), Some("https://vault.azure.net/.default"));
        assert_eq!(
            c.tenant().as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        // Go's fake: spaces between parameters; scope preferred over resource.
        let c = Challenge::parse(
            r#"Bearer authorization="https://fake.com/0" resource="test" scope="https://vault.azure.net/.default""#,
        )
        .expect("bearer");
        assert_eq!(c.scope().as_deref(), Some("https://vault.azure.net/.default"));
        assert_eq!(c.tenant().as_deref(), Some("0"));
        let c = Challenge::parse(
            r#"Bearer resource="https://vault.azure.net/", authorization_uri="https://l/t1", PoP nonce="x""#,
        )
        .expect("bearer");
        assert_eq!(c.scope().as_deref(), Some("https://vault.azure.net/.default"));
        assert_eq!(c.tenant().as_deref(), Some("t1"));
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), None);
        // Never panics on junk.
        for junk in [
            "Bearer",
            "Bearer =",
            "Bearer a=\"",
            "Bearer a=\"\\",
            "Bearer ,,, a",
            "Bearer a = b",
        ] {
            let _ = Challenge::parse(junk);
        }
    }

    #[test]
    fn challenges_are_verified_against_the_vault_host_and_the_environment() {
        let public = "https://vault.azure.net";
        let vault = VaultUri::parse("https://kv1.vault.azure.net/").expect("vault");
        let ok = Challenge {
            resource: Some("https://vault.azure.net".into()),
            ..Challenge::default()
        };
        verify_challenge(&vault, &ok, public).expect("verified");
        let evil = Challenge {
            resource: Some("https://evil.example".into()),
            ..Challenge::default()
        };
        let why = verify_challenge(&vault, &evil, public).expect_err("refused");
        assert!(why.contains("not under evil.example"), "{why}");
        let gov = Challenge {
            scope: Some("https://vault.usgovcloudapi.net/.default".into()),
            ..Challenge::default()
        };
        let gov_vault = VaultUri::parse("https://kv1.vault.usgovcloudapi.net/").expect("vault");
        verify_challenge(&gov_vault, &gov, "https://vault.usgovcloudapi.net").expect("gov");
        let why = verify_challenge(&gov_vault, &gov, public).expect_err("environment mismatch");
        assert!(why.contains("check the environment"), "{why}");
        assert!(verify_challenge(&vault, &Challenge::default(), public).is_err());
        // The emulator: loopback http skips the host check, not the audience check.
        let emu = VaultUri::parse("http://127.0.0.1:9/_vaults/kv1").expect("vault");
        verify_challenge(&emu, &ok, public).expect("loopback");
        assert!(verify_challenge(&emu, &evil, public).is_err());
    }

    #[test]
    fn error_codes_are_read_down_to_the_innermost() {
        let body = br#"{"error":{"code":"Forbidden","message":"m","innererror":{"code":"ForbiddenByRbac","innererror":{"code":"Deeper"}}}}"#;
        assert_eq!(error_codes(body), vec!["Forbidden", "ForbiddenByRbac", "Deeper"]);
        assert_eq!(
            kind_of(403, &error_codes(body)),
            KeyVaultErrorKind::ForbiddenByRbac
        );
        let disabled = br#"{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}"#;
        assert_eq!(
            kind_of(403, &error_codes(disabled)),
            KeyVaultErrorKind::SecretDisabled
        );
        let deleted = br#"{"error":{"code":"Conflict","message":"m","innererror":{"code":"ObjectIsDeletedButRecoverable"}}}"#;
        assert_eq!(
            kind_of(409, &error_codes(deleted)),
            KeyVaultErrorKind::DeletedButRecoverable
        );
        assert_eq!(
            kind_of(
                404,
                &error_codes(br#"{"error":{"code":"SecretNotFound","message":"m"}}"#)
            ),
            KeyVaultErrorKind::SecretNotFound
        );
        assert_eq!(kind_of(429, &[]), KeyVaultErrorKind::Throttled);
        assert!(error_codes(b"<html>").is_empty());
    }

    #[test]
    fn trace_bodies_hide_the_value_and_keep_the_rest() {
        let shown =
            redact_body(br#"{"value":"s3cret-value","id":"x","tags":{"k":"v"},"nested":{"value":"s2"}}"#);
        assert!(!shown.contains("s3cret") && !shown.contains("s2"), "{shown}");
        assert!(shown.contains("\"tags\":{\"k\":\"v\"}"), "{shown}");
        let page = redact_body(br#"{"value":[{"id":"a"}],"nextLink":null}"#);
        assert!(page.contains("\"id\":\"a\""), "{page}");
    }

    #[test]
    fn next_links_stay_on_the_vault_and_get_our_api_version() {
        let vault = VaultUri::parse("https://kv1.vault.azure.net/").expect("vault");
        let u = next_link(
            &vault,
            "https://kv1.vault.azure.net:443/secrets/n/versions?api-version=7.2&$skiptoken=abc&maxresults=25",
        )
        .expect("ok");
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert!(q.contains(&("$skiptoken".into(), "abc".into())), "{u}");
        assert!(q.contains(&("api-version".into(), API_VERSION.into())), "{u}");
        assert!(!q.contains(&("api-version".into(), "7.2".into())), "{u}");
        assert!(next_link(&vault, "https://evil.example/secrets/n/versions").is_err());
        let emu = VaultUri::parse("http://127.0.0.1:9/_vaults/kv1/").expect("vault");
        assert!(next_link(&emu, "http://127.0.0.1:9/_vaults/kv2/secrets/n/versions").is_err());
    }
}
