//! The fault matrix: every resource operation (web app key create/read/delete, permission grant
//! create/update/delete) and every Partner Center data source, with the emulator injecting 429 +
//! Retry-After, 503, 500, added latency, a dropped connection after the write was applied, and
//! replication delay. After each scenario the Terraform command succeeded within its time bound or failed
//! with a clear diagnostic, and the emulator holds exactly the keys and grants Terraform's state records.
//!
//! `cargo test --test chaos -- --nocapture` prints the matrix, one line per scenario. By default a
//! bounded subset runs (every fault kind for keys, grants and data sources, two per operation);
//! `CHAOS_FULL=1` (`make chaos`) runs every operation against every fault.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::case::held_in_state;
use support::emulator::{Emulator, FaultSpec, Remote};
use support::{Run, Workdir};

/// How long one Terraform command of a scenario may take before the scenario fails.
const COMMAND_BOUND: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttled,
    Unavailable,
    ServerError,
    Latency,
    DroppedAfterApply,
    ReplicationDelay,
    /// Not one of the transient faults: every attempt fails, so the run must end with a diagnostic.
    Persistent,
    /// Combined: a 429 first, then a dropped connection after the write, while every write lags 4 reads.
    ThrottledThenDroppedWhileLagging,
    /// Combined: added latency on every attempt and two 500s, while replicas flap (random replication).
    SlowFailingAndFlapping,
    /// Combined: one transient 404 on the read, then a 503 on the route, while every write lags 4 reads.
    NotFoundThenUnavailableWhileLagging,
}

const ALL_FAULTS: [Fault; 10] = [
    Fault::ThrottledThenDroppedWhileLagging,
    Fault::SlowFailingAndFlapping,
    Fault::NotFoundThenUnavailableWhileLagging,
    Fault::Throttled,
    Fault::Unavailable,
    Fault::ServerError,
    Fault::Latency,
    Fault::DroppedAfterApply,
    Fault::ReplicationDelay,
    Fault::Persistent,
];

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::Throttled => "429 Retry-After: 1, twice",
            Fault::Unavailable => "503, twice",
            Fault::ServerError => "500, twice",
            Fault::Latency => "latency 2 s, once",
            Fault::DroppedAfterApply => "connection dropped after apply, once",
            Fault::ReplicationDelay => "replication delay: 3 reads + 1.5 s",
            Fault::Persistent => "500 on every attempt",
            Fault::ThrottledThenDroppedWhileLagging => "429, then drop after apply; lag 4 reads",
            Fault::SlowFailingAndFlapping => "latency 500 ms + 500 twice; replicas flap",
            Fault::NotFoundThenUnavailableWhileLagging => "GET 404 once + 503 once; lag 4 reads",
        }
    }

    /// Installs the fault on `route` (or the replication setting).
    fn inject(self, emu: &Emulator, route: &str) {
        let lagging = |emu: &Emulator| emu.settings(json!({"replication_delay_reads": 4}));
        let spec = match self {
            Fault::ThrottledThenDroppedWhileLagging => {
                lagging(emu);
                // Both fire on the first request (the 429 answers); the drop then meets the retry.
                emu.fault(FaultSpec::on(route).status(429).retry_after(1).times(1));
                FaultSpec::on(route).drop_after_apply().times(2)
            }
            Fault::SlowFailingAndFlapping => {
                emu.settings(json!({"replication_delay_reads": 2, "replication_random_seed": 7}));
                emu.fault(FaultSpec::on(route).latency_ms(500));
                FaultSpec::on(route).status(500).times(2)
            }
            Fault::NotFoundThenUnavailableWhileLagging => {
                lagging(emu);
                emu.fault(FaultSpec::on("GET /v1.0/*").status(404).times(1));
                FaultSpec::on(route).status(503).times(1)
            }
            Fault::Throttled => FaultSpec::on(route).status(429).retry_after(1).times(2),
            Fault::Unavailable => FaultSpec::on(route).status(503).times(2),
            Fault::ServerError => FaultSpec::on(route).status(500).times(2),
            Fault::Latency => FaultSpec::on(route).latency_ms(2000).times(1),
            Fault::Persistent => FaultSpec::on(route).status(500),
            Fault::DroppedAfterApply => FaultSpec::on(route).drop_after_apply().times(1),
            Fault::ReplicationDelay => {
                emu.control(
                    "POST",
                    "/_emulator/settings",
                    json!({"replication_delay_reads": 3, "replication_delay_ms": 1500}),
                );
                return;
            }
        };
        emu.fault(spec);
    }
}

