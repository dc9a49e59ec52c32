//! Key Vault's refusals as typed facts: the operation and the permission it needs, what the answer
//! means ([`KeyVaultErrorKind`]) from its status and nested `innererror` codes.

use crate::error::{ApiError, strip_bom};
use reqwest::Method;
use serde_json::Value;
use std::fmt;

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

    /// The HTTP method of its route.
    pub(super) fn method(self) -> Method {
        match self {
            Self::Set => Method::PUT,
            Self::Get | Self::ListVersions | Self::GetDeleted => Method::GET,
            Self::Update => Method::PATCH,
            Self::Delete | Self::Purge => Method::DELETE,
            Self::Recover => Method::POST,
        }
    }

    /// Whether sending it twice is harmless: a PUT makes a new version each time, and a recovery
    /// that may have started cannot be started again.
    pub(super) fn is_repeatable(self) -> bool {
        !matches!(self, Self::Set | Self::Recover)
    }

    pub(super) fn describe(self) -> &'static str {
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
pub(super) fn error_codes(body: &[u8]) -> Vec<String> {
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

pub(super) fn kind_of(status: u16, codes: &[String]) -> KeyVaultErrorKind {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
