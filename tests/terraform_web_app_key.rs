//! End to end on Terraform 1.0.3 and the newest Terraform against the emulator: `partnercenter_web_app_key`.
//! Every case runs on the invariant-checking harness (`support::case`): after each apply the next plan is
//! empty and the emulator's keys equal state's; each case ends with a destroy that leaves nothing. The
//! cases cover drift, the rotation window, pinned end dates, exact 1y/2y validity, import (CLI and
//! `import` blocks with generated configuration), faults on every step, replication lag, the clock the
//! plan and the apply judge by, many keys on one app, and the secret staying out of logs.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use chrono::{DateTime, Utc};
use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::case::{Case, values_of};
use support::emulator::{Emulator, FaultSpec};

const KEY: &str = "partnercenter_web_app_key.k";

fn key_config(extra: &str) -> String {
    format!(
        r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  application_id = "{}"
  {extra}
}}
"#,
        demo::APP_ID
    )
}

fn key(case: &Case) -> Json {
    values_of(&case.w.state(), KEY)
}

fn key_id(case: &Case) -> String {
    key(case)["key_id"].as_str().unwrap().to_owned()
}

fn time(v: &Json) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

const ADD_PASSWORD: &str = "POST /v1.0/applications/*/addPassword";

fn delete_out_of_band(emu: &Emulator, key_id: &str) {
    emu.control(
        "DELETE",
        &format!("/_emulator/applications/{}/passwords/{key_id}", demo::APP_ID),
        Json::Null,
    );
    // The next plan comes a while later, when every replica knows.
    emu.settle();
}

each_terraform! {
    fn a_key_deleted_outside_terraform_is_planned_again_and_restored(tf) {
        let emu = Emulator::start();
        let case = Case::new(tf, &emu, &key_config(""));
        case.apply();
        let old = key_id(&case);

        delete_out_of_band(&emu, &old);
        let (drift, run) = case.plan();
        assert!(drift.creates(KEY), "{drift:?}\n{}", run.output());
        assert!(
            run.output().contains(&format!("Key {old} of application {} no longer exists", demo::APP_ID)),
            "{}",
            run.output()
        );
        case.apply();
        assert_ne!(key_id(&case), old);
    }
}

each_terraform! {
    fn the_rotation_window_drives_warnings_and_replacement(tf) {
        let emu = Emulator::start();
        let case = Case::new(
            tf,
            &emu,
            &key_config(
                r#"validity = "1y"
  rotate_before = "720h"
  lifecycle { create_before_destroy = true }"#,
            ),
        );
        case.apply();
        let first = key_id(&case);

        // 300 days in: 65 days left, outside twice the window: nothing to say.
        emu.advance_days(300);
        let (calm, run) = case.plan();
        assert!(calm.is_empty(), "{calm:?}");
        assert!(!run.output().contains("expires in"), "{}", run.output());

        // 320 days in: 45 days left, inside twice the window: a warning only.
        emu.advance_days(20);
        let (soon, run) = case.plan();
        assert!(soon.is_empty(), "{soon:?}");
        assert!(
            run.output().contains(&format!("Key {first} of application {} expires in", demo::APP_ID)),
            "{}",
            run.output()
        );

        // 345 days in: inside the window: replacement plus the warning.
        emu.advance_days(25);
        let (rotate, run) = case.plan();
        assert!(rotate.replaces(KEY), "{rotate:?}\n{}", run.output());
        assert!(run.output().contains("days: replacing it"), "{}", run.output());

        // Past the end date: the same, saying it expired.
        emu.advance_days(30);
        let (expired, run) = case.plan();
        assert!(expired.replaces(KEY), "{expired:?}");
        assert!(run.output().contains("expired on"), "{}", run.output());

        // Rotating with create_before_destroy leaves exactly one live key (the harness checks remote ==
        // state, and an empty plan after).
        case.apply();
        assert_ne!(key_id(&case), first);
    }
}

