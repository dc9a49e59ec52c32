//! End to end with Terraform 1.0.3 against the emulator: `partnercenter_web_app_key` — drift, expiry and
//! the rotation window in plans, exact 1y/2y validity, import, faults, many keys on one app, and the secret
//! staying out of logs.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use chrono::{DateTime, Utc};
use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::emulator::Emulator;

fn key_config(extra: &str) -> String {
    format!(
        r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  application_id = "{}"
  {extra}
}}
output "key_id" {{ value = partnercenter_web_app_key.k.key_id }}
output "end_date" {{ value = partnercenter_web_app_key.k.end_date }}
output "start_date" {{ value = partnercenter_web_app_key.k.start_date }}
output "value" {{
  value     = partnercenter_web_app_key.k.value
  sensitive = true
}}
"#,
        demo::APP_ID
    )
}

/// Key ids the emulator holds for the demo app, other than the seeded provider secret.
fn remote_keys(emu: &Emulator) -> Vec<String> {
    let state = emu.control("GET", "/_emulator/state", Json::Null);
    let apps = state["applications"].as_array().cloned().unwrap_or_default();
    let app = apps
        .iter()
        .find(|a| a["appId"] == json!(demo::APP_ID))
        .expect("demo app in state");
    app["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyId"].as_str().unwrap().to_owned())
        .filter(|id| id != demo::CLIENT_SECRET_KEY_ID)
        .collect()
}

/// Key ids Terraform's state holds.
fn state_keys(w: &Workdir) -> Vec<String> {
    let state = w.state();
    let mut ids = Vec::new();
    let mut modules = vec![state["values"]["root_module"].clone()];
    while let Some(m) = modules.pop() {
        for r in m["resources"].as_array().cloned().unwrap_or_default() {
            if r["type"] == json!("partnercenter_web_app_key") {
                ids.push(r["values"]["key_id"].as_str().unwrap().to_owned());
            }
        }
        modules.extend(m["child_modules"].as_array().cloned().unwrap_or_default());
    }
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn time(v: &Json) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn a_key_deleted_outside_terraform_is_planned_again_and_restored() {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::new(&key_config("")));
    w.apply().success();
    let key_id = w.output("key_id").as_str().unwrap().to_owned();
    assert_eq!(remote_keys(&emu), vec![key_id.clone()]);
    let quiet = w.plan();
    assert_eq!(quiet.code, 0, "no changes after create:\n{}", quiet.output());

    emu.control(
        "DELETE",
        &format!("/_emulator/applications/{}/passwords/{key_id}", demo::APP_ID),
        Json::Null,
    );
    let drift = w.plan();
    assert_eq!(drift.code, 2, "{}", drift.output());
    let out = drift.output();
    assert!(
        out.contains(&format!(
            "Key {key_id} of application {} no longer exists",
            demo::APP_ID
        )),
        "{out}"
    );
    assert!(out.contains("will be created"), "{out}");

    w.apply().success();
    let new_key = w.output("key_id").as_str().unwrap().to_owned();
    assert_ne!(new_key, key_id);
    assert_eq!(remote_keys(&emu), vec![new_key]);
    assert_eq!(w.plan().code, 0);
}

#[test]
fn the_rotation_window_drives_warnings_and_replacement() {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::new(&key_config(
        r#"validity = "1y"
  rotate_before = "720h"
  lifecycle { create_before_destroy = true }"#,
    )));
    w.apply().success();
    let key_id = w.output("key_id").as_str().unwrap().to_owned();
    let day = 86_400;

    // 300 days in: 65 days left, outside twice the window: nothing to say.
    emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 300 * day}));
    let calm = w.plan();
    assert_eq!(calm.code, 0, "{}", calm.output());
    assert!(!calm.output().contains("expires in"), "{}", calm.output());

    // 320 days in: 45 days left, inside twice the window: a warning only.
    emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 20 * day}));
    let soon = w.plan();
    assert_eq!(soon.code, 0, "{}", soon.output());
    assert!(
        soon.output().contains(&format!(
            "Key {key_id} of application {} expires in",
            demo::APP_ID
        )),
        "{}",
        soon.output()
    );

    // 345 days in: 20 days left (19 whole days, as seconds have passed), inside the window: replacement
    // plus the warning.
    emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 25 * day}));
    let rotate = w.plan();
    assert_eq!(rotate.code, 2, "{}", rotate.output());
    let out = rotate.output();
    assert!(
        out.contains("expires in 19 days: replacing it") || out.contains("expires in 20 days: replacing it"),
        "{out}"
    );
    assert!(
        out.contains("must be replaced") || out.contains("forces replacement"),
        "{out}"
    );

    // Past the end date: the same, saying it expired.
    emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 30 * day}));
    let expired = w.plan();
    assert_eq!(expired.code, 2, "{}", expired.output());
    assert!(expired.output().contains("expired on"), "{}", expired.output());

    // Rotating with create_before_destroy leaves exactly one live key.
    w.apply().success();
    let rotated = w.output("key_id").as_str().unwrap().to_owned();
    assert_ne!(rotated, key_id);
    assert_eq!(remote_keys(&emu), vec![rotated]);
    assert_eq!(w.plan().code, 0);
}

