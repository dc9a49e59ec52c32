//! Where a web app key's secret goes instead of Terraform state: a new version of a Key Vault secret.
//! The key resource creates the key, hands the secret here, and keeps only the version's id; reads check
//! that the version is still there, enabled and the latest; removing the key disables its version.
//! Key Vault's refusals are worded here in Terraform's terms (the vault, the secret, the permission or
//! state, what to do).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use partnercenter_microsoft::key_vault::{check_secret_name, check_tags};
use partnercenter_microsoft::{
    CallContext, Error, KeyVault, KeyVaultErrorKind, Secret, SecretAttributes, SecretId, VaultUri,
    VersionStatus,
};

use crate::protocol::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, FromValue, NestedBlock, Nesting, Type,
    Validator, Value,
};
use crate::provider::errors;

pub const BLOCK: &str = "key_vault_secret";
const VAULT_URI: &str = "vault_uri";
const NAME: &str = "name";
const CONTENT_TYPE: &str = "content_type";
const TAGS: &str = "tags";

/// Tags every version carries, naming the key it holds.
pub const APPLICATION_TAG: &str = "partnercenter-application-id";
pub const KEY_TAG: &str = "partnercenter-key-id";

/// Where to put the secret, from the `key_vault_secret` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub vault: VaultUri,
    pub name: String,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Destination {
    /// The block's destination; `Ok(None)` without the block.
    pub fn from_block(block: &Value) -> Result<Option<Destination>, Diagnostic> {
        if block.is_null() {
            return Ok(None);
        }
        let at = |name: &str| AttributePath::root(BLOCK).attribute(name);
        let vault_text = block.known::<String>(VAULT_URI).unwrap_or_default();
        let vault = VaultUri::parse(&vault_text)
            .map_err(|e| Diagnostic::error("Invalid vault_uri", e.to_string()).at(at(VAULT_URI)))?;
        Ok(Some(Destination {
            vault,
            name: block.known::<String>(NAME).unwrap_or_default(),
            content_type: block.known::<String>(CONTENT_TYPE),
            tags: block.known::<BTreeMap<String, String>>(TAGS).unwrap_or_default(),
        }))
    }

    fn named(&self) -> String {
        format!("secret \"{}\" in vault {}", self.name, self.vault.as_str())
    }
}

/// The block's schema: the destination, fixed for the key's life (a new destination is a new key, since
/// the secret cannot be read back to move it).
pub fn block() -> NestedBlock {
    NestedBlock::new(
        BLOCK,
        Nesting::Single,
        Block::new(
            "Deliver the key's secret to Azure Key Vault instead of Terraform state: it is written as a new \
             version of this secret (`nbf`/`exp` = the key's start and end, tags naming the application and \
             key), and `value` stays null. Changing the block replaces the key.",
        )
        .attribute(
            Attribute::string(VAULT_URI)
                .required()
                .description("The vault, e.g. `https://contoso-kv.vault.azure.net/`.")
                .validate(Validator::string("a Key Vault URI", |s| {
                    VaultUri::parse(s).map(|_| ()).map_err(|e| e.to_string())
                })),
        )
        .attribute(
            Attribute::string(NAME)
                .required()
                .description("The secret's name (1-127 letters, digits and `-`).")
                .validate(Validator::string("a Key Vault secret name", |s| {
                    check_secret_name(s).map_err(|e| e.to_string())
                })),
        )
        .attribute(
            Attribute::string(CONTENT_TYPE)
                .optional()
                .description("The secret's content type, e.g. `\"text/plain\"`."),
        )
        .attribute(
            Attribute::new(TAGS, Type::map(Type::String))
                .optional()
                .description(&format!(
                    "Tags for each version, besides `{APPLICATION_TAG}` and `{KEY_TAG}` (13 at most)."
                ))
                .validate(Validator::value(
                    "at most 13 tags",
                    |value, path, diags: &mut Diagnostics| {
                        let tags =
                            <BTreeMap<String, String> as FromValue>::from_value(value).unwrap_or_default();
                        let mut all = tags.clone();
                        all.insert(APPLICATION_TAG.into(), String::new());
                        all.insert(KEY_TAG.into(), String::new());
                        if let Err(e) = check_tags(&all) {
                            diags.attribute_error(
                                path.clone(),
                                format!("Invalid value for {path}"),
                                e.to_string(),
                            );
                        }
                    },
                )),
        ),
    )
}

/// The key the secret belongs to.
pub struct KeyFacts<'a> {
    pub application_id: &'a str,
    pub key_id: &'a str,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// Writes the secret as a new version; after a write whose answer was lost, the latest version is taken
/// when its tags name this key (so no second version is written for one key).
pub async fn deliver(
    vault: &KeyVault,
    call: &CallContext,
    to: &Destination,
    key: &KeyFacts<'_>,
    secret: &Secret,
) -> Result<SecretId, Diagnostic> {
    let mut tags = to.tags.clone();
    tags.insert(APPLICATION_TAG.into(), key.application_id.to_ascii_lowercase());
    tags.insert(KEY_TAG.into(), key.key_id.to_ascii_lowercase());
    let attributes = SecretAttributes {
        content_type: to.content_type.clone(),
        tags,
        not_before: key.start,
        expires: key.end,
        enabled: Some(true),
    };
    let mut tried_again = false;
    loop {
        match vault
            .set_secret(call, &to.vault, &to.name, secret, &attributes)
            .await
        {
            Ok(bundle) => return Ok(bundle.id),
            Err(e) if e.is_ambiguous() => {
                if let Ok(Some(latest)) = vault.latest(call, &to.vault, &to.name).await {
                    if latest
                        .tags
                        .get(KEY_TAG)
                        .is_some_and(|k| k.eq_ignore_ascii_case(key.key_id))
                    {
                        return Ok(latest.id);
                    }
                }
                if tried_again {
                    return Err(refusal(to, &e));
                }
                tried_again = true;
            }
            Err(e) => return Err(refusal(to, &e)),
        }
    }
}

