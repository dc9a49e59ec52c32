//! End to end with Terraform 1.0.3 against the emulator: every directory under `examples/` (the provider
//! block, each resource and data source example, the quickstart) and both modules (through a small root
//! configuration each) apply, plan no changes afterwards, and destroy leaving nothing behind. The resource
//! examples' `import.sh` commands import what they name.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::path::{Path, PathBuf};

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::emulator::Emulator;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The `.tf` files of a directory, by name.
fn tf_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no .tf files", dir.display());
    files
}

/// A working directory holding a copy of an example directory, pointed at the emulator's demo partner.
/// An example that declares its own `required_providers` replaces the harness's main.tf.
fn workdir_for(tf: &support::Terraform, emu: &Emulator, example: &str) -> Workdir {
    let files = tf_files(&examples().join(example));
    let w = Workdir::with(tf, "");
    if files.iter().any(|(_, text)| text.contains("required_providers")) {
        w.write("main.tf", "");
    }
    for (name, text) in &files {
        w.write(name, text);
    }
    emu.demo_env(w)
}

/// Copies a module into `<workdir>/modules/<name>` and installs it (`terraform get`: modules only, the
/// provider comes from dev_overrides).
fn install_module(w: &Workdir, name: &str) {
    let target = w.path().join("modules").join(name);
    std::fs::create_dir_all(&target).unwrap();
    for (file, text) in tf_files(&examples().join("modules").join(name)) {
        std::fs::write(target.join(file), text).unwrap();
    }
    w.run(&["get", "-no-color"]).success();
}

