//! Shared by the end-to-end tests: the real Terraform CLIs (1.0.3, the oldest supported, installed by
//! scripts/install-terraform.sh; and the newest on the machine, `terraform` on PATH) run against this
//! crate's provider binary through `dev_overrides`, in a temporary directory per test. [`each_terraform!`]
//! runs a test once per CLI, so a failure names the version; `case::Case` checks the invariants users rely
//! on after every step.
#![allow(dead_code)]

pub mod case;
pub mod emulator;
pub mod grpc;
pub mod interrupt;
pub mod terraform_cert;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The provider binary cargo built for these tests.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-partnercenter"))
}

/// A Terraform CLI the end-to-end tests drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terraform {
    pub path: PathBuf,
    /// `major.minor.patch`, as `terraform version` prints it.
    pub version: String,
}

impl Terraform {
    /// Terraform 1.0.3, the oldest version the provider supports.
    pub fn oldest() -> Terraform {
        Terraform {
            path: terraform().to_path_buf(),
            version: "1.0.3".to_owned(),
        }
    }

    /// The newest Terraform on this machine: `terraform` on PATH (the machine image carries 1.11.4), or the
    /// binary `TERRAFORM_NEWEST` names.
    pub fn newest() -> Terraform {
        static NEWEST: OnceLock<Terraform> = OnceLock::new();
        NEWEST
            .get_or_init(|| {
                let path = std::env::var_os("TERRAFORM_NEWEST")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("terraform"));
                let out = Command::new(&path)
                    .args(["version", "-json"])
                    .env("CHECKPOINT_DISABLE", "1")
                    .output()
                    .unwrap_or_else(|e| panic!("the newest Terraform ({}) cannot run: {e}", path.display()));
                let json: Json = serde_json::from_slice(&out.stdout).expect("terraform version -json");
                let version = json["terraform_version"].as_str().expect("a version").to_owned();
                Terraform { path, version }
            })
            .clone()
    }

    /// Whether this CLI is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        let mut parts = self.version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (a, b) >= (major, minor)
    }
}