#[test]
fn one_and_two_year_keys_end_exactly_one_and_two_years_after_their_start() {
    let emu = Emulator::start();
    for (validity, years) in [("1y", 1), ("2y", 2)] {
        let w = emu.demo_env(Workdir::new(&key_config(&format!("validity = \"{validity}\""))));
        w.apply().success();
        let start = time(&w.output("start_date"));
        let end = time(&w.output("end_date"));
        assert_eq!(
            end,
            start.checked_add_months(chrono::Months::new(12 * years)).unwrap(),
            "{validity}"
        );
        w.destroy().success();
    }
    assert!(remote_keys(&emu).is_empty(), "destroy removed the keys");
}

#[test]
fn an_imported_key_plans_no_changes_and_has_no_value() {
    let emu = Emulator::start();
    let creator = emu.demo_env(Workdir::new(&key_config("")));
    creator.apply().success();
    let key_id = creator.output("key_id").as_str().unwrap().to_owned();

    // The configuration a user writes for an existing key (outputs would show as new after an import).
    let w = emu.demo_env(Workdir::new(&format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"k\" {{ application_id = \"{}\" }}\n",
        demo::APP_ID
    )));
    w.run(&[
        "import",
        "-no-color",
        "partnercenter_web_app_key.k",
        &format!("{}/{key_id}", demo::APP_ID),
    ])
    .success();
    let plan = w.plan();
    assert_eq!(
        plan.code,
        0,
        "import then plan shows no changes:\n{}",
        plan.output()
    );
    let state = w.state();
    let key = &state["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(key["key_id"], json!(key_id));
    assert_eq!(key["value"], Json::Null);

    w.config(&format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"other\" {{ application_id = \"{}\" }}\n",
        demo::APP_ID
    ));
    let bad = w.run(&[
        "import",
        "-no-color",
        "partnercenter_web_app_key.other",
        "not-an-id",
    ]);
    assert!(
        bad.output().contains("<application_id>/<key_id>"),
        "{}",
        bad.output()
    );
}

#[test]
fn throttling_outages_and_latency_on_add_password_do_not_break_apply() {
    let emu = Emulator::start();
    let route = "POST /v1.0/applications/*/addPassword";
    emu.control(
        "POST",
        "/_emulator/faults",
        json!({"route": route, "status": 429, "retry_after": 1, "count": 2}),
    );
    emu.control(
        "POST",
        "/_emulator/faults",
        json!({"route": route, "latency_ms": 300, "count": 1}),
    );
    let w = emu.demo_env(Workdir::new(&key_config("")));
    w.apply().success();
    assert_eq!(sorted(remote_keys(&emu)), sorted(state_keys(&w)));
}

#[test]
fn a_dropped_connection_after_add_password_leaves_no_untracked_key() {
    for status in [None, Some(503)] {
        let emu = Emulator::start();
        let fault = match status {
            None => {
                json!({"route": "POST /v1.0/applications/*/addPassword", "drop_connection_after_apply": true, "count": 1})
            }
            Some(s) => json!({"route": "POST /v1.0/applications/*/addPassword", "status": s, "count": 1}),
        };
        emu.control("POST", "/_emulator/faults", fault);
        let w = emu.demo_env(Workdir::new(&key_config("")));
        let run = w.apply();
        assert_eq!(
            sorted(remote_keys(&emu)),
            sorted(state_keys(&w)),
            "the app holds exactly the keys state holds ({status:?}):\n{}",
            run.output()
        );
        assert_eq!(w.plan().code, 0, "converged after the fault ({status:?})");
    }
}

