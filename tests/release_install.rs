//! The release archive installed the way users install it, not through `dev_overrides`: the zip that
//! `scripts/release.sh` packs, in a `filesystem_mirror` in the packed registry layout
//! (`<mirror>/registry.terraform.io/cspkit/partnercenter/terraform-provider-partnercenter_<ver>_linux_amd64.zip`),
//! `terraform init` checking it against a lock file that carries the `zh:` hash from the release's
//! SHA256SUMS (what the registry records, and what an air-gapped team commits), then `terraform apply` and
//! `plan` against the emulator; on Terraform 1.0.3 and on the `terraform` on PATH (1.11.4 on the project's
//! machines), over the unix socket and over the TCP transport that Windows uses.
//!
//! To stay quick, the archive is packed from this test build's binary (stripped, as the release profile
//! strips) by the same `scripts/release.sh package` and `checksums` steps that `make release` runs on the
//! release binary and the release workflow runs on every platform's binary. To run these tests against
//! the real `make release` output instead, point `PARTNERCENTER_RELEASE_DIR` at it:
//! `PARTNERCENTER_RELEASE_DIR=dist cargo test --test release_install`.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use partnercenter_emulator::demo;
use serde_json::Value as Json;
use support::Run;
use support::emulator::Emulator;

const NAME: &str = "terraform-provider-partnercenter";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const PLATFORM: &str = "linux_amd64";
const SOURCE: &str = "registry.terraform.io/cspkit/partnercenter";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The release files: the archive, the checksums and the manifest, packed once for all tests.
struct Release {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Release {
    fn zip_name() -> String {
        format!("{NAME}_{VERSION}_{PLATFORM}.zip")
    }

    fn zip(&self) -> PathBuf {
        self.dir.join(Self::zip_name())
    }

    fn sums(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("{NAME}_{VERSION}_SHA256SUMS"))).unwrap()
    }

    /// The SHA-256 that SHA256SUMS gives for `file`.
    fn sum_of(&self, file: &str) -> String {
        self.sums()
            .lines()
            .find_map(|l| l.strip_suffix(file).and_then(|h| h.strip_suffix("  ")))
            .unwrap_or_else(|| panic!("{file} is not in SHA256SUMS:\n{}", self.sums()))
            .to_owned()
    }
}

fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        if let Some(dir) = std::env::var_os("PARTNERCENTER_RELEASE_DIR") {
            let dir = root().join(dir);
            assert!(
                dir.join(Release::zip_name()).is_file(),
                "no {} in {}",
                Release::zip_name(),
                dir.display()
            );
            return Release { dir, _temp: None };
        }
        let temp = tempfile::tempdir().unwrap();
        let binary = temp.path().join(NAME);
        let strip = Command::new("strip")
            .arg("-o")
            .arg(&binary)
            .arg(support::provider_binary())
            .status()
            .expect("strip (binutils)");
        assert!(strip.success());
        let dir = temp.path().join("dist");
        script(&[
            "package",
            "--binary",
            binary.to_str().unwrap(),
            "--platform",
            PLATFORM,
            "--out",
            dir.to_str().unwrap(),
        ]);
        script(&["checksums", "--out", dir.to_str().unwrap()]);
        Release {
            dir,
            _temp: Some(temp),
        }
    })
}

