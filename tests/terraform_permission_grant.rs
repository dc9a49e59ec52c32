//! End to end with Terraform 1.0.3 against the emulator: `partnercenter_permission_grant` writes delegated
//! permissions and admin consent per API, merges with what others wrote, shows drift as in-place updates,
//! imports, and survives throttling, outages and replication lag.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::collections::BTreeSet;

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::case::Case;
use support::emulator::{Emulator, FaultSpec};

const PARTNER_CENTER: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
const AZURE_AD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";
const MICROSOFT_GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const DEV_CENTER: &str = "4990cffe-04e8-4e8b-808a-1175604b879f";
const USER_IMPERSONATION: &str = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a";
const AAD_DIRECTORY_AS_USER: &str = "a42657d6-7f20-40e3-b6f0-cee03008a62a";
const AAD_USER_READ: &str = "311a71cc-e848-46a1-bdf8-97ff7156d8e6";

fn grant(name: &str, api: &str, scopes: &[&str]) -> String {
    let scopes = scopes
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"resource "partnercenter_permission_grant" "{name}" {{
  application_id = "{}"
  api            = "{api}"
  scopes         = [{scopes}]
}}
"#,
        demo::APP_ID
    )
}

fn config(grants: &[String]) -> String {
    format!("provider \"partnercenter\" {{}}\n{}", grants.concat())
}

/// The Dev Center scope as the tenant publishes it (its id is generated per emulator: only discoverable).
fn dev_center_scope(emu: &Emulator) -> (String, String) {
    let state = emulator_state(emu);
    let sp = service_principal(&state, DEV_CENTER).expect("Dev Center is seeded");
    let scope = &sp["oauth2PermissionScopes"][0];
    (
        scope["value"].as_str().expect("the documented shape").to_owned(),
        scope["id"].as_str().expect("the documented shape").to_owned(),
    )
}

fn seed_set(emu: &Emulator) -> String {
    let (dev_scope, _) = dev_center_scope(emu);
    config(&[
        grant("partner_center", "partner_center", &["user_impersonation"]),
        grant(
            "azure_ad_graph",
            "azure_ad_graph",
            &["Directory.AccessAsUser.All", "User.Read"],
        ),
        grant("dev_center", "dev_center", &[&dev_scope]),
    ])
}

fn emulator_state(emu: &Emulator) -> Json {
    emu.control("GET", "/_emulator/state", Json::Null)
}

fn service_principal(state: &Json, app_id: &str) -> Option<Json> {
    state["servicePrincipals"]
        .as_array()?
        .iter()
        .find(|sp| sp["appId"] == json!(app_id))
        .cloned()
}

fn service_principals_of(state: &Json, app_id: &str) -> usize {
    state["servicePrincipals"]
        .as_array()
        .expect("the documented shape")
        .iter()
        .filter(|sp| sp["appId"] == json!(app_id))
        .count()
}

/// The demo app's `requiredResourceAccess` entry for an API: its (id, type) pairs.
fn required_access(state: &Json, resource_app_id: &str) -> BTreeSet<(String, String)> {
    let app = state["applications"]
        .as_array()
        .expect("the documented shape")
        .iter()
        .find(|a| a["appId"] == json!(demo::APP_ID))
        .expect("the documented shape");
    app["requiredResourceAccess"]
        .as_array()
        .expect("the documented shape")
        .iter()
        .filter(|e| e["resourceAppId"] == json!(resource_app_id))
        .flat_map(|e| {
            e["resourceAccess"]
                .as_array()
                .expect("the documented shape")
                .clone()
        })
        .map(|a| {
            (
                a["id"].as_str().expect("the documented shape").to_owned(),
                a["type"].as_str().expect("the documented shape").to_owned(),
            )
        })
        .collect()
}

fn scope_ids(ids: &[&str]) -> BTreeSet<(String, String)> {
    ids.iter()
        .map(|id| ((*id).to_owned(), "Scope".to_owned()))
        .collect()
}