fn full() -> bool {
    std::env::var("CHAOS_FULL").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The faults an operation meets: all of them with CHAOS_FULL, else the bounded pick.
fn faults_for(bounded: &[Fault]) -> Vec<Fault> {
    if full() {
        ALL_FAULTS.to_vec()
    } else {
        bounded.to_vec()
    }
}

/// Runs a Terraform command with a wall-clock bound; a hang is killed and fails the scenario.
fn bounded_run(w: &Workdir, args: &[&str]) -> (Run, Duration) {
    let out_path = w.path().join("command.out");
    let err_path = w.path().join("command.err");
    let mut cmd = w.command(args);
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let mut child = cmd.spawn().expect("terraform");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > COMMAND_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("terraform {args:?} did not finish within {COMMAND_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    };
    (run, started.elapsed())
}

fn apply_args() -> Vec<&'static str> {
    vec!["apply", "-auto-approve", "-no-color", "-input=false"]
}

/// What the state file, as Terraform wrote it, records (cheaper than `terraform show -json`).
fn recorded_in_state(w: &Workdir, baseline: &Remote) -> Remote {
    held_in_state(&w.state_from_file()).beyond(baseline)
}

fn key_config() -> String {
    format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"k\" {{\n  application_id = \"{}\"\n  display_name   = \"chaos\"\n}}\n",
        demo::APP_ID
    )
}

/// A grant whose writes give up after 45 s: ambiguous grant writes are retried (look, then try again) until
/// the timeout, 5 minutes by default, which a persistent fault would otherwise wait out.
fn grant_config(scopes: &[&str]) -> String {
    let scopes = scopes
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_permission_grant\" \"g\" {{\n  application_id = \"{}\"\n  api            = \"azure_ad_graph\"\n  scopes         = [{scopes}]\n  timeouts {{\n    create = \"45s\"\n    update = \"45s\"\n    delete = \"45s\"\n  }}\n}}\n",
        demo::APP_ID
    )
}

/// Faults the emulator applied (statuses, latency, drops), from its request log.
fn faults_served(emu: &Emulator) -> usize {
    emu.requests().iter().filter(|r| r["fault"].is_string()).count()
}

/// How a failed command must read: Terraform's error block, no crash, no transport noise.
fn clear_failure(run: &Run) -> Result<String, String> {
    let out = run.output();
    if out.contains("panic") || out.contains("Plugin did not respond") || out.contains("rpc error") {
        return Err(format!("the provider crashed or hung up:\n{out}"));
    }
    out.lines()
        .find(|l| l.starts_with("Error: "))
        .map(str::to_owned)
        .ok_or_else(|| format!("failed without an error diagnostic:\n{out}"))
}

/// The first 64 characters of a diagnostic line, for the matrix.
fn short(line: &str) -> String {
    match line.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

struct Outcome {
    operation: String,
    fault: Fault,
    result: String,
    took: Duration,
    served: usize,
    consistent: String,
}

impl Outcome {
    fn line(&self) -> String {
        format!(
            "| {:<46} | {:<37} | {:<34} | {:>6.1} s | {:>2} | {} |",
            self.operation,
            self.fault.label(),
            self.result,
            self.took.as_secs_f64(),
            self.served,
            self.consistent
        )
    }
}

fn header() -> String {
    format!(
        "| {:<46} | {:<37} | {:<34} | {:>8} | {:>2} | {} |\n|{}|{}|{}|{}|{}|{}|",
        "operation",
        "fault",
        "outcome",
        "time",
        "f",
        "state == emulator",
        "-".repeat(48),
        "-".repeat(39),
        "-".repeat(36),
        "-".repeat(10),
        "-".repeat(4),
        "-".repeat(19)
    )
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    KeyCreate,
    KeyRead,
    KeyDelete,
    GrantCreate,
    GrantUpdate,
    GrantDelete,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::KeyCreate => "web_app_key create (apply)",
            Kind::KeyRead => "web_app_key read (plan refresh)",
            Kind::KeyDelete => "web_app_key delete (destroy)",
            Kind::GrantCreate => "permission_grant create (apply)",
            Kind::GrantUpdate => "permission_grant update scopes (apply)",
            Kind::GrantDelete => "permission_grant delete (destroy)",
        }
    }

    fn route(self) -> &'static str {
        match self {
            Kind::KeyCreate => "POST /v1.0/applications/*/addPassword",
            Kind::KeyRead => "GET /v1.0/*",
            Kind::KeyDelete => "POST /v1.0/applications/*/removePassword",
            Kind::GrantCreate => "POST /v1.0/oauth2PermissionGrants",
            Kind::GrantUpdate => "PATCH /v1.0/oauth2PermissionGrants/*",
            Kind::GrantDelete => "DELETE /v1.0/oauth2PermissionGrants/*",
        }
    }
}

