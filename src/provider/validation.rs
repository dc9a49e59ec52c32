//! Attribute validators shared by the provider block, resources and data sources. Each names what is
//! wrong and what to write instead; all run at validate time, before any network call.

use url::Url;

use crate::protocol::Validator;

/// A GUID in its usual 8-4-4-4-12 hex form (how Entra shows tenant ids and App IDs).
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `what` completes "must be ..." in the error, e.g. "the Directory (tenant) ID".
pub fn guid(what: &'static str) -> Validator {
    Validator::string("must be a GUID", move |s| {
        if is_guid(s) {
            Ok(())
        } else {
            Err(format!(
                "\"{s}\" is not a GUID. Expected {what}, like 00000000-0000-0000-0000-000000000000 (Entra admin \
                 center > App registrations shows both the Application (client) ID and the Directory (tenant) ID)."
            ))
        }
    })
}

/// Checks an endpoint URL: absolute, https, or http on a loopback host only.
pub fn endpoint_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s)
        .map_err(|e| format!("\"{s}\" is not an absolute URL ({e}); write it like https://host"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "\"{s}\" uses plain http, which would send credentials in clear text; use https, or http only for a \
             loopback host such as 127.0.0.1 (the local emulator)."
        )),
        other => Err(format!("\"{s}\" has scheme \"{other}\"; use https")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub fn endpoint() -> Validator {
    Validator::string("must be an https URL (http only for loopback)", |s| {
        endpoint_url(s).map(|_| ())
    })
}

/// One of a fixed set of words.
pub fn one_of(choices: &'static [&'static str]) -> Validator {
    let described = choices
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Validator::string(&format!("one of {described}"), move |s| {
        if choices.contains(&s) {
            Ok(())
        } else {
            let list = choices
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            Err(format!("\"{s}\" is not one of {list}."))
        }
    })
}

/// A value that must not be empty or blank.
pub fn not_blank() -> Validator {
    Validator::string("must not be empty", |s| {
        if s.trim().is_empty() {
            Err("The value is empty; remove the attribute or give it a value.".into())
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90"));
        assert!(is_guid("00000003-0000-0000-C000-000000000000"));
        assert!(!is_guid("6f1c4b2e0d3a4c599e7b2a8d5f3c1e90"));
        assert!(!is_guid("6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e9g"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
    }

    #[test]
    fn http_endpoints_only_on_loopback() {
        assert!(endpoint_url("https://login.microsoftonline.com").is_ok());
        assert!(endpoint_url("http://127.0.0.1:8080").is_ok());
        assert!(endpoint_url("http://localhost:1").is_ok());
        assert!(endpoint_url("http://[::1]:1").is_ok());
        assert!(
            endpoint_url("http://10.0.0.1")
                .unwrap_err()
                .contains("clear text")
        );
        assert!(endpoint_url("login.microsoftonline.com").is_err());
    }
}
