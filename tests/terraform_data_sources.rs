//! End to end with Terraform 1.0.3 against the emulator: the MPN ID, domain, customers and indirect
//! reseller data sources, the credentials they need, and what users see when Microsoft misbehaves.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use partnercenter_emulator::demo;
use serde_json::json;
use support::Workdir;
use support::emulator::{Emulator, FaultSpec};

const ALL_DATA_SOURCES: &str = r#"
provider "partnercenter" {}
data "partnercenter_mpn_id" "me" {}
data "partnercenter_domain" "me" {}
data "partnercenter_customers" "all" {}
data "partnercenter_indirect_resellers" "all" {}
output "mpn_id" { value = data.partnercenter_mpn_id.me.mpn_id }
output "domain" { value = data.partnercenter_domain.me.domain }
output "tenant_id" { value = data.partnercenter_domain.me.tenant_id }
output "customer_count" { value = data.partnercenter_customers.all.total_count }
output "customer_ids" { value = data.partnercenter_customers.all.ids }
output "customers" { value = data.partnercenter_customers.all.customers }
output "resellers" { value = data.partnercenter_indirect_resellers.all.resellers }
"#;

each_terraform! {
    fn every_data_source_reads_the_demo_partner_and_a_second_plan_is_empty(tf) {
        every_data_source_reads_the_demo_partner_and_a_second_plan_is_empty_on(tf)
    }
}

fn every_data_source_reads_the_demo_partner_and_a_second_plan_is_empty_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::with(tf, ALL_DATA_SOURCES));
    w.apply().success();
    assert_eq!(w.output("mpn_id"), json!(demo::MPN_ID));
    assert_eq!(w.output("domain"), json!(demo::DOMAIN));
    assert_eq!(w.output("tenant_id"), json!(demo::TENANT_ID));

    let state = emu.control("GET", "/_emulator/state", json!(null));
    let seeded_customers = state["customers"].as_array().map(Vec::len).unwrap_or(0);
    assert!(seeded_customers > 0, "the demo seed has customers: {state}");
    assert_eq!(
        w.output("customer_count"),
        json!(seeded_customers),
        "all pages followed"
    );
    let customers = w.output("customers");
    let first = &customers[0];
    for field in [
        "id",
        "tenant_id",
        "domain",
        "company_name",
        "relationship_to_partner",
    ] {
        assert!(first[field].is_string(), "customer field {field}: {first}");
    }
    let resellers = w.output("resellers");
    assert!(!resellers.as_array().unwrap().is_empty());
    assert!(resellers[0]["id"].is_string() && resellers[0]["name"].is_string());

    let plan = w.plan();
    assert_eq!(plan.code, 0, "{}", plan.output());
}

each_terraform! {
    fn customers_filters_narrow_the_list(tf) {
        customers_filters_narrow_the_list_on(tf)
    }
}

fn customers_filters_narrow_the_list_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::with(tf, ALL_DATA_SOURCES));
    w.apply().success();
    let all = w.output("customers");
    let all = all.as_array().unwrap().clone();
    let sample = &all[0];
    let name_prefix: String = sample["company_name"].as_str().unwrap().chars().take(3).collect();
    let reseller = all
        .iter()
        .find_map(|c| c["associated_partner_id"].as_str().map(str::to_owned));

    let mut config = format!(
        r#"provider "partnercenter" {{}}
data "partnercenter_customers" "named" {{ company_name_prefix = "{}" }}
output "named" {{ value = data.partnercenter_customers.named.customers }}
"#,
        name_prefix.to_lowercase()
    );
    if let Some(r) = &reseller {
        config.push_str(&format!(
            r#"data "partnercenter_customers" "of_reseller" {{ indirect_reseller_id = "{r}" }}
output "of_reseller" {{ value = data.partnercenter_customers.of_reseller.customers }}
"#
        ));
    }
    w.config(&config);
    w.apply().success();
    let named = w.output("named");
    let expected = all
        .iter()
        .filter(|c| {
            c["company_name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .starts_with(&name_prefix.to_lowercase())
        })
        .count();
    assert_eq!(named.as_array().unwrap().len(), expected);
    if let Some(r) = reseller {
        let of_reseller = w.output("of_reseller");
        let expected = all
            .iter()
            .filter(|c| c["associated_partner_id"].as_str() == Some(&r))
            .count();
        assert_eq!(of_reseller.as_array().unwrap().len(), expected);
        assert!(
            of_reseller
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["associated_partner_id"] == json!(r))
        );
    }
}

