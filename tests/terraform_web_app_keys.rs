//! The `partnercenter_web_app_keys` data source end to end, on Terraform 1.0.3 and the newest: every key of
//! an application, whoever made it (here: Graph's addPassword, as a script or the portal would), its days
//! left by the emulator's (Microsoft's) clock, the prefix and expiry filters, an application created
//! moments ago (replication lag), an unknown one, and bad input refused before any request.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use chrono::{DateTime, Duration, Utc};
use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::emulator::Emulator;

/// The emulator's clock: Microsoft's "now".
fn emulator_now(emu: &Emulator) -> DateTime<Utc> {
    let clock = emu.control("GET", "/_emulator/clock", Json::Null);
    DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// A key made outside Terraform; its key id.
fn add_key(emu: &Emulator, app_id: &str, name: Option<&str>, end: DateTime<Utc>) -> String {
    emu.add_key_by_hand(app_id, name, end)
}

fn config(app_id: &str) -> String {
    format!(
        r#"
provider "partnercenter" {{}}

data "partnercenter_web_app_keys" "all" {{
  application_id = "{app_id}"
}}

data "partnercenter_web_app_keys" "legacy" {{
  application_id      = "{app_id}"
  display_name_prefix = "LEGACY-"
}}

data "partnercenter_web_app_keys" "expiring" {{
  application_id  = "{app_id}"
  expiring_within = "720h"
}}

output "all" {{ value = data.partnercenter_web_app_keys.all.keys }}
output "all_ids" {{ value = data.partnercenter_web_app_keys.all.ids }}
output "legacy_ids" {{ value = data.partnercenter_web_app_keys.legacy.ids }}
output "expiring_ids" {{ value = data.partnercenter_web_app_keys.expiring.ids }}
"#
    )
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

each_terraform! {
    fn every_key_is_listed_with_its_days_left_by_microsofts_clock(tf) {
        let emu = Emulator::start();
        // Graph's `Date` header has whole seconds, so the provider's "now" may trail the emulator's by up to
        // a second: keep every end away from a whole-day boundary. The seeded key ends a whole number of
        // days after the emulator started; an hour later it no longer does.
        emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 3600}));
        let now = emulator_now(&emu);
        let soon = add_key(&emu, demo::APP_ID, Some("legacy-octo"), now + Duration::days(10) + Duration::hours(1));
        let later = add_key(&emu, demo::APP_ID, Some("Legacy-Cloudyn"), now + Duration::days(400));
        let unnamed = add_key(&emu, demo::APP_ID, None, now + Duration::days(100));
        let expired = add_key(&emu, demo::APP_ID, Some("old"), now + Duration::days(50));
        emu.control(
            "POST",
            &format!("/_emulator/applications/{}/passwords/{expired}/expire", demo::APP_ID),
            Json::Null,
        );
        // Expired a minute ago rather than a second ago (see the `Date` header above).
        emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 60}));
        // Set up "before Terraform": every replica has the keys.
        emu.settle();

        let w = emu.demo_env(Workdir::with(tf, &config(demo::APP_ID)));
        w.apply().success();
        // Soonest end first; the seeded key ends in about 23 months, after `later`.
        assert_eq!(
            strings(&w.output("all_ids")),
            [expired.as_str(), soon.as_str(), unnamed.as_str(), later.as_str(), demo::CLIENT_SECRET_KEY_ID],
            "[Terraform {}]",
            tf.version
        );
        let all = w.output("all");
        let by_id = |id: &str| all.as_array().unwrap().iter().find(|k| k["key_id"] == json!(id)).unwrap().clone();
        let soon_key = by_id(&soon);
        assert_eq!(soon_key["display_name"], json!("legacy-octo"));
        assert_eq!(soon_key["expires_in_days"], json!(10));
        assert_eq!(soon_key["expired"], json!(false));
        assert!(soon_key["hint"].as_str().is_some_and(|h| !h.is_empty()), "{soon_key}");
        assert!(soon_key["start_date"].is_string() && soon_key["end_date"].is_string(), "{soon_key}");
        let expired_key = by_id(&expired);
        assert_eq!(expired_key["expired"], json!(true));
        assert_eq!(expired_key["expires_in_days"], json!(0));
        assert_eq!(by_id(&unnamed)["display_name"], Json::Null, "a key without a description");
        assert_eq!(by_id(demo::CLIENT_SECRET_KEY_ID)["display_name"], json!("Partner Center key"));

        // The prefix ignores case; keys without a description never match.
        assert_eq!(strings(&w.output("legacy_ids")), [soon.as_str(), later.as_str()]);
        // Within 720h of now: the key ending in ten days, and the expired one.
        assert_eq!(strings(&w.output("expiring_ids")), [expired.as_str(), soon.as_str()]);
        let plan = w.plan();
        assert_eq!(plan.code, 0, "a data source alone plans no changes:\n{}", plan.output());

        // Twenty days later by Microsoft's clock (the laptop's has not moved): the key that had ten days
        // left has expired; the one ending 100 days after the start has 79 whole days left (its end was
        // written to the second, and the test's own seconds have passed), so it is not inside 720h yet.
        emu.advance_days(20);
        w.apply().success();
        let all = w.output("all");
        let soon_key = all.as_array().unwrap().iter().find(|k| k["key_id"] == json!(soon)).unwrap();
        assert_eq!(soon_key["expired"], json!(true), "{soon_key}");
        assert_eq!(soon_key["expires_in_days"], json!(0));
        let unnamed_key = all.as_array().unwrap().iter().find(|k| k["key_id"] == json!(unnamed)).unwrap();
        assert_eq!(unnamed_key["expires_in_days"], json!(79), "{unnamed_key}");
        assert_eq!(strings(&w.output("expiring_ids")), [expired.as_str(), soon.as_str()]);

        emu.advance_days(60);
        w.apply().success();
        assert_eq!(
            strings(&w.output("expiring_ids")),
            [expired.as_str(), soon.as_str(), unnamed.as_str()],
            "19 days left: inside 720h"
        );
    }
}