/// Apply, then a plan that must show no changes.
#[track_caller]
fn apply_and_replan(w: &Workdir) {
    w.apply().success();
    let plan = w.plan();
    assert_eq!(
        plan.code,
        0,
        "the plan after apply shows changes:\n{}",
        plan.output()
    );
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

/// Consent grants the emulator holds for the demo app's service principal, as (resource app id, scopes).
fn remote_grants(emu: &Emulator) -> Vec<(String, Vec<String>)> {
    let state = emu.control("GET", "/_emulator/state", Json::Null);
    let sps = state["servicePrincipals"].as_array().cloned().unwrap_or_default();
    let Some(client) = sps.iter().find(|sp| sp["appId"] == json!(demo::APP_ID)) else {
        return Vec::new();
    };
    let app_of = |sp_id: &Json| {
        sps.iter()
            .find(|sp| sp["id"] == *sp_id)
            .and_then(|sp| sp["appId"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let mut grants: Vec<(String, Vec<String>)> = state["oauth2PermissionGrants"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|g| g["clientId"] == client["id"])
        .map(|g| {
            let mut scopes: Vec<String> = g["scope"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            scopes.sort();
            (app_of(&g["resourceId"]), scopes)
        })
        .filter(|(_, scopes)| !scopes.is_empty())
        .collect();
    grants.sort();
    grants
}

/// Every resource of the state, as (address, values), child modules included.
fn state_resources(w: &Workdir) -> Vec<(String, Json)> {
    let state = w.state();
    let mut out = Vec::new();
    let mut modules = vec![state["values"]["root_module"].clone()];
    while let Some(m) = modules.pop() {
        for r in m["resources"].as_array().cloned().unwrap_or_default() {
            out.push((r["address"].as_str().unwrap().to_owned(), r["values"].clone()));
        }
        modules.extend(m["child_modules"].as_array().cloned().unwrap_or_default());
    }
    out
}

#[track_caller]
fn destroy_leaving_nothing(emu: &Emulator, w: &Workdir) {
    w.destroy().success();
    assert_eq!(remote_keys(emu), Vec::<String>::new(), "keys left behind");
    assert_eq!(remote_grants(emu), Vec::new(), "grants left behind");
}

/// The `terraform import ADDRESS ID` line of an example's import.sh.
fn import_command(resource_type: &str) -> (String, String) {
    let path = examples().join("resources").join(resource_type).join("import.sh");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("terraform import "))
        .unwrap_or_else(|| panic!("{} has no `terraform import` line", path.display()));
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 4, "{line}");
    (parts[2].to_owned(), parts[3].to_owned())
}

each_terraform! {
    fn the_provider_example_configures_the_provider(tf) {
        the_provider_example_configures_the_provider_on(tf)
    }
}

fn the_provider_example_configures_the_provider_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = workdir_for(tf, &emu, "provider");
    w.write(
        "check.tf",
        "data \"partnercenter_domain\" \"check\" {}\noutput \"domain\" { value = data.partnercenter_domain.check.domain }\n",
    );
    apply_and_replan(&w);
    assert_eq!(w.output("domain"), json!(demo::DOMAIN));
    destroy_leaving_nothing(&emu, &w);
}

each_terraform! {
    fn the_web_app_key_example_applies_imports_and_destroys(tf) {
        the_web_app_key_example_applies_imports_and_destroys_on(tf)
    }
}

fn the_web_app_key_example_applies_imports_and_destroys_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = workdir_for(tf, &emu, "resources/partnercenter_web_app_key");
    apply_and_replan(&w);
    let keys = remote_keys(&emu);
    assert_eq!(keys.len(), 1, "one key created: {keys:?}");

    // import.sh names the seeded key; import the key this example made in its place.
    let (address, id) = import_command("partnercenter_web_app_key");
    let (app_id, _) = id.split_once('/').unwrap();
    assert_eq!(app_id, demo::APP_ID);
    w.run(&["state", "rm", &address]).success();
    w.run(&["import", "-no-color", &address, &format!("{app_id}/{}", keys[0])])
        .success();
    let imported = state_resources(&w);
    let (_, values) = imported.iter().find(|(a, _)| *a == address).expect("imported");
    assert_eq!(values["key_id"], json!(keys[0]));
    assert_eq!(
        values["value"],
        Json::Null,
        "the secret is not known after import"
    );
    // The example configures `validity`; import yields the key's end date and no validity, so the plan
    // takes the validity in place (nothing changes in Entra), and then there is nothing left to do.
    let (actions, run) = w.plan_actions();
    assert!(
        actions.is_empty() || actions.updates(&address),
        "after import: no change, or the validity taken in place: {actions:?}\n{}",
        run.output()
    );
    w.apply().success();
    assert_eq!(remote_keys(&emu), keys, "the same key");
    assert!(w.plan_actions().0.is_empty());

    destroy_leaving_nothing(&emu, &w);
}

each_terraform! {
    fn the_permission_grant_example_applies_imports_and_destroys(tf) {
        the_permission_grant_example_applies_imports_and_destroys_on(tf)
    }
}

fn the_permission_grant_example_applies_imports_and_destroys_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = workdir_for(tf, &emu, "resources/partnercenter_permission_grant");
    apply_and_replan(&w);
    assert_eq!(
        remote_grants(&emu),
        vec![
            (
                demo::AZURE_AD_GRAPH_APP_ID.to_owned(),
                vec!["Directory.AccessAsUser.All".into(), "User.Read".into()]
            ),
            (
                demo::DEV_CENTER_APP_ID.to_owned(),
                vec!["user_impersonation".into()]
            ),
            (
                demo::PARTNER_CENTER_APP_ID.to_owned(),
                vec!["user_impersonation".into()]
            ),
        ]
    );

    let (address, id) = import_command("partnercenter_permission_grant");
    w.run(&["state", "rm", &address]).success();
    w.run(&["import", "-no-color", &address, &id]).success();
    let plan = w.plan();
    assert_eq!(
        plan.code,
        0,
        "the plan after import shows changes:\n{}",
        plan.output()
    );

    destroy_leaving_nothing(&emu, &w);
}

each_terraform! {
    fn the_data_source_examples_apply(tf) {
        the_data_source_examples_apply_on(tf)
    }
}

