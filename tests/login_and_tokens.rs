//! `terraform-provider-partnercenter login` against the emulator (browser flow with PKCE, and device
//! code), and refresh-token rotation during a Terraform run.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use partnercenter_emulator::demo;
use serde_json::json;
use support::Workdir;
use support::emulator::{Emulator, FaultSpec};

fn login_command(emu: &Emulator) -> Command {
    let mut cmd = Command::new(support::provider_binary());
    cmd.args([
        "login",
        "--tenant-id",
        demo::TENANT_ID,
        "--client-id",
        demo::APP_ID,
        "--login-endpoint",
        &emu.url,
    ])
    .args(["--timeout", "60"])
    .env_remove("TF_PLUGIN_MAGIC_COOKIE")
    .env("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET);
    cmd
}

/// Plays the browser: opens the sign-in URL (the emulator signs the demo user in and redirects) and follows
/// the redirect to the CLI's local listener.
fn sign_in(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = browser.get(url).send().await.expect("authorize");
        assert!(
            answer.status().is_redirection(),
            "authorize answered {}",
            answer.status()
        );
        let back = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with("http://localhost:"), "redirected to {back}");
        assert!(back.contains("code=") && back.contains("state="), "{back}");
        let done = browser.get(back).send().await.expect("redirect to the CLI");
        assert!(done.status().is_success());
    });
}

each_terraform! {
    fn browser_login_with_pkce_prints_a_working_refresh_token(tf) {
        browser_login_with_pkce_prints_a_working_refresh_token_on(tf)
    }
}

fn browser_login_with_pkce_prints_a_working_refresh_token_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let mut child = login_command(&emu)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let url = stderr
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("http"))
        .expect("the CLI prints the sign-in URL");
    assert!(
        url.contains("code_challenge=") && url.contains("code_challenge_method=S256"),
        "PKCE: {url}"
    );
    sign_in(&url);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(!token.is_empty() && token != demo::REFRESH_TOKEN);

    // The token works for an App+User-only data source.
    let w = emu
        .endpoints_env(Workdir::with(tf, "provider \"partnercenter\" {}\ndata \"partnercenter_mpn_id\" \"me\" {}\noutput \"mpn\" { value = data.partnercenter_mpn_id.me.mpn_id }\n"))
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID)
        .env("PARTNERCENTER_REFRESH_TOKEN", &token);
    w.apply().success();
    assert_eq!(w.output("mpn"), json!(demo::MPN_ID));
}

each_terraform! {
    fn device_code_login_writes_a_private_token_file(tf) {
        device_code_login_writes_a_private_token_file_on(tf)
    }
}

fn device_code_login_writes_a_private_token_file_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("refresh-token");
    let mut child = login_command(&emu)
        .arg("--device-code")
        .arg("--out")
        .arg(&out_file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        emu.control("POST", "/_emulator/device-codes/approve", json!({}));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "device code login did not finish"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("refresh_token_file_path"),
        "tells how to use it: {stderr}"
    );
    let mode = std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let token = std::fs::read_to_string(&out_file).unwrap();
    assert!(!token.trim().is_empty());
    assert!(
        !stderr.contains(token.trim()),
        "the token is written, not printed"
    );

    let w = emu
        .endpoints_env(Workdir::with(tf, "provider \"partnercenter\" {}\ndata \"partnercenter_domain\" \"me\" {}\noutput \"domain\" { value = data.partnercenter_domain.me.domain }\n"))
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID)
        .env("PARTNERCENTER_REFRESH_TOKEN_FILE_PATH", out_file.to_str().unwrap());
    w.apply().success();
    assert_eq!(w.output("domain"), json!(demo::DOMAIN));
}

each_terraform! {
    fn a_rotated_refresh_token_is_used_for_the_rest_of_the_run(tf) {
        a_rotated_refresh_token_is_used_for_the_rest_of_the_run_on(tf)
    }
}

fn a_rotated_refresh_token_is_used_for_the_rest_of_the_run_on(tf: &support::Terraform) {
    let emu = Emulator::start();
    // Each redemption revokes the token it used, and access tokens live two seconds (renewed at half life):
    // each read after the first, 1.2 s apart, redeems again, which only works with the rotated token.
    emu.control(
        "POST",
        "/_emulator/settings",
        json!({"rotate_refresh_tokens_revokes_old": true, "access_token_lifetime_seconds": 2}),
    );
    for route in [
        "GET /v1/profiles/mpn",
        "GET /v1/profiles/organization",
        "GET /v1/relationships",
    ] {
        emu.fault(FaultSpec::on(route).latency_ms(1200));
    }
    let w = emu
        .endpoints_env(Workdir::with(
            tf,
            r#"provider "partnercenter" {}
data "partnercenter_mpn_id" "me" {}
data "partnercenter_domain" "me" {}
data "partnercenter_indirect_resellers" "all" {}
"#,
        ))
        .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
        .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID)
        .env("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET)
        .env("PARTNERCENTER_REFRESH_TOKEN", demo::REFRESH_TOKEN);
    let run = w.run(&["plan", "-no-color", "-parallelism=1"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let redemptions = emu
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == json!("POST") && r["path"].as_str().unwrap_or("").ends_with("/oauth2/v2.0/token")
        })
        .count();
    assert!(
        redemptions >= 2,
        "the run redeemed refresh tokens {redemptions} time(s); rotation was not exercised"
    );
    let state = emu.control("GET", "/_emulator/state", json!(null));
    assert!(
        state["refreshTokens"]["revoked"].as_u64().unwrap() >= 2,
        "{}",
        state["refreshTokens"]
    );
}
