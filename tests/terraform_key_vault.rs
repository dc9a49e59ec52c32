//! End to end on Terraform 1.0.3 and the newest Terraform: `partnercenter_web_app_key` with a
//! `key_vault_secret` block. The secret goes to the emulator's Key Vault and nowhere Terraform keeps or
//! shows values (state, `show -json`, plan and apply output, TF_LOG=trace); rotation writes the new
//! version before the old key goes and disables the old version; a vault that refuses (RBAC, access
//! policy, a soft-deleted name), throttles or drops the connection after the write never leaves a key
//! without its secret; a version deleted, disabled or overwritten outside Terraform plans a replacement.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::case::{Case, values_of};
use support::emulator::{Emulator, FaultSpec};

const KEY: &str = "partnercenter_web_app_key.k";

/// Sets up something that goes wrong with the vault.
type VaultTrouble = Box<dyn Fn(&Emulator)>;
const SECRET_NAME: &str = "cloudyn-app-key";

/// A vault on the emulator; its URI.
fn vault(emu: &Emulator, name: &str) -> String {
    let made = emu.control("POST", "/_emulator/vaults", json!({"name": name}));
    made["vault_uri"].as_str().unwrap().to_owned()
}

fn config(vault_uri: &str, extra: &str) -> String {
    format!(
        r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  application_id = "{}"
  validity       = "1y"
  {extra}
  key_vault_secret {{
    vault_uri    = "{vault_uri}"
    name         = "{SECRET_NAME}"
    content_type = "text/plain"
    tags         = {{ tool = "cloudyn" }}
  }}
}}
output "secret_id" {{ value = partnercenter_web_app_key.k.key_vault_secret_id }}
"#,
        demo::APP_ID
    )
}

/// The vault's versions of the secret, oldest first, as the emulator's dump shows them (no values).
fn versions(emu: &Emulator, vault_name: &str) -> Vec<Json> {
    let dump = emu.control("GET", &format!("/_emulator/vaults/{vault_name}"), Json::Null);
    let secrets = dump["secrets"].as_array().cloned().unwrap_or_default();
    secrets
        .iter()
        .find(|s| s["name"] == json!(SECRET_NAME))
        .and_then(|s| s["versions"].as_array().cloned())
        .unwrap_or_default()
}

