//! The binary as Terraform starts it: go-plugin handshake (unix socket, or TCP on loopback as on Windows),
//! AutoMTLS that only lets Terraform in, SIGINT left to Terraform, prompt exit on Shutdown; and what a
//! person sees running it by hand.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::grpc::{Plugin, launch, pb};
use terraform_provider_partnercenter::protocol::proto::plugin::Empty;
use terraform_provider_partnercenter::protocol::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_partnercenter::protocol::serve::{MAGIC_COOKIE_VALUE, socket_exists};
use tonic::transport::Channel;

#[tokio::test]
async fn terraform_with_its_certificate_is_served() {
    let plugin = Plugin::start(&[]);
    assert!(socket_exists(plugin.socket()), "handshake {}", plugin.handshake);
    assert!(serves_this_provider(plugin.channel_as_terraform().await).await);
}

/// Whether the provider schema answered over `channel` is this provider's.
async fn serves_this_provider(channel: Channel) -> bool {
    let schema = pb::provider_client::ProviderClient::new(channel)
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    schema
        .data_source_schemas
        .contains_key("partnercenter_consent_url")
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let plugin = Plugin::start(&[]);
    assert!(
        !plugin.answers(None).await,
        "a client without a certificate got an answer"
    );
}

#[tokio::test]
async fn a_client_with_another_certificate_is_refused() {
    let plugin = Plugin::start(&[]);
    let (other_cert, other_key) = support::terraform_cert::terraform_like_client_certificate();
    assert!(
        !plugin.answers(Some((&other_cert, &other_key))).await,
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
    let channel = plugin.channel_as_terraform().await;
    let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
    let status = plugin.exit_status(Duration::from_secs(1)).await;
    assert!(status.success());
    assert!(!socket_exists(plugin.socket()));
}

#[test]
fn protocol_5_only_is_refused_with_a_clear_message() {
    let out = Command::new(support::provider_binary())
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
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

// ---- TCP on loopback: go-plugin's transport on Windows, forced here with PARTNERCENTER_PLUGIN_TRANSPORT ----

/// The plugin started with `env`, and its handshake line (empty when it printed none); stderr captured.
fn start_with(env: &[(&str, &str)]) -> (std::process::Child, String) {
    launch(env, Stdio::piped())
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn forced_tcp_serves_terraform_on_loopback_only_with_its_certificate_and_exits_on_shutdown() {
    let mut plugin = Plugin::start_tcp(&[]);
    let address = plugin.tcp_address();
    assert!(address.ip().is_loopback(), "{address}");

    let channel = plugin.channel_as_terraform().await;
    assert!(serves_this_provider(channel.clone()).await);

    assert!(
        !plugin.answers(None).await,
        "a client without a certificate got an answer over TCP"
    );

    let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
    let status = plugin.exit_status(Duration::from_secs(1)).await;
    assert!(status.success());
}

#[test]
fn the_tcp_port_comes_from_go_plugins_port_range() {
    let port = free_port().to_string();
    let plugin = Plugin::start_tcp(&[("PLUGIN_MIN_PORT", &port), ("PLUGIN_MAX_PORT", &port)]);
    assert_eq!(plugin.tcp_address().to_string(), format!("127.0.0.1:{port}"));
}

#[test]
fn a_port_range_without_a_free_port_fails_before_the_handshake() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (child, line) = start_with(&[
        ("PARTNERCENTER_PLUGIN_TRANSPORT", "tcp"),
        ("PLUGIN_MIN_PORT", &port),
        ("PLUGIN_MAX_PORT", &port),
    ]);
    let out = child.wait_with_output().unwrap();
    assert!(line.is_empty(), "a handshake was printed: {line}");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PLUGIN_MIN_PORT") && stderr.contains(&port),
        "{stderr}"
    );
}

#[test]
fn an_unknown_transport_is_refused_before_the_handshake() {
    let (child, line) = start_with(&[("PARTNERCENTER_PLUGIN_TRANSPORT", "quic")]);
    let out = child.wait_with_output().unwrap();
    assert!(line.is_empty(), "a handshake was printed: {line}");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PARTNERCENTER_PLUGIN_TRANSPORT") && stderr.contains("tcp"),
        "{stderr}"
    );
}

#[test]
fn the_unix_socket_can_be_asked_for_by_name_and_goes_where_go_plugin_puts_it() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = Plugin::start(&[
        ("PARTNERCENTER_PLUGIN_TRANSPORT", "unix"),
        ("PLUGIN_UNIX_SOCKET_DIR", dir.path().to_str().unwrap()),
    ]);
    assert!(plugin.socket().starts_with(dir.path()), "{}", plugin.handshake);
    assert!(socket_exists(plugin.socket()));
}