each_terraform! {
    fn app_user_data_sources_without_a_refresh_token_say_how_to_get_one(tf) {
        app_user_data_sources_without_a_refresh_token_say_how_to_get_one_on(tf)
    }
}

fn app_user_data_sources_without_a_refresh_token_say_how_to_get_one_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = emu
        .endpoints_env(Workdir::with(
            tf,
            r#"
provider "partnercenter" {}
data "partnercenter_mpn_id" "me" {}
"#,
        ))
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID)
        .env("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET);
    let out = w.apply().failure().output();
    assert!(out.contains("Missing provider credentials"), "{out}");
    assert!(out.contains("refresh_token"), "{out}");
    assert!(out.contains("terraform-provider-partnercenter login"), "{out}");
    assert!(
        emu.requests().is_empty(),
        "no request may be sent: {:?}",
        emu.requests()
    );
}

each_terraform! {
    fn a_wrong_secret_shows_the_aadsts_code_and_what_to_do(tf) {
        a_wrong_secret_shows_the_aadsts_code_and_what_to_do_on(tf)
    }
}

fn a_wrong_secret_shows_the_aadsts_code_and_what_to_do_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = emu
        .endpoints_env(Workdir::with(
            tf,
            r#"
provider "partnercenter" {}
data "partnercenter_customers" "all" {}
"#,
        ))
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID)
        .env("PARTNERCENTER_CLIENT_SECRET", "not-the-secret");
    let out = w.apply().failure().output();
    assert!(out.contains("AADSTS7000215"), "{out}");
    assert!(out.contains("client_secret"), "must say what to check: {out}");
    assert!(
        !out.contains("not-the-secret"),
        "the secret must not be echoed: {out}"
    );
}

each_terraform! {
    fn throttling_and_unavailability_are_retried_until_the_plan_succeeds(tf) {
        throttling_and_unavailability_are_retried_until_the_plan_succeeds_on(tf)
    }
}

fn throttling_and_unavailability_are_retried_until_the_plan_succeeds_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    emu.fault(
        FaultSpec::on("GET /v1/customers")
            .status(429)
            .retry_after(1)
            .times(3),
    );
    emu.fault(FaultSpec::on("GET /v1/profiles/mpn").status(503).times(2));
    let w = emu.demo_env(Workdir::with(tf, ALL_DATA_SOURCES));
    let run = w.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let log = emu.requests();
    let throttled = log.iter().filter(|r| r["status"] == json!(429)).count();
    let unavailable = log.iter().filter(|r| r["status"] == json!(503)).count();
    assert_eq!(
        (throttled, unavailable),
        (3, 2),
        "the faults were served: {log:?}"
    );
}

each_terraform! {
    fn an_unknown_mpn_id_is_reported_on_the_attribute(tf) {
        an_unknown_mpn_id_is_reported_on_the_attribute_on(tf)
    }
}

fn an_unknown_mpn_id_is_reported_on_the_attribute_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::with(
        tf,
        r#"
provider "partnercenter" {}
data "partnercenter_mpn_id" "other" { mpn_id = "9999999" }
"#,
    ));
    let out = w.apply().failure().output();
    assert!(out.contains("Error looking up MPN ID 9999999"), "{out}");
    assert!(out.contains("3000"), "Partner Center's code: {out}");
    assert!(
        out.contains("mpn_id = \"9999999\""),
        "points at the attribute: {out}"
    );
}
