//! The binary as Terraform starts it: go-plugin handshake (unix socket, or TCP on loopback as on Windows),
//! AutoMTLS that only lets Terraform in, SIGINT left to Terraform, prompt exit on Shutdown; and what a
//! person sees running it by hand.

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

// ---- TCP on loopback: go-plugin's transport on Windows, forced here with PARTNERCENTER_PLUGIN_TRANSPORT ----

/// The plugin started with `env`, and its handshake line (empty when it printed none).
fn start_with(env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let (cert, _) = support::terraform_cert::terraform_like_client_certificate();
    let mut cmd = Command::new(support::provider_binary());
    cmd.env(
        "TF_PLUGIN_MAGIC_COOKIE",
        terraform_provider_partnercenter::protocol::serve::MAGIC_COOKIE_VALUE,
    )
    .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
    .env("PLUGIN_CLIENT_CERT", &cert)
    .env_remove("PLUGIN_MIN_PORT")
    .env_remove("PLUGIN_MAX_PORT")
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// The plugin over TCP with a client certificate like Terraform's, and a TLS client that pins the server
/// certificate from the handshake as go-plugin's client does.
struct TcpPlugin {
    child: std::process::Child,
    address: std::net::SocketAddr,
    server_certificate: Vec<u8>,
    client_cert_pem: String,
    client_key_pem: String,
}

impl TcpPlugin {
    fn start(extra_env: &[(&str, &str)]) -> TcpPlugin {
        use base64::Engine;
        let (cert, key) = support::terraform_cert::terraform_like_client_certificate();
        let mut env = vec![
            ("PARTNERCENTER_PLUGIN_TRANSPORT", "tcp"),
            ("PLUGIN_CLIENT_CERT", cert.as_str()),
        ];
        env.extend_from_slice(extra_env);
        let (child, line) = start_with(&env);
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 6, "handshake: {line}");
        assert_eq!(&parts[..3], &["1", "6", "tcp"], "handshake: {line}");
        assert_eq!(parts[4], "grpc", "handshake: {line}");
        TcpPlugin {
            child,
            address: parts[3].parse().expect("the address is IP:PORT"),
            server_certificate: base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(parts[5])
                .unwrap(),
            client_cert_pem: cert,
            client_key_pem: key,
        }
    }

    async fn channel(
        &self,
        with_certificate: bool,
    ) -> Result<tonic::transport::Channel, tonic::transport::Error> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = Pinned {
            pinned: self.server_certificate.clone(),
            algorithms: provider.signature_verification_algorithms,
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(verifier));
        let mut config = if with_certificate {
            builder
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(self.client_cert_pem.as_bytes()).unwrap()],
                    PrivateKeyDer::from_pem_slice(self.client_key_pem.as_bytes()).unwrap(),
                )
                .unwrap()
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let address = self.address;
        tonic::transport::Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
                let connector = connector.clone();
                async move {
                    let tcp = tokio::net::TcpStream::connect(address).await?;
                    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                    let tls = connector.connect(name, tcp).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
                }
            }))
            .await
    }
}

impl Drop for TcpPlugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts exactly the certificate the plugin announced.
#[derive(Debug)]
struct Pinned {
    pinned: Vec<u8>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the announced certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
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
    let mut plugin = TcpPlugin::start(&[]);
    assert!(plugin.address.ip().is_loopback(), "{}", plugin.address);

    let channel = plugin.channel(true).await.unwrap();
    let schema = pb::provider_client::ProviderClient::new(channel.clone())
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        schema
            .data_source_schemas
            .contains_key("partnercenter_consent_url")
    );

    let stranger = match plugin.channel(false).await {
        Err(_) => Err(()),
        Ok(c) => pb::provider_client::ProviderClient::new(c)
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .map(|_| ())
            .map_err(|_| ()),
    };
    assert!(
        stranger.is_err(),
        "a client without a certificate got an answer over TCP"
    );

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
}

#[test]
fn the_tcp_port_comes_from_go_plugins_port_range() {
    let port = free_port().to_string();
    let plugin = TcpPlugin::start(&[("PLUGIN_MIN_PORT", &port), ("PLUGIN_MAX_PORT", &port)]);
    assert_eq!(plugin.address.to_string(), format!("127.0.0.1:{port}"));
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
    assert!(plugin.socket.starts_with(dir.path()), "{}", plugin.handshake);
    assert!(socket_exists(&plugin.socket));
}
