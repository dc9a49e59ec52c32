//! Ctrl-C during `terraform apply` of a key whose addPassword is slow (emulator latency): SIGINT goes to
//! Terraform's whole process group, provider included, as a terminal sends it. Terraform says "Interrupt
//! received", calls StopProvider and exits on its own; whatever the emulator then holds is in state.
//! Three timings: before addPassword is sent, while it is in flight, and after it was applied (during
//! the replication wait).

mod support;

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::emulator::Emulator;
use support::{Run, Workdir};

const ADD_PASSWORD: &str = "POST /v1.0/applications/*/addPassword";
const TOKEN: &str = "POST /*/oauth2/v2.0/token";

fn key_config() -> String {
    format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"k\" {{\n  application_id = \"{}\"\n}}\n",
        demo::APP_ID
    )
}

fn remote_keys(emu: &Emulator) -> Vec<String> {
    let state = emu.control("GET", "/_emulator/state", Json::Null);
    let apps = state["applications"].as_array().cloned().unwrap_or_default();
    let app = apps
        .iter()
        .find(|a| a["appId"] == json!(demo::APP_ID))
        .expect("demo app");
    let mut keys: Vec<String> = app["passwordCredentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["keyId"].as_str().map(str::to_owned))
        .filter(|id| id != demo::CLIENT_SECRET_KEY_ID)
        .collect();
    keys.sort();
    keys
}

fn state_keys(w: &Workdir) -> Vec<String> {
    let mut keys: Vec<String> = w.state()["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["values"]["key_id"].as_str().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// When the interrupt comes, relative to addPassword.
#[derive(Debug, Clone, Copy)]
enum When {
    /// Shortly after start: Terraform is still planning.
    Before,
    /// The application was read; addPassword is in the emulator's 3 s latency.
    During,
    /// addPassword answered; the provider waits for replication.
    After,
}

fn requests_seen(emu: &Emulator, pred: impl Fn(&Json) -> bool) -> bool {
    emu.requests().iter().any(pred)
}

/// Runs `terraform apply` in its own process group and sends SIGINT to the group at `when`.
fn interrupted_apply(emu: &Emulator, w: &Workdir, when: When) -> (Run, Duration) {
    let mut cmd = w.command(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let out_path = w.path().join("apply.out");
    let out = std::fs::File::create(&out_path).expect("output file");
    cmd.stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .stdin(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("terraform apply");
    let started = Instant::now();
    let wait_for = |pred: &dyn Fn(&Json) -> bool| {
        while !requests_seen(emu, pred) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the phase {when:?} never came"
            );
            assert!(child_running(child.id()), "terraform ended before the interrupt");
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    match when {
        When::Before => {
            // The token request (3 s latency) of the create is in flight.
            while !std::fs::read_to_string(&out_path)
                .unwrap_or_default()
                .contains("Creating...")
            {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the create never started"
                );
                std::thread::sleep(Duration::from_millis(25));
            }
            std::thread::sleep(Duration::from_millis(700));
        }
        When::During => {
            wait_for(&|r| {
                r["method"] == json!("GET")
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("/v1.0/applications"))
            });
            std::thread::sleep(Duration::from_millis(700));
        }
        When::After => {
            wait_for(&|r| {
                r["method"] == json!("POST")
                    && r["path"].as_str().is_some_and(|p| p.ends_with("/addPassword"))
                    && r["status"] == json!(200)
            });
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let signals = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    eprintln!(
        "{when:?}: {}",
        signals
            .lines()
            .filter(|l| l.starts_with("Sig"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let sent = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("kill");
    assert!(kill.success(), "SIGINT to the process group");
    // Terraform exits on its own; a hang fails the test rather than the CI job.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("terraform did not exit within 60 s of SIGINT ({when:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent.elapsed();
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    (
        Run {
            code: status.code().unwrap_or(-1),
            stdout: output,
            stderr: String::new(),
        },
        took,
    )
}

fn child_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
        .unwrap_or(false)
}

each_terraform! {
    fn ctrl_c_before_during_and_after_add_password_leaves_state_equal_to_the_emulator(tf) {
        ctrl_c_before_during_and_after_add_password_leaves_state_equal_to_the_emulator_on(tf)
    }
}

fn ctrl_c_before_during_and_after_add_password_leaves_state_equal_to_the_emulator_on(
    tf: &support::Terraform,
) {
    for when in [When::Before, When::During, When::After] {
        let emu = Emulator::start();
        emu.control(
            "POST",
            "/_emulator/faults",
            json!({"route": ADD_PASSWORD, "latency_ms": 3000}),
        );
        if matches!(when, When::Before) {
            emu.control(
                "POST",
                "/_emulator/faults",
                json!({"route": TOKEN, "latency_ms": 3000}),
            );
        }
        if matches!(when, When::After) {
            // Keep the provider in its replication wait long enough to be interrupted there.
            emu.control(
                "POST",
                "/_emulator/settings",
                json!({"replication_delay_ms": 20000}),
            );
        }
        let w = emu.demo_env(Workdir::with(tf, &key_config()));
        let (run, took) = interrupted_apply(&emu, &w, when);
        let out = run.output();
        // Let a request the provider gave up on finish on the emulator's side before comparing.
        std::thread::sleep(Duration::from_millis(3500));
        let remote = remote_keys(&emu);
        let recorded = state_keys(&w);
        eprintln!(
            "Ctrl-C {when:?}: terraform exit {} {} ms after SIGINT; emulator keys {remote:?}; state keys {recorded:?}",
            run.code,
            took.as_millis()
        );
        assert!(
            out.contains("Interrupt received"),
            "{when:?}: Terraform saw the interrupt:\n{out}"
        );
        assert!(
            took < Duration::from_secs(20),
            "{when:?}: exited promptly ({took:?}):\n{out}"
        );
        assert_eq!(
            remote, recorded,
            "{when:?}: what the emulator holds is in state:\n{out}"
        );
        match when {
            When::After => {
                assert_eq!(
                    remote.len(),
                    1,
                    "the key applied before the interrupt is kept:\n{out}"
                );
                // Terraform ends an interrupted run with "execution halted" (exit 1) even when the
                // provider returned the new object, which it records.
                assert!(out.contains("execution halted"), "{out}");
                assert!(
                    out.contains("stopped before its replication was confirmed"),
                    "{out}"
                );
            }
            When::During => assert_ne!(run.code, 0, "an interrupted create fails:\n{out}"),
            When::Before => {}
        }
        // The next apply converges either way, once replication has caught up (a read that misses a key
        // still replicating removes it from state: see the chaos tests).
        emu.control("DELETE", "/_emulator/faults", Json::Null);
        emu.control("POST", "/_emulator/clock", json!({"advance_seconds": 60}));
        emu.control("POST", "/_emulator/settings", json!({"replication_delay_ms": 0}));
        w.apply().success();
        assert_eq!(remote_keys(&emu), state_keys(&w), "{when:?}: converged");
        assert_eq!(
            remote_keys(&emu).len(),
            1,
            "{when:?}: exactly one key after converging"
        );
    }
}
