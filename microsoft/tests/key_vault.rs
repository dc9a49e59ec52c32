//! The Key Vault client against the emulator (versions, latest, paging, disable, refusals, throttling,
//! dropped writes) and against a scripted server (the challenge exactly as sent, refused challenges,
//! 401 after a token). Traces are checked in `key_vault_traces.rs`, alone in its binary: tracing's
//! per-callsite interest is process-wide, so a thread-local subscriber misses events while other
//! tests run.

mod common;

use common::emulator::{Emu, demo_app_only};
use common::key_vault::{VAULT_PATH, challenge_401, fixture_vault};
use common::{Canned, Fixture, secret_only};
use partnercenter_emulator::{FaultSpec, demo};
use partnercenter_microsoft::{
    CallContext, Error, KeyVault, KeyVaultErrorKind, Secret, SecretAttributes, SecretBundle, SecretId,
    SecretOperation, VaultUri, VersionStatus,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

const VALUE: &str = "kv~Key.Value-0123456789abcdefghijklmnop";

/// Creates vault `name` through the control API.
async fn vault(emu: &Emu, name: &str) -> VaultUri {
    let made = emu
        .control(reqwest::Method::POST, "/vaults", Some(json!({ "name": name })))
        .await;
    VaultUri::parse(made["vault_uri"].as_str().expect("vault_uri")).expect("vault uri")
}

/// The vault's dump: versions, switches, its request log.
async fn vault_dump(emu: &Emu, name: &str) -> Value {
    emu.control(reqwest::Method::GET, &format!("/vaults/{name}"), None)
        .await
}

/// An emulator with vault `kv1` and an app-only Key Vault client.
async fn kv1() -> (Emu, VaultUri, KeyVault) {
    let emu = Emu::start().await;
    let vault = vault(&emu, "kv1").await;
    let kv = emu.client(demo_app_only()).key_vault();
    (emu, vault, kv)
}

/// Writes [`VALUE`] to `app-key` with no attributes.
async fn write_value(kv: &KeyVault, vault: &VaultUri, ctx: &CallContext) -> Result<SecretBundle, Error> {
    kv.set_secret(
        ctx,
        vault,
        "app-key",
        &Secret::new(VALUE),
        &SecretAttributes::default(),
    )
    .await
}

/// Changes `kv1`'s switches through the control API.
async fn switch_kv1(emu: &Emu, switches: Value) {
    emu.control(reqwest::Method::POST, "/vaults/kv1/switches", Some(switches))
        .await;
}

/// The latest version of `app-key`, which must be readable.
async fn latest(kv: &KeyVault, vault: &VaultUri) -> Option<SecretId> {
    kv.latest_version(&ctx(), vault, "app-key").await.expect("latest")
}

/// The next request on `route` is applied, and its connection closed without an answer.
async fn drop_the_answer_once(emu: &Emu, route: &str) {
    emu.fault(FaultSpec::on(route).drop_after_apply().times(1)).await;
}

/// The latest version of `app-key` in the scripted vault, read by a new client.
async fn latest_on(f: &Fixture) -> Result<Option<SecretId>, Error> {
    let kv = f.client(secret_only()).key_vault();
    kv.latest_version(&ctx(), &fixture_vault(f), "app-key").await
}

/// What the vault's refusal means, if the error is one.
fn refusal(err: &Error) -> Option<KeyVaultErrorKind> {
    err.key_vault().map(|e| e.kind)
}

fn ctx() -> CallContext {
    CallContext::default().with_timeout(Duration::from_secs(30))
}

fn sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn at(s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(s, 0).expect("time")
}

fn key_attributes() -> SecretAttributes {
    SecretAttributes {
        content_type: Some("application/x-partnercenter-key".into()),
        tags: BTreeMap::from([
            ("application-id".to_owned(), demo::APP_ID.to_owned()),
            (
                "key-id".to_owned(),
                "3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f".to_owned(),
            ),
        ]),
        not_before: Some(at(1_800_000_000)),
        expires: Some(at(1_863_072_000)),
        enabled: None,
    }
}

#[tokio::test]
async fn versions_are_written_read_listed_and_disabled() {
    let (emu, vault, kv) = kv1().await;
    assert_eq!(
        kv.latest_version(&ctx(), &vault, "app-key").await.expect("read"),
        None
    );

    let written = kv
        .set_secret(&ctx(), &vault, "app-key", &Secret::new(VALUE), &key_attributes())
        .await
        .expect("written");
    assert_eq!(written.id.vault, vault);
    assert_eq!(written.id.name, "app-key");
    assert_eq!(written.id.version.len(), 32);
    assert_eq!(written.tags, key_attributes().tags);
    assert_eq!(written.content_type, key_attributes().content_type);
    let a = &written.attributes;
    assert!(a.enabled);
    assert_eq!(
        (a.not_before, a.expires),
        (Some(at(1_800_000_000)), Some(at(1_863_072_000)))
    );
    assert!(a.created.is_some() && a.updated.is_some());
    assert_eq!(a.recovery_level.as_deref(), Some("Recoverable+Purgeable"));
    assert_eq!(a.recoverable_days, Some(90));

    // The id survives a round trip through state (a string).
    let stored = written.id.to_string();
    let id = SecretId::parse(&stored).expect("parses");
    assert_eq!(id, written.id);
    assert_eq!(kv.get_secret(&ctx(), &id).await.expect("read"), written);
    let (_, value) = kv.get_secret_value(&ctx(), &id).await.expect("value");
    assert_eq!(value.expose(), VALUE);
    assert_eq!(latest(&kv, &vault).await, Some(id.clone()));
    let dump = vault_dump(&emu, "kv1").await;
    assert_eq!(
        dump["secrets"][0]["versions"][0]["value_sha256"],
        sha256(VALUE),
        "the vault holds the key"
    );

    // Rotation: a new version becomes the latest; the old one is disabled, never changed.
    let next = kv
        .set_secret(
            &ctx(),
            &vault,
            "app-key",
            &Secret::new("second-value"),
            &SecretAttributes::default(),
        )
        .await
        .expect("second version");
    assert_eq!(latest(&kv, &vault).await, Some(next.id.clone()));
    let disabled = kv
        .update_secret_attributes(&ctx(), &id, false)
        .await
        .expect("disabled");
    assert!(!disabled.attributes.enabled);
    assert_eq!(disabled.tags, key_attributes().tags, "PATCH keeps the tags");
    assert_eq!(
        kv.version_status(&ctx(), &id).await.expect("status"),
        VersionStatus::Disabled
    );
    match kv.version_status(&ctx(), &next.id).await.expect("status") {
        VersionStatus::Enabled(b) => assert_eq!(b.id, next.id),
        other => panic!("{other:?}"),
    }
    let err = kv.get_secret(&ctx(), &id).await.expect_err("disabled");
    assert_eq!(refusal(&err), Some(KeyVaultErrorKind::SecretDisabled), "{err}");
    let dump = vault_dump(&emu, "kv1").await;
    assert_eq!(
        dump["secrets"][0]["versions"][0]["value_sha256"],
        sha256(VALUE),
        "the value is unchanged"
    );

    // The latest disabled too: found by listing.
    kv.update_secret_attributes(&ctx(), &next.id, false)
        .await
        .expect("disabled");
    assert_eq!(latest(&kv, &vault).await, Some(next.id.clone()));

    let missing = SecretId {
        version: "0123456789abcdef0123456789abcdef".into(),
        ..id.clone()
    };
    assert_eq!(
        kv.version_status(&ctx(), &missing).await.expect("status"),
        VersionStatus::NotFound
    );
    let err = kv.get_secret(&ctx(), &missing).await.expect_err("missing");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(refusal(&err), Some(KeyVaultErrorKind::SecretNotFound), "{err}");
}

#[tokio::test]
async fn all_version_pages_are_followed() {
    let (emu, vault, kv) = kv1().await;
    let mut written = Vec::new();
    for i in 0..30 {
        let b = kv
            .set_secret(
                &ctx(),
                &vault,
                "many",
                &Secret::new(format!("v{i}")),
                &SecretAttributes::default(),
            )
            .await
            .expect("written");
        written.push(b.id);
    }
    let listed: Vec<SecretId> = kv
        .secret_versions(&ctx(), &vault, "many")
        .await
        .expect("listed")
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, written);
    let pages: Vec<Value> = vault_dump(&emu, "kv1").await["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["path"] == "/_vaults/kv1/secrets/many/versions")
        .cloned()
        .collect();
    assert_eq!(pages.len(), 2, "25 + 5: {pages:?}");
    assert!(
        kv.secret_versions(&ctx(), &vault, "none")
            .await
            .expect("empty")
            .is_empty()
    );
}

#[tokio::test]
async fn the_first_request_to_a_vault_is_the_body_less_challenge() {
    let (emu, vault, kv) = kv1().await;
    write_value(&kv, &vault, &ctx()).await.expect("written");
    write_value(&kv, &vault, &ctx()).await.expect("written again");
    let log = vault_dump(&emu, "kv1").await["requests"]
        .as_array()
        .expect("requests")
        .clone();
    let seen: Vec<(bool, u64, u64)> = log
        .iter()
        .map(|r| {
            (
                r["authorized"].as_bool().expect("bool"),
                r["body_bytes"].as_u64().expect("n"),
                r["status"].as_u64().expect("status"),
            )
        })
        .collect();
    assert_eq!(seen.len(), 3, "one challenge, then two writes: {log:?}");
    assert_eq!(seen[0], (false, 0, 401));
    assert_eq!(log[0]["content_length"], 0);
    assert!(seen[1].0 && seen[1].1 > 0 && seen[1].2 == 200);
    assert!(seen[2].0 && seen[2].2 == 200, "the scope is cached per vault");
    // A new KeyVault learns again.
    emu.client(demo_app_only())
        .key_vault()
        .latest_version(&ctx(), &vault, "app-key")
        .await
        .expect("read");
    let log = vault_dump(&emu, "kv1").await["requests"]
        .as_array()
        .expect("requests")
        .clone();
    assert_eq!(log[3]["authorized"], false);
}

#[tokio::test]
async fn refusals_come_back_as_typed_facts() {
    let emu = Emu::start().await;
    let vault = vault(&emu, "kv1").await;
    let kv = KeyVault::new(&emu.client(demo_app_only()));
    let value = Secret::new(VALUE);
    kv.set_secret(&ctx(), &vault, "app-key", &value, &SecretAttributes::default())
        .await
        .expect("written");

    switch_kv1(&emu, json!({"denied_permissions": ["set"]})).await;
    let err = kv
        .set_secret(&ctx(), &vault, "app-key", &value, &SecretAttributes::default())
        .await
        .expect_err("rbac");
    let e = err.key_vault().expect("a Key Vault refusal");
    assert_eq!(e.kind, KeyVaultErrorKind::ForbiddenByRbac);
    assert_eq!(
        (e.status(), e.code(), e.inner_code.as_deref()),
        (403, Some("Forbidden"), Some("ForbiddenByRbac"))
    );
    assert!(e.request_id().is_some());
    assert_eq!(e.operation, SecretOperation::Set);
    assert_eq!(e.operation.permission(), "secrets/set");
    assert_eq!(
        e.operation.rbac_data_action(),
        "Microsoft.KeyVault/vaults/secrets/setSecret/action"
    );
    assert_eq!(
        (e.vault.as_str(), e.secret.as_deref()),
        (vault.as_str(), Some("app-key"))
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "writing a secret version (needs secrets/set) in vault {vault}, secret app-key: Key Vault answered 403 Forbidden (ForbiddenByRbac): Caller is not authorized"
        )),
        "{shown}"
    );
    assert!(
        !shown.contains('\r') && !shown.contains('\n'),
        "one line: {shown}"
    );

    switch_kv1(&emu, json!({"permission_model": "access_policy"})).await;
    let err = kv
        .set_secret(&ctx(), &vault, "app-key", &value, &SecretAttributes::default())
        .await
        .expect_err("policy");
    assert_eq!(refusal(&err), Some(KeyVaultErrorKind::ForbiddenByPolicy), "{err}");
    switch_kv1(&emu, json!({"denied_permissions": [], "firewall": true})).await;
    let err = kv
        .latest_version(&ctx(), &vault, "app-key")
        .await
        .expect_err("firewall");
    assert_eq!(
        refusal(&err),
        Some(KeyVaultErrorKind::ForbiddenByFirewall),
        "{err}"
    );
    switch_kv1(&emu, json!({"firewall": false})).await;

    // Soft-deleted by someone else: 409, then recover and write.
    emu.control(reqwest::Method::DELETE, "/vaults/kv1/secrets/app-key", None)
        .await;
    assert_eq!(
        kv.latest_version(&ctx(), &vault, "app-key").await.expect("read"),
        None
    );
    let err = kv
        .set_secret(&ctx(), &vault, "app-key", &value, &SecretAttributes::default())
        .await
        .expect_err("409");
    let e = err.key_vault().expect("refusal");
    assert_eq!(e.kind, KeyVaultErrorKind::DeletedButRecoverable);
    assert_eq!((e.status(), e.code()), (409, Some("Conflict")));
    assert!(!err.is_ambiguous(), "a 409 was not applied");
    let deleted = kv
        .deleted_secret(&ctx(), &vault, "app-key")
        .await
        .expect("read")
        .expect("deleted");
    assert!(
        deleted
            .recovery_id
            .as_deref()
            .expect("recovery id")
            .ends_with("/deletedsecrets/app-key")
    );
    assert!(deleted.scheduled_purge > deleted.deleted);
    kv.recover_deleted_secret(&ctx(), &vault, "app-key")
        .await
        .expect("recovered");
    kv.set_secret(&ctx(), &vault, "app-key", &value, &SecretAttributes::default())
        .await
        .expect("written after recovery");
    kv.delete_secret(&ctx(), &vault, "app-key")
        .await
        .expect("deleted");
    kv.purge_deleted_secret(&ctx(), &vault, "app-key")
        .await
        .expect("purged");
    assert!(
        kv.deleted_secret(&ctx(), &vault, "app-key")
            .await
            .expect("read")
            .is_none()
    );

    // Nothing of the value in any of it.
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{kv:?}"),
        format!("{deleted:?}"),
    ] {
        assert!(!text.contains(VALUE), "{text}");
    }
}