/// One resource scenario on a fresh emulator; returns its matrix line or why it broke the rules.
fn resource_scenario(tf: &support::Terraform, kind: Kind, fault: Fault) -> Result<Outcome, String> {
    let emu = Emulator::start();
    let baseline = emu.remote();
    let (setup, action_config) = match kind {
        Kind::KeyCreate => (None, key_config()),
        Kind::KeyRead | Kind::KeyDelete => (Some(key_config()), key_config()),
        Kind::GrantCreate => (None, grant_config(&["User.Read"])),
        Kind::GrantUpdate => (
            Some(grant_config(&["User.Read"])),
            grant_config(&["User.Read", "Directory.AccessAsUser.All"]),
        ),
        Kind::GrantDelete => (Some(grant_config(&["User.Read"])), grant_config(&["User.Read"])),
    };
    let w = emu.demo_env(Workdir::with(tf, setup.as_deref().unwrap_or(&action_config)));
    if setup.is_some() {
        let (run, _) = bounded_run(&w, &apply_args());
        if run.code != 0 {
            return Err(format!("setup apply failed:\n{}", run.output()));
        }
        w.config(&action_config);
    }
    emu.control("DELETE", "/_emulator/requests", Json::Null);
    fault.inject(&emu, kind.route());
    let args: Vec<&str> = match kind {
        Kind::KeyRead => vec!["plan", "-no-color", "-input=false", "-detailed-exitcode"],
        Kind::KeyDelete | Kind::GrantDelete => vec!["destroy", "-auto-approve", "-no-color", "-input=false"],
        _ => apply_args(),
    };
    let (run, took) = bounded_run(&w, &args);
    let served = faults_served(&emu);
    // Let anything the provider gave up on settle on the emulator's side, then compare.
    emu.control("DELETE", "/_emulator/faults", Json::Null);
    let ok = run.code == 0 || (matches!(kind, Kind::KeyRead) && run.code == 2);
    let mut result = if ok {
        if matches!(kind, Kind::KeyRead) && run.code == 2 {
            return Err(format!(
                "a refresh under faults planned changes:\n{}",
                run.output()
            ));
        }
        "ok".to_owned()
    } else {
        format!("failed, {}", short(&clear_failure(&run)?))
    };
    let (remote, recorded) = (emu.remote().beyond(&baseline), recorded_in_state(&w, &baseline));
    if remote != recorded {
        return Err(format!(
            "emulator {remote:?} != state {recorded:?} after {} / {}:\n{}",
            kind.label(),
            fault.label(),
            run.output()
        ));
    }
    let consistent = match kind {
        Kind::KeyCreate | Kind::KeyRead | Kind::KeyDelete => format!("yes ({} key(s))", remote.keys.len()),
        _ => format!("yes ({} permission(s))", remote.requested.len()),
    };
    let destroyed = matches!(kind, Kind::KeyDelete | Kind::GrantDelete);
    if ok && destroyed {
        let held = recorded_in_state(&w, &baseline);
        let left = held.keys.len() + held.requested.len() + held.consented.len();
        if left != 0 {
            return Err(format!(
                "destroy succeeded but state still holds {left} object(s)"
            ));
        }
    }
    if ok && !destroyed {
        // Converged: the next plan, without faults, has nothing to do.
        emu.settle();
        emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 5}));
        let (plan, _) = bounded_run(&w, &["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
        if plan.code != 0 {
            return Err(format!(
                "not converged: the plan after {} / {} shows changes or fails:\n{}",
                kind.label(),
                fault.label(),
                plan.output()
            ));
        }
        result.push_str(", next plan empty");
    }
    Ok(Outcome {
        operation: kind.label().to_owned(),
        fault,
        result,
        took,
        served,
        consistent,
    })
}

