//! The one table of Microsoft hosts: where requests go per environment, and which audiences tokens name.

use crate::error::{Error, Service};
use std::fmt;
use std::str::FromStr;
use url::Url;

/// A Microsoft cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Environment {
    /// The global cloud.
    #[default]
    Public,
    /// US Government (L4).
    UsGovernment,
    /// Azure operated by 21Vianet.
    China,
}

impl FromStr for Environment {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "usgovernment" => Ok(Self::UsGovernment),
            "china" => Ok(Self::China),
            other => Err(Error::Config(format!(
                "unknown environment {other:?}: expected \"public\", \"usgovernment\" or \"china\""
            ))),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::UsGovernment => "usgovernment",
            Self::China => "china",
        })
    }
}

/// Where requests go. Each may be overridden (a proxy, the local emulator); audiences never follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Entra ID login authority, e.g. `https://login.microsoftonline.com`.
    pub login: Url,
    /// Microsoft Graph root (without `/v1.0`).
    pub graph: Url,
    /// Partner Center API root (without `/v1`).
    pub partner_center: Url,
}

/// What tokens are for: the App ID URIs named in `scope`, fixed per environment (ARCHITECTURE.md,
/// "Audiences are not endpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audiences {
    /// Microsoft Graph's App ID URI.
    pub graph: &'static str,
    /// Partner Center's App ID URI.
    pub partner_center: &'static str,
    /// Azure Key Vault's resource id: the only audience a vault's challenge may ask a token for.
    pub key_vault: &'static str,
}

struct Row {
    login: &'static str,
    graph: &'static str,
    partner_center: &'static str,
    key_vault: &'static str,
}

// https://learn.microsoft.com/graph/deployments and the Partner Center REST URL table
// (reference §1.4). US Gov uses the global Partner Center host (partner-center-rest-urls.md).
// China: the sources disagree between login.partner.microsoftonline.cn (Entra national-cloud page) and
// login.chinacloudapi.cn (Graph deployments page and Partner Center PowerShell's EnvironmentConstants).
// We take login.chinacloudapi.cn: two sources, one of them Partner Center's own tooling, and it is the
// authority MSAL names for AzureChina; both hosts serve the same authority.
// Key Vault resource ids per cloud: the azurerm provider's environment tables (azure_{public,gov,china}.go).
const fn row(env: Environment) -> Row {
    match env {
        Environment::Public => Row {
            login: "https://login.microsoftonline.com",
            graph: "https://graph.microsoft.com",
            partner_center: "https://api.partnercenter.microsoft.com",
            key_vault: "https://vault.azure.net",
        },
        Environment::UsGovernment => Row {
            login: "https://login.microsoftonline.us",
            graph: "https://graph.microsoft.us",
            partner_center: "https://api.partnercenter.microsoft.com",
            key_vault: "https://vault.usgovcloudapi.net",
        },
        Environment::China => Row {
            login: "https://login.chinacloudapi.cn",
            graph: "https://microsoftgraph.chinacloudapi.cn",
            partner_center: "https://partner.partnercenterapi.microsoftonline.cn",
            key_vault: "https://vault.azure.cn",
        },
    }
}

impl Environment {
    /// The default endpoints of this environment.
    pub fn endpoints(self) -> Endpoints {
        let r = row(self);
        Endpoints {
            login: parse_static(r.login),
            graph: parse_static(r.graph),
            partner_center: parse_static(r.partner_center),
        }
    }

    /// The token audiences of this environment.
    pub fn audiences(self) -> Audiences {
        let r = row(self);
        Audiences {
            graph: r.graph,
            partner_center: r.partner_center,
            key_vault: r.key_vault,
        }
    }
}

fn parse_static(s: &'static str) -> Url {
    // The table above is constant and tested; a failure here is a programming error caught by tests.
    Url::parse(s).unwrap_or_else(|_| unreachable!("endpoint table entry {s} is a valid URL"))
}

