//! A vault on the scripted server: where it lives and how it asks for a token.

use super::{Canned, Fixture};
use partnercenter_microsoft::VaultUri;
use serde_json::json;

/// The secret the vault tests write.
pub const VAULT_PATH: &str = "/kv/secrets/app-key";

/// The vault at `{fixture}/kv/`.
pub fn fixture_vault(f: &Fixture) -> VaultUri {
    VaultUri::parse(f.base.join("kv").expect("url").as_str()).expect("vault")
}

/// Key Vault's answer to a request without a token: 401 and a Bearer challenge with `params`.
pub fn challenge_401(params: &str) -> Canned {
    Canned::json(
        401,
        json!({"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}),
    )
    .header("WWW-Authenticate", &format!("Bearer {params}"))
}