/// The secret's current value, read through Key Vault's data plane as a consumer would.
fn latest_value(emu: &Emulator, vault_uri: &str) -> String {
    let token = emu.control(
        "POST",
        "/_emulator/access-token",
        json!({"audience": "https://vault.azure.net", "app_only": true}),
    );
    let token = token["access_token"]
        .as_str()
        .or_else(|| token["token"].as_str())
        .unwrap()
        .to_owned();
    let (status, body) = emu.call(
        emu.http()
            .get(format!("{vault_uri}secrets/{SECRET_NAME}?api-version=7.4"))
            .bearer_auth(token),
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Json>(&body).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether `secret` is a working secret of the demo app: the emulator's login takes it.
fn signs_in(emu: &Emulator, secret: &str) -> bool {
    let (status, _) = emu.call(
        emu.http()
            .post(format!("{}/{}/oauth2/v2.0/token", emu.url, demo::TENANT_ID))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", demo::APP_ID),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ]),
    );
    status == 200
}

/// Every key in state has an enabled version in the vault tagged with its id.
fn every_key_has_its_secret(case: &Case, emu: &Emulator, vault_name: &str) {
    let held = case.state_holds();
    let versions = versions(emu, vault_name);
    for (_, key_id) in &held.keys {
        assert!(
            versions
                .iter()
                .any(|v| v["tags"]["partnercenter-key-id"] == json!(key_id) && v["enabled"] == json!(true)),
            "key {key_id} has no enabled version in the vault: {versions:?}"
        );
    }
}

each_terraform! {
    fn the_secret_goes_to_key_vault_and_nowhere_terraform_keeps_or_shows_values(tf) {
        let emu = Emulator::start();
        let uri = vault(&emu, "kv1");
        let mut case = Case::new(tf, &emu, &config(&uri, ""));
        case.w.set_env("TF_LOG", "trace");
        let applied = case.apply();
        let secret = latest_value(&emu, &uri);
        assert!(signs_in(&emu, &secret), "the vault holds the key's working secret");

        let key = values_of(&case.w.state(), KEY);
        assert_eq!(key["value"], Json::Null);
        let version = &versions(&emu, "kv1")[0];
        assert_eq!(key["key_vault_secret_id"], version["id"]);
        let end = chrono::DateTime::parse_from_rfc3339(key["end_date"].as_str().unwrap()).unwrap();
        assert_eq!(version["exp"], json!(end.timestamp()), "exp is the key's end date");
        assert_eq!(version["tags"]["partnercenter-key-id"], key["key_id"]);
        assert_eq!(version["tags"]["tool"], json!("cloudyn"));

        let plan = case.w.run(&["plan", "-no-color"]);
        let shown = case.w.run(&["show", "-json"]);
        let state_file = std::fs::read_to_string(case.w.path().join("terraform.tfstate")).unwrap();
        for (what, text) in [
            ("apply output and TF_LOG=trace", applied.output()),
            ("plan output", plan.output()),
            ("terraform show -json", shown.output()),
            ("the state file", state_file),
        ] {
            assert!(!text.contains(&secret), "the secret is in {what}");
        }
        case.w.set_env("TF_LOG", "");
    }
}

each_terraform! {
    fn rotation_writes_the_new_version_first_and_disables_the_old_one(tf) {
        let emu = Emulator::start();
        let uri = vault(&emu, "kv1");
        let case = Case::new(tf, &emu, &config(&uri, "lifecycle { create_before_destroy = true }"));
        case.apply();
        let first = values_of(&case.w.state(), KEY);

        emu.advance_days(350);
        let (plan, _) = case.plan();
        assert!(plan.replaces(KEY), "{plan:?}");
        case.apply();
        let second = values_of(&case.w.state(), KEY);
        assert_ne!(first["key_id"], second["key_id"]);

        let versions = versions(&emu, "kv1");
        assert_eq!(versions.len(), 2, "{versions:?}");
        assert_eq!(versions[0]["id"], first["key_vault_secret_id"]);
        assert_eq!(versions[0]["enabled"], json!(false), "the old key's version is disabled");
        assert_eq!(versions[1]["id"], second["key_vault_secret_id"]);
        assert_eq!(versions[1]["enabled"], json!(true));
        assert!(signs_in(&emu, &latest_value(&emu, &uri)), "latest is the new key's secret");
    }
}

each_terraform! {
    /// 403 by RBAC or by access policy, a soft-deleted name (409), throttling (429) and a connection
    /// dropped after the PUT: whatever happens, the emulator's keys equal state's and every key in state
    /// has its secret in the vault.
    fn a_refusing_or_failing_vault_never_leaves_a_key_without_its_secret(tf) {
        let cases: [(&str, VaultTrouble, bool); 5] = [
            ("403 ForbiddenByRbac", Box::new(|emu: &Emulator| {
                emu.control("POST", "/_emulator/vaults/kv1/switches", json!({"permission_model": "rbac", "denied_permissions": ["set"]}));
            }), false),
            ("403 ForbiddenByPolicy", Box::new(|emu: &Emulator| {
                emu.control("POST", "/_emulator/vaults/kv1/switches", json!({"permission_model": "access_policy", "denied_permissions": ["set"]}));
            }), false),
            ("409 deleted but recoverable", Box::new(|emu: &Emulator| {
                emu.control("PUT", &format!("/_emulator/vaults/kv1/secrets/{SECRET_NAME}"), json!({"value": "old"}));
                emu.control("DELETE", &format!("/_emulator/vaults/kv1/secrets/{SECRET_NAME}"), Json::Null);
            }), false),
            ("429 twice", Box::new(|emu: &Emulator| {
                emu.fault(FaultSpec::on("PUT /_vaults/kv1/secrets/*").status(429).times(3));
            }), true),
            ("dropped after the PUT", Box::new(|emu: &Emulator| {
                // The first PUT is the body-less challenge; the second carries the secret.
                emu.fault(FaultSpec::on("PUT /_vaults/kv1/secrets/*").latency_ms(1).times(1));
                emu.fault(FaultSpec::on("PUT /_vaults/kv1/secrets/*").drop_after_apply().times(2));
            }), true),
        ];
        for (name, fault, succeeds) in cases {
            let emu = Emulator::start();
            let uri = vault(&emu, "kv1");
            fault(&emu);
            let case = Case::new(tf, &emu, &config(&uri, ""));
            let run = case.apply_anyhow();
            every_key_has_its_secret(&case, &emu, "kv1");
            if succeeds {
                assert_eq!(run.code, 0, "[{name}] {}", run.output());
                case.check_converged();
            } else {
                assert_ne!(run.code, 0, "[{name}] {}", run.output());
                let out = run.output();
                assert!(out.contains(SECRET_NAME) && out.contains("kv1"), "[{name}] names the vault and secret:\n{out}");
                assert!(out.contains("What to do"), "[{name}]\n{out}");
                assert!(case.state_holds().keys.is_empty(), "[{name}] the key was removed again");
            }
            case.leave();
        }
    }
}

each_terraform! {
    fn a_version_deleted_disabled_or_overwritten_outside_terraform_plans_a_replacement(tf) {
        for drift in ["disabled", "deleted", "overwritten"] {
            let emu = Emulator::start();
            let uri = vault(&emu, "kv1");
            let case = Case::new(tf, &emu, &config(&uri, "lifecycle { create_before_destroy = true }"));
            case.apply();
            let version = versions(&emu, "kv1")[0]["version"].as_str().unwrap().to_owned();
            match drift {
                "disabled" => {
                    emu.control("PATCH", &format!("/_emulator/vaults/kv1/secrets/{SECRET_NAME}/{version}"), json!({"enabled": false}));
                }
                "deleted" => {
                    emu.control("DELETE", &format!("/_emulator/vaults/kv1/secrets/{SECRET_NAME}"), Json::Null);
                    emu.control("DELETE", &format!("/_emulator/vaults/kv1/deletedsecrets/{SECRET_NAME}"), Json::Null);
                }
                _ => {
                    emu.control("PUT", &format!("/_emulator/vaults/kv1/secrets/{SECRET_NAME}"), json!({"value": "someone else's"}));
                }
            }
            let (plan, run) = case.plan();
            assert!(plan.replaces(KEY), "[{drift}] {plan:?}\n{}", run.output());
            assert!(run.output().contains("The Key Vault secret of key"), "[{drift}] {}", run.output());
            case.apply();
            assert!(signs_in(&emu, &latest_value(&emu, &uri)), "[{drift}] the vault serves a working secret again");
        }
    }
}
