//! Where the plugin listens, as go-plugin's server does it: a unix socket in the temp dir on unix-like
//! systems, TCP on the IPv4 loopback on Windows (go-plugin's server has no other transport there, so it is
//! what Terraform for Windows expects). `PARTNERCENTER_PLUGIN_TRANSPORT=tcp` forces TCP elsewhere, so the
//! Windows transport is exercised by the real Terraform CLI on Linux.
//!
//! Only the unix socket itself is platform-specific here; the TCP path is the same code on every
//! platform, which is why it can be tested on Linux on Windows' behalf.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Forces a transport: `tcp` or `unix` (case-insensitive). Unset or empty: the platform's default.
pub const TRANSPORT_ENV: &str = "PARTNERCENTER_PLUGIN_TRANSPORT";
/// go-plugin's port range for TCP listeners; Terraform always sets both (10000 and 25000).
pub const MIN_PORT_ENV: &str = "PLUGIN_MIN_PORT";
pub const MAX_PORT_ENV: &str = "PLUGIN_MAX_PORT";
/// go-plugin's directory for unix sockets (default: the temp dir).
pub const SOCKET_DIR_ENV: &str = "PLUGIN_UNIX_SOCKET_DIR";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Unix,
    Tcp,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{TRANSPORT_ENV}={0:?} is not a transport; use \"tcp\" or \"unix\", or leave it unset")]
    Unknown(String),
    #[error("{TRANSPORT_ENV}=unix: unix sockets are not available on this platform; use tcp")]
    UnixUnavailable,
    #[error("{name}={value:?} is not a port number (0-65535)")]
    Port { name: &'static str, value: String },
    #[error("{MIN_PORT_ENV} ({min}) is greater than {MAX_PORT_ENV} ({max})")]
    PortRange { min: u16, max: u16 },
    #[error("no free TCP port on 127.0.0.1 between {min} and {max} ({MIN_PORT_ENV}/{MAX_PORT_ENV}): {last}")]
    NoFreePort { min: u16, max: u16, last: io::Error },
    #[error("listening on {address}: {source}")]
    Listen { address: String, source: io::Error },
}

impl Transport {
    /// What go-plugin's server uses on this platform.
    pub fn platform_default() -> Transport {
        if cfg!(windows) {
            Transport::Tcp
        } else {
            Transport::Unix
        }
    }

    /// The transport asked for by [`TRANSPORT_ENV`], or the platform's default.
    pub fn from_env() -> Result<Transport, TransportError> {
        Transport::parse(std::env::var(TRANSPORT_ENV).ok().as_deref())
    }

    fn parse(value: Option<&str>) -> Result<Transport, TransportError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(Transport::platform_default()),
            Some(v) if v.eq_ignore_ascii_case("tcp") => Ok(Transport::Tcp),
            Some(v) if v.eq_ignore_ascii_case("unix") => Ok(Transport::Unix),
            Some(v) => Err(TransportError::Unknown(v.to_owned())),
        }
    }
}

/// The inclusive port range from `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`, read as go-plugin reads it: an unset
/// bound is 0, so neither set means "any free port" and only a minimum set is an error (min > max).
fn port_range(min: Option<&str>, max: Option<&str>) -> Result<(u16, u16), TransportError> {
    let parse = |name: &'static str, value: Option<&str>| match value.map(str::trim) {
        None | Some("") => Ok(0),
        Some(v) => v.parse::<u16>().map_err(|_| TransportError::Port {
            name,
            value: v.to_owned(),
        }),
    };
    let (min, max) = (parse(MIN_PORT_ENV, min)?, parse(MAX_PORT_ENV, max)?);
    if min > max {
        return Err(TransportError::PortRange { min, max });
    }
    Ok((min, max))
}

/// A bound listener and what the handshake line says about it.
pub struct Listener {
    kind: Kind,
}

enum Kind {
    #[cfg(unix)]
    Unix {
        listener: tokio::net::UnixListener,
        // Removed when the listener is dropped: Terraform does not clean up after its plugins.
        path: SocketPath,
    },
    Tcp(TcpListener),
}

impl Listener {
    /// Binds `transport`.
    pub async fn bind(transport: Transport) -> Result<Listener, TransportError> {
        match transport {
            Transport::Tcp => {
                let min = std::env::var(MIN_PORT_ENV).ok();
                let max = std::env::var(MAX_PORT_ENV).ok();
                let (min, max) = port_range(min.as_deref(), max.as_deref())?;
                Ok(Listener {
                    kind: Kind::Tcp(bind_loopback(min, max).await?),
                })
            }
            #[cfg(unix)]
            Transport::Unix => {
                let path = SocketPath::new();
                let listener =
                    tokio::net::UnixListener::bind(&path.0).map_err(|source| TransportError::Listen {
                        address: path.0.display().to_string(),
                        source,
                    })?;
                Ok(Listener {
                    kind: Kind::Unix { listener, path },
                })
            }
            #[cfg(not(unix))]
            Transport::Unix => Err(TransportError::UnixUnavailable),
        }
    }

