//! The bad-input table: invalid configurations, each with the diagnostic a user sees (summary, detail and
//! the attribute Terraform points at, whose source line it prints), end to end with Terraform 1.0.3.
//! Validate-time errors send nothing to the emulator. Cases that share a setup share one Terraform run:
//! Terraform reports every diagnostic of a run, so one `terraform validate` checks most of the table.

mod support;

use partnercenter_emulator::demo;
use serde_json::json;
use support::emulator::Emulator;
use support::{Run, Workdir};

/// One row: where the error must point and what it must say.
struct Case {
    /// The object Terraform names in "with …," (a resource, data source or provider address).
    with: &'static str,
    summary: &'static str,
    /// Must appear in the detail (whitespace-normalized: Terraform wraps long lines).
    detail: &'static [&'static str],
    /// The source line Terraform prints for the attribute (None when the diagnostic has no attribute).
    line: Option<&'static str>,
}

const fn case(
    with: &'static str,
    summary: &'static str,
    detail: &'static [&'static str],
    line: Option<&'static str>,
) -> Case {
    Case {
        with,
        summary,
        detail,
        line,
    }
}

/// One diagnostic block of Terraform's output.
#[derive(Debug)]
struct Block {
    summary: String,
    with: String,
    source: String,
    detail: String,
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits Terraform's output into its "Error: …" blocks.
fn error_blocks(out: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    for chunk in out.split("\nError: ").skip(1) {
        let mut lines = chunk.lines();
        let summary = lines.next().unwrap_or("").trim().to_owned();
        let rest: Vec<&str> = lines.collect();
        let with = rest
            .iter()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("with ")
                    .map(|w| w.trim_end_matches(',').to_owned())
            })
            .unwrap_or_default();
        // The source line: "  12:   application_id = ..." (after "on main.tf line 12, ...").
        let source = rest
            .iter()
            .find(|l| {
                let t = l.trim_start();
                t.split_once(':')
                    .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            })
            .map(|l| l.trim().to_owned())
            .unwrap_or_default();
        // The detail follows the source line (or the "with"/"on" lines when there is none).
        let after = rest
            .iter()
            .rposition(|l| {
                let t = l.trim();
                t.starts_with("with ") || t.starts_with("on ") || (!source.is_empty() && t == source)
            })
            .map_or(0, |i| i + 1);
        let detail = normalize(&rest[after..].join("\n"));
        blocks.push(Block {
            summary,
            with,
            source,
            detail,
        });
    }
    blocks
}

/// Every case has its diagnostic in `run`; returns a table line per case.
#[track_caller]
fn check(run: &Run, cases: &[Case], what: &str) -> Vec<String> {
    let out = run.output();
    assert_ne!(run.code, 0, "{what}: Terraform should fail:\n{out}");
    assert!(!out.contains("panic"), "{what}: {out}");
    let blocks = error_blocks(&out);
    let mut lines = Vec::new();
    for c in cases {
        let found = blocks.iter().find(|b| {
            b.summary == c.summary
                && b.with == c.with
                && c.detail.iter().all(|d| b.detail.contains(&normalize(d)))
                && c.line.is_none_or(|l| b.source.contains(l))
        });
        assert!(
            found.is_some(),
            "{what}: no diagnostic \"{}\" with {} at {:?} saying {:?}.\nDiagnostics seen:\n{:#?}\n\nOutput:\n{out}",
            c.summary,
            c.with,
            c.line,
            c.detail,
            blocks
        );
        lines.push(format!(
            "{what:<10} | {:<52} | {:<45} | {}",
            c.with,
            c.summary,
            c.line.unwrap_or("(no attribute)")
        ));
    }
    lines
}

const APP: &str = demo::APP_ID;