fn the_data_source_examples_apply_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    for name in [
        "consent_url",
        "customers",
        "domain",
        "indirect_resellers",
        "mpn_id",
    ] {
        let w = workdir_for(tf, &emu, &format!("data-sources/partnercenter_{name}"));
        apply_and_replan(&w);
        match name {
            "consent_url" => {
                let url = w.output("consent_url");
                assert!(url.as_str().unwrap().contains(demo::APP_ID), "{url}");
            }
            "customers" => assert!(w.output("customer_count").as_f64().unwrap() > 0.0),
            "domain" => {
                assert_eq!(w.output("default_domain"), json!(demo::DOMAIN));
                assert_eq!(w.output("tenant_id"), json!(demo::TENANT_ID));
            }
            "indirect_resellers" => assert_eq!(w.output("resellers").as_object().unwrap().len(), 3),
            "mpn_id" => {
                assert_eq!(w.output("mpn_id"), json!(demo::MPN_ID));
                assert_eq!(w.output("reseller_name"), json!("Fourth Coffee Solutions"));
            }
            _ => unreachable!(),
        }
        destroy_leaving_nothing(&emu, &w);
    }
}

each_terraform! {
    fn the_quickstart_applies_shows_drift_and_destroys(tf) {
        the_quickstart_applies_shows_drift_and_destroys_on(tf)
    }
}

fn the_quickstart_applies_shows_drift_and_destroys_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = workdir_for(tf, &emu, "quickstart");
    apply_and_replan(&w);
    let cloudyn = w.output("cloudyn");
    let keys: Vec<&String> = cloudyn.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["application_id", "application_secret_key", "commerce_id"]);
    assert_eq!(cloudyn["commerce_id"], json!(demo::TENANT_ID));
    assert!(
        cloudyn["application_secret_key"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(w.output("optima")["mpn_id"], json!(demo::MPN_ID));
    assert_eq!(w.output("octo")["domain"], json!(demo::DOMAIN));

    // What `make quickstart` demonstrates: the key deleted out of band is planned again.
    let key_id = w.output("key_id").as_str().unwrap().to_owned();
    emu.control(
        "DELETE",
        &format!("/_emulator/applications/{}/passwords/{key_id}", demo::APP_ID),
        Json::Null,
    );
    emu.settle();
    let plan = w.plan();
    assert_eq!(
        plan.code,
        2,
        "the deleted key is planned again:\n{}",
        plan.output()
    );
    assert!(
        plan.output()
            .contains("partnercenter_web_app_key.cost_management will be created"),
        "{}",
        plan.output()
    );

    destroy_leaving_nothing(&emu, &w);
}

const ONBOARDING_ROOT: &str = r#"
module "onboarding" {
  source         = "./modules/cost-management-onboarding"
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  key_validity   = "1y"
  tools          = [TOOLS]
}

output "cloudyn" {
  value     = module.onboarding.cloudyn
  sensitive = true
}

output "optima" {
  value     = module.onboarding.optima
  sensitive = true
}

output "octo" {
  value     = module.onboarding.octo
  sensitive = true
}

output "grants" {
  value = module.onboarding.grants
}

output "key_end_date" {
  value = module.onboarding.key_end_date
}
"#;

fn onboarding(tf: &support::Terraform, emu: &Emulator, tools: &[&str]) -> Workdir {
    let list = tools
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let w = emu.demo_env(Workdir::with(tf, &ONBOARDING_ROOT.replace("TOOLS", &list)));
    install_module(&w, "cost-management-onboarding");
    w
}

fn field_names(v: &Json) -> Vec<String> {
    let mut names: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    names.sort();
    names
}

each_terraform! {
    fn the_onboarding_module_outputs_exactly_the_selected_tools_fields(tf) {
        the_onboarding_module_outputs_exactly_the_selected_tools_fields_on(tf)
    }
}

fn the_onboarding_module_outputs_exactly_the_selected_tools_fields_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = onboarding(tf, &emu, &["cloudyn", "octo"]);
    apply_and_replan(&w);

    let cloudyn = w.output("cloudyn");
    assert_eq!(
        field_names(&cloudyn),
        ["application_id", "application_secret_key", "commerce_id"]
    );
    assert_eq!(cloudyn["application_id"], json!(demo::APP_ID));
    assert_eq!(cloudyn["commerce_id"], json!(demo::TENANT_ID));
    let octo = w.output("octo");
    assert_eq!(field_names(&octo), ["client_id", "domain", "key"]);
    assert_eq!(octo["domain"], json!(demo::DOMAIN));
    assert_eq!(
        octo["key"], cloudyn["application_secret_key"],
        "one key serves every tool"
    );
    assert_eq!(w.output("optima"), Json::Null, "optima was not selected");

    assert_eq!(
        w.output("grants"),
        json!({
            "azure_ad_graph": ["Directory.AccessAsUser.All", "User.Read"],
            "dev_center": ["user_impersonation"],
            "partner_center": ["user_impersonation"],
        })
    );
    assert_eq!(remote_grants(&emu).len(), 3);
    assert_eq!(remote_keys(&emu).len(), 1);
    destroy_leaving_nothing(&emu, &w);
}