/// How a key's version stands in Key Vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// There, enabled, and the latest version: consumers reading "latest" get this key's secret.
    Current,
    /// Gone (the version or the whole secret deleted).
    Missing,
    /// Disabled: readers are refused.
    Disabled,
    /// Someone wrote another version on top: "latest" is no longer this key's secret.
    Superseded { latest: SecretId },
}

pub async fn health(vault: &KeyVault, call: &CallContext, id: &SecretId) -> Result<Health, Error> {
    match vault.version_status(call, id).await? {
        VersionStatus::NotFound => return Ok(Health::Missing),
        VersionStatus::Disabled => return Ok(Health::Disabled),
        VersionStatus::Enabled(_) => {}
    }
    match vault.latest_version(call, &id.vault, &id.name).await? {
        Some(latest) if !latest.version.eq_ignore_ascii_case(&id.version) => {
            Ok(Health::Superseded { latest })
        }
        _ => Ok(Health::Current),
    }
}

/// Disables the version of a removed key, so nobody keeps using a secret that no longer works. A version
/// already gone is fine.
pub async fn retire(vault: &KeyVault, call: &CallContext, id: &SecretId) -> Result<(), Diagnostic> {
    match vault.update_secret_attributes(call, id, false).await {
        Ok(_) => Ok(()),
        Err(e) if e.key_vault().is_some_and(|kv| kv.is_not_found()) => Ok(()),
        Err(e) => Err(Diagnostic::warning(
            format!("Key Vault version {id} of a removed key stays enabled"),
            format!(
                "The key was removed, but disabling its secret version failed: {}",
                refusal_detail(&e)
            ),
        )),
    }
}

/// The warning for a version that is no longer what consumers read.
pub fn drift_warning(id: &SecretId, health: &Health, key_id: &str) -> Diagnostic {
    let what = match health {
        Health::Current => return Diagnostic::warning("", ""),
        Health::Missing => "was deleted".to_owned(),
        Health::Disabled => "was disabled".to_owned(),
        Health::Superseded { latest } => format!(
            "is no longer the latest version ({} was written after it)",
            latest.version
        ),
    };
    Diagnostic::warning(
        format!("The Key Vault secret of key {key_id} {what}"),
        format!(
            "Version {id} holds the secret of key {key_id}, and it {what}. The secret cannot be written again \
             (Microsoft returns it only when a key is made), so the plan replaces the key: a new key, written \
             as a new version."
        ),
    )
}

/// A Key Vault failure, named by vault and secret, with what to do.
pub fn refusal(to: &Destination, error: &Error) -> Diagnostic {
    Diagnostic::error(
        format!("Error writing the key's secret to Key Vault ({})", to.named()),
        refusal_detail(error),
    )
    .at(AttributePath::root(BLOCK))
}

fn refusal_detail(error: &Error) -> String {
    let Some(kv) = error.key_vault() else {
        return errors::describe(error);
    };
    let permission = kv.operation.permission();
    let action = kv.operation.rbac_data_action();
    let advice = match kv.kind {
        KeyVaultErrorKind::ForbiddenByRbac => format!(
            "the vault uses Azure RBAC and the provider's identity lacks {action}: assign it the role \"Key \
             Vault Secrets Officer\" on the vault (role assignments take a few minutes to apply), then apply again."
        ),
        KeyVaultErrorKind::ForbiddenByPolicy => format!(
            "the vault's access policy does not give the provider's identity the permission {permission}: add \
             an access policy with secret permissions Set, Get and List for it, then apply again."
        ),
        KeyVaultErrorKind::ForbiddenByFirewall => "the vault's firewall refuses this machine's address: allow \
             it in the vault's networking settings, or run Terraform from an allowed network."
            .to_owned(),
        KeyVaultErrorKind::DeletedButRecoverable => "a secret of this name was deleted and is still \
             recoverable (soft delete), so the name cannot be used: recover it (az keyvault secret recover) or \
             purge it (az keyvault secret purge), or choose another name."
            .to_owned(),
        KeyVaultErrorKind::BeingDeleted | KeyVaultErrorKind::BeingRecovered => {
            "the secret is being deleted or recovered: wait a minute and apply again.".to_owned()
        }
        KeyVaultErrorKind::Throttled => {
            "Key Vault kept throttling the requests (429) past its backoff: apply again in a minute.".to_owned()
        }
        KeyVaultErrorKind::Unauthorized | KeyVaultErrorKind::ChallengeRefused => format!(
            "the vault did not accept the provider's credentials{}: check that the vault belongs to the \
             provider's tenant and environment.",
            kv.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        _ => "see Key Vault's answer above.".to_owned(),
    };
    format!("{error}. What to do: {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_gives_a_destination_or_a_diagnostic_on_vault_uri() {
        let block = Value::object([
            (VAULT_URI, Value::string("https://contoso-kv.vault.azure.net/")),
            (NAME, Value::string("cloudyn-key")),
            (CONTENT_TYPE, Value::Null),
            (TAGS, Value::Null),
        ]);
        let dest = Destination::from_block(&block).unwrap().unwrap();
        assert_eq!(dest.name, "cloudyn-key");
        assert!(Destination::from_block(&Value::Null).unwrap().is_none());
        let mut bad = block.clone();
        bad.set(VAULT_URI, Value::string("http://contoso-kv.vault.azure.net/"));
        let d = Destination::from_block(&bad).unwrap_err();
        assert_eq!(d.attribute, Some(AttributePath::root(BLOCK).attribute(VAULT_URI)));
    }
}
