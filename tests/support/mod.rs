//! Shared by the end-to-end tests: the real Terraform CLI (1.0.3, installed by scripts/install-terraform.sh)
//! run against this crate's provider binary through `dev_overrides`, in a temporary directory per test.
#![allow(dead_code)]

pub mod emulator;
pub mod grpc;
pub mod terraform_cert;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The provider binary cargo built for these tests.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-partnercenter"))
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
}

impl Workdir {
    pub fn new(main_tf: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let provider_dir = provider_binary().parent().expect("binary dir").to_path_buf();
        let cli_config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"cspkit/partnercenter\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli_config).expect("cli config");
        let w = Workdir { dir, env: Vec::new() };
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
        let mut cmd = Command::new(terraform());
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

    /// The value of output `name` from state.
    pub fn output(&self, name: &str) -> Json {
        self.state()["values"]["outputs"][name]["value"].clone()
    }
}

const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    partnercenter = { source = "cspkit/partnercenter" }
  }
}"#;
