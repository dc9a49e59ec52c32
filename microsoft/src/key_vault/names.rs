//! Vault URIs, secret names and versioned secret ids, checked before any request.

use super::{API_VERSION, MAX_NAME_CHARS};
use crate::endpoints::{check_endpoint, is_loopback};
use crate::error::Error;
use std::fmt;
use std::str::FromStr;
use url::Url;

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
    pub(super) fn is_loopback_http(&self) -> bool {
        self.0.scheme() == "http" && is_loopback(&self.0)
    }

    /// `{vault}{path}?api-version=…`, each path segment percent-encoded.
    pub(super) fn url_for(&self, segments: &[&str]) -> Result<Url, Error> {
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

    pub(super) fn url(&self) -> Result<Url, Error> {
        self.vault.url_for(&["secrets", &self.name, &self.version])
    }
}

/// Whether `v` can be a version: 1-64 letters and digits (Key Vault makes 32 hex characters).
pub(super) fn is_version(v: &str) -> bool {
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
}
