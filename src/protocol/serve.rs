//! Running as a Terraform plugin: go-plugin's handshake on stdout, a unix socket (or TCP on loopback, see
//! `transport`) served with AutoMTLS, the go-plugin side services, prompt exit on
//! `GRPCController.Shutdown`, and Ctrl-C left to Terraform.

use std::pin::Pin;
use std::time::Duration;

use base64::Engine;
use futures::Stream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status, Streaming};

use super::contracts::Provider;
use super::proto::plugin as gp;
use super::proto::tfplugin6::provider_server::ProviderServer as ProviderService;
use super::server::ProviderServer;
use super::tls::AutoMtls;
use super::transport::{Listener, Stream as Socket, Transport, TransportError};

/// The cookie Terraform sets so a provider knows it was started as a plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Terraform may send large plans and states; its own client accepts up to 64 MiB per message.
const MAX_MESSAGE_BYTES: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "Terraform offered plugin protocol versions {0:?}, but this provider speaks only protocol 6 (Terraform >= 1.0 or OpenTofu)"
    )]
    ProtocolVersion(String),
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("serving gRPC: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// True when started by Terraform (the magic cookie is set).
pub fn started_by_terraform() -> bool {
    std::env::var(MAGIC_COOKIE_KEY).is_ok_and(|v| v == MAGIC_COOKIE_VALUE)
}

/// Serves `server` until Terraform asks for shutdown. Prints the handshake line on stdout.
pub async fn serve<P: Provider>(server: ProviderServer<P>) -> Result<(), ServeError> {
    let offered = std::env::var("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_else(|_| "6".to_owned());
    if !offered.split(',').any(|v| v.trim() == "6") {
        return Err(ServeError::ProtocolVersion(offered));
    }
    // Without a client certificate (AutoMTLS off) go-plugin serves plain gRPC; so do we.
    let tls = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !pem.trim().is_empty() => Some(AutoMtls::new(&pem)?),
        _ => None,
    };

    let listener = Listener::bind(Transport::from_env()?).await?;

    // Before the handshake: from then on a Ctrl-C may come, and must not kill us.
    ignore_interrupts();
    announce(&listener, tls.as_ref());

    let shutdown = CancellationToken::new();
    let stop = server.stop_token();
    let (incoming, accepting) = accept_connections(
        listener,
        tls.map(|t| TlsAcceptor::from(t.config)),
        shutdown.clone(),
    );
    let provider = ProviderService::new(server)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);

    let serving = tonic::transport::Server::builder()
        .add_service(provider)
        .add_service(gp::grpc_controller_server::GrpcControllerServer::new(Controller(
            shutdown.clone(),
        )))
        .add_service(gp::grpc_stdio_server::GrpcStdioServer::new(Stdio))
        .add_service(gp::grpc_broker_server::GrpcBrokerServer::new(Broker))
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());

    tokio::select! {
        result = serving => {
            shutdown.cancel();
            result?
        }
        // Terraform keeps its connection open after Shutdown; give the answer a moment to go out, then
        // exit rather than wait for a graceful close that would only come from Terraform killing us.
        _ = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_millis(20)).await } => {}
    }
    stop.cancel();
    // The accept loop owns the listener and ends on `shutdown`: waiting for it removes the unix socket file
    // before we exit, rather than whenever the runtime gets round to dropping the task.
    let _ = accepting.await;
    Ok(())
}