#[tokio::test]
async fn throttling_waits_as_key_vault_prescribes_within_the_deadline() {
    let (emu, vault, kv) = kv1().await;
    // Learn the challenge first, so the fault meets the write itself.
    kv.latest_version(&ctx(), &vault, "app-key").await.expect("read");
    emu.fault(FaultSpec::on("PUT /_vaults/kv1/secrets/*").status(429).times(1))
        .await;
    let started = std::time::Instant::now();
    write_value(&kv, &vault, &ctx())
        .await
        .expect("written after one 429");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the first backoff step"
    );
    let statuses: Vec<u64> = vault_dump(&emu, "kv1").await["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["method"] == "PUT")
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        vec![200],
        "the fault answered before the vault saw the first PUT"
    );
    let log = emu.control(reqwest::Method::GET, "/requests", None).await;
    let puts: Vec<u64> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|r| r["method"] == "PUT")
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(puts, vec![429, 200]);

    // Throttled for longer than the deadline: the timeout carries the 429 as a fact.
    emu.fault(FaultSpec::on("PUT /_vaults/kv1/secrets/*").status(429))
        .await;
    let short = CallContext::default().with_timeout(Duration::from_millis(2500));
    let err = kv
        .set_secret(
            &short,
            &vault,
            "app-key",
            &Secret::new(VALUE),
            &SecretAttributes::default(),
        )
        .await
        .expect_err("throttled");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(refusal(&err), Some(KeyVaultErrorKind::Throttled), "{err}");
    assert!(!err.is_ambiguous(), "a 429 was not applied");
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_ambiguous_and_can_be_looked_up() {
    let (emu, vault, kv) = kv1().await;
    kv.latest_version(&ctx(), &vault, "app-key").await.expect("read");
    drop_the_answer_once(&emu, "PUT /_vaults/kv1/secrets/*").await;
    let err = kv
        .set_secret(&ctx(), &vault, "app-key", &Secret::new(VALUE), &key_attributes())
        .await
        .expect_err("dropped");
    assert!(err.is_ambiguous(), "{err}");
    assert!(!format!("{err} {err:?}").contains(VALUE));
    let puts = vault_dump(&emu, "kv1").await["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count();
    assert_eq!(puts, 1, "not retried blindly");
    // Look before retrying: the write was applied, with our tags.
    let latest = kv
        .latest(&ctx(), &vault, "app-key")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(latest.tags, key_attributes().tags);

    // A PATCH is idempotent: retried after a dropped answer.
    drop_the_answer_once(&emu, "PATCH /_vaults/kv1/secrets/**").await;
    let b = kv
        .update_secret_attributes(&ctx(), &latest.id, false)
        .await
        .expect("retried");
    assert!(!b.attributes.enabled);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let f = Fixture::start().await;
    let kv = f.client(secret_only()).key_vault();
    let vault = VaultUri::parse(f.base.join("kv/").expect("url").as_str()).expect("vault");
    let attempt = |name: &'static str, value: String, attributes: SecretAttributes| {
        let kv = kv.clone();
        let vault = vault.clone();
        async move {
            kv.set_secret(&ctx(), &vault, name, &Secret::new(value), &attributes)
                .await
                .expect_err("refused")
        }
    };
    assert!(matches!(
        attempt("a_b", "x".into(), SecretAttributes::default()).await,
        Error::Config(_)
    ));
    let big = attempt("n", "x".repeat(25 * 1024 + 1), SecretAttributes::default()).await;
    assert!(big.to_string().contains("25600 bytes"), "{big}");
    assert!(!big.to_string().contains("xxxx"), "{big}");
    let tags = SecretAttributes {
        tags: (0..16).map(|i| (format!("t{i}"), "v".to_owned())).collect(),
        ..SecretAttributes::default()
    };
    assert!(matches!(attempt("n", "x".into(), tags).await, Error::Config(_)));
    assert!(f.requests().is_empty());
    assert!(VaultUri::parse("http://kv1.vault.azure.net/").is_err());
}

