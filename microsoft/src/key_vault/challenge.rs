//! The vault's `WWW-Authenticate` challenge: read as the Azure SDKs read it, and verified before any token
//! is sent.

use super::names::VaultUri;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use std::collections::HashMap;
use url::Url;

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
pub(super) struct Challenged {
    /// The tenant the vault named (facts for a later 401).
    pub(super) tenant: Option<String>,
}

/// Checks a challenge before any token is sent: the scope's resource must be a parent domain of the
/// vault's host (as the Azure SDKs verify it), and must be this environment's Key Vault audience (the
/// token cache asks for fixed audiences only). Loopback `http://` vaults skip the domain check: the
/// emulator's vaults live on 127.0.0.1 and name the real resource.
pub(super) fn verify_challenge(
    vault: &VaultUri,
    challenge: &Challenge,
    audience: &str,
) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
