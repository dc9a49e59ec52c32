//! Shared test helpers: start an emulator, get tokens, call the control API.
#![allow(dead_code)]

use base64::Engine as _;
use partnercenter_emulator::{EmulatorConfig, FaultSpec, RunningEmulator, demo};
use serde_json::{Value, json};

pub const GRAPH: &str = "https://graph.microsoft.com";
pub const PARTNER_CENTER: &str = "https://api.partnercenter.microsoft.com";
/// The app-only scope for Microsoft Graph.
pub const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
/// What a Secure Application Model sign-in asks for.
pub const PARTNER_CENTER_USER: &str =
    "https://api.partnercenter.microsoft.com/user_impersonation offline_access";
/// The device code grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A token endpoint form for the demo app; fields are set or removed one by one.
#[derive(Debug, Clone)]
pub struct TokenForm(Vec<(String, String)>);

impl TokenForm {
    /// `grant_type` for the demo app, without client authentication.
    pub fn grant(grant_type: &str) -> Self {
        Self(vec![
            ("grant_type".into(), grant_type.into()),
            ("client_id".into(), demo::APP_ID.into()),
        ])
    }

    /// Client credentials with the demo app's secret, for `scope` (v2).
    pub fn client_credentials(scope: &str) -> Self {
        Self::grant("client_credentials")
            .with_secret()
            .set("scope", scope)
    }

    /// The demo app's client secret added.
    pub fn with_secret(self) -> Self {
        self.set("client_secret", demo::CLIENT_SECRET)
    }

    /// `name` set to `value` (replacing an earlier value).
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.into(), value.into()));
        self
    }

    /// `name` left out.
    pub fn without(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self
    }
}

pub struct Emu {
    pub running: RunningEmulator,
    pub http: reqwest::Client,
}

pub async fn start() -> Emu {
    start_with(EmulatorConfig::default()).await
}

/// An emulator whose directory writes are seen at once (replication lag 0), for tests about something
/// other than replication.
pub async fn start_without_lag() -> Emu {
    start_with(EmulatorConfig::default().without_replication_lag()).await
}

pub async fn start_with(config: EmulatorConfig) -> Emu {
    let running = partnercenter_emulator::spawn(config)
        .await
        .expect("emulator starts");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Emu { running, http }
}

impl Emu {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    pub fn token_url(&self, version: &str) -> String {
        match version {
            "v1" => self.url(&format!("/{}/oauth2/token", demo::TENANT_ID)),
            _ => self.url(&format!("/{}/oauth2/v2.0/token", demo::TENANT_ID)),
        }
    }