// ---------------------------------------------------------------------------------------------
// Against a scripted server: the challenge as sent, and what is refused.

fn bundle(version: &str) -> Canned {
    Canned::json(
        200,
        json!({"value": VALUE, "id": format!("https://kv1.vault.azure.net/secrets/app-key/{version}"),
               "attributes": {"enabled": true, "created": 1_800_000_000, "updated": 1_800_000_000, "recoveryLevel": "Recoverable+Purgeable"}}),
    )
    .header("x-ms-request-id", "kv-request-1")
}

#[tokio::test]
async fn the_challenge_is_sent_without_body_and_the_token_asked_for_its_scope() {
    let f = Fixture::with_tokens().await;
    f.on(
        "PUT",
        VAULT_PATH,
        vec![
            challenge_401(&format!(
                r#"authorization="{}{}", resource="https://vault.azure.net""#,
                f.base,
                common::TENANT
            )),
            bundle("0123456789abcdef0123456789abcdef"),
        ],
    );
    let vault = fixture_vault(&f);
    let written = f
        .client(secret_only())
        .key_vault()
        .set_secret(&ctx(), &vault, "app-key", &Secret::new(VALUE), &key_attributes())
        .await
        .expect("written");
    // The id names the vault the call used, whatever host the answer names.
    assert_eq!(written.id.vault, vault);
    let sent = f.requests_to(VAULT_PATH);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].header("authorization"), None);
    assert_eq!(sent[0].body, "");
    assert_eq!(sent[0].header("content-length").as_deref(), Some("0"));
    assert_eq!(sent[0].query.as_deref(), Some("api-version=2025-07-01"));
    assert_eq!(
        sent[1].header("authorization").as_deref(),
        Some("Bearer fixture-access-token")
    );
    let body: Value = serde_json::from_str(&sent[1].body).expect("json");
    assert_eq!(
        body,
        json!({"value": VALUE, "contentType": "application/x-partnercenter-key",
               "tags": {"application-id": demo::APP_ID, "key-id": "3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"},
               "attributes": {"nbf": 1_800_000_000, "exp": 1_863_072_000}})
    );
    assert!(sent[1].header("x-ms-client-request-id").is_some());
    let token = f.requests_to(&format!("/{}/oauth2/v2.0/token", common::TENANT));
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].form()["scope"], "https://vault.azure.net/.default");
    assert_eq!(token[0].form()["grant_type"], "client_credentials");
}

