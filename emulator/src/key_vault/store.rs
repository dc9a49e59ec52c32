//! The emulated vaults: secrets with their versions, soft-deleted secrets, per-vault access switches and
//! a short log of what reached each vault. Pure data and rules; HTTP lives in `mod.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::error::KvError;

/// Largest value, contentType, tag count and tag length the emulator accepts (Key Vault's documented
/// limits; "25k bytes" read as 25 KiB).
pub const MAX_VALUE_BYTES: usize = 25 * 1024;
pub const MAX_CONTENT_TYPE_CHARS: usize = 255;
pub const MAX_TAGS: usize = 15;
pub const MAX_TAG_CHARS: usize = 256;

/// Where every emulated vault is: the location its 403 messages name.
pub const LOCATION: &str = "westeurope";
/// The subscription and resource group the RBAC messages name (the emulator has no ARM).
const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
const RESOURCE_GROUP: &str = "partnercenter-emulator";
/// How many requests per vault the log keeps.
const LOG_LIMIT: usize = 500;

/// All vaults, behind their own lock (not the emulator's shared state: nothing else reads them).
#[derive(Debug, Default)]
pub struct Vaults {
    vaults: Mutex<BTreeMap<String, Vault>>,
}

impl Vaults {
    pub fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vault>> {
        // Vault data stays consistent per operation; a panicked handler leaves nothing half-done.
        self.vaults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Emulator reset: no vaults.
    pub fn reset(&self) {
        self.lock().clear();
    }
}

/// Which authorization system a vault uses: it decides the 403's inner code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PermissionModel {
    #[default]
    Rbac,
    AccessPolicy,
}

/// A secret permission of an access policy (and the RBAC data action behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Get,
    List,
    Set,
    Delete,
    Recover,
    Purge,
}

impl Permission {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix("secrets/").unwrap_or(s);
        Some(match s.to_ascii_lowercase().as_str() {
            "get" => Self::Get,
            "list" => Self::List,
            "set" => Self::Set,
            "delete" => Self::Delete,
            "recover" => Self::Recover,
            "purge" => Self::Purge,
            _ => return None,
        })
    }

    pub fn all() -> [Self; 6] {
        [
            Self::Get,
            Self::List,
            Self::Set,
            Self::Delete,
            Self::Recover,
            Self::Purge,
        ]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Set => "set",
            Self::Delete => "delete",
            Self::Recover => "recover",
            Self::Purge => "purge",
        }
    }
}

/// A vault's switches (control API).
#[derive(Debug, Clone, Serialize)]
pub struct VaultSettings {
    pub permission_model: PermissionModel,
    /// Permissions the caller lacks: requests needing one get 403 by RBAC or by policy.
    pub denied_permissions: BTreeSet<Permission>,
    /// Every authenticated request gets 403 `ForbiddenByFirewall`.
    pub firewall: bool,
    /// How long (emulator clock) a delete or a recover stays in progress: 409
    /// `ObjectIsBeingDeleted` / `ObjectIsBeingRecovered` meanwhile. 0 = done at once.
    pub transition_ms: u64,
    /// Soft-delete retention (7-90 days).
    pub recoverable_days: u32,
}

impl Default for VaultSettings {
    fn default() -> Self {
        Self {
            permission_model: PermissionModel::Rbac,
            denied_permissions: BTreeSet::new(),
            firewall: false,
            transition_ms: 0,
            recoverable_days: 90,
        }
    }
}