/// The validate-time table: every block below is invalid in one way.
fn validate_config() -> String {
    format!(
        r#"
provider "partnercenter" {{}}
provider "partnercenter" {{
  alias     = "bad_tenant"
  tenant_id = "contoso"
}}
provider "partnercenter" {{
  alias     = "bad_client"
  client_id = "12345"
}}
provider "partnercenter" {{
  alias       = "bad_environment"
  environment = "germany"
}}
provider "partnercenter" {{
  alias = "http_login"
  endpoints {{
    login = "http://login.example.com"
  }}
}}
provider "partnercenter" {{
  alias = "relative_graph"
  endpoints {{
    graph = "graph.microsoft.com"
  }}
}}
provider "partnercenter" {{
  alias                   = "two_secrets"
  client_secret           = "inline"
  client_secret_file_path = "/run/secrets/partnercenter"
}}
provider "partnercenter" {{
  alias                   = "two_refresh_tokens"
  refresh_token           = "inline"
  refresh_token_file_path = "/run/secrets/refresh-token"
}}
provider "partnercenter" {{
  alias         = "blank_secret"
  client_secret = " "
}}

resource "partnercenter_web_app_key" "bad_app" {{
  application_id = "not-a-guid"
}}
resource "partnercenter_web_app_key" "bad_validity" {{
  application_id = "{APP}"
  validity       = "3y"
}}
resource "partnercenter_web_app_key" "short_validity" {{
  application_id = "{APP}"
  validity       = "10m"
}}
resource "partnercenter_web_app_key" "bad_end_date" {{
  application_id = "{APP}"
  end_date       = "next friday"
}}
resource "partnercenter_web_app_key" "validity_and_end_date" {{
  application_id = "{APP}"
  validity       = "1y"
  end_date       = "2030-01-01T00:00:00Z"
}}
resource "partnercenter_web_app_key" "bad_rotate_before" {{
  application_id = "{APP}"
  rotate_before  = "a month"
}}
resource "partnercenter_web_app_key" "negative_rotate_before" {{
  application_id = "{APP}"
  rotate_before  = "-24h"
}}
resource "partnercenter_web_app_key" "blank_display_name" {{
  application_id = "{APP}"
  display_name   = "  "
}}
resource "partnercenter_web_app_key" "bad_timeout" {{
  application_id = "{APP}"
  timeouts {{
    create = "soon"
  }}
}}

resource "partnercenter_permission_grant" "bad_app" {{
  application_id = "app"
  api            = "partner_center"
  scopes         = ["user_impersonation"]
}}
resource "partnercenter_permission_grant" "bad_alias" {{
  application_id = "{APP}"
  api            = "partner-center"
  scopes         = ["user_impersonation"]
}}
resource "partnercenter_permission_grant" "graph_alias" {{
  application_id = "{APP}"
  api            = "graph"
  scopes         = ["User.Read"]
}}
resource "partnercenter_permission_grant" "no_scopes" {{
  application_id = "{APP}"
  api            = "partner_center"
  scopes         = []
}}
resource "partnercenter_permission_grant" "blank_scope" {{
  application_id = "{APP}"
  api            = "partner_center"
  scopes         = [""]
}}

data "partnercenter_customers" "bad_reseller" {{
  indirect_reseller_id = "reseller-1"
}}
data "partnercenter_customers" "blank_company" {{
  company_name_prefix = ""
}}
data "partnercenter_customers" "blank_domain" {{
  domain_prefix = " "
}}
data "partnercenter_mpn_id" "bad_mpn" {{
  mpn_id = "MPN-123"
}}
data "partnercenter_indirect_resellers" "blank_name" {{
  name_prefix = ""
}}
data "partnercenter_consent_url" "bad_client" {{
  client_id    = "x"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "bad_redirect" {{
  client_id    = "{APP}"
  redirect_uri = "localhost:8400"
}}
data "partnercenter_consent_url" "via_bad_tenant" {{
  provider     = partnercenter.bad_tenant
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_bad_client" {{
  provider     = partnercenter.bad_client
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_bad_environment" {{
  provider     = partnercenter.bad_environment
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_http_login" {{
  provider     = partnercenter.http_login
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_relative_graph" {{
  provider     = partnercenter.relative_graph
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_two_secrets" {{
  provider     = partnercenter.two_secrets
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_two_refresh_tokens" {{
  provider     = partnercenter.two_refresh_tokens
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "via_blank_secret" {{
  provider     = partnercenter.blank_secret
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
}}
data "partnercenter_consent_url" "bad_tenant" {{
  client_id    = "{APP}"
  redirect_uri = "http://localhost:8400"
  tenant_id    = "contoso"
}}
"#
    )
}

const PROVIDER: &str = "provider[\"registry.terraform.io/cspkit/partnercenter\"]";

fn validate_cases() -> Vec<Case> {
    const GUID: &[&str] = &["is not a GUID", "like 00000000-0000-0000-0000-000000000000"];
    const EMPTY: &[&str] = &["The value is empty"];
    vec![
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".bad_tenant"
            ),
            "Invalid value for tenant_id",
            &["\"contoso\" is not a GUID", "Directory (tenant) ID"],
            Some("tenant_id = \"contoso\""),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".bad_client"
            ),
            "Invalid value for client_id",
            &["\"12345\" is not a GUID"],
            Some("client_id = \"12345\""),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".bad_environment"
            ),
            "Invalid value for environment",
            &["\"germany\" is not one of \"public\", \"usgovernment\", \"china\""],
            Some("environment = \"germany\""),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".http_login"
            ),
            "Invalid value for endpoints.login",
            &["uses plain http", "loopback"],
            Some("login = \"http://login.example.com\""),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".relative_graph"
            ),
            "Invalid value for endpoints.graph",
            &["\"graph.microsoft.com\" is not an absolute URL"],
            Some("graph = \"graph.microsoft.com\""),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".two_secrets"
            ),
            "Conflicting configuration arguments",
            &["\"client_secret_file_path\" and \"client_secret\" cannot both be set"],
            Some("client_secret_file_path = "),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".two_refresh_tokens"
            ),
            "Conflicting configuration arguments",
            &["\"refresh_token_file_path\" and \"refresh_token\" cannot both be set"],
            Some("refresh_token_file_path = "),
        ),
        case(
            concat!(
                "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                ".blank_secret"
            ),
            "Invalid value for client_secret",
            EMPTY,
            Some("client_secret = "),
        ),
        case(
            "partnercenter_web_app_key.bad_app",
            "Invalid value for application_id",
            GUID,
            Some("application_id = \"not-a-guid\""),
        ),
        case(
            "partnercenter_web_app_key.bad_validity",
            "Invalid value for validity",
            &["\"3y\" is not a validity", "\"1y\" or \"2y\""],
            Some("validity       = \"3y\""),
        ),
        case(
            "partnercenter_web_app_key.short_validity",
            "Invalid value for validity",
            &["\"10m\" is shorter than an hour"],
            Some("validity       = \"10m\""),
        ),
        case(
            "partnercenter_web_app_key.bad_end_date",
            "Invalid value for end_date",
            &["\"next friday\" is not an RFC 3339 time"],
            Some("end_date       = \"next friday\""),
        ),
        case(
            "partnercenter_web_app_key.validity_and_end_date",
            "Conflicting configuration arguments",
            &["\"validity\" and \"end_date\" cannot both be set"],
            Some("validity       = \"1y\""),
        ),
        case(
            "partnercenter_web_app_key.bad_rotate_before",
            "Invalid value for rotate_before",
            &["\"a month\" is not a duration", "\"720h\""],
            Some("rotate_before  = \"a month\""),
        ),
        case(
            "partnercenter_web_app_key.negative_rotate_before",
            "Invalid value for rotate_before",
            &["\"-24h\" is not a duration"],
            Some("rotate_before  = \"-24h\""),
        ),
        case(
            "partnercenter_web_app_key.blank_display_name",
            "Invalid value for display_name",
            EMPTY,
            Some("display_name   = \"  \""),
        ),
        case(
            "partnercenter_web_app_key.bad_timeout",
            "Invalid value for timeouts.create",
            &["\"soon\" is not a duration"],
            Some("create = \"soon\""),
        ),
        case(
            "partnercenter_permission_grant.bad_app",
            "Invalid value for application_id",
            GUID,
            Some("application_id = \"app\""),
        ),
        case(
            "partnercenter_permission_grant.bad_alias",
            "Invalid value for api",
            &[
                "\"partner-center\" is neither an API's App ID (a GUID) nor a known alias",
                "partner_center",
            ],
            Some("api            = \"partner-center\""),
        ),
        case(
            "partnercenter_permission_grant.graph_alias",
            "Invalid value for api",
            &["\"graph\" is neither", "microsoft_graph"],
            Some("api            = \"graph\""),
        ),
        case(
            "partnercenter_permission_grant.no_scopes",
            "Invalid value for scopes",
            &["The set is empty"],
            Some("scopes         = []"),
        ),
        case(
            "partnercenter_permission_grant.blank_scope",
            "Invalid value for scopes",
            EMPTY,
            Some("scopes         = [\"\"]"),
        ),
        case(
            "data.partnercenter_customers.bad_reseller",
            "Invalid value for indirect_reseller_id",
            &["\"reseller-1\" is not a GUID", "indirect reseller's tenant ID"],
            Some("indirect_reseller_id = \"reseller-1\""),
        ),
        case(
            "data.partnercenter_customers.blank_company",
            "Invalid value for company_name_prefix",
            EMPTY,
            Some("company_name_prefix = \"\""),
        ),
        case(
            "data.partnercenter_customers.blank_domain",
            "Invalid value for domain_prefix",
            EMPTY,
            Some("domain_prefix = \" \""),
        ),
        case(
            "data.partnercenter_mpn_id.bad_mpn",
            "Invalid value for mpn_id",
            &["\"MPN-123\" is not an MPN ID"],
            Some("mpn_id = \"MPN-123\""),
        ),
        case(
            "data.partnercenter_indirect_resellers.blank_name",
            "Invalid value for name_prefix",
            EMPTY,
            Some("name_prefix = \"\""),
        ),
        case(
            "data.partnercenter_consent_url.bad_client",
            "Invalid value for client_id",
            &["\"x\" is not a GUID"],
            Some("client_id    = \"x\""),
        ),
        case(
            "data.partnercenter_consent_url.bad_redirect",
            "Invalid value for redirect_uri",
            &["\"localhost:8400\" is not an absolute URL"],
            Some("redirect_uri = \"localhost:8400\""),
        ),
        case(
            "data.partnercenter_consent_url.bad_tenant",
            "Invalid value for tenant_id",
            &["\"contoso\" is not a tenant"],
            Some("tenant_id    = \"contoso\""),
        ),
    ]
}

