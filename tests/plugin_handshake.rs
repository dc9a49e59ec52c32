//! The binary as Terraform starts it: go-plugin handshake, AutoMTLS that only lets Terraform in, SIGINT
//! left to Terraform, prompt exit on Shutdown; and what a person sees running it by hand.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::grpc::{Plugin, pb};
use terraform_provider_partnercenter::protocol::proto::plugin::Empty;
use terraform_provider_partnercenter::protocol::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_partnercenter::protocol::serve::socket_exists;

#[tokio::test]
async fn terraform_with_its_certificate_is_served() {
    let plugin = Plugin::start(&[]);
    assert!(socket_exists(&plugin.socket), "handshake {}", plugin.handshake);
    let mut client = plugin.connect_as_terraform().await;
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        schema
            .data_source_schemas
            .contains_key("partnercenter_consent_url")
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let plugin = Plugin::start(&[]);
    let outcome = match plugin.connect(None).await {
        Err(_) => Err(()),
        Ok(mut c) => c
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .map(|_| ())
            .map_err(|_| ()),
    };
    assert!(outcome.is_err(), "a client without a certificate got an answer");
}

#[tokio::test]
async fn a_client_with_another_certificate_is_refused() {
    let plugin = Plugin::start(&[]);
    let (other_cert, other_key) = support::terraform_cert::terraform_like_client_certificate();
    let outcome = match plugin.connect(Some((&other_cert, &other_key))).await {
        Err(_) => Err(()),
        Ok(mut c) => c
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .map(|_| ())
            .map_err(|_| ()),
    };
    assert!(
        outcome.is_err(),
        "a client with a foreign certificate got an answer"
    );
}

#[tokio::test]
async fn sigint_does_not_kill_the_plugin() {
    let plugin = Plugin::start(&[]);
    let status = Command::new("kill")
        .args(["-INT", &plugin.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut client = plugin.connect_as_terraform().await;
    client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("still serving after SIGINT");
}

#[tokio::test]
async fn shutdown_exits_promptly_and_removes_the_socket() {
    let mut plugin = Plugin::start(&[]);
    let (c, k) = (plugin.client_cert_pem.clone(), plugin.client_key_pem.clone());
    let channel = plugin.channel(Some((&c, &k))).await.unwrap();
    let started = Instant::now();
    let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
    let status = loop {
        if let Some(status) = plugin.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still running 1 s after Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(status.success());
    assert!(!socket_exists(&plugin.socket));
}

#[test]
fn protocol_5_only_is_refused_with_a_clear_message() {
    let out = Command::new(support::provider_binary())
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            terraform_provider_partnercenter::protocol::serve::MAGIC_COOKIE_VALUE,
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
    assert!(out.stdout.is_empty(), "no handshake line may be printed");
}

#[test]
fn run_by_hand_it_explains_itself_instead_of_hanging() {
    let out = Command::new(support::provider_binary())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Terraform plugin") && text.contains("login") && text.contains("schema"),
        "{text}"
    );

    let version = Command::new(support::provider_binary())
        .arg("version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}