/// Runs the test body once on Terraform 1.0.3 and once on the newest Terraform, as two tests named
/// `<test>::on_terraform_1_0_3` and `<test>::on_terraform_newest`.
#[macro_export]
macro_rules! each_terraform {
    ($(#[$meta:meta])* fn $name:ident($tf:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($tf: &$crate::support::Terraform) $body

            $(#[$meta])*
            #[test]
            fn on_terraform_1_0_3() {
                body(&$crate::support::Terraform::oldest())
            }

            $(#[$meta])*
            #[test]
            fn on_terraform_newest() {
                body(&$crate::support::Terraform::newest())
            }
        }
    };
}

/// The Terraform 1.0.3 binary, installed on first use (idempotent; cached in .tools/).
pub fn terraform() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("bash")
            .arg(root.join("scripts/install-terraform.sh"))
            .output()
            .expect("running scripts/install-terraform.sh");
        assert!(
            out.status.success(),
            "installing Terraform failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// What one Terraform command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, as a user sees them.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "terraform failed:\n{}", self.output());
        self
    }

    #[track_caller]
    pub fn failure(self) -> Self {
        assert_ne!(
            self.code,
            0,
            "terraform unexpectedly succeeded:\n{}",
            self.output()
        );
        self
    }
}

/// A Terraform working directory with a configuration, pointed at this crate's provider.
pub struct Workdir {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    pub terraform: Terraform,
}

impl Workdir {
    /// A working directory driven by Terraform 1.0.3.
    pub fn new(main_tf: &str) -> Self {
        Self::with(&Terraform::oldest(), main_tf)
    }

    /// A working directory driven by `terraform`.
    pub fn with(terraform: &Terraform, main_tf: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let provider_dir = provider_binary().parent().expect("binary dir").to_path_buf();
        let cli_config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"cspkit/partnercenter\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli_config).expect("cli config");
        let w = Workdir {
            dir,
            env: Vec::new(),
            terraform: terraform.clone(),
        };
        w.write("main.tf", &format!("{}\n{main_tf}", REQUIRED_PROVIDERS));
        w
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).expect("write file");
    }

    /// Replaces main.tf (keeping the required_providers block).
    pub fn config(&self, main_tf: &str) {
        self.write("main.tf", &format!("{}\n{main_tf}", REQUIRED_PROVIDERS));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.terraform.path);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("running terraform");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The saved plan's resource actions by address (`["no-op"]`, `["create"]`, `["delete", "create"]`,
    /// ...), the plan's run, and its JSON. Panics when planning fails.
    #[track_caller]
    pub fn plan_actions(&self) -> (PlanActions, Run) {
        let (run, json) = self.plan_json();
        assert_eq!(run.code, 0, "terraform plan failed:\n{}", run.output());
        (PlanActions::from_plan(&json), run)
    }

    pub fn validate(&self) -> Run {
        self.run(&["validate", "-no-color"])
    }

    pub fn apply(&self) -> Run {
        self.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    pub fn destroy(&self) -> Run {
        self.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `terraform plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan(&self) -> Run {
        self.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"])
    }

    /// The saved plan of `terraform plan -out`, as `terraform show -json` prints it.
    pub fn plan_json(&self) -> (Run, Json) {
        let run = self.run(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
        if run.code != 0 {
            return (run, Json::Null);
        }
        let shown = self.run(&["show", "-json", "tfplan"]).success();
        (run, serde_json::from_str(&shown.stdout).expect("plan JSON"))
    }

    /// The state as `terraform show -json` prints it.
    pub fn state(&self) -> Json {
        let shown = self.run(&["show", "-json"]).success();
        serde_json::from_str(&shown.stdout).expect("state JSON")
    }

    /// The state file as Terraform wrote it, shaped like `terraform show -json`'s `values` (root module
    /// only): cheaper than running `terraform show`.
    pub fn state_from_file(&self) -> Json {
        let Ok(text) = std::fs::read_to_string(self.path().join("terraform.tfstate")) else {
            return Json::Null;
        };
        let file: Json = serde_json::from_str(&text).expect("state JSON");
        let resources: Vec<Json> = file["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["mode"] == "managed")
            .flat_map(|r| {
                let kind = r["type"].clone();
                r["instances"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |i| serde_json::json!({"type": kind, "values": i["attributes"]}))
            })
            .collect();
        serde_json::json!({"values": {"root_module": {"resources": resources}}})
    }

    /// The value of output `name` from state.
    pub fn output(&self, name: &str) -> Json {
        self.state()["values"]["outputs"][name]["value"].clone()
    }
}

/// What a saved plan does to each resource instance, from `terraform show -json` (not from CLI text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanActions(pub Vec<(String, Vec<String>)>);

impl PlanActions {
    pub fn from_plan(plan: &Json) -> Self {
        let changes = plan["resource_changes"].as_array().cloned().unwrap_or_default();
        PlanActions(
            changes
                .iter()
                .map(|c| {
                    let address = c["address"].as_str().unwrap_or_default().to_owned();
                    let actions = c["change"]["actions"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default();
                    (address, actions)
                })
                .collect(),
        )
    }

    /// The actions planned for `address` (empty when the plan does not mention it).
    pub fn of(&self, address: &str) -> Vec<&str> {
        self.0
            .iter()
            .find(|(a, _)| a == address)
            .map(|(_, actions)| actions.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Nothing to do: every resource is a no-op (data sources may be read).
    pub fn is_empty(&self) -> bool {
        self.0
            .iter()
            .all(|(_, actions)| actions.iter().all(|a| a == "no-op" || a == "read"))
    }

    pub fn replaces(&self, address: &str) -> bool {
        let actions = self.of(address);
        actions.contains(&"delete") && actions.contains(&"create")
    }

    pub fn creates(&self, address: &str) -> bool {
        self.of(address) == ["create"]
    }

    pub fn updates(&self, address: &str) -> bool {
        self.of(address) == ["update"]
    }
}

const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    partnercenter = { source = "cspkit/partnercenter" }
  }
}"#;
