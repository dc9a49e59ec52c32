//! End to end with Terraform 1.0.3 and the newest against the emulator: every directory under `examples/`
//! (the provider block, each resource and data source example, the quickstart) and the modules (through a
//! small root configuration each) apply, plan no changes afterwards, and destroy leaving nothing behind. The
//! resource examples' `import.sh` commands import what they name. The examples that need a newer Terraform
//! run on the newest only: the onboarding example with its expiry watch (`check`, 1.5+), the adoption of
//! existing keys (`import` with `for_each`, 1.7+) and its generated-configuration path (1.5+).

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::path::{Path, PathBuf};

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::case::Case;
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
    install_modules(w, &[name]);
}

/// [`install_module`] for several modules that the configuration uses together.
fn install_modules(w: &Workdir, names: &[&str]) {
    for name in names {
        let target = w.path().join("modules").join(name);
        std::fs::create_dir_all(&target).unwrap();
        for (file, text) in tf_files(&examples().join("modules").join(name)) {
            std::fs::write(target.join(file), text).unwrap();
        }
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
        "web_app_keys",
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
            "web_app_keys" => {
                let keys = w.output("keys");
                let seeded = keys[demo::CLIENT_SECRET_KEY_ID].as_str().unwrap();
                assert!(seeded.starts_with("Partner Center key: ends "), "{keys}");
                assert_eq!(
                    w.output("expiring_key_ids"),
                    json!([]),
                    "the seeded key ends in 23 months"
                );
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
    let optima = w.output("optima");
    assert_eq!(optima["mpn_id"], json!(demo::MPN_ID));
    assert_eq!(optima["domain"], json!(demo::DOMAIN));
    let octo = w.output("octo");
    assert_eq!(
        field_names(&octo),
        ["client_id", "domain", "key", "mpn_id", "tenant_id"]
    );
    assert_eq!(octo["domain"], json!(demo::DOMAIN));
    assert_eq!(octo["mpn_id"], json!(demo::MPN_ID));
    assert_eq!(octo["tenant_id"], json!(demo::TENANT_ID));

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
    assert_eq!(
        field_names(&octo),
        ["client_id", "domain", "key", "mpn_id", "tenant_id"]
    );
    assert_eq!(octo["domain"], json!(demo::DOMAIN));
    assert_eq!(octo["mpn_id"], json!(demo::MPN_ID));
    assert_eq!(octo["tenant_id"], json!(demo::TENANT_ID));
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
            "domain",
            "mpn_id"
        ]
    );
    assert_eq!(optima["mpn_id"], json!(demo::MPN_ID));
    assert_eq!(optima["domain"], json!(demo::DOMAIN));
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

// ---------------------------------------------------------------------------------------------------------
// The Key Vault path, the expiry watch and the adoption of existing keys

each_terraform! {
    fn the_quickstart_with_a_key_vault_keeps_the_secret_out_of_state_and_outputs(tf) {
        let emu = Emulator::start();
        let vault = emu.control("POST", "/_emulator/vaults", json!({"name": "quickstart"}));
        let vault_uri = vault["vault_uri"].as_str().unwrap();
        let w = workdir_for(tf, &emu, "quickstart").env("TF_VAR_key_vault_uri", vault_uri);
        apply_and_replan(&w);

        let cloudyn = w.output("cloudyn");
        assert_eq!(field_names(&cloudyn), ["application_id", "commerce_id", "key_vault_secret_id"]);
        let secret_id = cloudyn["key_vault_secret_id"].as_str().unwrap().to_owned();
        assert!(
            secret_id.starts_with(&format!("{vault_uri}secrets/cost-management-key/")),
            "{secret_id}"
        );
        assert_eq!(w.output("octo")["key_vault_secret_id"], json!(secret_id));
        assert_eq!(w.output("optima")["key_vault_secret_id"], json!(secret_id));
        assert!(w.output("octo").get("key").is_none());
        let (_, key) = state_resources(&w)
            .into_iter()
            .find(|(a, _)| a == "partnercenter_web_app_key.cost_management")
            .unwrap();
        assert_eq!(key["value"], Json::Null, "the secret is not in state");
        assert_eq!(key["key_vault_secret_id"], json!(secret_id));
        destroy_leaving_nothing(&emu, &w);
    }
}

each_terraform! {
    fn the_onboarding_module_with_key_vault_outputs_the_secrets_id_instead_of_the_secret(tf) {
        let emu = Emulator::start();
        let vault = emu.control("POST", "/_emulator/vaults", json!({"name": "kv1"}));
        let vault_uri = vault["vault_uri"].as_str().unwrap();
        let root = ONBOARDING_ROOT
            .replace("TOOLS", "\"cloudyn\", \"optima\", \"octo\"")
            .replace(
                "  key_validity   = \"1y\"\n",
                &format!(
                    "  key_validity   = \"1y\"\n  key_vault      = {{ vault_uri = \"{vault_uri}\", secret_name = \"cost-management\" }}\n"
                ),
            );
        let w = emu.demo_env(Workdir::with(tf, &format!(
            "{root}\noutput \"key_vault_secret_id\" {{\n  value = module.onboarding.key_vault_secret_id\n}}\n"
        )));
        install_module(&w, "cost-management-onboarding");
        apply_and_replan(&w);

        let secret_id = w.output("key_vault_secret_id");
        let secret_id = secret_id.as_str().unwrap();
        assert!(secret_id.starts_with(&format!("{vault_uri}secrets/cost-management/")), "{secret_id}");
        let cloudyn = w.output("cloudyn");
        assert_eq!(field_names(&cloudyn), ["application_id", "commerce_id", "key_vault_secret_id"]);
        let optima = w.output("optima");
        assert_eq!(
            field_names(&optima),
            ["application_directory_id", "application_id", "billing_account_id", "domain", "key_vault_secret_id", "mpn_id"]
        );
        let octo = w.output("octo");
        assert_eq!(field_names(&octo), ["client_id", "domain", "key_vault_secret_id", "mpn_id", "tenant_id"]);
        for tool in [&cloudyn, &optima, &octo] {
            assert_eq!(tool["key_vault_secret_id"], json!(secret_id));
        }
        let (_, key) = state_resources(&w)
            .into_iter()
            .find(|(a, _)| a.ends_with("partnercenter_web_app_key.this"))
            .unwrap();
        assert_eq!(key["value"], Json::Null, "the secret is not in state");
        destroy_leaving_nothing(&emu, &w);
    }
}

/// The emulator's clock: Microsoft's "now".
fn emulator_now(emu: &Emulator) -> chrono::DateTime<chrono::Utc> {
    let clock = emu.control("GET", "/_emulator/clock", Json::Null);
    chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// A key made outside Terraform, replicated everywhere before Terraform runs; its key id.
fn add_key_by_graph(
    emu: &Emulator,
    app_id: &str,
    name: Option<&str>,
    end: chrono::DateTime<chrono::Utc>,
) -> String {
    let key_id = emu.add_key_by_hand(app_id, name, end);
    emu.settle();
    key_id
}

/// An application with no keys, replicated everywhere (made through the emulator's control API).
fn new_application(emu: &Emulator, name: &str) -> String {
    let made = emu.control("POST", "/_emulator/applications", json!({"display_name": name}));
    emu.settle();
    made["applications"][0]["appId"].as_str().unwrap().to_owned()
}

/// The newest Terraform, which must be at least `major.minor` for the example at hand.
fn newest_at_least(major: u32, minor: u32) -> support::Terraform {
    let tf = support::Terraform::newest();
    assert!(
        tf.at_least(major, minor),
        "this example needs Terraform {major}.{minor}+; the newest here is {}",
        tf.version
    );
    tf
}

/// Terraform wraps diagnostic text at 78 columns; compare with whitespace runs collapsed.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Terraform 1.5+: the expiry watch names every key of the app inside rotate_before, made by anyone, on
/// every plan; silent when none is. The plan stays empty either way (a warning, not a change).
#[test]
fn the_onboarding_example_warns_on_every_plan_of_each_key_inside_rotate_before() {
    let tf = newest_at_least(1, 5);
    let emu = Emulator::start();
    let mut case = Case::new(&tf, &emu, "");
    let main_tf = std::fs::read_to_string(examples().join("onboarding/main.tf")).unwrap();
    case.w
        .write("main.tf", &main_tf.replace("\"../modules/", "\"./modules/"));
    install_modules(&case.w, &["cost-management-onboarding", "key-expiry-watch"]);

    let run = case.apply();
    assert!(
        !run.output().contains("Check block assertion failed"),
        "no key is inside rotate_before: no warning\n{}",
        run.output()
    );

    // A key someone made by hand (not the module's), ending in ten days and an hour.
    let end = emulator_now(&emu) + chrono::Duration::days(10) + chrono::Duration::hours(1);
    let by_hand = add_key_by_graph(&emu, demo::APP_ID, Some("octo-2024"), end);
    for _ in 0..2 {
        let plan = case.w.plan();
        assert_eq!(plan.code, 0, "a warning, not a change:\n{}", plan.output());
        let out = flat(&plan.output());
        assert!(out.contains("Warning: Check block assertion failed"), "{out}");
        assert!(
            out.contains(&format!(
                "1 key(s) of application {} end within 720h (rotate_before): key {by_hand} (\"octo-2024\") ends {}, in 10 days",
                demo::APP_ID,
                // Sent to Graph to the second, and written back that way.
                end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            "the warning names the key, its description, its end and the days left: {out}"
        );
    }

    // Gone again: silent.
    emu.control(
        "DELETE",
        &format!("/_emulator/applications/{}/passwords/{by_hand}", demo::APP_ID),
        Json::Null,
    );
    emu.settle();
    let plan = case.w.plan();
    assert_eq!(plan.code, 0, "{}", plan.output());
    assert!(
        !plan.output().contains("Check block assertion failed"),
        "{}",
        plan.output()
    );
    case.destroy();
}

/// A case running the example in `dir` against a new application (made outside Terraform); its App ID.
fn adoption_case<'a>(tf: &support::Terraform, emu: &'a Emulator, dir: &str) -> (Case<'a>, String) {
    let app = new_application(emu, "Legacy tooling");
    let mut case = Case::new(tf, emu, "");
    for (name, text) in tf_files(&examples().join(dir)) {
        case.w.write(&name, &text);
    }
    case.w.set_env("TF_VAR_application_id", &app);
    (case, app)
}

/// Terraform 1.7+: three keys made outside Terraform are adopted by one apply of the example (import
/// blocks with for_each over the data source); the next plan is empty, remote equals state, and destroy
/// removes them.
#[test]
fn the_adopt_existing_keys_example_adopts_every_key_in_one_apply() {
    let tf = newest_at_least(1, 7);
    let emu = Emulator::start();
    let (mut case, app) = adoption_case(&tf, &emu, "adopt-existing-keys");
    let now = emulator_now(&emu);
    let cloudyn = add_key_by_graph(
        &emu,
        &app,
        Some("legacy-cloudyn"),
        now + chrono::Duration::days(200),
    );
    let octo = add_key_by_graph(&emu, &app, Some("legacy-octo"), now + chrono::Duration::days(400));
    let unnamed = add_key_by_graph(&emu, &app, None, now + chrono::Duration::days(300));

    // One apply imports all three, and then plans no change (checked by `Case::apply`).
    let run = case.apply();
    assert!(
        run.output()
            .contains("Apply complete! Resources: 3 imported, 0 added, 0 changed, 0 destroyed."),
        "{}",
        run.output()
    );
    let state = case.w.state();
    let adopted: Vec<(String, Json)> = support::case::resources(&state)
        .into_iter()
        .filter(|r| r["type"] == json!("partnercenter_web_app_key"))
        .map(|r| (r["index"].as_str().unwrap().to_owned(), r["values"].clone()))
        .collect();
    let mut ids: Vec<&str> = adopted.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    let mut expected = vec![cloudyn.as_str(), octo.as_str(), unnamed.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "each key under its key id");
    for (id, values) in &adopted {
        assert_eq!(values["key_id"], json!(id));
        assert_eq!(values["value"], Json::Null, "a secret is never read back");
        assert_eq!(
            values["validity"],
            Json::Null,
            "import yields end_date, not validity"
        );
    }
    let name_of = |id: &str| adopted.iter().find(|(i, _)| i == id).unwrap().1["display_name"].clone();
    assert_eq!(name_of(&cloudyn), json!("legacy-cloudyn"));
    assert_eq!(
        name_of(&unnamed),
        json!("terraform"),
        "no description reads as the default"
    );

    // The same configuration on the next apply: nothing to import, nothing to change.
    let run = case.apply();
    assert!(
        run.output().contains("0 added, 0 changed, 0 destroyed"),
        "{}",
        run.output()
    );
    case.destroy();
}

/// Terraform 1.5+: the README's generated-configuration path: import blocks rendered by the data source,
/// `terraform plan -generate-config-out`, an apply that imports, and a plan with no changes.
#[test]
fn the_generated_configuration_path_adopts_keys_and_plans_no_change() {
    let tf = newest_at_least(1, 5);
    let emu = Emulator::start();
    let (mut case, app) = adoption_case(&tf, &emu, "adopt-existing-keys/generate-config");
    case.w.set_env("TF_VAR_display_name_prefix", "legacy-");
    let now = emulator_now(&emu);
    let first = add_key_by_graph(&emu, &app, Some("legacy-a"), now + chrono::Duration::days(90));
    let second = add_key_by_graph(&emu, &app, Some("Legacy-B"), now + chrono::Duration::days(700));
    let other = add_key_by_graph(&emu, &app, Some("keep-out"), now + chrono::Duration::days(700));

    // Only the data source: the keys are not Terraform's yet (so no remote-equals-state check here).
    case.w.apply().success();
    let blocks = case.w.run(&["output", "-raw", "import_blocks"]).success().stdout;
    for id in [&first, &second] {
        assert!(blocks.contains(&format!("id = \"{app}/{id}\"")), "{blocks}");
    }
    assert!(
        !blocks.contains(&other),
        "the prefix leaves other keys out: {blocks}"
    );
    // The key left out stays Terraform's to ignore; gone, it no longer counts against remote == state.
    emu.control(
        "DELETE",
        &format!("/_emulator/applications/{app}/passwords/{other}"),
        Json::Null,
    );
    emu.settle();

    case.w.write("imports.tf", &blocks);
    case.w
        .run(&[
            "plan",
            "-no-color",
            "-input=false",
            "-generate-config-out=generated.tf",
        ])
        .success();
    let generated = std::fs::read_to_string(case.w.path().join("generated.tf")).unwrap();
    assert_eq!(
        generated
            .matches("resource \"partnercenter_web_app_key\"")
            .count(),
        2,
        "{generated}"
    );
    assert!(generated.contains("end_date"), "{generated}");
    assert!(
        !generated
            .lines()
            .any(|l| l.trim_start().starts_with("validity") && !l.contains("null")),
        "never both validity and end_date: {generated}"
    );

    // The import, then a plan with no changes and remote == state (`Case::apply`).
    let run = case.apply();
    assert!(
        run.output()
            .contains("2 imported, 0 added, 0 changed, 0 destroyed"),
        "{}",
        run.output()
    );
    case.destroy();
}

/// Terraform 1.7+: the README's way to stop managing adopted keys without deleting them: a `removed` block.
#[test]
fn adopted_keys_are_let_go_with_a_removed_block_and_stay_in_entra() {
    let tf = newest_at_least(1, 7);
    let emu = Emulator::start();
    let app = new_application(&emu, "Legacy tooling");
    let mut case = Case::new(&tf, &emu, "");
    let main_tf = std::fs::read_to_string(examples().join("adopt-existing-keys/main.tf")).unwrap();
    case.w.write("main.tf", &main_tf);
    case.w.set_env("TF_VAR_application_id", &app);
    let now = emulator_now(&emu);
    let keys = [
        add_key_by_graph(&emu, &app, Some("legacy-a"), now + chrono::Duration::days(90)),
        add_key_by_graph(&emu, &app, Some("legacy-b"), now + chrono::Duration::days(180)),
    ];
    case.apply();

    // The import blocks and the resource give way to the README's removed block.
    let kept = &main_tf[..main_tf.find("import {").unwrap()];
    case.w.write(
        "main.tf",
        &format!(
            "{kept}\nremoved {{\n  from = partnercenter_web_app_key.adopted\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
        ),
    );
    let run = case.w.apply().success();
    assert!(
        support::case::resources(&case.w.state())
            .iter()
            .all(|r| r["type"] != json!("partnercenter_web_app_key")),
        "state no longer holds the keys:\n{}",
        run.output()
    );
    let remote = emu.remote();
    for key in &keys {
        assert!(
            remote.keys.contains(&(app.to_ascii_lowercase(), key.clone())),
            "key {key} stays in Entra ID:\n{}",
            run.output()
        );
    }
    case.leave();
}