/// Runs scripts/release.sh with `args`; returns stdout.
fn script(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(root().join("scripts/release.sh"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/release.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The Terraform on PATH (the machine image's 1.11.4), with its version.
fn terraform_on_path() -> (PathBuf, String) {
    let out = Command::new("terraform")
        .args(["version", "-json"])
        .output()
        .expect("a `terraform` on PATH (the project's machines have 1.11.4)");
    let version: Json = serde_json::from_slice(&out.stdout).unwrap();
    let version = version["terraform_version"].as_str().unwrap().to_owned();
    // These tests are the current-Terraform half of the pair; the other half is 1.0.3 from .tools/.
    let minor: u32 = version
        .strip_prefix("1.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        minor >= 1,
        "the terraform on PATH is {version}; these tests want a current one (1.11.4 on the project's machines)"
    );
    (PathBuf::from("terraform"), version)
}

/// A working directory whose CLI configuration installs the provider only from a filesystem mirror.
struct Install {
    dir: tempfile::TempDir,
    terraform: PathBuf,
    env: Vec<(String, String)>,
}

impl Install {
    fn new(terraform: &Path, main_tf: &str) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        let package_dir = mirror.join(SOURCE);
        std::fs::create_dir_all(&package_dir).unwrap();
        std::fs::copy(release().zip(), package_dir.join(Release::zip_name())).unwrap();
        // No `direct {}`: an air-gapped machine has no registry to fall back on, and neither has this test.
        let cli = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{SOURCE}\"]\n  }}\n}}\n",
            mirror.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        std::fs::write(dir.path().join("work/main.tf"), main_tf).unwrap();
        Install {
            dir,
            terraform: terraform.to_owned(),
            env: Vec::new(),
        }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// A lock file as the registry writes it for this release: one `zh:` per archive in SHA256SUMS.
    fn lock_with(&self, hashes: &[String]) {
        let hashes: String = hashes.iter().map(|h| format!("    \"{h}\",\n")).collect();
        std::fs::write(
            self.work().join(".terraform.lock.hcl"),
            format!("provider \"{SOURCE}\" {{\n  version = \"{VERSION}\"\n  hashes = [\n{hashes}  ]\n}}\n"),
        )
        .unwrap();
    }

    fn lock_file(&self) -> String {
        std::fs::read_to_string(self.work().join(".terraform.lock.hcl")).unwrap_or_default()
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(&self.terraform)
            .args(args)
            .current_dir(self.work())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env_remove("PARTNERCENTER_PLUGIN_TRANSPORT")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn main_tf() -> String {
    format!(
        r#"terraform {{
  required_providers {{
    partnercenter = {{ source = "cspkit/partnercenter", version = "{VERSION}" }}
  }}
}}

provider "partnercenter" {{}}

data "partnercenter_consent_url" "c" {{
  client_id    = "{app}"
  redirect_uri = "http://localhost:8400"
}}

data "partnercenter_mpn_id" "me" {{}}

resource "partnercenter_web_app_key" "k" {{
  application_id = "{app}"
  validity       = "1y"
}}

output "url" {{ value = data.partnercenter_consent_url.c.url }}
output "mpn_id" {{ value = data.partnercenter_mpn_id.me.mpn_id }}
output "key_id" {{ value = partnercenter_web_app_key.k.key_id }}
"#,
        app = demo::APP_ID
    )
}

/// init from the mirror against the release's `zh:` hash, apply, and an empty plan after it.
fn install_and_apply(terraform: &Path, transport: &str) {
    let emulator = Emulator::start();
    let mut install = Install::new(terraform, &main_tf());
    for (k, v) in [
        ("PARTNERCENTER_LOGIN_ENDPOINT", emulator.url.as_str()),
        ("PARTNERCENTER_GRAPH_ENDPOINT", emulator.url.as_str()),
        ("PARTNERCENTER_PARTNER_CENTER_ENDPOINT", emulator.url.as_str()),
        ("PARTNERCENTER_TENANT_ID", demo::TENANT_ID),
        ("PARTNERCENTER_CLIENT_ID", demo::APP_ID),
        ("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET),
        ("PARTNERCENTER_REFRESH_TOKEN", demo::REFRESH_TOKEN),
    ] {
        install.env(k, v);
    }
    if transport == "tcp" {
        install.env("PARTNERCENTER_PLUGIN_TRANSPORT", "tcp");
    }

    let zh = format!("zh:{}", release().sum_of(&Release::zip_name()));
    install.lock_with(std::slice::from_ref(&zh));
    let init = install.run(&["init", "-no-color", "-input=false"]).success();
    assert!(
        init.stdout
            .contains(&format!("Installed cspkit/partnercenter v{VERSION}")),
        "{}",
        init.output()
    );
    let lock = install.lock_file();
    assert!(
        lock.contains(&format!("\"{zh}\"")),
        "the release's zh: hash left the lock file:\n{lock}"
    );
    assert!(
        lock.contains("\"h1:"),
        "init recorded no h1: hash of the unpacked package:\n{lock}"
    );

    // Terraform executes every file of the package whose name starts with terraform-provider-<type>: the
    // binary must be alone there (a manifest beside it once failed every plan with "permission denied").
    let package = install
        .work()
        .join(format!(".terraform/providers/{SOURCE}/{VERSION}/{PLATFORM}"));
    let files: Vec<String> = std::fs::read_dir(&package)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        vec![format!("{NAME}_v{VERSION}")],
        "in {}",
        package.display()
    );

    let log = install.dir.path().join("terraform.log");
    install.env("TF_LOG", "DEBUG");
    install.env("TF_LOG_PATH", log.to_str().unwrap());
    let apply = install
        .run(&["apply", "-auto-approve", "-no-color", "-input=false"])
        .success();
    let log_text = std::fs::read_to_string(&log).unwrap();
    let listening: Vec<&str> = log_text
        .lines()
        .filter(|l| l.contains(NAME) && l.contains(": listening:"))
        .collect();
    assert!(
        !listening.is_empty(),
        "no provider said where it listens:\n{}",
        apply.output()
    );
    for line in &listening {
        assert!(line.contains(&format!("network={transport}")), "{line}");
        if transport == "tcp" {
            // Terraform hands its plugins go-plugin's port range 10000-25000; the provider stays in it.
            let port: u16 = line
                .split("address=127.0.0.1:")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no loopback address in {line}"));
            assert!((10000..=25000).contains(&port), "{line}");
        }
    }

    let outputs: Json = serde_json::from_str(&install.run(&["output", "-json"]).success().stdout).unwrap();
    assert_eq!(outputs["mpn_id"]["value"], demo::MPN_ID, "{outputs}");
    assert!(
        outputs["url"]["value"].as_str().unwrap().contains(demo::APP_ID),
        "{outputs}"
    );
    assert!(
        !outputs["key_id"]["value"].as_str().unwrap().is_empty(),
        "{outputs}"
    );

    install.env("TF_LOG", "");
    let plan = install.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "the plan after apply is not empty:\n{}",
        plan.output()
    );
}

#[test]
fn terraform_1_0_3_installs_the_release_from_a_mirror_over_the_unix_socket() {
    install_and_apply(support::terraform(), "unix");
}

#[test]
fn terraform_1_0_3_installs_the_release_from_a_mirror_over_tcp() {
    install_and_apply(support::terraform(), "tcp");
}

#[test]
fn terraform_on_path_installs_the_release_from_a_mirror_over_the_unix_socket() {
    let (terraform, version) = terraform_on_path();
    eprintln!("terraform on PATH: {version}");
    install_and_apply(&terraform, "unix");
}

#[test]
fn terraform_on_path_installs_the_release_from_a_mirror_over_tcp() {
    let (terraform, version) = terraform_on_path();
    eprintln!("terraform on PATH: {version}");
    install_and_apply(&terraform, "tcp");
}

#[test]
fn init_without_a_lock_file_records_the_installed_package() {
    let (terraform, _) = terraform_on_path();
    let install = Install::new(&terraform, &main_tf());
    let init = install.run(&["init", "-no-color", "-input=false"]).success();
    // A mirror carries no signature: Terraform says so, and records the unpacked package's hash only.
    assert!(init.stdout.contains("(unauthenticated)"), "{}", init.output());
    let lock = install.lock_file();
    assert!(lock.contains("\"h1:") && !lock.contains("\"zh:"), "{lock}");
}

#[test]
fn init_refuses_an_archive_that_does_not_match_the_locked_hash() {
    let (terraform, _) = terraform_on_path();
    let install = Install::new(&terraform, &main_tf());
    install.lock_with(&[format!("zh:{}", "0".repeat(64))]);
    let init = install.run(&["init", "-no-color", "-input=false"]).failure();
    // Terraform wraps its messages at 80 columns, at different words in different versions.
    let words = init.output().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("doesn't match any of the checksums previously recorded"),
        "{}",
        init.output()
    );
}

#[test]
fn the_archive_holds_only_the_binary_and_the_sums_cover_the_archive_and_the_manifest() {
    let release = release();
    let listing = Command::new("unzip")
        .arg("-Z1")
        .arg(release.zip())
        .output()
        .unwrap();
    assert!(listing.status.success());
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout)
            .lines()
            .collect::<Vec<_>>(),
        vec![format!("{NAME}_v{VERSION}")]
    );
    // Executable once unpacked: the entry carries unix mode 0755.
    let verbose = Command::new("unzip")
        .arg("-Zl")
        .arg(release.zip())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&verbose.stdout).contains("-rwxr-xr-x"),
        "{}",
        String::from_utf8_lossy(&verbose.stdout)
    );

    let manifest_name = format!("{NAME}_{VERSION}_manifest.json");
    let names: Vec<String> = release
        .sums()
        .lines()
        .map(|l| l.split("  ").nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(names, vec![Release::zip_name(), manifest_name.clone()]);
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(release.dir.join(&manifest_name)).unwrap()).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
    );
    for name in [Release::zip_name(), manifest_name] {
        let out = Command::new("sha256sum")
            .arg(release.dir.join(&name))
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            actual.split_whitespace().next(),
            Some(release.sum_of(&name).as_str())
        );
    }
}

