//! End to end with Terraform 1.0.3: the network-free data source `partnercenter_consent_url` and the
//! provider block's validation, through validate, plan, apply, a second plan, destroy.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use support::Workdir;

const APP: &str = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47";

fn consent(provider_block: &str, data_args: &str) -> String {
    format!(
        r#"{provider_block}
data "partnercenter_consent_url" "c" {{
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
  {data_args}
}}
output "url" {{ value = data.partnercenter_consent_url.c.url }}
output "scopes" {{ value = data.partnercenter_consent_url.c.scopes }}
"#
    )
}

each_terraform! {
    fn full_lifecycle_with_an_empty_provider_block(tf) {
        full_lifecycle_with_an_empty_provider_block_on(tf)
    }
}

fn full_lifecycle_with_an_empty_provider_block_on(tf: &support::Terraform) {
    let w = Workdir::with(tf, &consent(r#"provider "partnercenter" {}"#, ""));
    w.validate().success();
    w.apply().success();
    let url = w.output("url");
    let url = url.as_str().unwrap();
    assert!(
        url.starts_with("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"),
        "{url}"
    );
    assert!(url.contains(&format!("client_id={APP}")));
    assert!(url.contains("redirect_uri=http%3A%2F%2Flocalhost%3A8400"));
    assert!(
        url.contains("api.partnercenter.microsoft.com%2Fuser_impersonation+offline_access"),
        "{url}"
    );
    assert_eq!(
        w.output("scopes"),
        serde_json::json!([
            "https://api.partnercenter.microsoft.com/user_impersonation",
            "offline_access"
        ])
    );
    let second = w.plan();
    assert_eq!(
        second.code,
        0,
        "second plan must show no changes:\n{}",
        second.output()
    );
    w.destroy().success();
}

each_terraform! {
    fn tenant_scopes_environment_and_login_endpoint_shape_the_url(tf) {
        tenant_scopes_environment_and_login_endpoint_shape_the_url_on(tf)
    }
}

fn tenant_scopes_environment_and_login_endpoint_shape_the_url_on(tf: &support::Terraform) {
    let provider = r#"provider "partnercenter" {
  environment = "china"
}"#;
    let w = Workdir::with(
        tf,
        &consent(
            provider,
            r#"tenant_id = "contoso.onmicrosoft.com"
  scopes = ["openid", "offline_access"]"#,
        ),
    );
    w.apply().success();
    let url = w.output("url").as_str().unwrap().to_owned();
    assert!(
        url.starts_with("https://login.chinacloudapi.cn/contoso.onmicrosoft.com/"),
        "{url}"
    );
    assert!(url.contains("scope=openid+offline_access"), "{url}");

    let w = Workdir::with(tf, &consent(r#"provider "partnercenter" {}"#, ""))
        .env("PARTNERCENTER_LOGIN_ENDPOINT", "http://127.0.0.1:9/");
    w.apply().success();
    let url = w.output("url").as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:9/organizations/"), "{url}");
}

each_terraform! {
    fn a_bad_guid_in_the_provider_block_is_reported_on_the_attribute_at_validate(tf) {
        a_bad_guid_in_the_provider_block_is_reported_on_the_attribute_at_validate_on(tf)
    }
}

fn a_bad_guid_in_the_provider_block_is_reported_on_the_attribute_at_validate_on(tf: &support::Terraform) {
    let w = Workdir::with(
        tf,
        &consent(r#"provider "partnercenter" { tenant_id = "contoso" }"#, ""),
    );
    let run = w.validate().failure();
    let out = run.output();
    assert!(out.contains("Invalid value for tenant_id"), "{out}");
    assert!(out.contains("\"contoso\" is not a GUID"), "{out}");
    assert!(
        out.contains(r#"provider "partnercenter" { tenant_id = "contoso" }"#),
        "must point at the line: {out}"
    );
}

each_terraform! {
    fn a_bad_guid_in_the_data_source_is_reported_on_the_attribute_at_validate(tf) {
        a_bad_guid_in_the_data_source_is_reported_on_the_attribute_at_validate_on(tf)
    }
}

fn a_bad_guid_in_the_data_source_is_reported_on_the_attribute_at_validate_on(tf: &support::Terraform) {
    let w = Workdir::with(
        tf,
        r#"provider "partnercenter" {}
data "partnercenter_consent_url" "c" {
  client_id    = "my-app"
  redirect_uri = "localhost"
}"#,
    );
    let out = w.validate().failure().output();
    assert!(
        out.contains("Invalid value for client_id") && out.contains("\"my-app\" is not a GUID"),
        "{out}"
    );
    assert!(
        out.contains("Invalid value for redirect_uri") && out.contains("not an absolute URL"),
        "{out}"
    );
    assert!(
        out.contains("client_id    = \"my-app\""),
        "must point at the line: {out}"
    );
}

each_terraform! {
    fn plain_http_endpoints_are_refused_unless_loopback(tf) {
        plain_http_endpoints_are_refused_unless_loopback_on(tf)
    }
}

fn plain_http_endpoints_are_refused_unless_loopback_on(tf: &support::Terraform) {
    let provider = r#"provider "partnercenter" {
  endpoints {
    login = "http://login.example.com"
  }
}"#;
    let out = Workdir::with(tf, &consent(provider, ""))
        .validate()
        .failure()
        .output();
    assert!(
        out.contains("Invalid value for endpoints.login") && out.contains("clear text"),
        "{out}"
    );

    let env_out = Workdir::with(tf, &consent(r#"provider "partnercenter" {}"#, ""))
        .env("PARTNERCENTER_GRAPH_ENDPOINT", "http://graph.example.com")
        .apply()
        .failure()
        .output();
    assert!(
        env_out.contains("PARTNERCENTER_GRAPH_ENDPOINT") && env_out.contains("clear text"),
        "{env_out}"
    );
}

each_terraform! {
    fn conflicting_secret_arguments_are_caught_at_validate(tf) {
        conflicting_secret_arguments_are_caught_at_validate_on(tf)
    }
}

fn conflicting_secret_arguments_are_caught_at_validate_on(tf: &support::Terraform) {
    let provider = r#"provider "partnercenter" {
  client_secret           = "x"
  client_secret_file_path = "/tmp/secret"
}"#;
    let out = Workdir::with(tf, &consent(provider, ""))
        .validate()
        .failure()
        .output();
    assert!(out.contains("Conflicting configuration arguments"), "{out}");
}

each_terraform! {
    fn the_schema_subcommand_matches_what_terraform_reports(tf) {
        the_schema_subcommand_matches_what_terraform_reports_on(tf)
    }
}

fn the_schema_subcommand_matches_what_terraform_reports_on(tf: &support::Terraform) {
    let w = Workdir::with(tf, &consent(r#"provider "partnercenter" {}"#, ""));
    let from_terraform = w.run(&["providers", "schema", "-json"]).success();
    let from_terraform: serde_json::Value = serde_json::from_str(&from_terraform.stdout).unwrap();
    let ours = std::process::Command::new(support::provider_binary())
        .arg("schema")
        .output()
        .unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
    let key = "registry.terraform.io/cspkit/partnercenter";
    assert_eq!(
        ours["provider_schemas"][key], from_terraform["provider_schemas"][key],
        "`terraform-provider-partnercenter schema` must equal `terraform providers schema -json`"
    );
}

each_terraform! {
    fn provider_logs_reach_terraform_as_levelled_entries_only_when_asked(tf) {
        provider_logs_reach_terraform_as_levelled_entries_only_when_asked_on(tf)
    }
}

fn provider_logs_reach_terraform_as_levelled_entries_only_when_asked_on(tf: &support::Terraform) {
    let w = Workdir::with(tf, &consent(r#"provider "partnercenter" {}"#, ""));
    let debug = w.run(&["plan", "-no-color"]);
    assert!(
        !debug
            .output()
            .contains("provider.terraform-provider-partnercenter"),
        "silent without TF_LOG"
    );
    let logged = Workdir::with(tf, &consent(r#"provider "partnercenter" {}"#, "")).env("TF_LOG", "debug");
    let out = logged.run(&["plan", "-no-color"]).success().output();
    // go-plugin turns our hclog JSON lines into entries with a level and key=value fields; a line it could
    // not parse would show the raw JSON instead.
    assert!(
        out.contains("[DEBUG] provider.terraform-provider-partnercenter: shutdown requested by Terraform"),
        "{out}"
    );
    assert!(out.contains("@module=partnercenter"), "{out}");
    assert!(!out.contains("\"@level\""), "raw JSON lines leaked: {out}");
}

each_terraform! {
    /// A provider argument that depends on a resource not yet created is unknown at plan time: only
    /// operations that need it wait for it; the network-free consent URL is still computed (it used to
    /// abort the whole plan at ConfigureProvider).
    fn an_unknown_provider_argument_does_not_abort_network_free_operations(tf) {
        let emu = support::emulator::Emulator::start();
        let w = emu.demo_env(Workdir::with(
            tf,
            &format!(
                r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  application_id = "{APP}"
}}
provider "partnercenter" {{
  alias     = "later"
  client_id = partnercenter_web_app_key.k.key_id
}}
data "partnercenter_consent_url" "c" {{
  provider     = partnercenter.later
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
output "url" {{ value = data.partnercenter_consent_url.c.url }}
"#
            ),
        ));
        let plan = w.plan();
        assert_eq!(plan.code, 2, "the plan works and shows the key to create:\n{}", plan.output());
        assert!(!plan.output().contains("not yet known"), "{}", plan.output());
        w.apply().success();
        assert!(w.output("url").as_str().unwrap().contains("/oauth2/v2.0/authorize?"));
        w.destroy().success();
    }
}
