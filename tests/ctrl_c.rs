//! Ctrl-C during `terraform apply` of a key whose addPassword is slow (emulator latency): SIGINT goes to
//! Terraform's whole process group, provider included, as a terminal sends it. Terraform says "Interrupt
//! received", calls StopProvider and exits on its own; whatever the emulator then holds is in state.
//! Three timings: before addPassword is sent, while it is in flight, and after it was applied (during
//! the replication wait).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use partnercenter_emulator::demo;
use serde_json::{Value as Json, json};
use support::Workdir;
use support::case::held_in_state;
use support::emulator::{Emulator, FaultSpec, Remote};
use support::interrupt::interrupted;

const APPLY: [&str; 4] = ["apply", "-auto-approve", "-no-color", "-input=false"];

const ADD_PASSWORD: &str = "POST /v1.0/applications/*/addPassword";
const TOKEN: &str = "POST /*/oauth2/v2.0/token";

fn key_config() -> String {
    format!(
        "provider \"partnercenter\" {{}}\nresource \"partnercenter_web_app_key\" \"k\" {{\n  application_id = \"{}\"\n}}\n",
        demo::APP_ID
    )
}

/// `(application, key id)` pairs.
type Keys = BTreeSet<(String, String)>;

/// The keys the emulator holds and the keys state holds, beyond the seed.
fn keys(emu: &Emulator, w: &Workdir, baseline: &Remote) -> (Keys, Keys) {
    (
        emu.remote().beyond(baseline).keys,
        held_in_state(&w.state()).beyond(baseline).keys,
    )
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

/// Whether the moment `when` names has come (and `offset` after it passed), from Terraform's output and
/// the emulator's request log.
fn moment(emu: &Emulator, when: When) -> impl FnMut(&str) -> bool + '_ {
    let mut seen_at: Option<Instant> = None;
    move |output: &str| {
        let (arrived, offset) = match when {
            // The token request (3 s latency) of the create is in flight.
            When::Before => (output.contains("Creating..."), Duration::from_millis(700)),
            When::During => (
                requests_seen(emu, |r| {
                    r["method"] == json!("GET")
                        && r["path"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("/v1.0/applications"))
                }),
                Duration::from_millis(700),
            ),
            When::After => (
                requests_seen(emu, |r| {
                    r["method"] == json!("POST")
                        && r["path"].as_str().is_some_and(|p| p.ends_with("/addPassword"))
                        && r["status"] == json!(200)
                }),
                Duration::from_millis(300),
            ),
        };
        if arrived && seen_at.is_none() {
            seen_at = Some(Instant::now());
        }
        seen_at.is_some_and(|at| at.elapsed() >= offset)
    }
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
        emu.fault(FaultSpec::on(ADD_PASSWORD).latency_ms(3000));
        if matches!(when, When::Before) {
            emu.fault(FaultSpec::on(TOKEN).latency_ms(3000));
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
        let baseline = emu.remote();
        let (run, took) = interrupted(&w, &APPLY, Duration::from_secs(60), moment(&emu, when));
        let took = took.unwrap_or_else(|| panic!("{when:?}: the moment never came:\n{}", run.output()));
        let out = run.output();
        // Let a request the provider gave up on finish on the emulator's side before comparing.
        std::thread::sleep(Duration::from_millis(3500));
        let (remote, recorded) = keys(&emu, &w, &baseline);
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
        let (remote, recorded) = keys(&emu, &w, &baseline);
        assert_eq!(remote, recorded, "{when:?}: converged");
        assert_eq!(remote.len(), 1, "{when:?}: exactly one key after converging");
    }
}

const DESTROY: [&str; 4] = ["destroy", "-auto-approve", "-no-color", "-input=false"];

each_terraform! {
    /// Ctrl-C while a destroyed key's removal replicates: removePassword was applied, the replicas have not
    /// caught up. The removal is confirmed anyway, so state does not keep a key Entra no longer holds (it
    /// used to: a lagging replica then showed the key to the next refresh, and the plan after that apply
    /// wanted to create it again; make chaos seed 8734666773604891923).
    fn ctrl_c_while_a_removed_key_replicates_leaves_state_equal_to_the_emulator(tf) {
        let emu = Emulator::start();
        let w = emu.demo_env(Workdir::with(tf, &key_config()));
        let baseline = emu.remote();
        w.apply().success();
        emu.settle();
        // Keep the provider in its wait for the removal to replicate long enough to be interrupted there.
        emu.settings(json!({"replication_delay_ms": 4000}));
        let mut removed_at: Option<Instant> = None;
        let (run, took) = interrupted(&w, &DESTROY, Duration::from_secs(60), |_| {
            let removed = requests_seen(&emu, |r| {
                r["method"] == json!("POST")
                    && r["path"].as_str().is_some_and(|p| p.ends_with("/removePassword"))
                    && r["status"].as_u64().is_some_and(|s| s < 300)
            });
            if removed && removed_at.is_none() {
                removed_at = Some(Instant::now());
            }
            removed_at.is_some_and(|at| at.elapsed() >= Duration::from_millis(300))
        });
        let took = took.unwrap_or_else(|| panic!("removePassword never answered:\n{}", run.output()));
        let out = run.output();
        assert!(out.contains("Interrupt received"), "Terraform saw the interrupt:\n{out}");
        assert!(took < Duration::from_secs(20), "exited promptly ({took:?}):\n{out}");
        let (remote, recorded) = keys(&emu, &w, &baseline);
        assert!(remote.is_empty(), "the removal was applied:\n{out}");
        assert_eq!(recorded, remote, "state keeps no key Entra no longer holds:\n{out}");
    }
}
