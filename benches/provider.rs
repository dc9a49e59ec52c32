//! `make bench`: start-up and footprint figures of the release provider, and its work against the emulator
//! (50,000 customers, 100 keys on 10 apps), each next to a baseline measured in the same run. Prints one
//! table. Not a test: nothing here passes or fails on timing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use terraform_provider_partnercenter::protocol::serve::MAGIC_COOKIE_VALUE;

#[path = "../tests/support/terraform_cert.rs"]
mod terraform_cert;

const HANDSHAKES: usize = 31;
const PLANS: usize = 9;
/// Runs of the slower emulator-backed figures (medians).
const HEAVY_RUNS: usize = 3;
const CUSTOMERS: usize = 50_000;
const CUSTOMER_PAGE: usize = 500;
const KEYS: usize = 100;
const APPS: usize = 10;

fn main() {
    let provider = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-partnercenter"));
    let terraform = terraform();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    let (cert, _) = terraform_cert::terraform_like_client_certificate();
    let handshake = median(
        &(0..HANDSHAKES)
            .map(|_| handshake_latency(&provider, &cert, "unix"))
            .collect::<Vec<_>>(),
    );
    let spawn_floor = median(&(0..HANDSHAKES).map(|_| spawn_floor()).collect::<Vec<_>>());
    rows.push((
        format!("exec -> handshake, AutoMTLS (median of {HANDSHAKES})"),
        ms(handshake),
        format!("`true` exec+wait floor {}; goal <= 5 ms", ms(spawn_floor)),
    ));
    // TCP on loopback, Windows' transport, forced here; the port range is the one Terraform passes.
    let handshake_tcp = median(
        &(0..HANDSHAKES)
            .map(|_| handshake_latency(&provider, &cert, "tcp"))
            .collect::<Vec<_>>(),
    );
    rows.push((
        format!("exec -> handshake, AutoMTLS, TCP transport (median of {HANDSHAKES})"),
        ms(handshake_tcp),
        format!("unix socket above {}; goal <= 5 ms", ms(handshake)),
    ));

    let bench_dir = tempfile::tempdir().expect("temp dir");
    let provider_dir = provider.parent().unwrap_or(Path::new(".")).to_path_buf();
    let with_provider = workdir(
        bench_dir.path(),
        "one-data-source",
        ONE_DATA_SOURCE,
        &provider_dir,
    );
    let floor = workdir(bench_dir.path(), "no-provider", NO_PROVIDER, &provider_dir);

    plan(&terraform, &with_provider); // warm the page cache
    plan(&terraform, &floor);
    let plan_with = median(
        &(0..PLANS)
            .map(|_| plan(&terraform, &with_provider))
            .collect::<Vec<_>>(),
    );
    let plan_floor = median(&(0..PLANS).map(|_| plan(&terraform, &floor)).collect::<Vec<_>>());
    rows.push((
        format!("`terraform plan`, one data source (median of {PLANS})"),
        ms(plan_with),
        format!(
            "Terraform floor (plan, no provider) {}; ratio {:.2}x; overhead {}",
            ms(plan_floor),
            plan_with.as_secs_f64() / plan_floor.as_secs_f64(),
            ms(plan_with.saturating_sub(plan_floor))
        ),
    ));

    let (peak_kib, processes) = peak_provider_rss(&terraform, &with_provider, &[]);
    rows.push((
        format!("provider peak RSS during `terraform plan` (max of {processes} processes)"),
        format!("{:.1} MiB", peak_kib as f64 / 1024.0),
        "goal <= 12 MiB (Go framework providers: ~24 MiB)".into(),
    ));

    let size = std::fs::metadata(&provider).map(|m| m.len()).unwrap_or(0);
    rows.push((
        "release binary size (stripped)".into(),
        format!("{:.1} MiB", size as f64 / (1024.0 * 1024.0)),
        "goal <= 10 MiB (Go: 22-24 MiB)".into(),
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    customers_rows(&runtime, &terraform, bench_dir.path(), &provider_dir, &mut rows);
    keys_rows(&runtime, &terraform, bench_dir.path(), &provider_dir, &mut rows);
    grants_rows(&runtime, &terraform, bench_dir.path(), &provider_dir, &mut rows);

    println!("\n| measure | value | baseline (same run) / goal |\n|---|---|---|");
    for (what, value, baseline) in rows {
        println!("| {what} | {value} | {baseline} |");
    }
    println!("\nmachine: {} cores, {}", cores(), kernel());
}

const ONE_DATA_SOURCE: &str = r#"
terraform {
  required_providers {
    partnercenter = { source = "cspkit/partnercenter" }
  }
}
provider "partnercenter" {}
data "partnercenter_consent_url" "c" {
  client_id    = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  redirect_uri = "http://localhost:8400"
}
output "url" { value = data.partnercenter_consent_url.c.url }
"#;

const NO_PROVIDER: &str = r#"
output "hello" { value = "world" }
"#;

fn terraform() -> PathBuf {
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-terraform.sh"))
        .output()
        .expect("install terraform");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Time from exec to the handshake line, with the environment Terraform gives (AutoMTLS on, go-plugin's
/// port range), over `transport` ("unix" or "tcp").
fn handshake_latency(provider: &Path, cert: &str, transport: &str) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(provider)
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", cert)
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PARTNERCENTER_PLUGIN_TRANSPORT", transport)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("handshake");
    let elapsed = started.elapsed();
    assert!(
        line.starts_with(&format!("1|6|{transport}|")),
        "unexpected handshake {line}"
    );
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn spawn_floor() -> Duration {
    let started = Instant::now();
    let _ = Command::new("true").status();
    started.elapsed()
}

/// Runs a plan while sampling every provider process's VmHWM (the kernel's record of its peak resident
/// set) from /proc; returns the largest, in KiB, and how many provider processes were seen.
fn peak_provider_rss(terraform: &Path, dir: &Path, env: &[(String, String)]) -> (u64, usize) {
    let mut child = Command::new(terraform)
        .args(["plan", "-no-color", "-input=false"])
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("terraform plan");
    let mut peaks: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    while child.try_wait().ok().flatten().is_none() {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            // comm is cut to 15 characters.
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if !comm.starts_with("terraform-provi") {
                continue;
            }
            // Only this Terraform's providers, not those of other runs on the machine. Terraform 1.0 re-executes
            // itself (panicwrap): its providers are grandchildren of the process started here.
            if !descends_from(pid, child.id()) {
                continue;
            }
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            if let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                let peak = peaks.entry(pid).or_default();
                *peak = (*peak).max(kib);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    (peaks.values().copied().max().unwrap_or(0), peaks.len())
}

/// Whether `pid`'s parent, or an ancestor a few generations up, is `ancestor`.
fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut current = pid;
    for _ in 0..4 {
        let stat = std::fs::read_to_string(format!("/proc/{current}/stat")).unwrap_or_default();
        // The command name is in parentheses and may hold spaces; the parent pid is the 2nd field after it.
        let Some(parent) = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            return false;
        };
        if parent == ancestor {
            return true;
        }
        if parent <= 1 {
            return false;
        }
        current = parent;
    }
    false
}

fn workdir(base: &Path, name: &str, config: &str, provider_dir: &Path) -> PathBuf {
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).expect("workdir");
    std::fs::write(dir.join("main.tf"), config).expect("main.tf");
    std::fs::write(
        dir.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  dev_overrides {{ \"cspkit/partnercenter\" = \"{}\" }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        ),
    )
    .expect("cli.tfrc");
    dir
}

fn plan(terraform: &Path, dir: &Path) -> Duration {
    let started = Instant::now();
    let out = Command::new(terraform)
        .args(["plan", "-no-color", "-input=false", "-refresh=true"])
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .expect("terraform plan");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_default()
}

/// The in-process emulator, on a free port.
fn start_emulator(
    runtime: &tokio::runtime::Runtime,
    config: partnercenter_emulator::EmulatorConfig,
) -> partnercenter_emulator::RunningEmulator {
    runtime
        .block_on(partnercenter_emulator::spawn(config))
        .expect("emulator")
}

/// The provider environment for the demo partner on an emulator at `base`.
fn emulator_env(base: &str) -> Vec<(String, String)> {
    use partnercenter_emulator::demo;
    [
        ("PARTNERCENTER_LOGIN_ENDPOINT", base),
        ("PARTNERCENTER_GRAPH_ENDPOINT", base),
        ("PARTNERCENTER_PARTNER_CENTER_ENDPOINT", base),
        ("PARTNERCENTER_TENANT_ID", demo::TENANT_ID),
        ("PARTNERCENTER_CLIENT_ID", demo::APP_ID),
        ("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET),
        ("PARTNERCENTER_REFRESH_TOKEN", demo::REFRESH_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Runs `terraform args...` in `dir` with `env`; panics with its output when it fails.
fn terraform_timed(terraform: &Path, dir: &Path, args: &[&str], env: &[(String, String)]) -> Duration {
    let started = Instant::now();
    let out = Command::new(terraform)
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("terraform");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "terraform {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn emulator_token(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    audience: &str,
) -> String {
    use partnercenter_emulator::demo;
    runtime.block_on(async {
        let answer: serde_json::Value = http
            .post(format!("{base}/{}/oauth2/v2.0/token", demo::TENANT_ID))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", demo::APP_ID),
                ("client_secret", demo::CLIENT_SECRET),
                ("scope", &format!("{audience}/.default")),
            ])
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token JSON");
        answer["access_token"].as_str().expect("access token").to_owned()
    })
}

/// What a paging client needs from a page; items are skipped so the figure measures the emulator.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerPage {
    items: Vec<serde::de::IgnoredAny>,
    continuation_token: Option<String>,
}

/// The emulator alone: every customer page, followed by continuation token, with a plain HTTP client.
fn emulator_paging(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> Duration {
    runtime.block_on(async {
        let started = Instant::now();
        let mut seen = 0;
        let mut continuation: Option<String> = None;
        loop {
            let mut request = http.get(format!("{base}/v1/customers")).bearer_auth(token);
            request = match &continuation {
                None => request.query(&[("size", CUSTOMER_PAGE.to_string())]),
                Some(c) => request
                    .query(&[
                        ("size", CUSTOMER_PAGE.to_string()),
                        ("seekOperation", "next".into()),
                    ])
                    .header("MS-ContinuationToken", c),
            };
            let response = request.send().await.expect("customer page");
            // A full last page still carries a token, and following it answers 400 (code 2000), as
            // Partner Center does: that is the end of the list.
            if continuation.is_some()
                && response.status() == reqwest::StatusCode::BAD_REQUEST
                && seen == CUSTOMERS
            {
                break;
            }
            assert!(
                response.status().is_success(),
                "customer page: {}",
                response.status()
            );
            let page: CustomerPage =
                serde_json::from_slice(&response.bytes().await.expect("body")).expect("page JSON");
            seen += page.items.len();
            continuation = page.continuation_token;
            if continuation.is_none() {
                break;
            }
        }
        assert_eq!(seen, CUSTOMERS, "the emulator served every customer");
        started.elapsed()
    })
}

/// `terraform plan` of `partnercenter_customers` over 50,000 emulated customers, next to the emulator's
/// own paging time, and the provider's peak RSS while it holds them.
fn customers_rows(
    runtime: &tokio::runtime::Runtime,
    terraform: &Path,
    base_dir: &Path,
    provider_dir: &Path,
    rows: &mut Vec<(String, String, String)>,
) {
    use partnercenter_emulator::{EmulatorConfig, Seed, Settings};
    let config = EmulatorConfig {
        seed: Seed::generated(CUSTOMERS),
        // Every run pages 100 times; the throttle would otherwise be the figure.
        settings: Settings {
            customer_rate_limit_per_minute: 1_000_000,
            ..Settings::default()
        },
        ..EmulatorConfig::default()
    };
    let emulator = start_emulator(runtime, config);
    let base = emulator.base_url();
    let env = emulator_env(&base);
    let http = reqwest::Client::new();
    let token = emulator_token(
        runtime,
        &http,
        &base,
        partnercenter_emulator::demo::PARTNER_CENTER_AUDIENCE,
    );
    let dir = workdir(base_dir, "customers-50k", CUSTOMERS_CONFIG, provider_dir);
    let plan_args = ["plan", "-no-color", "-input=false"];

    emulator_paging(runtime, &http, &base, &token); // warm
    terraform_timed(terraform, &dir, &plan_args, &env);
    let paging = median(
        &(0..HEAVY_RUNS)
            .map(|_| emulator_paging(runtime, &http, &base, &token))
            .collect::<Vec<_>>(),
    );
    let planned = median(
        &(0..HEAVY_RUNS)
            .map(|_| terraform_timed(terraform, &dir, &plan_args, &env))
            .collect::<Vec<_>>(),
    );
    rows.push((
        format!(
            "`terraform plan`, `partnercenter_customers` over {}k customers, pages of {CUSTOMER_PAGE} (median of {HEAVY_RUNS})",
            CUSTOMERS / 1000
        ),
        ms(planned),
        format!(
            "emulator alone, same {} pages over HTTP {}; ratio {:.1}x",
            CUSTOMERS / CUSTOMER_PAGE,
            ms(paging),
            planned.as_secs_f64() / paging.as_secs_f64()
        ),
    ));
    let client_paging = median(
        &(0..HEAVY_RUNS)
            .map(|_| client_paging(runtime, &base))
            .collect::<Vec<_>>(),
    );
    rows.push((
        format!("the provider's Microsoft client alone, same {}k customers (median of {HEAVY_RUNS})", CUSTOMERS / 1000),
        ms(client_paging),
        format!(
            "emulator alone {}; the rest of the plan above ({}) is Terraform and the provider's value conversion",
            ms(paging),
            ms(planned.saturating_sub(client_paging))
        ),
    ));
    let (peak_kib, processes) = peak_provider_rss(terraform, &dir, &env);
    rows.push((
        format!("provider peak RSS, that plan (max of {processes} processes)"),
        format!("{:.1} MiB", peak_kib as f64 / 1024.0),
        "one data source without network, above; goal <= 64 MiB".into(),
    ));
    runtime.block_on(emulator.shutdown());
}

const CUSTOMERS_CONFIG: &str = r#"
terraform {
  required_providers {
    partnercenter = { source = "cspkit/partnercenter" }
  }
}
provider "partnercenter" {}
data "partnercenter_customers" "all" {}
output "count" { value = data.partnercenter_customers.all.total_count }
"#;

const KEYS_CONFIG: &str = r#"
terraform {
  required_providers {
    partnercenter = { source = "cspkit/partnercenter" }
  }
}
variable "apps" { type = list(string) }
provider "partnercenter" {}
resource "partnercenter_web_app_key" "k" {
  count          = 100
  application_id = var.apps[count.index % length(var.apps)]
  display_name   = "bench-${count.index}"
}
"#;

/// The same 100 addPassword calls (10 per app), sent straight to the emulator one after another.
fn emulator_add_passwords(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    object_ids: &[String],
) -> Duration {
    runtime.block_on(async {
        let started = Instant::now();
        for i in 0..KEYS {
            let response = http
                .post(format!(
                    "{base}/v1.0/applications/{}/addPassword",
                    object_ids[i % object_ids.len()]
                ))
                .bearer_auth(token)
                .json(&serde_json::json!({"passwordCredential": {"displayName": format!("direct-{i}")}}))
                .send()
                .await
                .expect("addPassword");
            assert!(
                response.status().is_success(),
                "addPassword: {}",
                response.status()
            );
            let _ = response.bytes().await;
        }
        started.elapsed()
    })
}

/// `terraform apply` of 100 keys on 10 applications, then `terraform plan` refreshing them: wall times and
/// the requests the emulator saw, next to Terraform's floor for the same state and the emulator alone.
fn keys_rows(
    runtime: &tokio::runtime::Runtime,
    terraform: &Path,
    base_dir: &Path,
    provider_dir: &Path,
    rows: &mut Vec<(String, String, String)>,
) {
    let emulator = start_emulator(runtime, partnercenter_emulator::EmulatorConfig::default());
    let base = emulator.base_url();
    let env = emulator_env(&base);
    let http = reqwest::Client::new();
    let control = |method: reqwest::Method, path: &str, body: serde_json::Value| -> serde_json::Value {
        runtime.block_on(async {
            let response = http
                .request(method, format!("{base}/_emulator{path}"))
                .json(&body)
                .send()
                .await
                .expect("control call");
            assert!(
                response.status().is_success(),
                "control {path}: {}",
                response.status()
            );
            response.json().await.unwrap_or(serde_json::Value::Null)
        })
    };
    let created = control(
        reqwest::Method::POST,
        "/applications",
        serde_json::json!({"count": APPS, "display_name": "bench"}),
    );
    let apps: Vec<(String, String)> = created["applications"]
        .as_array()
        .expect("applications")
        .iter()
        .map(|a| {
            (
                a["appId"].as_str().unwrap_or_default().to_owned(),
                a["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let dir = workdir(base_dir, "keys-100", KEYS_CONFIG, provider_dir);
    let app_ids: Vec<&str> = apps.iter().map(|(app_id, _)| app_id.as_str()).collect();
    std::fs::write(
        dir.join("terraform.tfvars.json"),
        serde_json::json!({ "apps": app_ids }).to_string(),
    )
    .expect("tfvars");

    // Terraform's floor for 100 keys: planning them without state and without any network call.
    let no_state_plan = terraform_timed(
        terraform,
        &dir,
        &["plan", "-no-color", "-input=false", "-refresh=false"],
        &env,
    );
    control(reqwest::Method::DELETE, "/requests", serde_json::Value::Null);
    let applied = terraform_timed(
        terraform,
        &dir,
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        &env,
    );
    let apply_requests = control(reqwest::Method::GET, "/requests", serde_json::Value::Null)
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let token = emulator_token(
        runtime,
        &http,
        &base,
        partnercenter_emulator::demo::GRAPH_AUDIENCE,
    );
    let object_ids: Vec<String> = apps.iter().map(|(_, id)| id.clone()).collect();
    let direct = emulator_add_passwords(runtime, &http, &base, &token, &object_ids);
    rows.push((
        format!("`terraform apply`, {KEYS} keys on {APPS} apps (default parallelism 10)"),
        format!("{} ({apply_requests} requests)", ms(applied)),
        format!(
            "plan of the same {KEYS} keys without network {}; the {KEYS} addPassword calls alone, sequential {}",
            ms(no_state_plan),
            ms(direct)
        ),
    ));

    let refresh_args = ["plan", "-no-color", "-input=false", "-detailed-exitcode"];
    let floor_args = ["plan", "-no-color", "-input=false", "-refresh=false"];
    // The keys the direct calls added are not Terraform's; the refresh must still show no changes.
    let refreshes: Vec<(Duration, usize, usize)> = (0..HEAVY_RUNS)
        .map(|_| {
            control(reqwest::Method::DELETE, "/requests", serde_json::Value::Null);
            let took = terraform_timed(terraform, &dir, &refresh_args, &env);
            let log = control(reqwest::Method::GET, "/requests", serde_json::Value::Null);
            let log = log.as_array().cloned().unwrap_or_default();
            let app_reads = log
                .iter()
                .filter(|r| {
                    r["method"] == "GET" && r["path"].as_str().unwrap_or("").starts_with("/v1.0/applications")
                })
                .count();
            (took, log.len(), app_reads)
        })
        .collect();
    let refreshed = median(&refreshes.iter().map(|r| r.0).collect::<Vec<_>>());
    let (_, requests, app_reads) = refreshes[refreshes.len() - 1];
    let floor = median(
        &(0..HEAVY_RUNS)
            .map(|_| terraform_timed(terraform, &dir, &floor_args, &env))
            .collect::<Vec<_>>(),
    );
    rows.push((
        format!("`terraform plan` refreshing {KEYS} keys on {APPS} apps (median of {HEAVY_RUNS})"),
        format!("{} ({requests} emulator requests, {app_reads} application reads)", ms(refreshed)),
        format!(
            "same plan with -refresh=false {}; ratio {:.2}x; fewest possible reads: {APPS} applications + 1 token",
            ms(floor),
            refreshed.as_secs_f64() / floor.as_secs_f64()
        ),
    ));
    runtime.block_on(emulator.shutdown());
}

/// One permission grant on the demo app, as the quickstart declares it.
fn grant_config(apis: &[(&str, &str)]) -> String {
    let mut config = String::from(
        "terraform {\n  required_providers {\n    partnercenter = { source = \"cspkit/partnercenter\" }\n  }\n}\n\
         provider \"partnercenter\" {}\n",
    );
    for (api, scope) in apis {
        config.push_str(&format!(
            "resource \"partnercenter_permission_grant\" \"{api}\" {{\n  application_id = \"{}\"\n  \
             api = \"{api}\"\n  scopes = [\"{scope}\"]\n}}\n",
            partnercenter_emulator::demo::APP_ID
        ));
    }
    config
}

/// Destroying the quickstart's three grants of one application against destroying one: each destroy waits
/// until reads agree its scopes are gone, and the three waits should overlap, not queue (ratio near 1, not 3).
fn grants_rows(
    runtime: &tokio::runtime::Runtime,
    terraform: &Path,
    base_dir: &Path,
    provider_dir: &Path,
    rows: &mut Vec<(String, String, String)>,
) {
    let emulator = start_emulator(runtime, partnercenter_emulator::EmulatorConfig::default());
    let env = emulator_env(&emulator.base_url());
    let destroy_median = |name: &str, apis: &[(&str, &str)]| {
        let dir = workdir(base_dir, name, &grant_config(apis), provider_dir);
        let apply = ["apply", "-auto-approve", "-no-color", "-input=false"];
        let destroy = ["destroy", "-auto-approve", "-no-color", "-input=false"];
        median(
            &(0..HEAVY_RUNS)
                .map(|_| {
                    terraform_timed(terraform, &dir, &apply, &env);
                    terraform_timed(terraform, &dir, &destroy, &env)
                })
                .collect::<Vec<_>>(),
        )
    };
    let one = destroy_median("grant-1", &[("partner_center", "user_impersonation")]);
    let three = destroy_median(
        "grants-3",
        &[
            ("partner_center", "user_impersonation"),
            ("azure_ad_graph", "User.Read"),
            ("dev_center", "user_impersonation"),
        ],
    );
    rows.push((
        format!("`terraform destroy`, 3 permission grants on one app (median of {HEAVY_RUNS})"),
        ms(three),
        format!(
            "one grant's destroy {}; ratio {:.2}x (1x when their replication waits overlap, 3x when they queue)",
            ms(one),
            three.as_secs_f64() / one.as_secs_f64()
        ),
    ));
    runtime.block_on(emulator.shutdown());
}

/// `partnercenter_microsoft`'s customer stream over every page, as the data source drives it (decoding
/// every customer), without Terraform or the protocol layer.
fn client_paging(runtime: &tokio::runtime::Runtime, base: &str) -> Duration {
    use futures::TryStreamExt;
    use partnercenter_emulator::demo;
    use partnercenter_microsoft::{CallContext, Client, ClientOptions, Credentials, Environment, Secret};
    let url = url::Url::parse(base).expect("base URL");
    let mut options = ClientOptions::new(
        Environment::Public,
        Credentials {
            tenant_id: demo::TENANT_ID.into(),
            client_id: demo::APP_ID.into(),
            client_secret: Some(Secret::new(demo::CLIENT_SECRET)),
            ..Credentials::default()
        },
    );
    options.endpoints.login = url.clone();
    options.endpoints.graph = url.clone();
    options.endpoints.partner_center = url;
    let client = Client::new(options).expect("client");
    runtime.block_on(async {
        let ctx = CallContext::new(tokio_util::sync::CancellationToken::new());
        // The Partner Center token first (a filter matching nobody), so the figure is paging only.
        let warm = partnercenter_microsoft::CustomerQuery {
            company_name_prefix: Some("~".into()),
            ..Default::default()
        };
        let _: Result<Vec<_>, _> = client.partner_center().customers(&ctx, warm).try_collect().await;
        let started = Instant::now();
        let customers: Vec<_> = client
            .partner_center()
            .customers(
                &ctx,
                partnercenter_microsoft::CustomerQuery {
                    page_size: Some(CUSTOMER_PAGE as u32),
                    ..Default::default()
                },
            )
            .try_collect()
            .await
            .expect("customers");
        assert_eq!(customers.len(), CUSTOMERS);
        started.elapsed()
    })
}