#[tokio::test]
async fn challenges_that_do_not_verify_get_no_token() {
    for (params, why) in [
        (
            r#"authorization="https://login.example/t", resource="https://evil.example""#,
            "evil.example",
        ),
        (
            r#"authorization="https://login.example/t", scope="https://vault.azure.cn/.default""#,
            "check the environment",
        ),
        (r#"realm="x""#, "neither a scope nor a resource"),
    ] {
        let f = Fixture::with_tokens().await;
        f.on("GET", &format!("{VAULT_PATH}/"), vec![challenge_401(params)]);
        let err = latest_on(&f).await.expect_err("refused");
        let e = err.key_vault().expect("refusal");
        assert_eq!(e.kind, KeyVaultErrorKind::ChallengeRefused, "{params}");
        assert!(e.detail.as_deref().unwrap_or_default().contains(why), "{err}");
        assert!(f.requests().iter().all(|r| r.header("authorization").is_none()));
        assert!(
            f.requests_to(&format!("/{}/oauth2/v2.0/token", common::TENANT))
                .is_empty()
        );
    }
    // No WWW-Authenticate at all.
    let f = Fixture::start().await;
    f.on(
        "GET",
        &format!("{VAULT_PATH}/"),
        vec![Canned::json(
            401,
            json!({"error":{"code":"Unauthorized","message":"no"}}),
        )],
    );
    let err = latest_on(&f).await.expect_err("refused");
    assert_eq!(refusal(&err), Some(KeyVaultErrorKind::ChallengeRefused), "{err}");
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_then_the_401_stands() {
    let challenge = || {
        challenge_401(
            r#"authorization="https://login.example/other-tenant", resource="https://vault.azure.net""#,
        )
    };
    let refused = || {
        Canned::json(401, json!({"error":{"code":"Unauthorized","message":"AKV10032: Invalid issuer."}}))
            .header("WWW-Authenticate", r#"Bearer authorization="https://login.example/other-tenant", resource="https://vault.azure.net""#)
    };
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        &format!("{VAULT_PATH}/"),
        vec![challenge(), refused(), bundle("0123456789abcdef0123456789abcdef")],
    );
    let kv = f.client(secret_only()).key_vault();
    kv.latest_version(&ctx(), &fixture_vault(&f), "app-key")
        .await
        .expect("a fresh token worked");
    assert_eq!(
        f.requests_to(&format!("/{}/oauth2/v2.0/token", common::TENANT))
            .len(),
        2
    );

    let f = Fixture::with_tokens().await;
    f.on("GET", &format!("{VAULT_PATH}/"), vec![challenge(), refused()]);
    let err = latest_on(&f).await.expect_err("refused twice");
    let e = err.key_vault().expect("refusal");
    assert_eq!(e.kind, KeyVaultErrorKind::Unauthorized);
    let detail = e.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("other-tenant") && detail.contains(common::TENANT),
        "{detail}"
    );
    assert_eq!(
        f.requests_to(&format!("{VAULT_PATH}/")).len(),
        3,
        "challenge, token, fresh token"
    );
}