/// One request as the vault saw it (to assert the challenge arrived without token and body).
#[derive(Debug, Clone, Serialize)]
pub struct VaultRequest {
    pub method: String,
    pub path: String,
    pub authorized: bool,
    pub content_length: Option<u64>,
    pub body_bytes: usize,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Version {
    version: String,
    value: String,
    content_type: Option<String>,
    tags: BTreeMap<String, String>,
    enabled: bool,
    nbf: Option<i64>,
    exp: Option<i64>,
    created: i64,
    updated: i64,
}

#[derive(Debug, Clone)]
struct Secret {
    /// The name as first written (Key Vault names are case-insensitive; ids keep this spelling).
    name: String,
    /// Oldest first; the last is the latest.
    versions: Vec<Version>,
    /// A recover in progress until then.
    recovering_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Deleted {
    secret: Secret,
    deleted: DateTime<Utc>,
    scheduled_purge: DateTime<Utc>,
    /// The delete is in progress until then.
    deleting_until: Option<DateTime<Utc>>,
}

/// What a write sends (`SecretSetParameters` / `SecretUpdateParameters`).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretParams {
    pub value: Option<String>,
    pub content_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub attributes: Option<AttributeParams>,
}

#[derive(Debug, Deserialize, Default)]
pub struct AttributeParams {
    pub enabled: Option<bool>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
}

/// An emulated vault.
#[derive(Debug)]
pub struct Vault {
    pub name: String,
    pub settings: VaultSettings,
    secrets: BTreeMap<String, Secret>,
    deleted: BTreeMap<String, Deleted>,
    requests: VecDeque<VaultRequest>,
}

/// 3-24 of `0-9a-zA-Z-`, a letter first, a letter or digit last, no `--`.
pub fn is_vault_name(s: &str) -> bool {
    (3..=24).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("--")
}

/// `^[0-9a-zA-Z-]{1,127}$`.
pub fn check_secret_name(name: &str) -> Result<(), KvError> {
    if !name.is_empty() && name.len() <= 127 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(())
    } else {
        Err(KvError::bad_parameter(format!(
            "The request URI contains an invalid name: {name}"
        )))
    }
}

fn check_content_type_and_tags(
    content_type: Option<&String>,
    tags: Option<&BTreeMap<String, String>>,
) -> Result<(), KvError> {
    if content_type.is_some_and(|c| c.chars().count() > MAX_CONTENT_TYPE_CHARS) {
        return Err(KvError::bad_parameter(format!(
            "The content type exceeds the maximum length of {MAX_CONTENT_TYPE_CHARS} characters."
        )));
    }
    if let Some(tags) = tags {
        if tags.len() > MAX_TAGS {
            return Err(KvError::bad_parameter(format!(
                "The number of tags exceeds the limit of {MAX_TAGS}."
            )));
        }
        if tags.iter().any(|(k, v)| {
            k.is_empty() || k.chars().count() > MAX_TAG_CHARS || v.chars().count() > MAX_TAG_CHARS
        }) {
            return Err(KvError::bad_parameter(format!(
                "Tag names must have 1 to {MAX_TAG_CHARS} characters and tag values at most {MAX_TAG_CHARS}."
            )));
        }
    }
    Ok(())
}

