//! Randomized, model-based: the real Terraform CLI driven through random sequences of what happens to a
//! partner's keys (applies of 0-3 keys, plans, keys deleted or expired out of band, the clock moving,
//! faults on every route, alone and combined, Ctrl-C in the middle of an apply, destroys), with the
//! emulator's replication lag random too. After every step the invariants are checked:
//!
//! - I1: no key exists in the emulator that state does not hold (after every step, faults and Ctrl-C
//!   included);
//! - I2/I3: after a successful apply, with the faults cleared, the next plan is empty and the emulator's
//!   keys equal state's (a key left state only because it was really gone, none was made twice);
//! - I5: plans and applies judge the rotation window by the emulator's clock (the clock moves);
//! - at the end, a clean apply converges and destroy leaves nothing.
//!
//! `make test` runs a few sequences per Terraform version from a fixed seed; `make chaos` runs many
//! (`MODEL_SEQUENCES`, default 200) from a random seed it prints. Reproduce one with `MODEL_SEED=<seed>
//! MODEL_SEQUENCES=1 cargo test --test model_based -- --nocapture`.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::time::Duration;

use partnercenter_emulator::demo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};
use support::case::Case;
use support::emulator::{Emulator, FaultSpec};
use support::interrupt::interrupted;

/// The seed `make test` uses, so its sequences are the same on every run.
const FIXED_SEED: u64 = 20_261_202;
/// Sequences per Terraform version in `make test`.
const SEQUENCES_IN_MAKE_TEST: u64 = 2;
const STEPS_PER_SEQUENCE: usize = 6;
/// How far the clock may move in one sequence: within the seeded client secret's life (about two years).
const CLOCK_BUDGET_DAYS: i64 = 600;

/// One thing that happens to the partner's keys.
#[derive(Clone)]
enum Step {
    Apply { keys: usize, faults: Vec<FaultSpec> },
    Plan { faults: Vec<FaultSpec> },
    DeleteOutOfBand,
    ExpireOutOfBand,
    MoveClock { days: i64 },
    CtrlCDuringApply { keys: usize, after_ms: u64 },
    Destroy { faults: Vec<FaultSpec> },
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults = |faults: &[FaultSpec]| -> String {
            let listed: Vec<String> = faults.iter().map(|x| x.to_json().to_string()).collect();
            format!("[{}]", listed.join(", "))
        };
        match self {
            Step::Apply { keys, faults: x } => write!(f, "apply {keys} key(s) with faults {}", faults(x)),
            Step::Plan { faults: x } => write!(f, "plan with faults {}", faults(x)),
            Step::DeleteOutOfBand => f.write_str("a key deleted out of band"),
            Step::ExpireOutOfBand => f.write_str("a key expired out of band"),
            Step::MoveClock { days } => write!(f, "clock +{days} days"),
            Step::CtrlCDuringApply { keys, after_ms } => {
                write!(f, "Ctrl-C {after_ms} ms into an apply of {keys} key(s)")
            }
            Step::Destroy { faults: x } => write!(f, "destroy with faults {}", faults(x)),
        }
    }
}

/// Routes the provider uses for keys, and what can go wrong on each.
const ROUTES: [&str; 4] = [
    "POST /v1.0/applications/*/addPassword",
    "POST /v1.0/applications/*/removePassword",
    "GET /v1.0/*",
    "POST /*/oauth2/v2.0/token",
];

fn random_fault(rng: &mut StdRng) -> FaultSpec {
    let route = ROUTES[rng.random_range(0..ROUTES.len())];
    let writes = route.starts_with("POST /v1.0");
    let count = rng.random_range(1..=2);
    match rng.random_range(0..6) {
        0 => FaultSpec::on(route).status(429).retry_after(1).times(count),
        1 => FaultSpec::on(route).status(503).times(count),
        2 => FaultSpec::on(route).status(500).times(count),
        3 if writes => FaultSpec::on(route).drop_after_apply().times(1),
        4 if route == "GET /v1.0/*" => FaultSpec::on(route).status(404).times(1),
        _ => FaultSpec::on(route)
            .latency_ms(rng.random_range(100..800))
            .times(count),
    }
}

/// None, one, or two faults at once.
fn random_faults(rng: &mut StdRng) -> Vec<FaultSpec> {
    let n = match rng.random_range(0..10) {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    (0..n).map(|_| random_fault(rng)).collect()
}

fn random_step(rng: &mut StdRng) -> Step {
    match rng.random_range(0..12) {
        0..=3 => Step::Apply {
            keys: rng.random_range(0..=3),
            faults: random_faults(rng),
        },
        4 => Step::Plan {
            faults: random_faults(rng),
        },
        5 => Step::DeleteOutOfBand,
        6 => Step::ExpireOutOfBand,
        7 => Step::MoveClock {
            days: [1, 200, 340, 400][rng.random_range(0..4)],
        },
        8 | 9 => Step::CtrlCDuringApply {
            keys: rng.random_range(1..=3),
            after_ms: rng.random_range(300..3000),
        },
        _ => Step::Destroy {
            faults: random_faults(rng),
        },
    }
}

fn config(keys: usize) -> String {
    format!(
        r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  count          = {keys}
  application_id = "{}"
  display_name   = "model-${{count.index}}"
  validity       = "1y"
  rotate_before  = "720h"
  lifecycle {{ create_before_destroy = true }}
}}
"#,
        demo::APP_ID
    )
}

fn inject(emu: &Emulator, faults: &[FaultSpec]) {
    for fault in faults {
        emu.fault(fault.clone());
    }
}

fn clear_faults(emu: &Emulator) {
    emu.control("DELETE", "/_emulator/faults", Json::Null);
}

