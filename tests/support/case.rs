//! Test steps with the checks built in, like terraform-plugin-testing's TestStep: every successful apply
//! is followed by a plan that must be empty and by a comparison of the emulator's keys and grants with
//! Terraform state (nothing untracked, nothing missing); a failed apply is followed by the comparison
//! alone; import steps compare the imported object with the one Terraform created; the case ends with a
//! destroy that must leave nothing behind.

use serde_json::{Value as Json, json};

use super::emulator::{Emulator, Remote};
use super::{PlanActions, Run, Terraform, Workdir};

/// One test case: a working directory on one Terraform CLI, against one emulator.
pub struct Case<'a> {
    pub emu: &'a Emulator,
    pub w: Workdir,
    /// What the emulator held before the case: seeded keys and grants are not the case's.
    baseline: Remote,
    finished: bool,
}

impl<'a> Case<'a> {
    /// A case with the demo provider environment and `config` (the required_providers block is added).
    pub fn new(tf: &Terraform, emu: &'a Emulator, config: &str) -> Self {
        let w = emu.demo_env(Workdir::with(tf, config));
        Case {
            baseline: emu.remote(),
            emu,
            w,
            finished: false,
        }
    }

    /// Replaces the configuration for the next steps.
    pub fn config(&self, config: &str) {
        self.w.config(config);
    }

    /// `terraform apply` must succeed; then the next plan must be empty and the emulator must hold
    /// exactly what state holds.
    #[track_caller]
    pub fn apply(&self) -> Run {
        self.apply_with(&[])
    }

    /// [`Self::apply`] with extra arguments, e.g. `-parallelism=10`.
    #[track_caller]
    pub fn apply_with(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", "-auto-approve", "-no-color", "-input=false"];
        args.extend_from_slice(extra);
        let run = self.w.run(&args);
        assert_eq!(
            run.code,
            0,
            "[Terraform {}] apply failed:\n{}",
            self.w.terraform.version,
            run.output()
        );
        self.check_converged();
        run
    }

    /// `terraform apply` that may fail (faults, interruptions): whatever happened, the emulator must hold
    /// exactly what state holds.
    #[track_caller]
    pub fn apply_anyhow(&self) -> Run {
        let run = self.w.apply();
        self.check_remote_matches_state(&run);
        run
    }

    /// A saved plan's actions (from `terraform show -json`) and its run.
    #[track_caller]
    pub fn plan(&self) -> (PlanActions, Run) {
        self.w.plan_actions()
    }

    /// The next plan is empty, and remote equals state.
    #[track_caller]
    pub fn check_converged(&self) {
        let (actions, run) = self.plan();
        assert!(
            actions.is_empty(),
            "[Terraform {}] the plan after a successful apply is not empty: {actions:?}\n{}",
            self.w.terraform.version,
            run.output()
        );
        self.check_remote_matches_state(&run);
    }

    /// The emulator's keys and grants (beyond the seed) are exactly those in Terraform state.
    #[track_caller]
    pub fn check_remote_matches_state(&self, context: &Run) {
        let remote = self.emu.remote().beyond(&self.baseline);
        let held = self.state_holds();
        assert_eq!(
            remote.keys,
            held.keys,
            "[Terraform {}] keys in the emulator (left) differ from keys in state (right): an untracked or \
             missing key\n{}",
            self.w.terraform.version,
            context.output()
        );
        assert_eq!(
            remote.requested,
            held.requested,
            "[Terraform {}] requiredResourceAccess (left) differs from the grants in state (right)\n{}",
            self.w.terraform.version,
            context.output()
        );
        assert_eq!(
            remote.consented,
            held.consented,
            "[Terraform {}] admin consent (left) differs from the grants in state (right)\n{}",
            self.w.terraform.version,
            context.output()
        );
    }

    /// No key exists in the emulator that state does not hold (state may still hold a key deleted out of
    /// band that no refresh has seen yet).
    #[track_caller]
    pub fn check_nothing_untracked(&self, context: &Run) {
        let remote = self.emu.remote().beyond(&self.baseline);
        let held = self.state_holds();
        let untracked: Vec<_> = remote.keys.difference(&held.keys).collect();
        assert!(
            untracked.is_empty(),
            "[Terraform {}] keys in the emulator that state does not hold: {untracked:?}\n{}",
            self.w.terraform.version,
            context.output()
        );
    }

    /// What Terraform state says the emulator should hold beyond the seed.
    pub fn state_holds(&self) -> Remote {
        // Seeded objects are in the baseline, not the case's: keep only what the case made.
        held_in_state(&self.w.state()).beyond(&self.baseline)
    }

    /// `terraform destroy` must succeed and leave nothing the case made.
    #[track_caller]
    pub fn destroy(&mut self) {
        self.finished = true;
        let run = self.w.destroy();
        assert_eq!(
            run.code,
            0,
            "[Terraform {}] destroy failed:\n{}",
            self.w.terraform.version,
            run.output()
        );
        let left = self.emu.remote().beyond(&self.baseline);
        assert_eq!(
            left,
            Remote::default(),
            "[Terraform {}] destroy left objects behind\n{}",
            self.w.terraform.version,
            run.output()
        );
    }

    /// Ends the case without the destroy check (the test checked the end state itself).
    pub fn leave(mut self) {
        self.finished = true;
    }
}

impl Drop for Case<'_> {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            self.destroy();
        }
    }
}

/// What a `terraform show -json` state says the emulator holds: its keys, and its grants' requested
/// permissions and consented scopes.
pub fn held_in_state(state: &Json) -> Remote {
    let mut held = Remote::default();
    for r in resources(state) {
        let v = &r["values"];
        let lower = |name: &str| v[name].as_str().unwrap_or_default().to_ascii_lowercase();
        match r["type"].as_str() {
            Some("partnercenter_web_app_key") => {
                held.keys.insert((lower("application_id"), lower("key_id")));
            }
            Some("partnercenter_permission_grant") => {
                let app = lower("application_id");
                let api = lower("resource_app_id");
                // Requested: every scope with an id; consented: the scopes held, with `admin_consent`.
                for id in v["scope_ids"].as_object().into_iter().flatten().map(|(_, id)| id) {
                    let id = id.as_str().unwrap_or_default().to_ascii_lowercase();
                    held.requested.insert((app.clone(), api.clone(), id));
                }
                if v["admin_consent"] == json!(true) {
                    for scope in v["scopes"].as_array().into_iter().flatten() {
                        let scope = scope.as_str().unwrap_or_default().to_owned();
                        held.consented.insert((app.clone(), api.clone(), scope));
                    }
                }
            }
            _ => {}
        }
    }
    held
}

/// Every resource instance in a `terraform show -json` state, root and child modules alike.
pub fn resources(state: &Json) -> Vec<Json> {
    let mut out = Vec::new();
    let mut modules = vec![state["values"]["root_module"].clone()];
    while let Some(m) = modules.pop() {
        out.extend(m["resources"].as_array().cloned().unwrap_or_default());
        modules.extend(m["child_modules"].as_array().cloned().unwrap_or_default());
    }
    out
}

/// The `values` of the one resource instance at `address`.
pub fn values_of(state: &Json, address: &str) -> Json {
    resources(state)
        .into_iter()
        .find(|r| r["address"] == json!(address))
        .map(|r| r["values"].clone())
        .unwrap_or(Json::Null)
}
