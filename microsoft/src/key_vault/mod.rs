//! Azure Key Vault secrets (data plane): write a secret as a new version, read versions' metadata,
//! disable a version, soft delete and recovery; challenge-based authentication as the Azure SDKs do
//! it, and Key Vault's refusals as typed facts ([`KeyVaultError`]).
//!
//! Key Vault requests do not go through the shared pipeline's `send` (`crate::http`): the first
//! request to a vault must be sent without a token and without its body (the challenge), Key Vault
//! prescribes its own backoff for 429 without `Retry-After` (1, 2, 4, 8, 16 s), its error bodies nest
//! `innererror` codes the shared decoder does not keep, and its bodies carry the secret in a field
//! (`value`) the shared redaction leaves alone (see `sending.rs`). The connection pool, token cache,
//! one attempt on the wire, the retry loop with its bounds and the classifier for 5xx and connection
//! failures ([`crate::retry::classify`]) are shared.
//!
//! Here: the public operations, top-down; names and ids in `names.rs`, metadata in `bundle.rs`,
//! refusals in `error.rs`, the challenge in `challenge.rs`.

mod bundle;
mod challenge;
mod error;
mod names;
mod sending;

pub use bundle::{
    DeletedSecret, SecretAttributes, SecretBundle, VersionAttributes, VersionStatus, check_tags,
};
pub use error::{KeyVaultError, KeyVaultErrorKind, SecretOperation};
pub use names::{SecretId, VaultUri, check_secret_name};

use crate::client::Client;
use crate::context::CallContext;
use crate::endpoints::next_link_on;
use crate::error::{Error, Service, strip_bom};
use crate::http::safe_serde_message;
use crate::redact::redact_url;
use crate::secret::Secret;
use bundle::{WireBundle, WirePage, WireValue, unix};
use challenge::Challenged;
use names::is_version;
use sending::{Call, wipe};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use url::Url;

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
        let call = Call::new(
            SecretOperation::Set,
            vault,
            name,
            vault.url_for(&["secrets", name])?,
        )
        .with_body(bytes?);
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
        let call = Call::new(SecretOperation::Get, vault, name, url);
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
            let call = Call::new(SecretOperation::ListVersions, vault, name, url);
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
        let call = Call::new(SecretOperation::Update, &id.vault, &id.name, id.url()?)
            .with_body(body.to_string().into_bytes());
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
        let call = Call::new(
            SecretOperation::Delete,
            vault,
            name,
            vault.url_for(&["secrets", name])?,
        );
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
        let call = Call::new(
            SecretOperation::GetDeleted,
            vault,
            name,
            vault.url_for(&["deletedsecrets", name])?,
        );
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
        let call = Call::new(
            SecretOperation::Recover,
            vault,
            name,
            vault.url_for(&["deletedsecrets", name, "recover"])?,
        );
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
        let call = Call::new(
            SecretOperation::Purge,
            vault,
            name,
            vault.url_for(&["deletedsecrets", name])?,
        );
        self.send(ctx, call).await.map(|_| ())
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