/// The four Partner Center data sources in one plan, the fault on each one's route.
fn data_source_scenario(tf: &support::Terraform, fault: Fault) -> Result<Vec<Outcome>, String> {
    const SOURCES: [(&str, &str, &str); 4] = [
        ("partnercenter_mpn_id", "GET /v1/profiles/mpn", "/v1/profiles/mpn"),
        (
            "partnercenter_domain",
            "GET /v1/profiles/organization",
            "/v1/profiles/organization",
        ),
        ("partnercenter_customers", "GET /v1/customers", "/v1/customers"),
        (
            "partnercenter_indirect_resellers",
            "GET /v1/relationships",
            "/v1/relationships",
        ),
    ];
    let emu = Emulator::start();
    let mut config = String::from("provider \"partnercenter\" {}\n");
    for (name, _, _) in SOURCES {
        config.push_str(&format!(
            "data \"{name}\" \"x\" {{}}\noutput \"{name}\" {{ value = data.{name}.x }}\n"
        ));
    }
    let w = emu.demo_env(Workdir::with(tf, &config));
    for (_, route, _) in SOURCES {
        fault.inject(&emu, route);
    }
    let (run, took) = bounded_run(&w, &["plan", "-no-color", "-input=false"]);
    let log = emu.requests();
    if run.code != 0 {
        clear_failure(&run)?;
    }
    let out = run.output();
    // Each data source's own outcome: its error block ("Error: …" then "with data.<name>.x,"), if any.
    let result_of = |name: &str| {
        let with = format!("with data.{name}.x,");
        match out.split("\nError: ").skip(1).find(|block| block.contains(&with)) {
            Some(block) => format!(
                "failed, {}",
                short(&format!("Error: {}", block.lines().next().unwrap_or("")))
            ),
            None => "ok".to_owned(),
        }
    };
    Ok(SOURCES
        .iter()
        .map(|(name, _, path)| Outcome {
            operation: format!("data.{name} (plan)"),
            fault,
            result: result_of(name),
            took,
            served: log
                .iter()
                .filter(|r| r["path"] == json!(path))
                .filter(|r| r["fault"].is_string())
                .count(),
            consistent: "n/a (reads only)".into(),
        })
        .collect())
}

each_terraform! {
    fn the_fault_matrix_loses_nothing_and_leaves_nothing_behind(tf) {
        fault_matrix(tf)
    }
}

fn fault_matrix(tf: &support::Terraform) {
    use Fault::*;
    // The bounded pick covers every fault kind for keys, for grants and for data sources.
    let plan: Vec<(Kind, Vec<Fault>)> = vec![
        (
            Kind::KeyCreate,
            faults_for(&[
                DroppedAfterApply,
                Unavailable,
                Persistent,
                ThrottledThenDroppedWhileLagging,
            ]),
        ),
        (
            Kind::KeyRead,
            faults_for(&[Throttled, Latency, NotFoundThenUnavailableWhileLagging]),
        ),
        (
            Kind::KeyDelete,
            faults_for(&[ServerError, DroppedAfterApply, SlowFailingAndFlapping]),
        ),
        (
            Kind::GrantCreate,
            faults_for(&[
                DroppedAfterApply,
                ReplicationDelay,
                ThrottledThenDroppedWhileLagging,
            ]),
        ),
        (
            Kind::GrantUpdate,
            faults_for(&[Throttled, ServerError, SlowFailingAndFlapping]),
        ),
        (
            Kind::GrantDelete,
            faults_for(&[Unavailable, Latency, NotFoundThenUnavailableWhileLagging]),
        ),
    ];
    let data_faults = faults_for(&[Throttled, DroppedAfterApply, ReplicationDelay]);
    let key_create_replication = !full();

    let started = Instant::now();
    let mut lines = vec![header()];
    let mut broken = Vec::new();
    let mut record = |r: Result<Outcome, String>, lines: &mut Vec<String>| match r {
        Ok(o) => {
            eprintln!("{}", o.line());
            lines.push(o.line());
        }
        Err(e) => {
            eprintln!("BROKEN: {e}");
            broken.push(e);
        }
    };
    for (kind, faults) in &plan {
        for fault in faults {
            record(resource_scenario(tf, *kind, *fault), &mut lines);
        }
    }
    if key_create_replication {
        // Replication lag matters most right after a create: the bounded run covers it there too.
        record(
            resource_scenario(tf, Kind::KeyCreate, ReplicationDelay),
            &mut lines,
        );
    }
    for fault in data_faults {
        match data_source_scenario(tf, fault) {
            Ok(outcomes) => outcomes.into_iter().for_each(|o| record(Ok(o), &mut lines)),
            Err(e) => record(Err(e), &mut lines),
        }
    }
    println!(
        "\nfault matrix on Terraform {} ({}; {:.0} s; f = faults the emulator served on the route):\n{}\n",
        tf.version,
        if full() {
            "full"
        } else {
            "bounded; CHAOS_FULL=1 for all"
        },
        started.elapsed().as_secs_f64(),
        lines.join("\n")
    );
    assert!(
        broken.is_empty(),
        "{} scenario(s) broke the rules:\n\n{}",
        broken.len(),
        broken.join("\n\n")
    );
}
