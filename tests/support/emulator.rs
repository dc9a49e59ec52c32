//! The emulator in the test process, with its control API, and the provider environment pointing at it.

pub use partnercenter_emulator::FaultSpec;
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
                "PUT" => self.http.put(url).json(&body),
                "PATCH" => self.http.patch(url).json(&body),
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

/// The emulator's committed truth about the directory objects the provider manages, as sets that can be
/// compared with Terraform state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remote {
    /// `(application App ID, key id)` of every password credential, lower case.
    pub keys: std::collections::BTreeSet<(String, String)>,
    /// `(application App ID, resource App ID, permission id)` of every delegated entry in
    /// `requiredResourceAccess`, lower case.
    pub requested: std::collections::BTreeSet<(String, String, String)>,
    /// `(client App ID, resource App ID, scope value)` of every AllPrincipals grant.
    pub consented: std::collections::BTreeSet<(String, String, String)>,
}

impl Remote {
    /// What `self` has beyond `baseline` (what the test's Terraform runs made).
    pub fn beyond(&self, baseline: &Remote) -> Remote {
        Remote {
            keys: self.keys.difference(&baseline.keys).cloned().collect(),
            requested: self.requested.difference(&baseline.requested).cloned().collect(),
            consented: self.consented.difference(&baseline.consented).cloned().collect(),
        }
    }
}

impl Emulator {
    /// The directory as the emulator's primary holds it (not what a lagging replica would answer).
    pub fn remote(&self) -> Remote {
        let state = self.control("GET", "/_emulator/state", Json::Null);
        let lower = |v: &Json| v.as_str().unwrap_or_default().to_ascii_lowercase();
        let directory = if state["directory"].is_object() {
            &state["directory"]
        } else {
            &state
        };
        let apps = directory["applications"].as_array().cloned().unwrap_or_default();
        let sps = directory["servicePrincipals"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let grants = directory["oauth2PermissionGrants"]
            .as_array()
            .or_else(|| state["grants"].as_array())
            .cloned()
            .unwrap_or_default();
        let app_of_sp = |sp_id: &Json| {
            sps.iter()
                .find(|sp| lower(&sp["id"]) == lower(sp_id))
                .map(|sp| lower(&sp["appId"]))
                .unwrap_or_else(|| lower(sp_id))
        };
        let mut remote = Remote::default();
        for app in &apps {
            let app_id = lower(&app["appId"]);
            for key in app["passwordCredentials"].as_array().into_iter().flatten() {
                remote.keys.insert((app_id.clone(), lower(&key["keyId"])));
            }
            for entry in app["requiredResourceAccess"].as_array().into_iter().flatten() {
                for access in entry["resourceAccess"].as_array().into_iter().flatten() {
                    if access["type"] == "Scope" {
                        remote.requested.insert((
                            app_id.clone(),
                            lower(&entry["resourceAppId"]),
                            lower(&access["id"]),
                        ));
                    }
                }
            }
        }
        for grant in &grants {
            if grant["consentType"] != "AllPrincipals" {
                continue;
            }
            let client = app_of_sp(&grant["clientId"]);
            let resource = app_of_sp(&grant["resourceId"]);
            for scope in grant["scope"].as_str().unwrap_or_default().split_whitespace() {
                remote
                    .consented
                    .insert((client.clone(), resource.clone(), scope.to_owned()));
            }
        }
        remote
    }

    /// Adds a fault (`POST /_emulator/faults`), e.g. `FaultSpec::on("POST /v1.0/**").status(503).times(2)`.
    pub fn fault(&self, spec: FaultSpec) {
        self.control("POST", "/_emulator/faults", spec.to_json());
    }

    /// Changes settings (`POST /_emulator/settings`).
    pub fn settings(&self, patch: Json) {
        self.control("POST", "/_emulator/settings", patch);
    }

    /// Sends `request` (any method, to the emulator's Microsoft-facing routes) and returns status and body.
    pub fn call(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        self.runtime.block_on(async {
            let response = request.send().await.expect("request to the emulator");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Graph called directly with an app-only token, as another tool (the portal, a script) would: the
    /// status and the JSON answer. Nothing is settled: the write lags like any other.
    pub fn graph(&self, method: &str, path: &str, body: Json) -> (u16, Json) {
        let token = self.control(
            "POST",
            "/_emulator/access-token",
            serde_json::json!({"audience": "https://graph.microsoft.com", "app_only": true}),
        )["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body);
        let (status, text) = self.call(request);
        (status, serde_json::from_str(&text).unwrap_or(Json::Null))
    }

    /// A key made outside Terraform (Graph's addPassword with a description and an end date); its key id.
    pub fn add_key_by_hand(
        &self,
        app_id: &str,
        name: Option<&str>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let (status, created) = self.graph(
            "POST",
            &format!("/v1.0/applications(appId='{app_id}')/addPassword"),
            serde_json::json!({"passwordCredential": {
                "displayName": name,
                "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }}),
        );
        assert_eq!(status, 200, "addPassword: {created}");
        created["keyId"].as_str().expect("a key id").to_owned()
    }

    /// Every pending directory write reaches every replica: "a while later" (`POST
    /// /_emulator/replication/settle`). Tests that mean "right after" do not call it.
    pub fn settle(&self) {
        self.control("POST", "/_emulator/replication/settle", Json::Null);
    }

    /// Moves the emulator's clock forward.
    pub fn advance_days(&self, days: i64) {
        self.control(
            "POST",
            "/_emulator/clock",
            serde_json::json!({"advance_seconds": days * 86_400}),
        );
    }
}