/// A new version id: 32 lowercase hex characters, as Key Vault's look.
fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Vault {
    pub fn new(name: &str, settings: VaultSettings) -> Self {
        Self {
            name: name.to_ascii_lowercase(),
            settings,
            secrets: BTreeMap::new(),
            deleted: BTreeMap::new(),
            requests: VecDeque::new(),
        }
    }

    pub fn log(&mut self, request: VaultRequest) {
        if self.requests.len() >= LOG_LIMIT {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    /// The ARM resource id an RBAC refusal names (the vault, or one secret in it).
    fn resource(&self, secret: Option<&str>) -> String {
        let mut r = format!(
            "/subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/providers/microsoft.keyvault/vaults/{}",
            self.name
        );
        if let Some(s) = secret {
            r.push_str(&format!("/secrets/{}", s.to_ascii_lowercase()));
        }
        r
    }

    /// The 403 for a caller lacking `permission`, per the vault's model and switches.
    pub fn authorize(
        &self,
        caller: &str,
        permission: Permission,
        action: &str,
        secret: Option<&str>,
    ) -> Result<(), KvError> {
        if self.settings.firewall {
            return Err(KvError::forbidden_by_firewall(caller, &self.name, LOCATION));
        }
        if !self.settings.denied_permissions.contains(&permission) {
            return Ok(());
        }
        Err(match self.settings.permission_model {
            PermissionModel::Rbac => {
                KvError::forbidden_by_rbac(caller, action, &self.resource(secret), &self.name, LOCATION)
            }
            PermissionModel::AccessPolicy => {
                KvError::forbidden_by_policy(caller, permission.as_str(), &self.name, LOCATION)
            }
        })
    }

    /// Purges deleted secrets whose scheduled purge date has passed.
    fn expire(&mut self, now: DateTime<Utc>) {
        self.deleted.retain(|_, d| d.scheduled_purge > now);
    }

    fn recovery_level(&self) -> &'static str {
        // Soft delete is always on (it cannot be turned off since 2025); purge protection is not emulated.
        if self.settings.recoverable_days < 90 {
            "CustomizedRecoverable+Purgeable"
        } else {
            "Recoverable+Purgeable"
        }
    }

    fn attributes(&self, v: &Version) -> Value {
        let mut a = json!({
            "enabled": v.enabled,
            "created": v.created,
            "updated": v.updated,
            "recoveryLevel": self.recovery_level(),
            "recoverableDays": self.settings.recoverable_days,
        });
        if let Some(nbf) = v.nbf {
            a["nbf"] = nbf.into();
        }
        if let Some(exp) = v.exp {
            a["exp"] = exp.into();
        }
        a
    }

    /// A SecretBundle (or SecretItem) of one version.
    fn bundle(&self, base: &str, name: &str, v: &Version, with_value: bool) -> Value {
        let mut b = json!({
            "id": format!("{base}secrets/{name}/{}", v.version),
            "attributes": self.attributes(v),
        });
        if with_value {
            b["value"] = Value::String(v.value.clone());
        }
        if let Some(ct) = &v.content_type {
            b["contentType"] = Value::String(ct.clone());
        }
        if !v.tags.is_empty() {
            b["tags"] = json!(v.tags);
        }
        b
    }

    fn deleted_bundle(&self, base: &str, d: &Deleted) -> Value {
        let mut b = match d.secret.versions.last() {
            Some(v) => self.bundle(base, &d.secret.name, v, false),
            None => json!({}),
        };
        b["recoveryId"] = Value::String(format!("{base}deletedsecrets/{}", d.secret.name));
        b["deletedDate"] = d.deleted.timestamp().into();
        b["scheduledPurgeDate"] = d.scheduled_purge.timestamp().into();
        b
    }

    /// `PUT /secrets/{name}`: a new version.
    pub fn set(
        &mut self,
        base: &str,
        name: &str,
        params: SecretParams,
        now: DateTime<Utc>,
    ) -> Result<Value, KvError> {
        check_secret_name(name)?;
        self.expire(now);
        let key = name.to_ascii_lowercase();
        if let Some(d) = self.deleted.get(&key) {
            return Err(match d.deleting_until {
                Some(until) if now < until => KvError::being_deleted(&d.secret.name),
                _ => KvError::deleted_but_recoverable(&d.secret.name),
            });
        }
        if let Some(until) = self.secrets.get(&key).and_then(|s| s.recovering_until) {
            if now < until {
                return Err(KvError::being_recovered(name));
            }
        }
        let Some(value) = params.value else {
            return Err(KvError::bad_parameter("The parameter 'value' is required."));
        };
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::bad_parameter(format!(
                "The secret value exceeds the maximum size of {MAX_VALUE_BYTES} bytes."
            )));
        }
        check_content_type_and_tags(params.content_type.as_ref(), params.tags.as_ref())?;
        let attributes = params.attributes.unwrap_or_default();
        let t = now.timestamp();
        let version = Version {
            version: new_version(),
            value,
            content_type: params.content_type,
            tags: params.tags.unwrap_or_default(),
            enabled: attributes.enabled.unwrap_or(true),
            nbf: attributes.nbf,
            exp: attributes.exp,
            created: t,
            updated: t,
        };
        let secret = self.secrets.entry(key).or_insert_with(|| Secret {
            name: name.to_owned(),
            versions: Vec::new(),
            recovering_until: None,
        });
        secret.recovering_until = None;
        secret.versions.push(version);
        let secret = secret.clone();
        let latest = secret
            .versions
            .last()
            .ok_or_else(|| KvError::secret_not_found(name))?;
        Ok(self.bundle(base, &secret.name, latest, true))
    }

    /// The secret and the index of `version` (empty = latest); 404 `SecretNotFound` otherwise.
    fn find(&self, name: &str, version: &str) -> Result<(&Secret, usize), KvError> {
        check_secret_name(name)?;
        let what = if version.is_empty() {
            name.to_owned()
        } else {
            format!("{name}/{version}")
        };
        let secret = self
            .secrets
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| KvError::secret_not_found(&what))?;
        let index = if version.is_empty() {
            secret.versions.len().checked_sub(1)
        } else {
            secret
                .versions
                .iter()
                .position(|v| v.version.eq_ignore_ascii_case(version))
        };
        index
            .map(|i| (secret, i))
            .ok_or_else(|| KvError::secret_not_found(&what))
    }

    /// `GET /secrets/{name}/{version}`: reads ignore nbf/exp; a disabled version is 403.
    pub fn get(&self, base: &str, name: &str, version: &str) -> Result<Value, KvError> {
        let (secret, i) = self.find(name, version)?;
        let v = &secret.versions[i];
        if !v.enabled {
            return Err(KvError::disabled("get"));
        }
        Ok(self.bundle(base, &secret.name, v, true))
    }

    /// `PATCH /secrets/{name}/{version}`: contentType, tags, attributes; never the value.
    pub fn update(
        &mut self,
        base: &str,
        name: &str,
        version: &str,
        params: SecretParams,
        now: DateTime<Utc>,
    ) -> Result<Value, KvError> {
        check_content_type_and_tags(params.content_type.as_ref(), params.tags.as_ref())?;
        let (_, i) = self.find(name, version)?;
        let key = name.to_ascii_lowercase();
        let Some(secret) = self.secrets.get_mut(&key) else {
            return Err(KvError::secret_not_found(name));
        };
        let v = &mut secret.versions[i];
        if let Some(ct) = params.content_type {
            v.content_type = Some(ct);
        }
        if let Some(tags) = params.tags {
            v.tags = tags;
        }
        if let Some(a) = params.attributes {
            if let Some(e) = a.enabled {
                v.enabled = e;
            }
            if a.nbf.is_some() {
                v.nbf = a.nbf;
            }
            if a.exp.is_some() {
                v.exp = a.exp;
            }
        }
        v.updated = now.timestamp();
        let (display, v) = (secret.name.clone(), v.clone());
        Ok(self.bundle(base, &display, &v, false))
    }

    /// `DELETE /secrets/{name}`: every version, into soft delete.
    pub fn delete(&mut self, base: &str, name: &str, now: DateTime<Utc>) -> Result<Value, KvError> {
        check_secret_name(name)?;
        self.expire(now);
        let key = name.to_ascii_lowercase();
        let secret = self
            .secrets
            .remove(&key)
            .ok_or_else(|| KvError::secret_not_found(name))?;
        let deleted = Deleted {
            secret,
            deleted: now,
            scheduled_purge: now + TimeDelta::days(i64::from(self.settings.recoverable_days)),
            deleting_until: self.transition_end(now),
        };
        let body = self.deleted_bundle(base, &deleted);
        self.deleted.insert(key, deleted);
        Ok(body)
    }

    fn transition_end(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ms = i64::try_from(self.settings.transition_ms).unwrap_or(i64::MAX);
        (ms > 0).then(|| now + TimeDelta::milliseconds(ms))
    }

    /// The deleted secret, once its delete has finished.
    fn find_deleted(&mut self, name: &str, now: DateTime<Utc>) -> Result<&Deleted, KvError> {
        check_secret_name(name)?;
        self.expire(now);
        match self.deleted.get(&name.to_ascii_lowercase()) {
            Some(d) if d.deleting_until.is_some_and(|until| now < until) => {
                Err(KvError::being_deleted(&d.secret.name))
            }
            Some(d) => Ok(d),
            None => Err(KvError::deleted_secret_not_found(name)),
        }
    }

    /// `GET /deletedsecrets/{name}`.
    pub fn get_deleted(&mut self, base: &str, name: &str, now: DateTime<Utc>) -> Result<Value, KvError> {
        let d = self.find_deleted(name, now)?.clone();
        Ok(self.deleted_bundle(base, &d))
    }

    /// `DELETE /deletedsecrets/{name}`.
    pub fn purge(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), KvError> {
        self.find_deleted(name, now)?;
        self.deleted.remove(&name.to_ascii_lowercase());
        Ok(())
    }

    /// `POST /deletedsecrets/{name}/recover`: back with every version; the latest's bundle (no value).
    pub fn recover(&mut self, base: &str, name: &str, now: DateTime<Utc>) -> Result<Value, KvError> {
        self.find_deleted(name, now)?;
        let key = name.to_ascii_lowercase();
        let Some(d) = self.deleted.remove(&key) else {
            return Err(KvError::deleted_secret_not_found(name));
        };
        let mut secret = d.secret;
        secret.recovering_until = self.transition_end(now);
        let body = match secret.versions.last() {
            Some(v) => self.bundle(base, &secret.name, v, false),
            None => json!({}),
        };
        self.secrets.insert(key, secret);
        Ok(body)
    }

    /// `GET /secrets`: one item per secret, its id without a version, the latest version's attributes.
    pub fn list_secrets(&self, base: &str) -> Vec<Value> {
        self.secrets
            .values()
            .filter_map(|s| {
                let v = s.versions.last()?;
                let mut item = self.bundle(base, &s.name, v, false);
                item["id"] = Value::String(format!("{base}secrets/{}", s.name));
                Some(item)
            })
            .collect()
    }

    /// `GET /secrets/{name}/versions`: every version, oldest first, without values.
    pub fn list_versions(&self, base: &str, name: &str) -> Result<Vec<Value>, KvError> {
        let (secret, _) = self.find(name, "")?;
        Ok(secret
            .versions
            .iter()
            .map(|v| self.bundle(base, &secret.name, v, false))
            .collect())
    }

    /// `GET /deletedsecrets`.
    pub fn list_deleted(&mut self, base: &str, now: DateTime<Utc>) -> Vec<Value> {
        self.expire(now);
        // A delete still in progress is not listed yet.
        self.deleted
            .values()
            .filter(|d| d.deleting_until.is_none_or(|until| now >= until))
            .map(|d| self.deleted_bundle(base, d))
            .collect()
    }

    /// The control API's view: settings, secrets with versions (values as SHA-256 and length only),
    /// deleted secrets and the request log.
    pub fn dump(&self, base: &str) -> Value {
        let versions = |s: &Secret| -> Vec<Value> {
            s.versions
                .iter()
                .map(|v| {
                    json!({
                        "version": v.version,
                        "id": format!("{base}secrets/{}/{}", s.name, v.version),
                        "enabled": v.enabled,
                        "content_type": v.content_type,
                        "tags": v.tags,
                        "nbf": v.nbf,
                        "exp": v.exp,
                        "created": v.created,
                        "updated": v.updated,
                        "value_sha256": sha256_hex(&v.value),
                        "value_bytes": v.value.len(),
                    })
                })
                .collect()
        };
        json!({
            "name": self.name,
            "vault_uri": base,
            "settings": self.settings,
            "secrets": self.secrets.values().map(|s| json!({
                "name": s.name,
                "versions": versions(s),
            })).collect::<Vec<_>>(),
            "deleted_secrets": self.deleted.values().map(|d| json!({
                "name": d.secret.name,
                "deleted_date": d.deleted.timestamp(),
                "scheduled_purge_date": d.scheduled_purge.timestamp(),
                "versions": versions(&d.secret),
            })).collect::<Vec<_>>(),
            "requests": self.requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn params(value: &str) -> SecretParams {
        SecretParams {
            value: Some(value.into()),
            ..SecretParams::default()
        }
    }

    const BASE: &str = "http://127.0.0.1:1/_vaults/kv1/";

    #[test]
    fn versions_are_added_read_and_disabled_without_touching_the_value() {
        let mut v = Vault::new("kv1", VaultSettings::default());
        let first = v.set(BASE, "app-key", params("one"), now()).expect("set");
        let id = first["id"].as_str().expect("id").to_owned();
        let version = id.rsplit('/').next().expect("version").to_owned();
        assert_eq!(version.len(), 32);
        assert!(version.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(first["value"], "one");
        assert_eq!(first["attributes"]["recoveryLevel"], "Recoverable+Purgeable");
        v.set(BASE, "APP-KEY", params("two"), now())
            .expect("second version");
        assert_eq!(v.get(BASE, "app-key", "").expect("latest")["value"], "two");
        assert_eq!(v.get(BASE, "app-key", &version).expect("first")["value"], "one");
        let patched = v
            .update(
                BASE,
                "app-key",
                &version,
                SecretParams {
                    value: Some("ignored".into()),
                    attributes: Some(AttributeParams {
                        enabled: Some(false),
                        ..AttributeParams::default()
                    }),
                    ..SecretParams::default()
                },
                now(),
            )
            .expect("patch");
        assert!(patched.get("value").is_none());
        let err = v.get(BASE, "app-key", &version).expect_err("disabled");
        assert_eq!((err.status.as_u16(), err.inner), (403, Some("SecretDisabled")));
        assert_eq!(v.list_versions(BASE, "app-key").expect("list").len(), 2);
        let dump = v.dump(BASE);
        assert_eq!(
            dump["secrets"][0]["versions"][0]["value_sha256"],
            sha256_hex("one")
        );
        assert!(!dump.to_string().contains("\"one\""));
    }

    #[test]
    fn soft_delete_blocks_the_name_until_recovered_or_purged() {
        let mut v = Vault::new("kv1", VaultSettings::default());
        v.set(BASE, "n", params("x"), now()).expect("set");
        let d = v.delete(BASE, "n", now()).expect("delete");
        assert_eq!(d["recoveryId"], format!("{BASE}deletedsecrets/n"));
        let err = v.set(BASE, "n", params("y"), now()).expect_err("409");
        assert_eq!(err.inner, Some("ObjectIsDeletedButRecoverable"));
        assert!(err.message.contains("deleted but recoverable state"));
        assert_eq!(v.get(BASE, "n", "").expect_err("gone").code, "SecretNotFound");
        v.recover(BASE, "n", now()).expect("recover");
        assert_eq!(v.get(BASE, "n", "").expect("back")["value"], "x");
        v.delete(BASE, "n", now()).expect("delete");
        v.purge("n", now()).expect("purge");
        v.set(BASE, "n", params("z"), now()).expect("name free again");
    }

    #[test]
    fn transitions_answer_being_deleted_and_being_recovered() {
        let settings = VaultSettings {
            transition_ms: 5_000,
            ..VaultSettings::default()
        };
        let mut v = Vault::new("kv1", settings);
        v.set(BASE, "n", params("x"), now()).expect("set");
        v.delete(BASE, "n", now()).expect("delete");
        assert_eq!(
            v.set(BASE, "n", params("y"), now()).expect_err("deleting").inner,
            Some("ObjectIsBeingDeleted")
        );
        assert!(
            v.list_deleted(BASE, now()).is_empty(),
            "not listed while deleting"
        );
        assert_eq!(v.list_deleted(BASE, now() + TimeDelta::seconds(6)).len(), 1);
        let later = now() + TimeDelta::seconds(6);
        v.recover(BASE, "n", later).expect("recover");
        assert_eq!(
            v.set(BASE, "n", params("y"), later)
                .expect_err("recovering")
                .inner,
            Some("ObjectIsBeingRecovered")
        );
        v.set(BASE, "n", params("y"), later + TimeDelta::seconds(6))
            .expect("done");
    }

    #[test]
    fn limits_are_enforced() {
        let mut v = Vault::new("kv1", VaultSettings::default());
        assert_eq!(
            v.set(BASE, "a_b", params("x"), now()).expect_err("name").code,
            "BadParameter"
        );
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(
            v.set(BASE, "n", params(&big), now()).expect_err("size").code,
            "BadParameter"
        );
        let tags: BTreeMap<String, String> = (0..16).map(|i| (format!("t{i}"), "v".into())).collect();
        let p = SecretParams {
            tags: Some(tags),
            ..params("x")
        };
        assert_eq!(v.set(BASE, "n", p, now()).expect_err("tags").code, "BadParameter");
        assert!(is_vault_name("kv1") && !is_vault_name("k") && !is_vault_name("a--b"));
    }

    #[test]
    fn denied_permissions_answer_per_permission_model() {
        let mut settings = VaultSettings::default();
        settings.denied_permissions.insert(Permission::Set);
        let mut v = Vault::new("kv1", settings);
        let caller = "appid=a;oid=o;iss=https://sts.windows.net/t/";
        v.authorize(caller, Permission::Get, "x", None)
            .expect("get allowed");
        let e = v
            .authorize(
                caller,
                Permission::Set,
                "Microsoft.KeyVault/vaults/secrets/setSecret/action",
                Some("n"),
            )
            .expect_err("rbac");
        assert_eq!(e.inner, Some("ForbiddenByRbac"));
        assert!(
            e.message
                .contains("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'")
        );
        v.settings.permission_model = PermissionModel::AccessPolicy;
        let e = v
            .authorize(caller, Permission::Set, "x", Some("n"))
            .expect_err("policy");
        assert_eq!(e.inner, Some("ForbiddenByPolicy"));
        assert!(
            e.message
                .contains("does not have secrets set permission on key vault 'kv1;location=")
        );
        v.settings.firewall = true;
        assert_eq!(
            v.authorize(caller, Permission::Get, "x", None)
                .expect_err("firewall")
                .inner,
            Some("ForbiddenByFirewall")
        );
    }
}