/// The AllPrincipals grants of the demo app's service principal for one API.
fn grants(state: &Json, resource_app_id: &str) -> Vec<Json> {
    let (Some(client), Some(resource)) = (
        service_principal(state, demo::APP_ID),
        service_principal(state, resource_app_id),
    ) else {
        return Vec::new();
    };
    state["oauth2PermissionGrants"]
        .as_array()
        .expect("the documented shape")
        .iter()
        .filter(|g| g["clientId"] == client["id"] && g["resourceId"] == resource["id"])
        .filter(|g| g["consentType"] == json!("AllPrincipals"))
        .cloned()
        .collect()
}

fn scopes_of(grant: &Json) -> BTreeSet<String> {
    grant["scope"]
        .as_str()
        .expect("the documented shape")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The one AllPrincipals grant for an API (there must never be two).
fn the_grant(state: &Json, resource_app_id: &str) -> Json {
    let found = grants(state, resource_app_id);
    assert_eq!(
        found.len(),
        1,
        "exactly one grant for {resource_app_id}: {found:?}"
    );
    found[0].clone()
}

/// Requests that change something in Graph.
fn graph_writes(emu: &Emulator) -> Vec<Json> {
    emu.requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or("").starts_with("/v1.0") && r["method"] != json!("GET"))
        .collect()
}

