//! What a secret version carries besides its value: the attributes written with it, the metadata read
//! back ([`SecretBundle`], [`DeletedSecret`], [`VersionStatus`]) and their wire forms.

use super::names::{SecretId, VaultUri, check_secret_name, is_version};
use super::{MAX_CONTENT_TYPE_CHARS, MAX_TAG_CHARS, MAX_TAGS};
use crate::error::Error;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use url::Url;

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
pub(super) struct WireBundle {
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
    pub(super) recovery_id: Option<String>,
    #[serde(default)]
    pub(super) deleted_date: Option<i64>,
    #[serde(default)]
    pub(super) scheduled_purge_date: Option<i64>,
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
pub(super) struct WireValue {
    #[serde(default)]
    pub(super) value: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WirePage {
    #[serde(default)]
    pub(super) value: Vec<WireBundle>,
    #[serde(default)]
    pub(super) next_link: Option<String>,
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

pub(super) fn unix(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|s| DateTime::from_timestamp(s, 0))
}

impl WireBundle {
    /// The metadata, its id resolved against the vault the call used (a proxy or the emulator may
    /// name its vault differently than the caller reached it).
    pub(super) fn into_bundle(self, vault: &VaultUri, name: &str) -> Result<SecretBundle, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
