//! Randomized, model-based: the real Terraform CLI driven through random sequences of what happens to a
//! partner's keys and grants (applies of 0-3 keys and 0-2 permission grants, plans, keys deleted or
//! expired out of band, consent revoked or narrowed out of band, the clock moving, faults on every route,
//! alone and combined, Ctrl-C in the middle of an apply, destroys), with the emulator's replication lag
//! random too. After every step the invariants are checked:
//!
//! - I1: no key exists in the emulator that state does not hold (after every step, faults and Ctrl-C
//!   included);
//! - I2/I3/I4: after a successful apply, with the faults cleared, the next plan is empty and the emulator's
//!   keys, requested permissions and consented scopes equal state's (a key or grant left state only because
//!   it was really gone, none was made twice, no grant lost another's `requiredResourceAccess` entry);
//! - I5: plans and applies judge the rotation window by the emulator's clock (the clock moves);
//! - at the end, a clean apply converges and destroy leaves nothing.
//!
//! `make test` runs a few sequences per Terraform version from a fixed seed; `make chaos` runs many
//! (`MODEL_SEQUENCES` per version, 100 by default: 200 in all) from a random seed it prints. Reproduce
//! one with `MODEL_SEED=<seed> MODEL_SEQUENCES=1 cargo test --test model_based -- --nocapture`.

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

/// What the configuration asks for: how many keys, and which of the two grants.
#[derive(Clone, Copy, Debug)]
struct Wanted {
    keys: usize,
    partner_center_grant: bool,
    azure_ad_graph_grant: bool,
}

impl Wanted {
    const NOTHING: Wanted = Wanted {
        keys: 0,
        partner_center_grant: false,
        azure_ad_graph_grant: false,
    };
}

/// One thing that happens to the partner's keys and grants.
#[derive(Clone)]
enum Step {
    Apply { wanted: Wanted, faults: Vec<FaultSpec> },
    Plan { faults: Vec<FaultSpec> },
    DeleteOutOfBand,
    ExpireOutOfBand,
    RevokeOutOfBand,
    MoveClock { days: i64 },
    CtrlCDuringApply { wanted: Wanted, after_ms: u64 },
    Destroy { faults: Vec<FaultSpec> },
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults = |faults: &[FaultSpec]| -> String {
            let listed: Vec<String> = faults.iter().map(|x| x.to_json().to_string()).collect();
            format!("[{}]", listed.join(", "))
        };
        match self {
            Step::Apply { wanted, faults: x } => write!(f, "apply {wanted:?} with faults {}", faults(x)),
            Step::Plan { faults: x } => write!(f, "plan with faults {}", faults(x)),
            Step::DeleteOutOfBand => f.write_str("a key deleted out of band"),
            Step::ExpireOutOfBand => f.write_str("a key expired out of band"),
            Step::RevokeOutOfBand => f.write_str("consent revoked or narrowed out of band"),
            Step::MoveClock { days } => write!(f, "clock +{days} days"),
            Step::CtrlCDuringApply { wanted, after_ms } => {
                write!(f, "Ctrl-C {after_ms} ms into an apply of {wanted:?}")
            }
            Step::Destroy { faults: x } => write!(f, "destroy with faults {}", faults(x)),
        }
    }
}

/// Routes the provider uses for keys and grants, and what can go wrong on each.
const ROUTES: [&str; 8] = [
    "POST /v1.0/applications/*/addPassword",
    "POST /v1.0/applications/*/removePassword",
    "GET /v1.0/*",
    "POST /*/oauth2/v2.0/token",
    "PATCH /v1.0/applications/*",
    "POST /v1.0/oauth2PermissionGrants",
    "PATCH /v1.0/oauth2PermissionGrants/*",
    "DELETE /v1.0/oauth2PermissionGrants/*",
];

