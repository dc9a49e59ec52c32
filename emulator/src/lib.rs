//! Local emulator of Microsoft login (Entra ID), Microsoft Graph v1.0 and Partner Center v1, with fault
//! injection and a control API; the backend of the provider's end-to-end tests and of the quickstart.

mod access_token;
mod app_policies;
mod clock;
pub mod config;
mod control;
pub mod demo;
mod directory;
mod emulator;
mod faults;
mod graph;
mod key_vault;
mod login;
mod partner_center;
mod replication;
mod request_log;
pub mod seed;
mod server;
mod well_known;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{EmulatorConfig, Settings};
pub use faults::FaultSpec;
pub use seed::Seed;

/// A served emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    address: SocketAddr,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` (no trailing slash): the login, Graph, Partner Center and control base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, closes open connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Binds 127.0.0.1 (`config.port`, 0 = any free port) and serves in the background on the current
/// tokio runtime.
pub async fn spawn(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port))).await?;
    let address = listener.local_addr()?;
    let emu = emulator::Emulator::new(config);
    let app = server::router(Arc::clone(&emu));
    let cancel = CancellationToken::new();
    let task = tokio::spawn(server::serve(listener, app, cancel.clone()));
    Ok(RunningEmulator {
        address,
        cancel,
        task: Some(task),
    })
}