#[test]
fn packing_the_same_binary_twice_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Any file will do: what is checked is the packing, and a small one keeps the test quick.
    let binary = dir.path().join("binary");
    std::fs::write(&binary, b"MZ not really a Windows binary").unwrap();
    let zip = |out: &Path| {
        script(&[
            "package",
            "--binary",
            binary.to_str().unwrap(),
            "--platform",
            "windows_amd64",
            "--out",
            out.to_str().unwrap(),
        ]);
        std::fs::read(out.join(format!("{NAME}_{VERSION}_windows_amd64.zip"))).unwrap()
    };
    let first = zip(&dir.path().join("a"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = zip(&dir.path().join("b"));
    assert!(first == second, "two packings of one binary differ");
    // The Windows archive holds the .exe name.
    let listing = Command::new("unzip")
        .arg("-Z1")
        .arg(dir.path().join(format!("a/{NAME}_{VERSION}_windows_amd64.zip")))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout).trim(),
        format!("{NAME}_v{VERSION}.exe")
    );
}

#[test]
fn the_sums_signature_verifies_against_the_signing_key() {
    let release_dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&release().dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), release_dir.path().join(entry.file_name())).unwrap();
    }
    // A throwaway RSA key (the registry takes RSA and DSA keys, not ECC) in a keyring of its own.
    let gnupg = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .env("GNUPGHOME", gnupg.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .expect("gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    gpg(&[
        "--quick-generate-key",
        "release test <release@example.invalid>",
        "rsa2048",
        "sign",
        "1d",
    ]);
    let fingerprint = gpg(&["--with-colons", "--list-secret-keys"])
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_owned())
        .unwrap();

    let out = Command::new("bash")
        .arg(root().join("scripts/release.sh"))
        .args(["sign", "--out", release_dir.path().to_str().unwrap()])
        .env("GNUPGHOME", gnupg.path())
        .env("GPG_FINGERPRINT", &fingerprint)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let sums = release_dir.path().join(format!("{NAME}_{VERSION}_SHA256SUMS"));
    let sig = release_dir
        .path()
        .join(format!("{NAME}_{VERSION}_SHA256SUMS.sig"));
    let bytes = std::fs::read(&sig).unwrap();
    // A binary OpenPGP packet, not ASCII armor: the registry reads the former.
    assert!(!bytes.starts_with(b"-----BEGIN"), "the signature is armored");
    gpg(&["--verify", sig.to_str().unwrap(), sums.to_str().unwrap()]);
    // And a changed SUMS file no longer verifies.
    std::fs::write(
        &sums,
        format!("{}tampered\n", std::fs::read_to_string(&sums).unwrap()),
    )
    .unwrap();
    let tampered = Command::new("gpg")
        .env("GNUPGHOME", gnupg.path())
        .args([
            "--batch",
            "--verify",
            sig.to_str().unwrap(),
            sums.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!tampered.status.success());
}
