//! `terraform test` for the example modules: each module's `tests/*.tftest.hcl` runs with the newest
//! Terraform (the test framework needs 1.6+; 1.0.3 has none) against the emulator, in a copy of the module
//! whose provider is this build's binary (`dev_overrides`). Every `run` block must pass (none skipped),
//! and what the runs made must be gone afterwards (`terraform test` destroys it). `make module-test` runs
//! only these; `make test` runs them with every other test.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::path::Path;

use serde_json::{Value as Json, json};
use support::emulator::{Emulator, Remote};
use support::{Run, Terraform, Workdir};

fn module_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/modules")
        .join(name)
}

/// Copies `from` into `to`, subdirectories included (a local `.terraform` is left behind).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == ".terraform" || name == ".terraform.lock.hcl" {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

/// How many `run` blocks the module's test files hold.
fn run_blocks(module: &Path) -> usize {
    let tests = module.join("tests");
    std::fs::read_dir(&tests)
        .unwrap_or_else(|e| panic!("{}: {e}", tests.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tftest.hcl"))
        .map(|p| {
            std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("run \""))
                .count()
        })
        .sum()
}

/// `terraform init` and `terraform test <args>` in a copy of module `name`, pointed at `emu`'s demo
/// partner; asserts every run block passed and nothing the runs made is left.
#[track_caller]
fn terraform_test(emu: &Emulator, name: &str, args: &[&str]) -> Run {
    let tf = Terraform::newest();
    assert!(
        tf.at_least(1, 6),
        "terraform test needs Terraform 1.6 or later; the newest here is {} (set TERRAFORM_NEWEST)",
        tf.version
    );
    let baseline = emu.remote();
    let w = emu.demo_env(Workdir::with(&tf, ""));
    let source = module_dir(name);
    copy_tree(&source, w.path());
    // Modules only (test runs' `module` sources included): the provider comes from dev_overrides, and
    // `terraform init` would look it up in the registry.
    w.run(&["get", "-no-color"]).success();

    let mut command = vec!["test", "-no-color"];
    command.extend_from_slice(args);
    let run = w.run(&command);
    let runs = run_blocks(&source);
    assert!(runs > 0, "{name} has no run blocks");
    assert_eq!(
        run.code,
        0,
        "[Terraform {}] terraform test of {name} failed:\n{}",
        tf.version,
        run.output()
    );
    assert!(
        run.stdout.contains(&format!("Success! {runs} passed, 0 failed.")),
        "[Terraform {}] every one of the {runs} run blocks of {name} must pass (none skipped):\n{}",
        tf.version,
        run.output()
    );
    assert_eq!(
        emu.remote().beyond(&baseline),
        Remote::default(),
        "terraform test of {name} left keys or grants behind:\n{}",
        run.output()
    );
    run
}

#[test]
fn the_onboarding_module_passes_its_terraform_tests() {
    let emu = Emulator::start();
    let vault = emu.control("POST", "/_emulator/vaults", json!({"name": "kv1"}));
    let vault_uri = vault["vault_uri"].as_str().unwrap().to_owned();
    // The module declares no `vault_uri`: Terraform reads the value as an expression, so it is quoted.
    let var = format!("-var=vault_uri=\"{vault_uri}\"");
    terraform_test(&emu, "cost-management-onboarding", &[&var]);

    // The Key Vault run wrote the secret there; its key is gone, so its version is disabled.
    let dump = emu.control("GET", "/_emulator/vaults/kv1", Json::Null);
    let secrets = dump["secrets"].as_array().unwrap();
    let secret = secrets
        .iter()
        .find(|s| s["name"] == json!("tftest-onboarding"))
        .unwrap_or_else(|| panic!("the Key Vault run wrote its secret: {dump}"));
    let versions = secret["versions"].as_array().unwrap();
    assert!(!versions.is_empty(), "{secret}");
    assert!(
        versions.iter().all(|v| v["enabled"] == json!(false)),
        "each version is disabled once its key is removed: {secret}"
    );
}

#[test]
fn the_key_expiry_watch_module_passes_its_terraform_tests() {
    let emu = Emulator::start();
    terraform_test(&emu, "key-expiry-watch", &[]);
}

#[test]
fn the_indirect_reseller_module_passes_its_terraform_tests() {
    let emu = Emulator::start();
    terraform_test(&emu, "indirect-reseller", &[]);
}
