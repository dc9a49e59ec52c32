//! Secrets stay out of logs, plan output and diagnostics at `TF_LOG=trace`: a representative end-to-end
//! flow (a key, a grant, every Partner Center data source, a refresh, a destroy, and a wrong-secret
//! failure) is scanned for the configured client secret, the configured refresh token and every refresh
//! token the emulator issued while rotating (all `emu-refresh-…`), any access token the emulator issued
//! (JWTs: `eyJ….eyJ…`), and the key's secret value.

mod support;

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::emulator::Emulator;

const FLOW: &str = r#"
provider "partnercenter" {}
resource "partnercenter_web_app_key" "k" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
}
resource "partnercenter_permission_grant" "g" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  api            = "azure_ad_graph"
  scopes         = ["User.Read"]
}
data "partnercenter_mpn_id" "me" {}
data "partnercenter_domain" "me" {}
data "partnercenter_customers" "all" {}
data "partnercenter_indirect_resellers" "all" {}
output "mpn_id" { value = data.partnercenter_mpn_id.me.mpn_id }
output "customers" { value = data.partnercenter_customers.all.total_count }
output "key" {
  value     = partnercenter_web_app_key.k.value
  sensitive = true
}
"#;

/// Where a JWT (header and payload both base64url JSON objects) appears in `text`.
fn jwt_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find("eyJ") {
        let start = from + at;
        let segment = |i: usize| {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-' || bytes[j] == b'_')
            {
                j += 1;
            }
            j
        };
        let end = segment(start);
        if end + 4 < bytes.len() && bytes[end] == b'.' && text[end + 1..].starts_with("eyJ") {
            return Some(text[start..segment(end + 1).min(start + 80)].to_owned());
        }
        from = start + 3;
    }
    None
}

#[track_caller]
fn assert_clean(what: &str, text: &str, secrets: &[(&str, &str)]) {
    for (name, secret) in secrets {
        assert!(!secret.is_empty());
        assert!(!text.contains(secret), "{what}: the {name} appears");
    }
    assert!(
        !text.contains("emu-refresh-"),
        "{what}: a refresh token issued by the emulator appears"
    );
    if let Some(jwt) = jwt_in(text) {
        panic!("{what}: an access token appears: {jwt}…");
    }
}

each_terraform! {
    fn no_secret_or_token_reaches_trace_logs_plan_output_or_diagnostics(tf) {
        no_secret_or_token_reaches_trace_logs_plan_output_or_diagnostics_on(tf)
    }
}

fn no_secret_or_token_reaches_trace_logs_plan_output_or_diagnostics_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    // The emulator answers every refresh with a new refresh token, which the provider uses for the rest of
    // the run (and must not log).
    let w = emu.demo_env(Workdir::with(tf, FLOW)).env("TF_LOG", "trace");

    let apply = w.apply().success();
    let key = w
        .output("key")
        .as_str()
        .expect("the key's value is in state")
        .to_owned();
    assert!(key.len() >= 16);
    let logs = apply.output();
    assert!(
        logs.contains("partnercenter") && logs.contains("[TRACE]"),
        "trace logs were captured"
    );
    assert!(
        logs.contains("<redacted>") || logs.contains("request body"),
        "the provider's own traces are included"
    );
    let state = emu.control("GET", "/_emulator/state", Json::Null);
    assert!(
        state["refreshTokens"]["issued"].as_u64().unwrap_or(0) >= 2,
        "the refresh token was rotated: {}",
        state["refreshTokens"]
    );
    let secrets = [
        ("client secret", demo::CLIENT_SECRET),
        ("configured refresh token", demo::REFRESH_TOKEN),
        ("key value", key.as_str()),
    ];
    assert_clean("apply (TF_LOG=trace)", &logs, &secrets);

    // A refresh reads everything again (new tokens, the rotated refresh token in use).
    let plan = w.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(plan.code, 0, "{}", plan.output());
    assert_clean("plan (TF_LOG=trace)", &plan.output(), &secrets);
    let shown = w.run(&["show", "-no-color"]).success();
    assert_clean("terraform show", &shown.output(), &secrets);

    // A wrong secret fails with Entra's answer, and the wrong secret is not echoed either.
    let wrong = "Wr0ng~Secret.Value-not-the-one-1234";
    let mut failing = emu
        .endpoints_env(Workdir::with(
            tf,
            "provider \"partnercenter\" {}\ndata \"partnercenter_customers\" \"all\" {}\n",
        ))
        .env("TF_LOG", "trace")
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID);
    failing.set_env("PARTNERCENTER_CLIENT_SECRET", wrong);
    let failed = failing.apply().failure();
    assert!(failed.output().contains("AADSTS7000215"), "{}", failed.output());
    assert_clean(
        "wrong-secret failure",
        &failed.output(),
        &[
            ("wrong client secret", wrong),
            ("client secret", demo::CLIENT_SECRET),
        ],
    );

    let destroy = w.destroy().success();
    assert_clean("destroy (TF_LOG=trace)", &destroy.output(), &secrets);
}

#[test]
fn the_jwt_scanner_finds_a_token_the_emulator_minted() {
    let emu = Emulator::start();
    let minted = emu.control(
        "POST",
        "/_emulator/access-token",
        json!({"audience": demo::GRAPH_AUDIENCE}),
    );
    let token = minted["access_token"]
        .as_str()
        .or_else(|| minted["value"].as_str())
        .expect("a minted token")
        .to_owned();
    assert!(
        jwt_in(&format!("Authorization: Bearer {token}\n")).is_some(),
        "the scan would catch it"
    );
    assert!(jwt_in("eyJ alone, eyJhbGciOi without a payload").is_none());
}
