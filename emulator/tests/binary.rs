//! The `partnercenter-emulator` binary: prints its base URL once listening, serves, reads seed files.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partnercenter-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let url = line
        .trim()
        .strip_prefix("partnercenter-emulator listening on ")
        .expect("announces its URL")
        .to_owned();
    (Running(child), url)
}

/// The served emulator's `/_emulator/state`.
async fn state_of(url: &str) -> serde_json::Value {
    reqwest::get(format!("{url}/_emulator/state"))
        .await
        .expect("state")
        .json()
        .await
        .expect("state JSON")
}

#[tokio::test]
async fn binary_serves_generated_customers_and_seed_files() {
    let (_running, url) = start(&["--port", "0", "--customers", "42"]);
    assert!(url.starts_with("http://127.0.0.1:"));
    let state = state_of(&url).await;
    assert_eq!(state["customers"].as_array().unwrap().len(), 42);

    let dir = std::env::temp_dir().join(format!("pc-emulator-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("seed.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "partner": { "company_name": "Woodgrove CSP", "mpn_id": "1234567" },
            "resellers": [{ "id": "11111111-1111-1111-1111-111111111111", "name": "Only Reseller", "mpn_id": "7654321" }],
            "customers": [
                { "id": "22222222-2222-2222-2222-222222222222", "company_name": "Direct Co", "domain": "directco.onmicrosoft.com" },
                { "id": "33333333-3333-3333-3333-333333333333", "company_name": "Via Reseller Co", "domain": "viaresellerco.onmicrosoft.com", "reseller_id": "11111111-1111-1111-1111-111111111111" }
            ],
            "generate_customers": 5
        })
        .to_string(),
    )
    .unwrap();
    let (_running, url) = start(&["--seed", file.to_str().unwrap()]);
    let state = state_of(&url).await;
    assert_eq!(state["tenants"][0]["mpnId"], "1234567");
    assert_eq!(state["customers"].as_array().unwrap().len(), 7);
    assert_eq!(state["resellers"][0]["name"], "Only Reseller");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_exit_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_partnercenter-emulator"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));
}

#[test]
fn a_replication_seed_is_announced_on_stderr() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partnercenter-emulator"))
        .args(["--replication-seed", "1234"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    assert!(line.starts_with("partnercenter-emulator listening on "));
    let mut announced = String::new();
    BufReader::new(stderr)
        .read_line(&mut announced)
        .expect("stderr line");
    assert_eq!(
        announced.trim_end(),
        "partnercenter-emulator: replication random seed 1234"
    );
    drop(running);
}
