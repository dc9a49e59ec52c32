//! Key Vault traces at every level, errors and Debug output never contain the secret value or the token.
//! Alone in its test binary: tracing caches per-callsite interest process-wide, and other tests running
//! without a subscriber would hide events from this test's thread-local one.

mod common;

use common::key_vault::{VAULT_PATH, challenge_401, fixture_vault};
use common::traces::Traces;
use common::{Canned, secret_only};
use partnercenter_microsoft::{KeyVaultErrorKind, Secret, SecretAttributes};
use serde_json::json;
use std::collections::BTreeMap;

const VALUE: &str = "kv~Key.Value-0123456789abcdefghijklmnop";

fn bundle(version: &str) -> Canned {
    Canned::json(
        200,
        json!({"value": VALUE, "id": format!("https://kv1.vault.azure.net/secrets/app-key/{version}"),
               "tags": {"application-id": "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"},
               "attributes": {"enabled": true, "created": 1_800_000_000, "updated": 1_800_000_000}}),
    )
}

fn key_attributes() -> SecretAttributes {
    SecretAttributes {
        tags: BTreeMap::from([(
            "application-id".to_owned(),
            "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47".to_owned(),
        )]),
        ..SecretAttributes::default()
    }
}

#[tokio::test]
async fn the_value_never_reaches_traces_errors_or_debug_output() {
    let (traces, _guard) = Traces::capture();
    let f = common::Fixture::with_tokens().await;
    let challenge =
        challenge_401(r#"authorization="https://login.example/t", resource="https://vault.azure.net""#);
    let version = "0123456789abcdef0123456789abcdef";
    f.on("PUT", VAULT_PATH, vec![challenge, bundle(version)]);
    f.on("GET", &format!("{VAULT_PATH}/{version}"), vec![bundle(version)]);
    f.on(
        "PUT",
        "/kv/secrets/other",
        vec![Canned::json(
            403,
            json!({"error":{"code":"Forbidden","message":"denied","innererror":{"code":"ForbiddenByPolicy"}}}),
        )],
    );
    let vault = fixture_vault(&f);
    let kv = f.client(secret_only()).key_vault();
    let value = Secret::new(VALUE);
    let written = kv
        .set_secret(&common::ctx(), &vault, "app-key", &value, &key_attributes())
        .await
        .expect("written");
    let (read, got) = kv
        .get_secret_value(&common::ctx(), &written.id)
        .await
        .expect("read");
    assert_eq!(got.expose(), VALUE);
    let err = kv
        .set_secret(
            &common::ctx(),
            &vault,
            "other",
            &value,
            &SecretAttributes::default(),
        )
        .await
        .expect_err("403");
    assert_eq!(err.key_vault().and_then(|e| e.request_id()), None);
    assert_eq!(
        err.key_vault().map(|e| e.kind),
        Some(KeyVaultErrorKind::ForbiddenByPolicy)
    );

    let logs = traces.text();
    assert!(
        logs.contains("request body") && logs.contains("response body"),
        "{logs}"
    );
    assert!(
        logs.contains("application-id"),
        "the rest of the body is traced: {logs}"
    );
    let shown = format!("{err} {err:?} {written:?} {read:?} {got:?} {kv:?} {value:?}");
    for text in [&logs, &shown] {
        assert!(!text.contains(VALUE), "the value leaked: {text}");
        assert!(!text.contains("fixture-access-token"), "the token leaked: {text}");
    }
}
