//! Token endpoint answers, read leniently: the v1 endpoint sends numbers as strings.

use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A successful token endpoint answer (v1 or v2).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: Secret,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_in: Option<u64>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_on: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
}

impl TokenResponse {
    /// How long the access token lives from `now`: `expires_in`, else `expires_on`, else a short
    /// default so an odd answer is refreshed soon rather than trusted long.
    pub(crate) fn lifetime(&self, now: DateTime<Utc>) -> Duration {
        if let Some(s) = self.expires_in {
            return Duration::from_secs(s);
        }
        if let Some(on) = self.expires_on {
            let left = on as i64 - now.timestamp();
            return Duration::from_secs(left.max(0) as u64);
        }
        Duration::from_secs(300)
    }
}

/// Accepts `3599`, `"3599"`, or null.
pub(crate) fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Float(f64),
        Str(String),
    }
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        None => None,
        Some(NumOrStr::Num(n)) => Some(n),
        Some(NumOrStr::Float(f)) if f.is_finite() && f >= 0.0 => Some(f as u64),
        Some(NumOrStr::Float(_)) => None,
        Some(NumOrStr::Str(s)) => s.trim().parse().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::fixture;

    #[test]
    fn v1_answer_with_string_numbers() {
        let t: TokenResponse = serde_json::from_slice(&fixture("token_v1.json")).expect("decodes");
        assert_eq!(t.expires_in, Some(3599));
        assert_eq!(t.expires_on, Some(1547579127));
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("rt-v1"));
        assert_eq!(t.lifetime(Utc::now()), Duration::from_secs(3599));
    }

    #[test]
    fn v2_answer_with_numbers() {
        let t: TokenResponse = serde_json::from_slice(&fixture("token_v2.json")).expect("decodes");
        assert_eq!(t.expires_in, Some(3600));
        assert!(t.refresh_token.is_none());
        assert_eq!(t.access_token.expose(), "at-v2");
    }
}
