//! gRPC clients for what Terraform 1.0.3 cannot drive: an in-process server over an in-memory duplex, and
//! the real plugin binary over its unix socket with AutoMTLS, playing Terraform's part.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use terraform_provider_partnercenter::protocol::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_partnercenter::protocol::proto::tfplugin6::provider_server::ProviderServer as ProviderService;
use terraform_provider_partnercenter::protocol::{Provider, ProviderServer};
use tonic::transport::{Channel, Endpoint, Uri};

#[allow(unused_imports)]
pub use terraform_provider_partnercenter::protocol::proto::tfplugin6 as pb;

/// Serves `server` in this process over an in-memory connection and returns a client for it.
pub async fn in_process<P: Provider>(server: ProviderServer<P>) -> ProviderClient<Channel> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(ProviderService::new(server))
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_io)))
            .await
    });
    let mut client_io = Some(client_io);
    let channel = Endpoint::from_static("http://in-process")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("connection already used"))
            }
        }))
        .await
        .expect("in-process channel");
    ProviderClient::new(channel)
}

/// The provider binary started as Terraform starts it, with a P-521 client certificate like Terraform's.
pub struct Plugin {
    pub child: Child,
    pub socket: PathBuf,
    pub server_certificate: Vec<u8>,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub handshake: String,
}

impl Plugin {
    pub fn start(extra_env: &[(&str, &str)]) -> Plugin {
        let (cert, key) = super::terraform_cert::terraform_like_client_certificate();
        let mut cmd = Command::new(super::provider_binary());
        cmd.env(
            "TF_PLUGIN_MAGIC_COOKIE",
            terraform_provider_partnercenter::protocol::serve::MAGIC_COOKIE_VALUE,
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", &cert)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start plugin");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("handshake line");
        let parts: Vec<&str> = line.trim().split('|').collect();
        assert_eq!(parts.len(), 6, "handshake: {line}");
        assert_eq!(&parts[..3], &["1", "6", "unix"], "handshake: {line}");
        assert_eq!(parts[4], "grpc");
        let server_certificate = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .expect("certificate is unpadded standard base64");
        Plugin {
            child,
            socket: PathBuf::from(parts[3]),
            server_certificate,
            client_cert_pem: cert,
            client_key_pem: key,
            handshake: line.trim().to_owned(),
        }
    }

    /// A provider client presenting `identity` (certificate PEM, key PEM), or no certificate at all.
    pub async fn connect(
        &self,
        identity: Option<(&str, &str)>,
    ) -> Result<ProviderClient<Channel>, tonic::transport::Error> {
        Ok(ProviderClient::new(self.channel(identity).await?))
    }

    /// A channel presenting `identity`, for any of the plugin's services.
    pub async fn channel(&self, identity: Option<(&str, &str)>) -> Result<Channel, tonic::transport::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = PinnedServer {
            pinned: self.server_certificate.clone(),
            algorithms: provider.signature_verification_algorithms,
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert pem")],
                    PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key pem"),
                )
                .expect("client auth"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let socket = self.socket.clone();
        let channel = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let connector = connector.clone();
                let socket = socket.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(socket).await?;
                    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                    let tls = connector.connect(name, stream).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await?;
        Ok(channel)
    }

    /// A client presenting Terraform's certificate.
    pub async fn connect_as_terraform(&self) -> ProviderClient<Channel> {
        let (c, k) = (self.client_cert_pem.clone(), self.client_key_pem.clone());
        self.connect(Some((&c, &k))).await.expect("connect as Terraform")
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts exactly the certificate the plugin announced in its handshake, as go-plugin's client does.
#[derive(Debug)]
struct PinnedServer {
    pinned: Vec<u8>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the announced server certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