fn resource_state(w: &Workdir, name: &str) -> Json {
    let state = w.state();
    state["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == json!(name))
        .map(|r| r["values"].clone())
        .unwrap_or(Json::Null)
}

/// Graph called directly, as another tool would, before Terraform runs: replicated everywhere after.
fn graph_call(emu: &Emulator, method: &str, path: &str, body: Json) -> Json {
    let (status, answer) = emu.graph(method, path, body);
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    emu.settle();
    answer
}

/// Terraform wraps diagnostic text at 78 columns; compare with whitespace runs collapsed.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The resource changes of a saved plan that do something: (resource name, actions).
fn plan_actions(plan: &Json) -> Vec<(String, Vec<String>)> {
    support::PlanActions::from_plan(plan)
        .0
        .into_iter()
        .filter(|(_, actions)| actions != &["no-op".to_owned()])
        .map(|(address, actions)| (address.rsplit('.').next().unwrap_or_default().to_owned(), actions))
        .collect()
}

each_terraform! {
    /// What the onboarding module does: three grants on one app in parallel, while each PATCHed
    /// `requiredResourceAccess` takes reads to show. No API's entry may be lost (a merge into a lagging
    /// read used to drop one, and apply then sat in the consistency wait for 5 minutes).
    fn parallel_grants_on_one_app_keep_every_entry_while_patches_replicate(tf) {
        let emu = Emulator::start();
        emu.settings(json!({"replication_delay_reads": 3}));
        let mut case = Case::new(tf, &emu, &seed_set(&emu));
        let run = case.apply_with(&["-parallelism=10"]);
        assert!(!run.output().contains("not yet visible everywhere"), "{}", run.output());
        let state = emulator_state(&emu);
        for api in [PARTNER_CENTER, AZURE_AD_GRAPH, DEV_CENTER] {
            assert!(!required_access(&state, api).is_empty(), "the entry of {api} is there");
        }
        case.destroy();
    }
}

each_terraform! {
    /// Apply, destroy, apply again on one tenant: destroy returns only once reads agree the grants are
    /// gone, so the next apply never adopts a grant a lagging replica still shows (it used to, and then
    /// waited for it until the timeout).
    fn apply_destroy_apply_again_converges_every_time(tf) {
        let emu = Emulator::start();
        let mut case = Case::new(tf, &emu, &seed_set(&emu));
        for cycle in 1..=4 {
            let run = case.apply();
            assert!(!run.output().contains("not yet visible everywhere"), "cycle {cycle}: {}", run.output());
            case.destroy();
        }
    }
}

each_terraform! {
    fn the_seed_set_applies_and_a_second_plan_is_empty(tf) {
        let emu = Emulator::start();
        let (_, dev_scope_id) = dev_center_scope(&emu);
        let w = emu.demo_env(Workdir::with(tf, &seed_set(&emu)));
        w.apply().success();

        let state = emulator_state(&emu);
        assert_eq!(
            required_access(&state, PARTNER_CENTER),
            scope_ids(&[USER_IMPERSONATION])
        );
        assert_eq!(
            required_access(&state, AZURE_AD_GRAPH),
            scope_ids(&[AAD_DIRECTORY_AS_USER, AAD_USER_READ])
        );
        assert_eq!(required_access(&state, DEV_CENTER), scope_ids(&[&dev_scope_id]));
        assert_eq!(
            scopes_of(&the_grant(&state, PARTNER_CENTER)),
            set(&["user_impersonation"])
        );
        assert_eq!(
            scopes_of(&the_grant(&state, AZURE_AD_GRAPH)),
            set(&["Directory.AccessAsUser.All", "User.Read"])
        );
        assert_eq!(
            scopes_of(&the_grant(&state, DEV_CENTER)),
            set(&["user_impersonation"])
        );
        assert_eq!(
            service_principals_of(&state, demo::APP_ID),
            1,
            "the web app's service principal was created once"
        );

        let dev = resource_state(&w, "dev_center");
        assert_eq!(
            dev["scope_ids"]["user_impersonation"],
            json!(dev_scope_id),
            "discovered at runtime: {dev}"
        );
        assert_eq!(dev["id"], json!(format!("{}/{DEV_CENTER}", demo::APP_ID)));
        assert_eq!(dev["resource_app_id"], json!(DEV_CENTER));
        assert_eq!(dev["grant_id"], the_grant(&state, DEV_CENTER)["id"]);
        assert_eq!(
            dev["client_service_principal_id"],
            service_principal(&state, demo::APP_ID).unwrap()["id"]
        );
        assert_eq!(
            dev["resource_service_principal_id"],
            service_principal(&state, DEV_CENTER).unwrap()["id"]
        );

        let plan = w.plan();
        assert_eq!(plan.code, 0, "no changes after apply:\n{}", plan.output());
    }
}

each_terraform! {
    fn a_missing_partner_center_principal_is_created_and_an_existing_grant_is_adopted(tf) {
        let emu = Emulator::start();
        emu.control(
            "DELETE",
            &format!("/_emulator/service-principals/{PARTNER_CENTER}"),
            Json::Null,
        );
        // Someone consented before Terraform: the app's principal and a grant for Azure AD Graph exist.
        let client = graph_call(
            &emu,
            "POST",
            "/v1.0/servicePrincipals",
            json!({"appId": demo::APP_ID}),
        );
        let aad = service_principal(&emulator_state(&emu), AZURE_AD_GRAPH).unwrap();
        let existing = graph_call(
            &emu,
            "POST",
            "/v1.0/oauth2PermissionGrants",
            json!({"clientId": client["id"], "resourceId": aad["id"], "consentType": "AllPrincipals", "scope": "Directory.Read.All User.Read"}),
        );
        emu.control("DELETE", "/_emulator/requests", Json::Null);

        let w = emu.demo_env(Workdir::with(tf, &config(&[
            grant("partner_center", "partner_center", &["user_impersonation"]),
            grant(
                "azure_ad_graph",
                "azure_ad_graph",
                &["Directory.AccessAsUser.All", "User.Read"],
            ),
        ])));
        w.apply().success();

        let state = emulator_state(&emu);
        assert_eq!(
            service_principals_of(&state, PARTNER_CENTER),
            1,
            "Partner Center's principal was created"
        );
        assert_eq!(service_principals_of(&state, demo::APP_ID), 1);
        assert_eq!(
            scopes_of(&the_grant(&state, PARTNER_CENTER)),
            set(&["user_impersonation"])
        );
        let adopted = the_grant(&state, AZURE_AD_GRAPH);
        assert_eq!(
            adopted["id"], existing["id"],
            "the existing grant was adopted, not duplicated"
        );
        assert_eq!(
            scopes_of(&adopted),
            set(&["Directory.Read.All", "Directory.AccessAsUser.All", "User.Read"])
        );
        assert_eq!(resource_state(&w, "azure_ad_graph")["grant_id"], existing["id"]);
        let conflicts: Vec<Json> = emu
            .requests()
            .into_iter()
            .filter(|r| r["status"] == json!(409))
            .collect();
        assert!(conflicts.is_empty(), "never a 409: {conflicts:?}");
        assert_eq!(w.plan().code, 0);

        // Destroy takes back only this resource's scopes: one the configuration does not name stays.
        w.destroy().success();
        let state = emulator_state(&emu);
        assert_eq!(
            scopes_of(&the_grant(&state, AZURE_AD_GRAPH)),
            set(&["Directory.Read.All"])
        );
        assert!(
            grants(&state, PARTNER_CENTER).is_empty(),
            "an emptied grant is deleted"
        );
        assert!(required_access(&state, PARTNER_CENTER).is_empty());
        assert!(required_access(&state, AZURE_AD_GRAPH).is_empty());
    }
}

each_terraform! {
    fn scopes_and_consent_removed_out_of_band_plan_as_in_place_updates_and_apply_restores_them(tf) {
        let emu = Emulator::start();
        let w = emu.demo_env(Workdir::with(tf, &config(&[
            grant("partner_center", "partner_center", &["user_impersonation"]),
            grant(
                "azure_ad_graph",
                "azure_ad_graph",
                &["Directory.AccessAsUser.All", "User.Read"],
            ),
        ])));
        w.apply().success();
        let state = emulator_state(&emu);
        let aad_grant = the_grant(&state, AZURE_AD_GRAPH)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let pc_grant = the_grant(&state, PARTNER_CENTER)["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // A scope removed from the grant and from the app's permissions; Partner Center consent revoked.
        emu.control(
            "POST",
            &format!("/_emulator/grants/{aad_grant}/remove-scope"),
            json!({"scope": "User.Read"}),
        );
        emu.control(
            "POST",
            &format!("/_emulator/applications/{}/required-resource-access", demo::APP_ID),
            json!({"resourceAppId": AZURE_AD_GRAPH, "resourceAccess": [{"id": AAD_DIRECTORY_AS_USER, "type": "Scope"}]}),
        );
        emu.control("DELETE", &format!("/_emulator/grants/{pc_grant}"), Json::Null);
        // The next plan comes a while later.
        emu.settle();

        let plan = w.plan();
        assert_eq!(plan.code, 2, "drift is a change:\n{}", plan.output());
        let out = plan.output();
        assert!(out.contains("User.Read"), "the missing scope is shown: {out}");
        assert!(out.contains("admin_consent"), "revoked consent is shown: {out}");
        let (_, json_plan) = w.plan_json();
        let mut actions = plan_actions(&json_plan);
        actions.sort();
        assert_eq!(
            actions,
            vec![
                ("azure_ad_graph".to_owned(), vec!["update".to_owned()]),
                ("partner_center".to_owned(), vec!["update".to_owned()])
            ]
        );

        w.apply().success();
        let state = emulator_state(&emu);
        assert_eq!(
            required_access(&state, AZURE_AD_GRAPH),
            scope_ids(&[AAD_DIRECTORY_AS_USER, AAD_USER_READ])
        );
        assert_eq!(
            scopes_of(&the_grant(&state, AZURE_AD_GRAPH)),
            set(&["Directory.AccessAsUser.All", "User.Read"])
        );
        assert_eq!(
            scopes_of(&the_grant(&state, PARTNER_CENTER)),
            set(&["user_impersonation"])
        );
        assert_eq!(w.plan().code, 0);
    }
}

each_terraform! {
    fn an_unknown_scope_fails_on_scopes_with_the_valid_values_before_any_write(tf) {
        let emu = Emulator::start();
        let w = emu.demo_env(Workdir::with(tf, &config(&[grant(
            "azure_ad_graph",
            "azure_ad_graph",
            &["User.Read", "Directory.Everything"],
        )])));
        let out = flat(&w.apply().failure().output());
        assert!(out.contains("Unknown scope"), "{out}");
        assert!(
            out.contains("\"Directory.Everything\""),
            "names the bad scope: {out}"
        );
        let valid = out.split("Valid values:").nth(1).unwrap_or_default();
        assert!(
            valid.contains("\"Directory.AccessAsUser.All\"") && valid.contains("\"User.Read\""),
            "lists the valid values: {out}"
        );
        assert!(out.contains("scopes"), "points at scopes: {out}");
        assert_eq!(graph_writes(&emu), Vec::<Json>::new(), "nothing may be written");

        // An unknown alias is caught by validate, before any network call, with the aliases listed.
        emu.control("DELETE", "/_emulator/requests", Json::Null);
        w.config(&config(&[grant("x", "graph", &["User.Read"])]));
        let out = flat(&w.validate().failure().output());
        assert!(out.contains("\"graph\""), "{out}");
        for alias in [
            "partner_center",
            "dev_center",
            "azure_ad_graph",
            "microsoft_graph",
        ] {
            assert!(out.contains(alias), "lists {alias}: {out}");
        }
        assert!(emu.requests().is_empty());
    }
}

each_terraform! {
    fn a_foreign_required_resource_access_entry_survives_create_update_and_destroy(tf) {
        let emu = Emulator::start();
        let foreign = json!({"resourceAppId": MICROSOFT_GRAPH, "resourceAccess": [
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"},
            {"id": "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "type": "Role"}
        ]});
        emu.control(
            "POST",
            &format!(
                "/_emulator/applications/{}/required-resource-access",
                demo::APP_ID
            ),
            foreign,
        );
        let foreign_entry = || required_access(&emulator_state(&emu), MICROSOFT_GRAPH);
        let before = foreign_entry();
        assert_eq!(before.len(), 2);

        let w = emu.demo_env(Workdir::with(tf, &config(&[grant(
            "aad",
            "azure_ad_graph",
            &["User.Read"],
        )])));
        w.apply().success();
        assert_eq!(foreign_entry(), before, "after create");
        assert_eq!(
            required_access(&emulator_state(&emu), AZURE_AD_GRAPH),
            scope_ids(&[AAD_USER_READ])
        );

        w.config(&config(&[grant(
            "aad",
            "azure_ad_graph",
            &["User.Read", "Directory.AccessAsUser.All"],
        )]));
        let (_, plan) = w.plan_json();
        assert_eq!(
            plan_actions(&plan),
            vec![("aad".to_owned(), vec!["update".to_owned()])],
            "a scope added is in place"
        );
        w.apply().success();
        assert_eq!(foreign_entry(), before, "after update");
        let state = emulator_state(&emu);
        assert_eq!(
            required_access(&state, AZURE_AD_GRAPH),
            scope_ids(&[AAD_USER_READ, AAD_DIRECTORY_AS_USER])
        );
        assert_eq!(
            scopes_of(&the_grant(&state, AZURE_AD_GRAPH)),
            set(&["User.Read", "Directory.AccessAsUser.All"])
        );

        w.destroy().success();
        let state = emulator_state(&emu);
        assert_eq!(foreign_entry(), before, "after destroy");
        assert!(required_access(&state, AZURE_AD_GRAPH).is_empty());
        assert!(grants(&state, AZURE_AD_GRAPH).is_empty());
    }
}

each_terraform! {
    fn an_imported_grant_plans_no_changes(tf) {
        let emu = Emulator::start();
        let main = config(&[
            grant("partner_center", "partner_center", &["user_impersonation"]),
            grant(
                "azure_ad_graph",
                "azure_ad_graph",
                &["Directory.AccessAsUser.All", "User.Read"],
            ),
        ]);
        let w = emu.demo_env(Workdir::with(tf, &main));
        w.apply().success();
        let applied = resource_state(&w, "azure_ad_graph");
        for name in ["partner_center", "azure_ad_graph"] {
            w.run(&[
                "state",
                "rm",
                "-no-color",
                &format!("partnercenter_permission_grant.{name}"),
            ])
            .success();
        }
        let writes_before = graph_writes(&emu).len();

        w.run(&[
            "import",
            "-no-color",
            "partnercenter_permission_grant.partner_center",
            &format!("{}/partner_center", demo::APP_ID),
        ])
        .success();
        w.run(&[
            "import",
            "-no-color",
            "partnercenter_permission_grant.azure_ad_graph",
            &format!("{}/azure_ad_graph", demo::APP_ID),
        ])
        .success();
        let imported = resource_state(&w, "azure_ad_graph");
        for field in [
            "id",
            "scopes",
            "scope_ids",
            "grant_id",
            "client_service_principal_id",
            "resource_service_principal_id",
        ] {
            assert_eq!(imported[field], applied[field], "{field} imported as applied");
        }
        let plan = w.plan();
        assert_eq!(plan.code, 0, "no changes after import:\n{}", plan.output());
        assert_eq!(
            graph_writes(&emu).len(),
            writes_before,
            "import and plan write nothing"
        );

        // An alias and its App ID name the same API: switching between them is not a replacement.
        w.config(&main.replace("\"partner_center\"\n", &format!("\"{PARTNER_CENTER}\"\n")));
        let (_, switched) = w.plan_json();
        assert_eq!(
            plan_actions(&switched),
            vec![("partner_center".to_owned(), vec!["update".to_owned()])]
        );

        // Nothing to import: a clear error.
        let (dev_scope, _) = dev_center_scope(&emu);
        w.config(&format!("{main}{}", grant("other", "dev_center", &[&dev_scope])));
        let out = w
            .run(&[
                "import",
                "-no-color",
                "partnercenter_permission_grant.other",
                &format!("{}/dev_center", demo::APP_ID),
            ])
            .failure()
            .output();
        assert!(
            out.contains("non-existent") || out.contains("Cannot import"),
            "{out}"
        );
    }
}

each_terraform! {
    fn throttling_outages_dropped_connections_and_replication_lag_do_not_break_apply(tf) {
        let emu = Emulator::start();
        emu.control(
            "POST",
            "/_emulator/settings",
            json!({"replication_delay_reads": 2, "replication_delay_ms": 1500}),
        );
        for fault in [
            FaultSpec::on("POST /v1.0/oauth2PermissionGrants").status(429).retry_after(1).times(2),
            FaultSpec::on("PATCH /v1.0/applications/*").status(503).times(2),
            FaultSpec::on("GET /v1.0/*").status(503).times(3),
            // The create goes through but its answer is lost: the provider must look before trying again.
            FaultSpec::on("POST /v1.0/servicePrincipals").drop_after_apply().times(1),
        ] {
            emu.fault(fault);
        }
        let w = emu.demo_env(Workdir::with(tf, &seed_set(&emu)));
        w.apply().success();

        let state = emulator_state(&emu);
        assert_eq!(
            service_principals_of(&state, demo::APP_ID),
            1,
            "no duplicate principal"
        );
        for api in [PARTNER_CENTER, AZURE_AD_GRAPH, DEV_CENTER] {
            the_grant(&state, api);
        }
        let log = emu.requests();
        let count = |status: u64| log.iter().filter(|r| r["status"] == json!(status)).count();
        assert!(count(429) >= 2 && count(503) >= 5, "faults were served: {log:?}");
        let dropped = |path: &str| {
            emu.requests()
                .iter()
                .any(|r| r["method"] == json!("POST") && r["path"] == json!(path) && r["dropped"] == json!(true))
        };
        assert!(
            dropped("/v1.0/servicePrincipals"),
            "the principal's answer was lost: {log:?}"
        );

        let plan = w.plan();
        assert_eq!(
            plan.code,
            0,
            "apply waited for replication; no phantom drift:\n{}",
            plan.output()
        );

        // A grant create whose answer is lost: looked up and adopted, not duplicated.
        emu.fault(FaultSpec::on("POST /v1.0/oauth2PermissionGrants").drop_after_apply().times(1));
        w.config(&format!(
            "{}{}",
            seed_set(&emu),
            grant("graph", "microsoft_graph", &["User.Read"])
        ));
        w.apply().success();
        the_grant(&emulator_state(&emu), MICROSOFT_GRAPH);
        assert!(
            dropped("/v1.0/oauth2PermissionGrants"),
            "the grant's answer was lost"
        );

        let plan = w.plan();
        assert_eq!(
            plan.code,
            0,
            "replication settled before apply returned:\n{}",
            plan.output()
        );
    }
}

each_terraform! {
    fn admin_consent_can_be_left_out_given_and_taken_back_in_place(tf) {
        let emu = Emulator::start();
        let without = config(&[grant("pc", "partner_center", &["user_impersonation"])])
            .replace("scopes ", "admin_consent  = false\n  scopes ");
        let w = emu.demo_env(Workdir::with(tf, &without));
        w.apply().success();
        let state = emulator_state(&emu);
        assert_eq!(
            required_access(&state, PARTNER_CENTER),
            scope_ids(&[USER_IMPERSONATION])
        );
        assert!(grants(&state, PARTNER_CENTER).is_empty(), "no consent asked for");
        assert_eq!(resource_state(&w, "pc")["grant_id"], Json::Null);
        assert_eq!(w.plan().code, 0);

        w.config(&config(&[grant("pc", "partner_center", &["user_impersonation"])]));
        let (_, plan) = w.plan_json();
        assert_eq!(
            plan_actions(&plan),
            vec![("pc".to_owned(), vec!["update".to_owned()])]
        );
        w.apply().success();
        let granted = the_grant(&emulator_state(&emu), PARTNER_CENTER);
        assert_eq!(resource_state(&w, "pc")["grant_id"], granted["id"]);
        assert_eq!(w.plan().code, 0);

        w.config(&without);
        w.apply().success();
        let state = emulator_state(&emu);
        assert!(
            grants(&state, PARTNER_CENTER).is_empty(),
            "the emptied grant is deleted"
        );
        assert_eq!(
            required_access(&state, PARTNER_CENTER),
            scope_ids(&[USER_IMPERSONATION]),
            "permissions stay"
        );
        assert_eq!(w.plan().code, 0);
    }
}

/// One grant on Azure AD Graph with short timeouts, for operations that are meant to fail.
fn short_lived(scopes: &[&str]) -> String {
    let timeouts =
        "timeouts {\n    create = \"8s\"\n    update = \"8s\"\n    delete = \"8s\"\n  }\n  scopes ";
    config(&[grant("aad", "azure_ad_graph", scopes).replace("scopes ", timeouts)])
}

each_terraform! {
    /// The permissions are written first, then the consent: when the consent keeps failing, the write is
    /// all or nothing, so the application holds exactly what state says (nothing requested that no state
    /// tracks, nothing taken away that state still holds).
    fn a_consent_that_keeps_failing_leaves_the_application_as_state_says(tf) {
        let emu = Emulator::start();
        let clear_faults = || emu.control("DELETE", "/_emulator/faults", Json::Null);
        let mut case = Case::new(tf, &emu, &short_lived(&["User.Read"]));

        emu.fault(FaultSpec::on("POST /v1.0/oauth2PermissionGrants").status(500));
        let run = case.apply_anyhow();
        assert_ne!(run.code, 0, "create failed:\n{}", run.output());
        clear_faults();
        case.apply();

        case.config(&short_lived(&["User.Read", "Directory.AccessAsUser.All"]));
        emu.fault(FaultSpec::on("PATCH /v1.0/oauth2PermissionGrants/*").status(500));
        let run = case.apply_anyhow();
        assert_ne!(run.code, 0, "update failed:\n{}", run.output());
        clear_faults();
        case.apply();

        emu.fault(FaultSpec::on("PATCH /v1.0/oauth2PermissionGrants/*").status(500));
        emu.fault(FaultSpec::on("DELETE /v1.0/oauth2PermissionGrants/*").status(500));
        let run = case.w.destroy();
        assert_ne!(run.code, 0, "destroy failed:\n{}", run.output());
        case.check_remote_matches_state(&run);
        clear_faults();
        case.destroy();
    }
}

each_terraform! {
    /// Consent narrowed in the portal leaves a scope requested but not granted: refresh shows the scope
    /// missing, and destroy still takes back every permission the resource requested (found by make chaos,
    /// seeds 6384773596295293080 and 6384773596295293101: the requested entry stayed behind).
    fn destroy_after_consent_was_narrowed_out_of_band_leaves_nothing(tf) {
        for (api, scopes, narrowed) in [
            (AZURE_AD_GRAPH, &["Directory.AccessAsUser.All", "User.Read"][..], "Directory.AccessAsUser.All"),
            (PARTNER_CENTER, &["user_impersonation"][..], "user_impersonation"),
        ] {
            let emu = Emulator::start();
            let alias = if api == AZURE_AD_GRAPH { "azure_ad_graph" } else { "partner_center" };
            let mut case = Case::new(tf, &emu, &config(&[grant("g", alias, scopes)]));
            case.apply();
            let grant_id = the_grant(&emulator_state(&emu), api)["id"].as_str().unwrap().to_owned();
            emu.control(
                "POST",
                &format!("/_emulator/grants/{grant_id}/remove-scope"),
                json!({ "scope": narrowed }),
            );
            emu.settle();
            let (plan, run) = case.plan();
            assert!(!plan.is_empty(), "the narrowed consent is drift:\n{}", run.output());
            case.destroy();
        }
    }
}
