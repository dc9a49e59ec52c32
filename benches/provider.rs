//! `make bench`: start-up and footprint figures of the release provider, each next to a baseline measured
//! in the same run. Prints one table. Not a test: nothing here passes or fails on timing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use terraform_provider_partnercenter::protocol::serve::MAGIC_COOKIE_VALUE;

#[path = "../tests/support/terraform_cert.rs"]
mod terraform_cert;

const HANDSHAKES: usize = 31;
const PLANS: usize = 9;

fn main() {
    let provider = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-partnercenter"));
    let terraform = terraform();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    let (cert, _) = terraform_cert::terraform_like_client_certificate();
    let handshake = median(
        &(0..HANDSHAKES)
            .map(|_| handshake_latency(&provider, &cert))
            .collect::<Vec<_>>(),
    );
    let spawn_floor = median(&(0..HANDSHAKES).map(|_| spawn_floor()).collect::<Vec<_>>());
    rows.push((
        format!("exec -> handshake, AutoMTLS (median of {HANDSHAKES})"),
        ms(handshake),
        format!("`true` exec+wait floor {}; goal <= 5 ms", ms(spawn_floor)),
    ));

    let bench_dir = tempfile::tempdir().expect("temp dir");
    let provider_dir = provider.parent().unwrap_or(Path::new(".")).to_path_buf();
    let with_provider = workdir(bench_dir.path(), "one-data-source", ONE_DATA_SOURCE, &provider_dir);
    let floor = workdir(bench_dir.path(), "no-provider", NO_PROVIDER, &provider_dir);

    plan(&terraform, &with_provider); // warm the page cache
    plan(&terraform, &floor);
    let plan_with = median(&(0..PLANS).map(|_| plan(&terraform, &with_provider)).collect::<Vec<_>>());
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

    let (peak_kib, processes) = peak_provider_rss(&terraform, &with_provider);
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

/// Time from exec to the handshake line, with the environment Terraform gives (AutoMTLS on).
fn handshake_latency(provider: &Path, cert: &str) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(provider)
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("handshake");
    let elapsed = started.elapsed();
    assert!(line.starts_with("1|6|unix|"), "unexpected handshake {line}");
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
fn peak_provider_rss(terraform: &Path, dir: &Path) -> (u64, usize) {
    let mut child = Command::new(terraform)
        .args(["plan", "-no-color", "-input=false"])
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("terraform plan");
    let mut peaks: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    while child.try_wait().ok().flatten().is_none() {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            // comm is cut to 15 characters.
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if !comm.starts_with("terraform-provi") {
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