/// Prints the handshake on stdout: core protocol 1, app protocol 6, network, address, grpc, and the server
/// certificate (none without AutoMTLS).
fn announce(listener: &Listener, tls: Option<&AutoMtls>) {
    let certificate = tls
        .map(|t| base64::engine::general_purpose::STANDARD_NO_PAD.encode(&t.server_certificate))
        .unwrap_or_default();
    println!(
        "1|6|{}|{}|grpc|{certificate}",
        listener.network(),
        listener.address()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Terraform's own log does not say which transport a plugin chose; this line does (TF_LOG=DEBUG).
    tracing::debug!(
        network = listener.network(),
        address = %listener.address(),
        "listening"
    );
}

/// Terraform owns Ctrl-C: the terminal delivers it to the whole process group (console on Windows),
/// provider included, and Terraform then calls StopProvider and waits for in-flight operations to return
/// their state. Dying here would lose objects created remotely but not yet recorded. go-plugin's server
/// ignores the interrupt the same way on every platform.
#[cfg(unix)]
fn ignore_interrupts() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::interrupt()) {
        Ok(mut signals) => {
            tokio::spawn(async move {
                while signals.recv().await.is_some() {
                    tracing::info!("SIGINT received; waiting for Terraform's StopProvider");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot install the SIGINT handler"),
    }
}

/// Windows has no SIGINT: Ctrl-C and Ctrl-Break are console control events, whose default handler ends
/// the process. While a tokio listener for an event is alive, tokio's console handler reports the event as
/// handled, so the default handler does not run; the listeners live in the spawned tasks for the life of
/// the runtime. Go maps both events to os.Interrupt, which go-plugin ignores, so both are taken here.
/// Written against tokio's documented `tokio::signal::windows` API; it cannot be compiled or run on the
/// Linux machines this project is developed on (the release workflow's Windows job builds it).
#[cfg(windows)]
fn ignore_interrupts() {
    use tokio::signal::windows::{ctrl_break, ctrl_c};
    match ctrl_c() {
        Ok(mut events) => {
            tokio::spawn(async move {
                while events.recv().await.is_some() {
                    tracing::info!("Ctrl-C received; waiting for Terraform's StopProvider");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot install the Ctrl-C handler"),
    }
    match ctrl_break() {
        Ok(mut events) => {
            tokio::spawn(async move {
                while events.recv().await.is_some() {
                    tracing::info!("Ctrl-Break received; waiting for Terraform's StopProvider");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot install the Ctrl-Break handler"),
    }
}

#[cfg(not(any(unix, windows)))]
fn ignore_interrupts() {}

/// A connection as tonic needs it: TLS over the socket, or the bare socket when AutoMTLS is off.
pub enum Connection {
    Tls(Box<TlsStream<Socket>>),
    Plain(Socket),
}

impl Connected for Connection {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl tokio::io::AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Connection::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Connection::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Connection::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Connection::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Accepts connections until `shutdown`, and completes TLS handshakes off the accept loop; a client that
/// fails the handshake (no certificate, or not Terraform's) is dropped and logged.
fn accept_connections(
    listener: Listener,
    acceptor: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) -> (
    ReceiverStream<Result<Connection, std::io::Error>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel(16);
    let accepting = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    // Out of file descriptors fails every accept at once: do not spin on it.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let tx = tx.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let connection = match acceptor {
                    None => Connection::Plain(stream),
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => Connection::Tls(Box::new(tls)),
                        // rustls reports a refused certificate as InvalidData; anything else is a client
                        // that hung up mid-handshake, which Terraform itself does now and then.
                        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                            tracing::warn!(error = %e, "refused a connection that failed mutual TLS");
                            return;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "a client left during the TLS handshake");
                            return;
                        }
                    },
                };
                let _ = tx.send(Ok(connection)).await;
            });
        }
    });
    (ReceiverStream::new(rx), accepting)
}

/// `plugin.GRPCController`: Terraform's request to exit.
struct Controller(CancellationToken);

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<gp::Empty>) -> Result<Response<gp::Empty>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        self.0.cancel();
        Ok(Response::new(gp::Empty {}))
    }
}

type PendingStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// `plugin.GRPCStdio`: the provider writes nothing to stdout after the handshake and logs to stderr
/// directly, so the stream stays open and silent for the life of the plugin.
struct Stdio;

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = PendingStream<gp::StdioData>;

    async fn stream_stdio(&self, _: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

/// `plugin.GRPCBroker`: Terraform providers open no extra connections.
struct Broker;

#[tonic::async_trait]
impl gp::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = PendingStream<gp::ConnInfo>;

    async fn start_stream(
        &self,
        _: Request<Streaming<gp::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

/// For tests: whether a path is a unix socket that exists.
#[cfg(unix)]
pub fn socket_exists(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}
