//! The project's emulator for the client tests: one per test, a client pointed at it, its control API.

use partnercenter_emulator::{EmulatorConfig, FaultSpec, RunningEmulator, demo};
use partnercenter_microsoft::{
    Client, ClientOptions, Credentials, Endpoints, Environment, RetryPolicy, Secret,
};
use serde_json::Value;
use std::time::Duration;
use url::Url;

pub struct Emu {
    _running: RunningEmulator,
    pub base: Url,
    http: reqwest::Client,
}

impl Emu {
    /// Without replication lag: these tests check the client's requests and decoding against the
    /// emulator's wire format; waiting out replication is the provider's job (tested end to end there).
    pub async fn start() -> Self {
        Self::start_with(EmulatorConfig::default().without_replication_lag()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Self {
        let running = partnercenter_emulator::spawn(config)
            .await
            .expect("emulator starts");
        let base = Url::parse(&running.base_url()).expect("url");
        Self {
            _running: running,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// A client of every emulated service, retrying quickly.
    pub fn client(&self, credentials: Credentials) -> Client {
        let mut o = ClientOptions::new(Environment::Public, credentials);
        o.endpoints = Endpoints {
            login: self.base.clone(),
            graph: self.base.clone(),
            partner_center: self.base.clone(),
        };
        o.retry = RetryPolicy {
            base_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        };
        Client::new(o).expect("client")
    }

    /// `method /_emulator{path}` with `body`, which must succeed; its JSON (null without one).
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = self.base.join(&format!("_emulator{path}")).expect("url");
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control call");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    /// Adds a fault.
    pub async fn fault(&self, spec: FaultSpec) {
        self.control(reqwest::Method::POST, "/faults", Some(spec.to_json()))
            .await;
    }
}

/// The demo app with its secret and the demo user's refresh token.
pub fn demo_credentials() -> Credentials {
    Credentials {
        tenant_id: demo::TENANT_ID.into(),
        client_id: demo::APP_ID.into(),
        client_secret: Some(Secret::new(demo::CLIENT_SECRET)),
        refresh_token: Some(Secret::new(demo::REFRESH_TOKEN)),
        federated: None,
    }
}

/// The demo app with its secret only (app-only tokens).
pub fn demo_app_only() -> Credentials {
    Credentials {
        refresh_token: None,
        ..demo_credentials()
    }
}