/// A key the emulator holds beyond the seed, picked at random.
fn some_key(emu: &Emulator, rng: &mut StdRng) -> Option<String> {
    let keys: Vec<String> = emu
        .remote()
        .keys
        .into_iter()
        .map(|(_, k)| k)
        .filter(|k| k != demo::CLIENT_SECRET_KEY_ID)
        .collect();
    (!keys.is_empty()).then(|| keys[rng.random_range(0..keys.len())].clone())
}

/// Runs one sequence; returns the steps taken, for the report.
fn sequence(tf: &support::Terraform, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let emu = Emulator::start();
    // Every write is missed by a random number of reads, and replicas flap until they agree.
    emu.settings(
        json!({"replication_delay_reads": rng.random_range(0..=3), "replication_random_seed": seed}),
    );
    let mut case = Case::new(tf, &emu, &config(1));
    let mut log = Vec::new();
    let mut keys = 1;
    let mut moved_days = 0;
    for _ in 0..STEPS_PER_SEQUENCE {
        let step = random_step(&mut rng);
        eprintln!("model-based: seed {seed}, step {}: {step:?}", log.len() + 1);
        log.push(format!("{step:?}"));
        match &step {
            Step::Apply { keys: n, faults } => {
                keys = *n;
                case.config(&config(keys));
                inject(&emu, faults);
                let run = case.w.apply();
                case.check_nothing_untracked(&run);
                if run.code == 0 {
                    clear_faults(&emu);
                    case.check_converged();
                }
            }
            Step::Plan { faults } => {
                inject(&emu, faults);
                let run = case.w.plan();
                assert!(
                    run.code != 1 || !faults.is_empty(),
                    "a plan without faults failed:\n{}",
                    run.output()
                );
                case.check_nothing_untracked(&run);
            }
            Step::DeleteOutOfBand => {
                if let Some(key) = some_key(&emu, &mut rng) {
                    emu.control(
                        "DELETE",
                        &format!("/_emulator/applications/{}/passwords/{key}", demo::APP_ID),
                        Json::Null,
                    );
                }
                // Someone else's change happened a while before the next command: every replica knows.
                // (The provider's own writes keep their lag: that is what the invariants test.)
                emu.settle();
            }
            Step::ExpireOutOfBand => {
                if let Some(key) = some_key(&emu, &mut rng) {
                    emu.control(
                        "POST",
                        &format!("/_emulator/applications/{}/passwords/{key}/expire", demo::APP_ID),
                        Json::Null,
                    );
                }
                emu.settle();
            }
            Step::MoveClock { days } => {
                // The partner's own client secret (the provider's credential) is valid for about two years
                // from the seed; a partner renews it before then, so the model never moves past it.
                if moved_days + days <= CLOCK_BUDGET_DAYS {
                    moved_days += days;
                    emu.advance_days(*days);
                }
            }
            Step::CtrlCDuringApply { keys: n, after_ms } => {
                keys = *n;
                case.config(&config(keys));
                emu.fault(FaultSpec::on(ROUTES[0]).latency_ms(1500));
                let (run, _) = interrupted(
                    &case.w,
                    &["apply", "-auto-approve", "-no-color", "-input=false"],
                    Duration::from_millis(*after_ms),
                    |_| false,
                );
                clear_faults(&emu);
                // A request the provider gave up on may still complete on the emulator's side.
                std::thread::sleep(Duration::from_millis(1600));
                case.check_nothing_untracked(&run);
            }
            Step::Destroy { faults } => {
                inject(&emu, faults);
                let run = case.w.destroy();
                case.check_nothing_untracked(&run);
                clear_faults(&emu);
                keys = 0;
                case.config(&config(keys));
            }
        }
    }
    // The end: a clean apply converges, and destroy leaves nothing.
    clear_faults(&emu);
    case.config(&config(keys));
    case.apply();
    case.destroy();
    log
}

/// The seed and count of sequences: fixed for `make test`, from the environment for `make chaos`.
fn plan_of_sequences() -> (u64, u64) {
    let count = std::env::var("MODEL_SEQUENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEQUENCES_IN_MAKE_TEST);
    let seed = match std::env::var("MODEL_SEED").ok().as_deref() {
        None | Some("") => FIXED_SEED,
        Some("random") => rand::rng().random(),
        Some(text) => text.parse().expect("MODEL_SEED is a number or \"random\""),
    };
    (seed, count)
}

fn run_sequences(tf: &support::Terraform) {
    let (seed, count) = plan_of_sequences();
    eprintln!(
        "model-based: Terraform {}, seed {seed}, {count} sequences",
        tf.version
    );
    let mut failed = Vec::new();
    for i in 0..count {
        let sequence_seed = seed.wrapping_add(i);
        match std::panic::catch_unwind(|| sequence(tf, sequence_seed)) {
            Ok(steps) => eprintln!("model-based: sequence {sequence_seed} ok: {}", steps.join(" -> ")),
            Err(_) => {
                eprintln!(
                    "model-based: sequence seed {sequence_seed} FAILED on Terraform {} (reproduce: \
                     MODEL_SEED={sequence_seed} MODEL_SEQUENCES=1)",
                    tf.version
                );
                failed.push(sequence_seed);
            }
        }
    }
    eprintln!(
        "model-based: Terraform {}: {} of {count} sequences kept every invariant",
        tf.version,
        count - failed.len() as u64
    );
    assert!(
        failed.is_empty(),
        "sequences that broke an invariant (seeds): {failed:?}"
    );
}

each_terraform! {
    fn random_sequences_keep_every_invariant(tf) {
        run_sequences(tf)
    }
}