    /// The handshake's network field: `unix` or `tcp`.
    pub fn network(&self) -> &'static str {
        match &self.kind {
            #[cfg(unix)]
            Kind::Unix { .. } => "unix",
            Kind::Tcp(_) => "tcp",
        }
    }

    /// The handshake's address field: the socket path, or `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        match &self.kind {
            #[cfg(unix)]
            Kind::Unix { path, .. } => path.0.display().to_string(),
            Kind::Tcp(listener) => match listener.local_addr() {
                Ok(addr) => addr.to_string(),
                // Cannot fail for a bound socket; an empty address makes Terraform report the handshake.
                Err(_) => String::new(),
            },
        }
    }

    /// The next connection. TCP connections get `TCP_NODELAY`: gRPC writes small frames and waits for the
    /// answer, and Nagle's algorithm against delayed ACKs cost ~40 ms per RPC in a prototype.
    pub async fn accept(&self) -> io::Result<Stream> {
        match &self.kind {
            #[cfg(unix)]
            Kind::Unix { listener, .. } => Ok(Stream::Unix(listener.accept().await?.0)),
            Kind::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::warn!(error = %e, "cannot set TCP_NODELAY; RPCs may be slow");
                }
                Ok(Stream::Tcp(stream))
            }
        }
    }
}

/// The first free port of `min..=max` on 127.0.0.1, tried in order as go-plugin does (0..=0: any port).
/// Only loopback: the plugin must never be reachable from another machine, TLS or not. tokio's bind sets
/// SO_REUSEADDR on unix and not on Windows, as Go's listeners do, so a port is as free for us as for a Go
/// provider.
async fn bind_loopback(min: u16, max: u16) -> Result<TcpListener, TransportError> {
    let mut last = io::Error::other("empty port range");
    for port in min..=max {
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(TransportError::NoFreePort { min, max, last })
}

/// A unix socket path, removed when dropped. In `PLUGIN_UNIX_SOCKET_DIR` when set (as go-plugin does),
/// otherwise in the temp dir.
#[cfg(unix)]
struct SocketPath(std::path::PathBuf);

#[cfg(unix)]
impl SocketPath {
    fn new() -> Self {
        let dir = std::env::var_os(SOCKET_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let name = format!(
            "plugin-partnercenter-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        SocketPath(dir.join(name))
    }
}

#[cfg(unix)]
impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An accepted connection on either transport.
pub enum Stream {
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Tcp(TcpStream),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.is_write_vectored(),
            Stream::Tcp(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_variable_chooses_the_transport_and_typos_are_refused() {
        assert_eq!(Transport::parse(None).unwrap(), Transport::platform_default());
        assert_eq!(Transport::parse(Some("")).unwrap(), Transport::platform_default());
        assert_eq!(Transport::parse(Some(" TCP ")).unwrap(), Transport::Tcp);
        assert_eq!(Transport::parse(Some("unix")).unwrap(), Transport::Unix);
        let e = Transport::parse(Some("quic")).unwrap_err().to_string();
        assert!(
            e.contains(TRANSPORT_ENV) && e.contains("\"quic\"") && e.contains("tcp"),
            "{e}"
        );
    }

    #[test]
    fn port_range_reads_like_go_plugin() {
        assert_eq!(port_range(None, None).unwrap(), (0, 0));
        assert_eq!(port_range(Some("10000"), Some("25000")).unwrap(), (10000, 25000));
        assert_eq!(port_range(Some(""), Some("7")).unwrap(), (0, 7));
        // go-plugin reads a missing maximum as 0, so a lone minimum is an inverted range.
        assert!(matches!(
            port_range(Some("10000"), None),
            Err(TransportError::PortRange { min: 10000, max: 0 })
        ));
        let e = port_range(Some("x"), Some("1")).unwrap_err().to_string();
        assert!(e.contains(MIN_PORT_ENV) && e.contains("\"x\""), "{e}");
        assert!(port_range(Some("1"), Some("70000")).is_err());
    }

    #[tokio::test]
    async fn tcp_listens_on_loopback_and_accepted_sockets_have_nodelay() {
        let listener = Listener {
            kind: Kind::Tcp(bind_loopback(0, 0).await.unwrap()),
        };
        assert_eq!(listener.network(), "tcp");
        let address: SocketAddr = listener.address().parse().unwrap();
        assert_eq!(address.ip(), Ipv4Addr::LOCALHOST);
        let (client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let _client = client.unwrap();
        match accepted.unwrap() {
            Stream::Tcp(s) => assert!(s.nodelay().unwrap(), "TCP_NODELAY not set"),
            #[cfg(unix)]
            Stream::Unix(_) => panic!("a TCP listener accepted a unix stream"),
        }
    }

    #[tokio::test]
    async fn a_taken_port_range_is_reported_not_escaped() {
        let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        match bind_loopback(port, port).await {
            Err(TransportError::NoFreePort { min, max, .. }) => assert_eq!((min, max), (port, port)),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("bound a port that is taken"),
        }
    }
}