/// Refuses URLs that would send credentials in clear text: `http://` is accepted only for loopback
/// hosts (the emulator, a local proxy). `name` says which endpoint, for the error.
pub fn check_endpoint(name: &str, url: &Url) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::InvalidEndpoint {
            name: name.to_owned(),
            url: url.to_string(),
            reason: "plain http:// is only allowed for loopback hosts (localhost, 127.0.0.0/8, ::1)"
                .to_owned(),
        }),
        other => Err(Error::InvalidEndpoint {
            name: name.to_owned(),
            url: url.to_string(),
            reason: format!("scheme {other:?} is not https"),
        }),
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Joins `path` (no leading slash) under `base`, keeping any path prefix `base` has (a proxy under
/// `/partnercenter/` keeps it).
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, Error> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.join(path.trim_start_matches('/'))
        .map_err(|e| Error::Config(format!("building a URL under {base}: {e}")))
}

/// A next-page link `service` handed back, followed only on the origin of `base`, where the listing
/// went: the bearer token must not leave it.
pub(crate) fn next_link_on(
    service: Service,
    base: &Url,
    next: Result<Url, url::ParseError>,
) -> Result<Url, Error> {
    let url = next.map_err(|e| Error::Protocol {
        service,
        detail: format!("sent a next link that is not a URL: {e}"),
    })?;
    if url.origin() != base.origin() {
        return Err(Error::Protocol {
            service,
            detail: format!(
                "sent a next link to another host ({}); the token goes only to the configured one",
                url.origin().ascii_serialization()
            ),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_parse_and_map() {
        let e: Environment = "USGovernment".parse().expect("parses");
        assert_eq!(e, Environment::UsGovernment);
        assert_eq!(e.endpoints().graph.as_str(), "https://graph.microsoft.us/");
        assert_eq!(
            e.endpoints().partner_center,
            Environment::Public.endpoints().partner_center
        );
        let c = Environment::China.endpoints();
        assert_eq!(c.login.host_str(), Some("login.chinacloudapi.cn"));
        assert_eq!(
            Environment::China.audiences().partner_center,
            "https://partner.partnercenterapi.microsoftonline.cn"
        );
        assert_eq!(
            Environment::Public.audiences().key_vault,
            "https://vault.azure.net"
        );
        assert_eq!(
            Environment::UsGovernment.audiences().key_vault,
            "https://vault.usgovcloudapi.net"
        );
        assert_eq!(Environment::China.audiences().key_vault, "https://vault.azure.cn");
        assert!("germany".parse::<Environment>().is_err());
        for env in [Environment::Public, Environment::UsGovernment, Environment::China] {
            assert_eq!(env.to_string().parse::<Environment>().expect("round trip"), env);
            let ep = env.endpoints();
            for u in [&ep.login, &ep.graph, &ep.partner_center] {
                check_endpoint("x", u).expect("defaults are https");
            }
        }
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:3000",
            "https://x.example",
        ] {
            check_endpoint("graph", &Url::parse(ok).expect("url")).expect(ok);
        }
        for bad in ["http://example.com", "http://10.0.0.1", "ftp://127.0.0.1"] {
            let err = check_endpoint("graph", &Url::parse(bad).expect("url")).expect_err(bad);
            assert!(err.to_string().contains("graph"), "{err}");
        }
    }

    #[test]
    fn join_keeps_prefix() {
        let base = Url::parse("http://127.0.0.1:1/proxy").expect("url");
        assert_eq!(
            join(&base, "/v1/customers").expect("join").as_str(),
            "http://127.0.0.1:1/proxy/v1/customers"
        );
        let base = Url::parse("https://graph.microsoft.com").expect("url");
        assert_eq!(
            join(&base, "v1.0/applications").expect("join").as_str(),
            "https://graph.microsoft.com/v1.0/applications"
        );
    }
}