    /// `form` to the `version` ("v1" or "v2") token endpoint of the demo tenant.
    pub async fn token(&self, version: &str, form: &TokenForm) -> (u16, Value) {
        let response = self
            .http
            .post(self.token_url(version))
            .form(&form.0)
            .send()
            .await
            .expect("token request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Starts a device code flow for the demo app (`fields` besides `client_id`); the answer's body.
    pub async fn start_device_code(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("client_id", demo::APP_ID)];
        form.extend_from_slice(fields);
        self.post_form(&self.url(path), &form).await
    }

    /// Redeems a device code at the v2 token endpoint.
    pub async fn redeem_device_code(&self, device_code: &str) -> (u16, Value) {
        self.token(
            "v2",
            &TokenForm::grant(DEVICE_CODE_GRANT).set("device_code", device_code),
        )
        .await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(url)
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// An app-only token (client credentials, v2) for `resource`.
    pub async fn app_token(&self, resource: &str) -> String {
        let form = TokenForm::client_credentials(&format!("{resource}/.default"));
        access_token(self.token("v2", &form).await)
    }

    /// An app+user token from the demo refresh token (v2) for `scope`.
    pub async fn user_token(&self, scope: &str) -> String {
        let form = TokenForm::grant("refresh_token")
            .with_secret()
            .set("refresh_token", demo::REFRESH_TOKEN)
            .set("scope", scope);
        access_token(self.token("v2", &form).await)
    }

    pub async fn partner_center_user_token(&self) -> String {
        self.user_token(PARTNER_CENTER_USER).await
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self.get(path, token).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .request(method, self.url(&format!("/_emulator{path}")))
            .json(&body)
            .send()
            .await
            .expect("control request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn settings(&self, settings: Value) {
        let (status, body) = self.control(reqwest::Method::POST, "/settings", settings).await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn advance_clock(&self, seconds: i64) {
        let (status, _) = self
            .control(
                reqwest::Method::POST,
                "/clock",
                json!({ "advance_seconds": seconds }),
            )
            .await;
        assert_eq!(status, 200);
    }

    /// Adds a fault; its id.
    pub async fn fault(&self, fault: FaultSpec) -> String {
        let (status, body) = self
            .control(reqwest::Method::POST, "/faults", fault.to_json())
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("fault id").to_owned()
    }

    pub async fn requests(&self) -> Vec<Value> {
        let (_, body) = self.control(reqwest::Method::GET, "/requests", Value::Null).await;
        body.as_array().cloned().unwrap_or_default()
    }

    /// `POST {demo app}/addPassword` with `body`.
    pub async fn add_password(&self, graph_token: &str, body: Value) -> (u16, Value) {
        self.send_json(
            reqwest::Method::POST,
            &format!("{}/addPassword", demo_app_path()),
            graph_token,
            body,
        )
        .await
    }

    /// `POST {demo app}/removePassword {keyId}`.
    pub async fn remove_password(&self, graph_token: &str, key_id: &str) -> (u16, Value) {
        self.send_json(
            reqwest::Method::POST,
            &format!("{}/removePassword", demo_app_path()),
            graph_token,
            json!({ "keyId": key_id }),
        )
        .await
    }

    /// `POST /v1.0/applications {displayName}`.
    pub async fn create_application(&self, graph_token: &str, display_name: &str) -> (u16, Value) {
        self.send_json(
            reqwest::Method::POST,
            "/v1.0/applications",
            graph_token,
            json!({ "displayName": display_name }),
        )
        .await
    }

    /// `POST /v1.0/servicePrincipals {appId}`.
    pub async fn create_service_principal(&self, graph_token: &str, app_id: &str) -> (u16, Value) {
        self.send_json(
            reqwest::Method::POST,
            "/v1.0/servicePrincipals",
            graph_token,
            json!({ "appId": app_id }),
        )
        .await
    }

    /// The two ends of a grant: the web app's service principal, created now, and the one of the API
    /// `resource_app_id`; their object ids.
    pub async fn grant_ends(&self, graph_token: &str, resource_app_id: &str) -> (String, String) {
        let (_, client) = self.create_service_principal(graph_token, demo::APP_ID).await;
        let client_id = client["id"].as_str().expect("client id").to_owned();
        let resource_id = self.service_principal_id(graph_token, resource_app_id).await;
        (client_id, resource_id)
    }

    /// `POST /v1.0/oauth2PermissionGrants`.
    pub async fn create_grant(&self, graph_token: &str, grant: Value) -> (u16, Value) {
        self.send_json(
            reqwest::Method::POST,
            "/v1.0/oauth2PermissionGrants",
            graph_token,
            grant,
        )
        .await
    }

    /// `GET /v1.0/servicePrincipals(appId='{app_id}')`.
    pub async fn get_service_principal(&self, graph_token: &str, app_id: &str) -> (u16, Value) {
        self.get_json(&format!("/v1.0/servicePrincipals(appId='{app_id}')"), graph_token)
            .await
    }

    /// The object id of the service principal of `app_id`.
    pub async fn service_principal_id(&self, graph_token: &str, app_id: &str) -> String {
        let (status, body) = self.get_service_principal(graph_token, app_id).await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }
}

/// The payload of a JWT.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The AADSTS number of a token endpoint error body.
pub fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}

/// The access token of a successful token answer.
pub fn access_token((status, body): (u16, Value)) -> String {
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// An admin-consent (AllPrincipals) grant body.
pub fn admin_grant(client_id: &str, resource_id: &str, scope: &str) -> Value {
    json!({ "clientId": client_id, "consentType": "AllPrincipals", "resourceId": resource_id, "scope": scope })
}

/// The demo web app's Graph path, by object id.
pub fn demo_app_path() -> String {
    format!("/v1.0/applications/{}", demo::APP_OBJECT_ID)
}
