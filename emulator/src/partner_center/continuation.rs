//! Seek-paging continuation tokens: opaque, signed, and bound to the filter they were issued for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::access_token::TokenSigner;

/// What a token remembers: the query and where the next page starts in the sorted customer list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The filter as `(field, value)`; `None` for the unfiltered list.
    pub filter: Option<(String, String)>,
    /// Index (in the emulator's sorted list) of the next page's first candidate.
    pub position: usize,
    /// Which seeded list the token belongs to (tokens do not survive a different seed).
    pub generation: u64,
}

impl Continuation {
    pub fn encode(&self, signer: &TokenSigner) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mac = URL_SAFE_NO_PAD.encode(&signer.mac(body.as_bytes())[..16]);
        format!("{body}.{mac}")
    }

    /// `None` for anything the emulator did not issue (or that was altered).
    pub fn decode(token: &str, signer: &TokenSigner) -> Option<Self> {
        let (body, mac) = token.trim().split_once('.')?;
        let expected = URL_SAFE_NO_PAD.encode(&signer.mac(body.as_bytes())[..16]);
        if expected != mac {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let signer = TokenSigner::new([7; 32]);
        let token = Continuation {
            filter: Some(("Domain".into(), "ab".into())),
            position: 40,
            generation: 1,
        };
        let text = token.encode(&signer);
        assert_eq!(Continuation::decode(&text, &signer), Some(token));
        let (body, mac) = text.split_once('.').expect("two parts");
        let forged = format!("{}A.{mac}", body);
        assert_eq!(Continuation::decode(&forged, &signer), None);
        assert_eq!(Continuation::decode(&text, &TokenSigner::new([8; 32])), None);
    }
}