each_terraform! {
    fn the_bad_input_table(tf) {
        the_bad_input_table_on(tf)
    }
}

fn the_bad_input_table_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let mut table = Vec::new();

    // 1. Validate time: 30 cases in one run, and not one request.
    let w = emu.demo_env(Workdir::with(tf, &validate_config()));
    let run = w.validate();
    let cases = validate_cases();
    assert!(cases.len() >= 30);
    table.extend(check(&run, &cases, "validate"));
    assert!(
        emu.requests().is_empty(),
        "validate sent requests: {:?}",
        emu.requests()
    );

    // 2. Configure and plan time, no network: missing credentials of each kind, unreadable secret file,
    //    use_oidc without a token.
    let w = emu.endpoints_env(Workdir::with(
        tf,
        r#"
provider "partnercenter" {}
provider "partnercenter" {
  alias     = "secret_only"
  tenant_id = "6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90"
  client_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  client_secret = "s3cret-that-is-never-sent"
}
provider "partnercenter" {
  alias    = "oidc"
  use_oidc = true
}
provider "partnercenter" {
  alias                   = "missing_file"
  client_secret_file_path = "/nonexistent/partnercenter-secret"
}
data "partnercenter_customers" "no_credentials" {}
data "partnercenter_mpn_id" "no_refresh_token" {
  provider = partnercenter.secret_only
}
data "partnercenter_consent_url" "oidc" {
  provider     = partnercenter.oidc
  client_id    = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  redirect_uri = "http://localhost:8400"
}
data "partnercenter_consent_url" "missing_file" {
  provider     = partnercenter.missing_file
  client_id    = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  redirect_uri = "http://localhost:8400"
}
"#,
    ));
    let run = w.run(&["plan", "-no-color", "-input=false"]);
    table.extend(check(
        &run,
        &[
            case(
                "data.partnercenter_customers.no_credentials",
                "Missing provider credentials",
                &[
                    "Listing customers needs app-only (client credentials) credentials",
                    "`tenant_id`",
                    "`client_id`",
                    "`client_secret`",
                ],
                Some("data \"partnercenter_customers\" \"no_credentials\""),
            ),
            case(
                "data.partnercenter_mpn_id.no_refresh_token",
                "Missing provider credentials",
                &[
                    "app+user (Secure Application Model refresh token)",
                    "`refresh_token`",
                    "terraform-provider-partnercenter login",
                ],
                Some("data \"partnercenter_mpn_id\" \"no_refresh_token\""),
            ),
            case(
                concat!(
                    "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                    ".oidc"
                ),
                "No OIDC token available",
                &["ARM_OIDC_TOKEN", "id-token: write"],
                Some("use_oidc = true"),
            ),
            case(
                concat!(
                    "provider[\"registry.terraform.io/cspkit/partnercenter\"]",
                    ".missing_file"
                ),
                "Cannot read secret file",
                &["Cannot read /nonexistent/partnercenter-secret"],
                Some("client_secret_file_path = "),
            ),
        ],
        "configure",
    ));
    assert!(
        emu.requests().is_empty(),
        "nothing may be sent: {:?}",
        emu.requests()
    );

    // 3. Bad values from the environment are reported with the variable's name.
    let w = emu
        .endpoints_env(Workdir::with(
            tf,
            "provider \"partnercenter\" {}\ndata \"partnercenter_customers\" \"all\" {}\n",
        ))
        .env("PARTNERCENTER_TENANT_ID", "contoso.onmicrosoft.com")
        .env("PARTNERCENTER_CLIENT_ID", APP)
        .env("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET);
    let mut w = w;
    w.set_env("PARTNERCENTER_GRAPH_ENDPOINT", "http://graph.example.com");
    let run = w.run(&["plan", "-no-color", "-input=false"]);
    table.extend(check(
        &run,
        &[
            case(
                PROVIDER,
                "Invalid GUID",
                &[
                    "From the environment variable PARTNERCENTER_TENANT_ID",
                    "\"contoso.onmicrosoft.com\" is not a GUID",
                ],
                None,
            ),
            case(
                PROVIDER,
                "Invalid endpoint",
                &[
                    "From the environment variable PARTNERCENTER_GRAPH_ENDPOINT",
                    "uses plain http",
                ],
                None,
            ),
        ],
        "env",
    ));
    assert!(
        emu.requests().is_empty(),
        "nothing may be sent: {:?}",
        emu.requests()
    );

    // 4. Creating a key needs app-only credentials: an apply with tenant and client only.
    let w = emu
        .endpoints_env(Workdir::with(tf, &format!(
            "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"k\" {{\n  application_id = \"{APP}\"\n}}\n"
        )))
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", APP);
    let run = w.apply();
    table.extend(check(
        &run,
        &[case(
            "partnercenter_web_app_key.k",
            "Missing provider credentials",
            &[
                "Creating a web app key needs app-only (client credentials) credentials",
                "`client_secret`",
            ],
            Some("resource \"partnercenter_web_app_key\" \"k\""),
        )],
        "apply",
    ));
    assert!(
        emu.requests().is_empty(),
        "nothing may be sent: {:?}",
        emu.requests()
    );

    // 5. What Microsoft refuses, at plan time: a wrong tenant, an expired refresh token, an unknown scope,
    //    an end date in the past.
    emu.control(
        "POST",
        "/_emulator/settings",
        json!({"refresh_token_max_inactive_seconds": 60}),
    );
    emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 120}));
    let w = emu.demo_env(Workdir::with(
        tf,
        &format!(
            r#"
provider "partnercenter" {{}}
provider "partnercenter" {{
  alias     = "other_tenant"
  tenant_id = "11111111-2222-4333-8444-555555555555"
}}
data "partnercenter_customers" "wrong_tenant" {{
  provider = partnercenter.other_tenant
}}
data "partnercenter_mpn_id" "expired_refresh_token" {{}}
resource "partnercenter_permission_grant" "unknown_scope" {{
  application_id = "{APP}"
  api            = "partner_center"
  scopes         = ["user_impersonation", "Billing.Write"]
}}
resource "partnercenter_web_app_key" "past_end_date" {{
  application_id = "{APP}"
  end_date       = "2001-01-01T00:00:00Z"
}}
"#
        ),
    ));
    let run = w.run(&["plan", "-no-color", "-input=false"]);
    table.extend(check(
        &run,
        &[
            case(
                "data.partnercenter_customers.wrong_tenant",
                "Error listing customers",
                &["AADSTS90002", "11111111-2222-4333-8444-555555555555"],
                Some("data \"partnercenter_customers\" \"wrong_tenant\""),
            ),
            case(
                "data.partnercenter_mpn_id.expired_refresh_token",
                "Error reading the MPN profile",
                &["AADSTS700082", "terraform-provider-partnercenter login"],
                Some("data \"partnercenter_mpn_id\" \"expired_refresh_token\""),
            ),
            case(
                "partnercenter_permission_grant.unknown_scope",
                "Unknown scope",
                &["Billing.Write", "Valid values:", "user_impersonation"],
                Some("scopes         = [\"user_impersonation\", \"Billing.Write\"]"),
            ),
            case(
                "partnercenter_web_app_key.past_end_date",
                "end_date is in the past",
                &["2001-01-01T00:00:00Z is before now", "give a future date"],
                Some("end_date       = \"2001-01-01T00:00:00Z\""),
            ),
        ],
        "plan",
    ));

    // 6. Bad import ids, for both resources.
    let w = emu.demo_env(Workdir::with(tf, &format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"k\" {{\n  application_id = \"{APP}\"\n}}\nresource \"partnercenter_permission_grant\" \"g\" {{\n  application_id = \"{APP}\"\n  api            = \"partner_center\"\n  scopes         = [\"user_impersonation\"]\n}}\n"
    )));
    let run = w.run(&["import", "-no-color", "partnercenter_web_app_key.k", "not-an-id"]);
    table.extend(check(
        &run,
        &[case(
            "",
            "Invalid import id",
            &["\"not-an-id\" is not a key id", "<application_id>/<key_id>"],
            None,
        )],
        "import",
    ));
    let run = w.run(&[
        "import",
        "-no-color",
        "partnercenter_permission_grant.g",
        &format!("{APP}/graph"),
    ]);
    table.extend(check(
        &run,
        &[case(
            "",
            "Invalid import id",
            &["\"graph\" is not an API", "<application_id>/<api>"],
            None,
        )],
        "import",
    ));

    println!(
        "\nbad-input table ({} cases):\n{}\n",
        table.len(),
        table.join("\n")
    );
    assert!(table.len() >= 40, "{} cases", table.len());
}
