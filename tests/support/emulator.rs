//! The emulator in the test process, with its control API, and the provider environment pointing at it.

use partnercenter_emulator::{EmulatorConfig, RunningEmulator, demo};
use serde_json::Value as Json;

use super::Workdir;

pub struct Emulator {
    runtime: tokio::runtime::Runtime,
    running: Option<RunningEmulator>,
    pub url: String,
    http: reqwest::Client,
}

impl Emulator {
    pub fn start() -> Emulator {
        Self::with_config(EmulatorConfig::default())
    }

    pub fn with_config(config: EmulatorConfig) -> Emulator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let running = runtime
            .block_on(partnercenter_emulator::spawn(config))
            .expect("emulator");
        let url = running.base_url();
        Emulator {
            runtime,
            running: Some(running),
            url,
            http: reqwest::Client::new(),
        }
    }

    /// POST a control call, e.g. `("/_emulator/faults", json!({...}))`; returns the JSON answer.
    pub fn control(&self, method: &str, path: &str, body: Json) -> Json {
        let url = format!("{}{path}", self.url);
        self.runtime.block_on(async {
            let request = match method {
                "GET" => self.http.get(url),
                "DELETE" => self.http.delete(url),
                _ => self.http.post(url).json(&body),
            };
            let response = request.send().await.expect("control call");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "control {method} {path}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Json::Null)
        })
    }

    /// The request log: `[{method, path, query, status}]`.
    pub fn requests(&self) -> Vec<Json> {
        match self.control("GET", "/_emulator/requests", Json::Null) {
            Json::Array(items) => items,
            other => other["requests"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// The provider environment for the demo partner: endpoints, tenant, app, secret and refresh token.
    pub fn demo_env(&self, w: Workdir) -> Workdir {
        self.endpoints_env(w)
            .env("PARTNERCENTER_TENANT_ID", demo::TENANT_ID)
            .env("PARTNERCENTER_CLIENT_ID", demo::APP_ID)
            .env("PARTNERCENTER_CLIENT_SECRET", demo::CLIENT_SECRET)
            .env("PARTNERCENTER_REFRESH_TOKEN", demo::REFRESH_TOKEN)
    }

    /// Only the endpoints, for tests that choose their own credentials.
    pub fn endpoints_env(&self, w: Workdir) -> Workdir {
        w.env("PARTNERCENTER_LOGIN_ENDPOINT", &self.url)
            .env("PARTNERCENTER_GRAPH_ENDPOINT", &self.url)
            .env("PARTNERCENTER_PARTNER_CENTER_ENDPOINT", &self.url)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }
}
