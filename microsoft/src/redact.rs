//! Removes secrets from what gets logged: form bodies, JSON bodies and URL queries.

use serde_json::Value;
use url::Url;

const REDACTED: &str = "<redacted>";

/// Field names whose values are secrets, compared case-insensitively.
const SENSITIVE: &[&str] = &[
    "authorization",
    "client_secret",
    "client_assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "code",
    "code_verifier",
    "device_code",
    "secrettext",
    "assertion",
    "password",
];

fn is_sensitive(key: &str) -> bool {
    SENSITIVE.iter().any(|s| s.eq_ignore_ascii_case(key))
}

/// An `application/x-www-form-urlencoded` body with secret values replaced.
pub fn redact_form(body: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        if is_sensitive(&k) {
            out.append_pair(&k, REDACTED);
        } else {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

/// A JSON body with secret values replaced at any depth. A body that is not JSON is not shown at all,
/// since it cannot be checked.
pub fn redact_json(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(crate::error::strip_bom(body)) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) if body.is_empty() => String::new(),
        Err(_) => format!("<{} bytes, not JSON, not shown>", body.len()),
    }
}

fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// A URL for logs and errors: secret query values replaced, user info removed.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_sensitive(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_secrets_are_replaced_and_the_rest_kept() {
        let body = "grant_type=refresh_token&client_id=abc&client_secret=s3cr%26t&refresh_token=rt-123\
                    &scope=https%3A%2F%2Fapi.partnercenter.microsoft.com%2Fuser_impersonation+offline_access\
                    &client_assertion=eyJhbGciOi&code=authcode&code_verifier=pkce-v-99";
        let out = redact_form(body);
        for secret in ["s3cr", "rt-123", "eyJhbGciOi", "authcode", "pkce-v-99"] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        assert!(out.contains("client_id=abc"), "{out}");
        assert!(out.contains("grant_type=refresh_token"), "{out}");
        assert!(out.contains("client_secret=%3Credacted%3E"), "{out}");
    }

    #[test]
    fn json_secrets_are_replaced_at_any_depth() {
        let body = br#"{"access_token":"at-1","refresh_token":"rt-1","id_token":"it-1","expires_in":"3599",
            "value":[{"secretText":"st-1","keyId":"k"}],"nested":{"Authorization":"Bearer x1"}}"#;
        let out = redact_json(body);
        for secret in ["at-1", "rt-1", "it-1", "st-1", "Bearer x1"] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        assert!(out.contains("\"keyId\":\"k\""), "{out}");
        assert!(out.contains("3599"), "{out}");
        assert_eq!(
            redact_json(b"access_token=raw"),
            "<16 bytes, not JSON, not shown>"
        );
    }

    #[test]
    fn url_query_secrets_are_replaced() {
        let u = Url::parse("http://127.0.0.1:8400/?code=abc&state=xyz").expect("url");
        let out = redact_url(&u);
        assert!(!out.contains("abc"), "{out}");
        assert!(out.contains("state=xyz"), "{out}");
    }
}