#[test]
fn twenty_keys_on_one_app_all_exist_and_a_refresh_reads_the_app_once() {
    let emu = Emulator::start();
    let config = format!(
        r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  count          = 20
  application_id = "{}"
  display_name   = "key-${{count.index}}"
}}
"#,
        demo::APP_ID
    );
    let w = emu.demo_env(Workdir::new(&config));
    w.run(&["apply", "-auto-approve", "-no-color", "-parallelism=10"])
        .success();
    let remote = sorted(remote_keys(&emu));
    assert_eq!(remote.len(), 20);
    assert_eq!(remote, sorted(state_keys(&w)));

    emu.control("DELETE", "/_emulator/requests", Json::Null);
    let refresh = w.run(&["plan", "-no-color", "-parallelism=10", "-detailed-exitcode"]);
    assert_eq!(refresh.code, 0, "{}", refresh.output());
    let app_gets = emu
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == json!("GET") && r["path"].as_str().unwrap_or("").starts_with("/v1.0/applications")
        })
        .count();
    eprintln!("application GETs during a refresh of 20 keys on 1 app: {app_gets}");
    assert!(
        app_gets <= 2,
        "at most distinct apps + 1 application reads per refresh, saw {app_gets}"
    );
}

#[test]
fn the_secret_appears_only_in_state_never_in_logs_or_output() {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::new(&key_config(""))).env("TF_LOG", "trace");
    let run = w.apply().success();
    let secret = w.output("value").as_str().unwrap().to_owned();
    assert!(secret.len() >= 16);
    let logs = run.output();
    assert!(logs.contains("partnercenter"), "trace logs were captured");
    for needle in [secret.as_str(), demo::CLIENT_SECRET, demo::REFRESH_TOKEN] {
        assert!(!logs.contains(needle), "a secret leaked into TF_LOG=trace output");
    }
    let plan = w.run(&["plan", "-no-color"]);
    assert!(!plan.output().contains(&secret));
}

#[test]
fn conflicting_and_malformed_arguments_fail_at_validate() {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::new(&key_config(
        r#"validity = "3y"
  end_date = "tomorrow"
  rotate_before = "a month""#,
    )));
    let out = w.validate().failure().output();
    assert!(out.contains("Conflicting configuration arguments"), "{out}");
    assert!(out.contains("\"3y\" is not a validity"), "{out}");
    assert!(out.contains("\"tomorrow\" is not an RFC 3339 time"), "{out}");
    assert!(out.contains("\"a month\" is not a duration"), "{out}");
    assert!(emu.requests().is_empty(), "validate sends nothing");
}

#[test]
fn changing_rotate_before_updates_in_place_and_keeps_the_key() {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::new(&key_config(r#"rotate_before = "720h""#)));
    w.apply().success();
    let key_id = w.output("key_id").as_str().unwrap().to_owned();
    w.config(&key_config(r#"rotate_before = "1440h""#));
    let plan = w.plan();
    assert_eq!(plan.code, 2, "{}", plan.output());
    assert!(plan.output().contains("updated in-place"), "{}", plan.output());
    assert!(!plan.output().contains("must be replaced"), "{}", plan.output());
    w.apply().success();
    assert_eq!(w.output("key_id").as_str().unwrap(), key_id);
    assert_eq!(remote_keys(&emu), vec![key_id]);
    assert_eq!(w.plan().code, 0);
}

#[test]
fn a_refresh_right_after_an_unconfirmed_create_keeps_the_key_a_lagging_replica_hides() {
    let emu = Emulator::start();
    emu.control(
        "POST",
        "/_emulator/settings",
        json!({"replication_delay_ms": 8000}),
    );
    let w = emu.demo_env(Workdir::new(&key_config(r#"timeouts { create = "1s" }"#)));
    let created = w.apply().success();
    assert!(
        created.output().contains("replication not confirmed"),
        "{}",
        created.output()
    );
    // The key exists but reads do not show it for a few more seconds: it must not be dropped from state
    // (the next apply would make a second key and orphan this one).
    let plan = w.plan();
    assert_eq!(plan.code, 0, "{}", plan.output());
    assert!(!plan.output().contains("no longer exists"), "{}", plan.output());
    assert_eq!(sorted(remote_keys(&emu)), sorted(state_keys(&w)));
}