each_terraform! {
    fn the_onboarding_module_for_optima_alone_adds_the_mpn_id_and_no_dev_center_grant(tf) {
        the_onboarding_module_for_optima_alone_adds_the_mpn_id_and_no_dev_center_grant_on(tf)
    }
}

fn the_onboarding_module_for_optima_alone_adds_the_mpn_id_and_no_dev_center_grant_on(
    tf: &support::Terraform,
) {
    let emu = Emulator::start();
    let w = onboarding(tf, &emu, &["optima"]);
    apply_and_replan(&w);

    let optima = w.output("optima");
    assert_eq!(
        field_names(&optima),
        [
            "application_directory_id",
            "application_id",
            "application_secret",
            "billing_account_id",
            "mpn_id"
        ]
    );
    assert_eq!(optima["mpn_id"], json!(demo::MPN_ID));
    assert_eq!(optima["application_directory_id"], json!(demo::TENANT_ID));
    assert_eq!(w.output("cloudyn"), Json::Null);
    assert_eq!(w.output("octo"), Json::Null);
    let grants = w.output("grants");
    assert_eq!(field_names(&grants), ["azure_ad_graph", "partner_center"]);

    // The key's rotation keeps the tools working: replacing it creates the new key first.
    let (_, key) = state_resources(&w)
        .into_iter()
        .find(|(a, _)| a.ends_with("partnercenter_web_app_key.this"))
        .expect("the module's key");
    let old_key = key["key_id"].as_str().unwrap().to_owned();
    let replaced = w.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-replace=module.onboarding.partnercenter_web_app_key.this",
    ]);
    replaced.success();
    let keys = remote_keys(&emu);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_ne!(keys[0], old_key);
    destroy_leaving_nothing(&emu, &w);
}

const RESELLER_ROOT: &str = r#"
data "partnercenter_indirect_resellers" "all" {}

module "reseller" {
  source   = "./modules/indirect-reseller"
  for_each = { for r in data.partnercenter_indirect_resellers.all.resellers : r.id => r }
  reseller = each.value
}

output "resellers" {
  value = {
    for id, m in module.reseller : id => {
      name         = m.reseller.name
      mpn_id       = m.mpn_id
      partner_name = m.partner_name
      customers    = m.customers
      entity_group = m.entity_group
    }
  }
}
"#;

each_terraform! {
    fn the_indirect_reseller_module_runs_once_per_reseller(tf) {
        the_indirect_reseller_module_runs_once_per_reseller_on(tf)
    }
}

fn the_indirect_reseller_module_runs_once_per_reseller_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let w = emu.demo_env(Workdir::with(tf, RESELLER_ROOT));
    install_module(&w, "indirect-reseller");
    apply_and_replan(&w);

    let resellers = w.output("resellers");
    let resellers = resellers.as_object().unwrap();
    assert_eq!(resellers.len(), 3, "{resellers:?}");
    let mut names: Vec<&str> = resellers.values().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Fourth Coffee Solutions",
            "Litware Cloud Partners",
            "Proseware Reseller Group"
        ]
    );
    for (id, r) in resellers {
        assert_eq!(r["partner_name"], r["name"], "{id}");
        let customers = r["customers"].as_array().unwrap();
        assert!(!customers.is_empty(), "{id} has customers");
        for c in customers {
            assert_eq!(c["associated_partner_id"], json!(id), "{c}");
        }
        assert_eq!(
            r["entity_group"]["customer_tenant_ids"].as_array().unwrap().len(),
            customers.len()
        );
        assert_eq!(r["entity_group"]["mpn_id"], r["mpn_id"]);
    }
    destroy_leaving_nothing(&emu, &w);
}
