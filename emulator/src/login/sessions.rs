//! What the login endpoints remember between calls: refresh tokens, authorization codes and device codes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::seed::PartnerSeed;

/// A refresh token's grant: who signed in, for which client, and when it was last used.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user: String,
    pub user_object_id: String,
    /// The original sign-in had a second factor; every access token minted from this grant says so in
    /// `amr`.
    pub mfa: bool,
    pub issued: DateTime<Utc>,
    pub last_used: DateTime<Utc>,
    pub revoked: bool,
}

impl RefreshGrant {
    /// The demo user's consent to the demo app, signed in with or without MFA.
    pub fn for_demo_user(partner: &PartnerSeed, mfa: bool, now: DateTime<Utc>) -> Self {
        Self {
            client_id: partner.app_id.clone(),
            user: partner.user.clone(),
            user_object_id: partner.user_object_id.clone(),
            mfa,
            issued: now,
            last_used: now,
            revoked: false,
        }
    }
}

/// An authorization code waiting to be redeemed.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    /// v2 `scope` of the authorize request (v1 codes carry none; the redemption names the resource).
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: String,
    pub issued: DateTime<Utc>,
    pub redeemed: bool,
    /// The sign-in behind the code had a second factor.
    pub mfa: bool,
}

/// A device code flow in progress.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub client_id: String,
    pub scope: Option<String>,
    pub resource: Option<String>,
    pub expires: DateTime<Utc>,
    pub approved: bool,
    pub redeemed: bool,
    /// Decided when the user approves (signs in).
    pub mfa: bool,
}

/// The login side's memory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sessions {
    #[serde(skip)]
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    #[serde(skip)]
    pub codes: HashMap<String, AuthorizationCode>,
    pub device_codes: Vec<DeviceCode>,
}

impl Sessions {
    /// The demo user's refresh token for the web app, as if consent (signed in with MFA) happened just now.
    pub fn seeded(partner: &PartnerSeed, now: DateTime<Utc>) -> Self {
        let mut sessions = Self::default();
        sessions.refresh_tokens.insert(
            partner.refresh_token.clone(),
            RefreshGrant::for_demo_user(partner, true, now),
        );
        sessions
    }

    /// Revokes every issued refresh token; answers how many were live.
    pub fn revoke_all(&mut self) -> usize {
        let mut count = 0;
        for grant in self.refresh_tokens.values_mut() {
            if !grant.revoked {
                grant.revoked = true;
                count += 1;
            }
        }
        count
    }
}