fn random_fault(rng: &mut StdRng) -> FaultSpec {
    let route = ROUTES[rng.random_range(0..ROUTES.len())];
    let writes = route.contains(" /v1.0") && !route.starts_with("GET");
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

fn random_wanted(rng: &mut StdRng, at_least_one_key: bool) -> Wanted {
    Wanted {
        keys: rng.random_range(usize::from(at_least_one_key)..=3),
        partner_center_grant: rng.random_bool(0.5),
        azure_ad_graph_grant: rng.random_bool(0.5),
    }
}

fn random_step(rng: &mut StdRng) -> Step {
    match rng.random_range(0..13) {
        0..=3 => Step::Apply {
            wanted: random_wanted(rng, false),
            faults: random_faults(rng),
        },
        4 => Step::Plan {
            faults: random_faults(rng),
        },
        5 => Step::DeleteOutOfBand,
        6 => Step::ExpireOutOfBand,
        7 => Step::RevokeOutOfBand,
        8 => Step::MoveClock {
            days: [1, 200, 340, 400][rng.random_range(0..4)],
        },
        9 | 10 => Step::CtrlCDuringApply {
            wanted: random_wanted(rng, true),
            after_ms: rng.random_range(300..3000),
        },
        _ => Step::Destroy {
            faults: random_faults(rng),
        },
    }
}

fn config(wanted: Wanted) -> String {
    format!(
        r#"provider "partnercenter" {{}}
resource "partnercenter_web_app_key" "k" {{
  count          = {}
  application_id = "{app}"
  display_name   = "model-${{count.index}}"
  validity       = "1y"
  rotate_before  = "720h"
  lifecycle {{ create_before_destroy = true }}
}}
resource "partnercenter_permission_grant" "partner_center" {{
  count          = {}
  application_id = "{app}"
  api            = "partner_center"
  scopes         = ["user_impersonation"]
}}
resource "partnercenter_permission_grant" "azure_ad_graph" {{
  count          = {}
  application_id = "{app}"
  api            = "azure_ad_graph"
  scopes         = ["Directory.AccessAsUser.All", "User.Read"]
}}
"#,
        wanted.keys,
        u8::from(wanted.partner_center_grant),
        u8::from(wanted.azure_ad_graph_grant),
        app = demo::APP_ID
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

/// A grant of the demo app the emulator holds beyond the seed, picked at random, and a scope it holds.
fn some_grant(emu: &Emulator, seeded: &[String], rng: &mut StdRng) -> Option<(String, String)> {
    let state = emu.control("GET", "/_emulator/state", Json::Null);
    let directory = if state["directory"].is_object() {
        &state["directory"]
    } else {
        &state
    };
    let grants: Vec<(String, String)> = directory["oauth2PermissionGrants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let id = g["id"].as_str()?.to_owned();
            let scope = g["scope"].as_str()?.split_whitespace().next()?.to_owned();
            (!seeded.contains(&id)).then_some((id, scope))
        })
        .collect();
    (!grants.is_empty()).then(|| grants[rng.random_range(0..grants.len())].clone())
}

fn grant_ids(emu: &Emulator) -> Vec<String> {
    let state = emu.control("GET", "/_emulator/state", Json::Null);
    let directory = if state["directory"].is_object() {
        &state["directory"]
    } else {
        &state
    };
    directory["oauth2PermissionGrants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect()
}

/// Runs one sequence; returns the steps taken, for the report.
fn sequence(tf: &support::Terraform, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let emu = Emulator::start();
    // Every write is missed by a random number of reads, and replicas flap until they agree.
    emu.settings(
        json!({"replication_delay_reads": rng.random_range(0..=3), "replication_random_seed": seed}),
    );
    let seeded_grants = grant_ids(&emu);
    let mut wanted = Wanted {
        keys: 1,
        ..Wanted::NOTHING
    };
    let mut case = Case::new(tf, &emu, &config(wanted));
    let mut log = Vec::new();
    let mut moved_days = 0;
    for _ in 0..STEPS_PER_SEQUENCE {
        let step = random_step(&mut rng);
        eprintln!("model-based: seed {seed}, step {}: {step:?}", log.len() + 1);
        log.push(format!("{step:?}"));
        match &step {
            Step::Apply { wanted: w, faults } => {
                wanted = *w;
                case.config(&config(wanted));
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
            Step::RevokeOutOfBand => {
                // An admin removes the consent, or one scope of it, in the portal.
                if let Some((grant, scope)) = some_grant(&emu, &seeded_grants, &mut rng) {
                    if rng.random_bool(0.5) {
                        emu.control("DELETE", &format!("/_emulator/grants/{grant}"), Json::Null);
                    } else {
                        emu.control(
                            "POST",
                            &format!("/_emulator/grants/{grant}/remove-scope"),
                            json!({ "scope": scope }),
                        );
                    }
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
            Step::CtrlCDuringApply { wanted: w, after_ms } => {
                wanted = *w;
                case.config(&config(wanted));
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
                wanted = Wanted::NOTHING;
                case.config(&config(wanted));
            }
        }
    }
    // The end: a clean apply converges, and destroy leaves nothing.
    clear_faults(&emu);
    case.config(&config(wanted));
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