each_terraform! {
    fn an_application_created_moments_ago_is_read_and_an_unknown_one_is_an_error(tf) {
        let emu = Emulator::start();
        // A new application: the next reads that meet it miss it (replication lag), and Graph answers 404.
        let made = emu.control("POST", "/_emulator/applications", json!({"display_name": "just made"}));
        let app_id = made["applications"][0]["appId"].as_str().unwrap().to_owned();
        let w = emu.demo_env(Workdir::with(tf, &config(&app_id)));
        let run = w.apply().success();
        assert_eq!(w.output("all_ids"), json!([]), "{}", run.output());

        let unknown = "11111111-2222-4333-8444-555555555555";
        let w = emu.demo_env(Workdir::with(tf, &format!(
            "provider \"partnercenter\" {{}}\ndata \"partnercenter_web_app_keys\" \"k\" {{\n  application_id = \"{unknown}\"\n}}\n"
        )));
        let started = std::time::Instant::now();
        let run = w.plan().failure();
        let out = flat(&run.output());
        assert!(out.contains(&format!("Application {unknown} not found")), "{out}");
        assert!(out.contains("application_id"), "the error points at application_id: {out}");
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(30),
            "a 404 is believed only after reads agree for 30 s"
        );
    }
}

/// Terraform wraps diagnostic text at 78 columns; compare with whitespace runs collapsed.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

each_terraform! {
    fn bad_input_is_refused_at_validate_time_without_a_request(tf) {
        let emu = Emulator::start();
        let w = emu.demo_env(Workdir::with(tf, r#"
provider "partnercenter" {}

data "partnercenter_web_app_keys" "not_a_guid" {
  application_id = "contoso-web-app"
}

data "partnercenter_web_app_keys" "not_a_duration" {
  application_id  = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  expiring_within = "30d"
}

data "partnercenter_web_app_keys" "blank_prefix" {
  application_id      = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  display_name_prefix = " "
}
"#));
        emu.control("DELETE", "/_emulator/requests", Json::Null);
        let run = w.validate().failure();
        let out = flat(&run.output());
        for expected in [
            "\"contoso-web-app\" is not a GUID",
            "\"30d\" is not a duration: write it like \"720h\"",
            "The value is empty",
            "data.partnercenter_web_app_keys.not_a_guid",
            "data.partnercenter_web_app_keys.not_a_duration",
            "data.partnercenter_web_app_keys.blank_prefix",
        ] {
            assert!(out.contains(expected), "[Terraform {}] missing {expected:?}:\n{out}", tf.version);
        }
        let run = w.plan().failure();
        assert!(flat(&run.output()).contains("is not a GUID"), "{}", run.output());
        assert_eq!(emu.requests(), Vec::<Json>::new(), "nothing was sent to Microsoft");
    }
}