each_terraform! {
    /// A pinned end date cannot be rotated: inside the window the plan warns and changes nothing (it used
    /// to plan an in-place update with unknown values, and the apply failed, dropping the key from state).
    fn a_pinned_end_date_inside_the_window_warns_and_plans_no_change(tf) {
        let emu = Emulator::start();
        let end = (Utc::now() + chrono::Duration::days(90)).format("%Y-%m-%dT00:00:00Z").to_string();
        let case = Case::new(tf, &emu, &key_config(&format!(r#"end_date = "{end}""#)));
        case.apply();
        let pinned = key_id(&case);

        emu.advance_days(75);
        let (plan, run) = case.plan();
        assert!(plan.is_empty(), "a pinned key is never updated or replaced: {plan:?}\n{}", run.output());
        let out = run.output();
        assert!(out.contains(&format!("Key {pinned} of application {}", demo::APP_ID)), "{out}");
        assert!(out.contains("its end_date is pinned"), "{out}");
        assert!(out.contains("set end_date to a later date"), "{out}");
        // The apply converges (the harness checks the re-plan and remote == state) and keeps the key.
        case.apply();
        assert_eq!(key_id(&case), pinned);

        // Past its end: still a warning only.
        emu.advance_days(30);
        let (plan, run) = case.plan();
        assert!(plan.is_empty(), "{plan:?}");
        assert!(run.output().contains("expired on"), "{}", run.output());

        // Moving end_date is the way out: a new key.
        let later = (Utc::now() + chrono::Duration::days(500)).format("%Y-%m-%dT00:00:00Z").to_string();
        case.config(&key_config(&format!(r#"end_date = "{later}""#)));
        let (plan, _) = case.plan();
        assert!(plan.replaces(KEY), "{plan:?}");
        case.apply();
        assert_ne!(key_id(&case), pinned);
    }
}

each_terraform! {
    fn a_new_key_inside_its_own_window_and_a_window_longer_than_the_key_are_refused(tf) {
        let emu = Emulator::start();
        let soon = (Utc::now() + chrono::Duration::days(10)).format("%Y-%m-%dT00:00:00Z").to_string();
        let case = Case::new(tf, &emu, &key_config(&format!(r#"end_date = "{soon}""#)));
        let run = case.w.plan();
        assert_eq!(run.code, 1, "{}", run.output());
        assert!(run.output().contains("end_date is inside rotate_before"), "{}", run.output());

        case.config(&key_config(r#"validity = "720h"
  rotate_before = "720h""#));
        let run = case.w.validate();
        assert_eq!(run.code, 1, "{}", run.output());
        assert!(run.output().contains("rotate_before is not shorter than the key's lifetime"), "{}", run.output());
        assert!(
            !emu.requests().iter().any(|r| r["path"].as_str().unwrap_or("").contains("addPassword")),
            "nothing was created"
        );
        case.leave();
    }
}

each_terraform! {
    fn one_and_two_year_keys_end_exactly_one_and_two_years_after_their_start(tf) {
        let emu = Emulator::start();
        for (validity, years) in [("1y", 1), ("2y", 2)] {
            let mut case = Case::new(tf, &emu, &key_config(&format!("validity = \"{validity}\"")));
            case.apply();
            let k = key(&case);
            let (start, end) = (time(&k["start_date"]), time(&k["end_date"]));
            assert_eq!(end, start.checked_add_months(chrono::Months::new(12 * years)).unwrap(), "{validity}");
            case.destroy();
        }
    }
}

each_terraform! {
    /// `terraform import` gives the key's end date and no validity, and round-trips with the configuration
    /// import documents (end_date) as well as with the validity the key was made with.
    fn an_imported_key_round_trips_and_has_no_value(tf) {
        let emu = Emulator::start();
        let mut maker = Case::new(tf, &emu, &key_config(r#"validity = "1y""#));
        maker.apply();
        let made = key(&maker);
        let id = made["key_id"].as_str().unwrap().to_owned();
        let end = made["end_date"].as_str().unwrap().to_owned();

        for config in [format!(r#"end_date = "{end}""#), r#"validity = "1y""#.to_owned()] {
            let importer = Case::new(tf, &emu, &key_config(&config));
            importer
                .w
                .run(&["import", "-no-color", KEY, &format!("{}/{id}", demo::APP_ID.to_uppercase())])
                .success();
            let imported = key(&importer);
            assert_eq!(imported["key_id"], json!(id));
            assert_eq!(imported["value"], Json::Null);
            assert_eq!(imported["end_date"], json!(end));
            let (plan, run) = importer.plan();
            assert!(!plan.replaces(KEY) && !plan.creates(KEY), "[{config}] {plan:?}\n{}", run.output());
            // Applying what remains (at most a state-only update) converges; the key is the same one.
            importer.apply();
            assert_eq!(key(&importer)["key_id"], json!(id));
            importer.leave();
        }
        maker.destroy();

        let bad = Case::new(tf, &emu, &key_config(""));
        let run = bad.w.run(&["import", "-no-color", KEY, "not-an-id"]);
        assert!(run.output().contains("<application_id>/<key_id>"), "{}", run.output());
        bad.leave();
    }
}

/// `import` blocks with `-generate-config-out` (Terraform 1.5+): the generated configuration validates
/// (it used to set both validity and end_date) and plans no change.
#[test]
fn import_blocks_generate_a_configuration_that_plans_no_change() {
    let tf = support::Terraform::newest();
    assert!(
        tf.at_least(1, 5),
        "the newest Terraform here must drive import blocks"
    );
    let emu = Emulator::start();
    let mut maker = Case::new(&tf, &emu, &key_config(""));
    maker.apply();
    let id = key_id(&maker);

    let importer = Case::new(
        &tf,
        &emu,
        &format!(
            "provider \"partnercenter\" {{}}\nimport {{\n  to = {KEY}\n  id = \"{}/{id}\"\n}}\n",
            demo::APP_ID
        ),
    );
    let generated = importer.w.run(&[
        "plan",
        "-no-color",
        "-input=false",
        "-generate-config-out=generated.tf",
    ]);
    assert_eq!(generated.code, 0, "{}", generated.output());
    let hcl = std::fs::read_to_string(importer.w.path().join("generated.tf")).unwrap();
    assert!(hcl.contains("end_date"), "{hcl}");
    assert!(hcl.contains("validity") && hcl.contains("null"), "{hcl}");
    importer.w.validate().success();
    let (plan, run) = importer.plan();
    assert!(
        plan.0
            .iter()
            .all(|(_, a)| a.iter().all(|x| x == "no-op" || x == "read")),
        "an import with generated configuration changes nothing: {plan:?}\n{}",
        run.output()
    );
    importer.apply();
    assert_eq!(key(&importer)["key_id"], json!(id));
    importer.leave();
    maker.destroy();
}

each_terraform! {
    fn throttling_outages_and_latency_on_add_password_do_not_break_apply(tf) {
        let emu = Emulator::start();
        emu.fault(FaultSpec::on(ADD_PASSWORD).status(429).retry_after(1).times(2));
        emu.fault(FaultSpec::on(ADD_PASSWORD).latency_ms(300).times(1));
        let case = Case::new(tf, &emu, &key_config(""));
        case.apply();
    }
}

each_terraform! {
    /// The write is applied, its answer lost, and the new key takes reads to replicate: one apply must
    /// end with exactly one key (it used to leave two, one untracked).
    fn a_lost_add_password_answer_while_new_keys_lag_leaves_exactly_one_key(tf) {
        let faults = [
            FaultSpec::on(ADD_PASSWORD).drop_after_apply().times(1),
            FaultSpec::on(ADD_PASSWORD).status(503).times(1),
        ];
        for fault in faults {
            let emu = Emulator::start();
            emu.settings(json!({"replication_delay_reads": 3}));
            emu.fault(fault.clone());
            let case = Case::new(tf, &emu, &key_config(""));
            let run = case.apply_anyhow();
            if run.code == 0 {
                case.check_converged();
            } else {
                // A key recorded without its secret is tainted: the next apply replaces it.
                case.apply();
            }
            assert_eq!(emu.remote().keys.len(), 2, "the seeded secret and one key ({:?})", fault.to_json());
        }
    }
}

each_terraform! {
    /// The write is applied, its answer lost, and replicas flap: the key found once by the lookup may be
    /// missing from the next reads. It is still removed (found by make chaos, seed 18105170760216392361:
    /// the removal took three misses as "already gone" and left the key untracked).
    fn a_key_found_after_a_lost_answer_is_removed_even_when_replicas_flap(tf) {
        for seed in [18_105_170_760_216_392_361_u64, 7, 11, 20_261_202] {
            let emu = Emulator::start();
            emu.settings(json!({"replication_delay_reads": 2, "replication_random_seed": seed}));
            emu.fault(FaultSpec::on(ADD_PASSWORD).drop_after_apply().times(1));
            let case = Case::new(tf, &emu, &key_config(""));
            let run = case.apply_anyhow();
            case.check_nothing_untracked(&run);
        }
    }
}

each_terraform! {
    /// One 404 on the application read is replication, not deletion: refresh keeps the key, and destroy
    /// neither fails nor succeeds while the key is still there.
    fn a_transient_404_never_drops_a_key(tf) {
        let emu = Emulator::start();
        let mut case = Case::new(tf, &emu, &key_config(""));
        case.apply();
        let id = key_id(&case);
        let not_found = FaultSpec::on("GET /v1.0/*").status(404).times(1);

        emu.fault(not_found.clone());
        let (plan, run) = case.plan();
        assert!(plan.is_empty(), "a transient 404 dropped the key: {plan:?}\n{}", run.output());
        assert_eq!(key_id(&case), id);

        emu.fault(not_found);
        case.destroy();
    }
}

each_terraform! {
    /// The apply-time plan judges the window by Microsoft's clock too (it used the local one): with the
    /// emulator's clock inside the window and the laptop's outside, apply replaces the key as planned.
    fn plan_and_apply_judge_the_window_by_the_same_clock(tf) {
        let emu = Emulator::start();
        let case = Case::new(tf, &emu, &key_config(r#"validity = "1y"
  lifecycle { create_before_destroy = true }"#));
        case.apply();
        let first = key_id(&case);
        emu.advance_days(350);
        let (plan, _) = case.plan();
        assert!(plan.replaces(KEY), "{plan:?}");
        case.apply();
        assert_ne!(key_id(&case), first, "the apply did what the plan said");
    }
}

each_terraform! {
    fn twenty_keys_on_one_app_all_exist_and_a_refresh_reads_the_app_once(tf) {
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
        let case = Case::new(tf, &emu, &config);
        case.apply_with(&["-parallelism=10"]);
        assert_eq!(emu.remote().keys.len(), 21, "20 keys and the seeded secret");

        emu.control("DELETE", "/_emulator/requests", Json::Null);
        let refresh = case.w.run(&["plan", "-no-color", "-parallelism=10", "-detailed-exitcode"]);
        assert_eq!(refresh.code, 0, "{}", refresh.output());
        let app_gets = emu
            .requests()
            .iter()
            .filter(|r| r["method"] == json!("GET") && r["path"].as_str().unwrap_or("").starts_with("/v1.0/applications"))
            .count();
        eprintln!("application GETs during a refresh of 20 keys on 1 app: {app_gets}");
        assert!(app_gets <= 2, "at most distinct apps + 1 application reads per refresh, saw {app_gets}");
    }
}

each_terraform! {
    fn the_secret_appears_only_in_state_never_in_logs_or_output(tf) {
        let emu = Emulator::start();
        let mut case = Case::new(tf, &emu, &key_config(""));
        case.w.set_env("TF_LOG", "trace");
        let run = case.apply();
        let secret = key(&case)["value"].as_str().unwrap().to_owned();
        assert!(secret.len() >= 16);
        let logs = run.output();
        assert!(logs.contains("partnercenter"), "trace logs were captured");
        for needle in [secret.as_str(), demo::CLIENT_SECRET, demo::REFRESH_TOKEN] {
            assert!(!logs.contains(needle), "a secret leaked into TF_LOG=trace output");
        }
        let plan = case.w.run(&["plan", "-no-color"]);
        assert!(!plan.output().contains(&secret));
        case.w.set_env("TF_LOG", "");
    }
}

each_terraform! {
    fn conflicting_and_malformed_arguments_fail_at_validate(tf) {
        let emu = Emulator::start();
        let case = Case::new(
            tf,
            &emu,
            &key_config(
                r#"validity = "3y"
  end_date = "tomorrow"
  rotate_before = "a month""#,
            ),
        );
        let out = case.w.validate().failure().output();
        assert!(out.contains("Conflicting configuration arguments"), "{out}");
        assert!(out.contains("\"3y\" is not a validity"), "{out}");
        assert!(out.contains("\"tomorrow\" is not an RFC 3339 time"), "{out}");
        assert!(out.contains("\"a month\" is not a duration"), "{out}");
        assert!(emu.requests().is_empty(), "validate sends nothing");
        case.leave();
    }
}

each_terraform! {
    fn changing_rotate_before_updates_in_place_and_keeps_the_key(tf) {
        let emu = Emulator::start();
        let case = Case::new(tf, &emu, &key_config(r#"rotate_before = "720h""#));
        case.apply();
        let id = key_id(&case);
        case.config(&key_config(r#"rotate_before = "1440h""#));
        let (plan, _) = case.plan();
        assert!(plan.updates(KEY), "{plan:?}");
        case.apply();
        assert_eq!(key_id(&case), id);
    }
}

each_terraform! {
    fn a_refresh_right_after_an_unconfirmed_create_keeps_the_key_a_lagging_replica_hides(tf) {
        let emu = Emulator::start();
        emu.settings(json!({"replication_delay_ms": 8000}));
        let case = Case::new(tf, &emu, &key_config(r#"timeouts { create = "1s" }"#));
        let created = case.w.apply().success();
        assert!(created.output().contains("replication not confirmed"), "{}", created.output());
        // The key exists but reads do not show it for a few more seconds: it must not be dropped from
        // state (the next apply would make a second key and orphan this one).
        let (plan, run) = case.plan();
        assert!(plan.is_empty(), "{plan:?}\n{}", run.output());
        case.check_remote_matches_state(&run);
    }
}
