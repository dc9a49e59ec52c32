//! Access tokens: JWT-shaped, HMAC-signed with a key only this emulator knows, so tests cannot forge them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The claims of an emulator access token (a subset of Entra's v1 access token claims).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub appid: String,
    pub oid: String,
    pub sub: String,
    /// `app` for client credentials, `user` for app+user.
    pub idtyp: String,
    pub ver: String,
    pub uti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Authentication methods of the user's sign-in (`["pwd","mfa"]` or `["pwd"]`); app+user tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

impl AccessClaims {
    /// Whether the token was issued to an application alone (client credentials).
    pub fn is_app_only(&self) -> bool {
        self.idtyp == "app"
    }

    /// Whether the user's sign-in had a second factor (what Partner Center checks, reference B.3).
    pub fn has_mfa(&self) -> bool {
        self.amr
            .as_ref()
            .is_some_and(|methods| methods.iter().any(|m| m == "mfa"))
    }
}

/// The `amr` claim of an app+user token: what the user's original sign-in performed.
pub fn authentication_methods(mfa: bool) -> Vec<String> {
    if mfa {
        vec!["pwd".into(), "mfa".into()]
    } else {
        vec!["pwd".into()]
    }
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("the access token is not a well-formed JWT")]
    Malformed,
    #[error("the access token's signature is invalid")]
    BadSignature,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
}

/// Signs and checks tokens with the emulator's key.
#[derive(Debug, Clone)]
pub struct TokenSigner {
    key: [u8; 32],
}

const HEADER: &str = r#"{"typ":"JWT","alg":"HS256","kid":"partnercenter-emulator"}"#;

impl TokenSigner {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// `header.payload.signature` for any JSON payload.
    pub fn sign_json(&self, payload: &serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(HEADER);
        let body = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signing_input = format!("{header}.{body}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }

    pub fn issue(&self, claims: &AccessClaims) -> String {
        self.sign_json(&serde_json::to_value(claims).unwrap_or_default())
    }

    /// Checks signature and lifetime against the emulator clock.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenProblem> {
        let mut parts = token.split('.');
        let (Some(header), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenProblem::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenProblem::Malformed)?;
        let mut mac = self.hmac();
        mac.update(format!("{header}.{body}").as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenProblem::BadSignature)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenProblem::Malformed)?;
        let claims: AccessClaims = serde_json::from_slice(&body).map_err(|_| TokenProblem::Malformed)?;
        let now = now.timestamp();
        if now >= claims.exp {
            return Err(TokenProblem::Expired);
        }
        // Entra allows five minutes of clock skew on nbf.
        if now + 300 < claims.nbf {
            return Err(TokenProblem::NotYetValid);
        }
        Ok(claims)
    }

    /// An opaque signature over arbitrary bytes (continuation tokens use it to detect tampering).
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC zero-pads short keys to the block size, so padding here gives the same MAC without a
        // fallible constructor.
        let mut key = hmac::digest::Key::<Hmac<Sha256>>::default();
        key[..self.key.len()].copy_from_slice(&self.key);
        <Hmac<Sha256> as hmac::digest::KeyInit>::new(&key)
    }
}

/// The payload of a JWT without checking its signature (client assertions from federated issuers).
pub fn unverified_payload(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, body) = (parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The bearer token of an `Authorization` header.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
