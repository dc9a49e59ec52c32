//! A scripted local HTTP server for the client tests: canned answers per route, a request log; and in
//! the submodules the emulator, a scripted vault and captured traces.
#![allow(dead_code)]

pub mod emulator;
pub mod key_vault;
pub mod traces;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use partnercenter_microsoft::{
    CallContext, Client, ClientOptions, Clock, Credentials, Endpoints, Environment, ManualClock, RetryPolicy,
    Secret,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

pub const TENANT: &str = "6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90";
pub const APP_ID: &str = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47";
pub const SECRET: &str = "fixture~client.secret-value-0001";
pub const REFRESH: &str = "fixture-refresh-token-0001";

#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    /// Graph's error shape: `{"error": {"code", "message"}}`.
    pub fn graph_error(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"error": {"code": code, "message": message}}),
        )
    }
    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    pub fn form(&self) -> std::collections::HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

struct Route {
    method: String,
    path: String,
    answers: VecDeque<Canned>,
}

#[derive(Default)]
struct Inner {
    routes: Vec<Route>,
    log: Vec<Recorded>,
    /// When set, answers carry this clock's time as `Date` (a server whose clock the test moves).
    clock: Option<ManualClock>,
}

#[derive(Clone)]
pub struct Fixture {
    pub base: Url,
    inner: Arc<Mutex<Inner>>,
}

impl Fixture {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: Url::parse(&format!("http://{addr}")).expect("url"),
            inner,
        }
    }

    /// A server whose token endpoint answers app tokens that live an hour.
    pub async fn with_tokens() -> Self {
        let f = Self::start().await;
        f.token_endpoint(3600);
        f
    }

    /// Answers `method path` with `answers` in order; the last one repeats.
    pub fn on(&self, method: &str, path: &str, answers: Vec<Canned>) {
        let mut inner = self.inner.lock().expect("lock");
        inner.routes.push(Route {
            method: method.to_owned(),
            path: path.to_owned(),
            answers: answers.into(),
        });
    }

    /// A token endpoint answering app tokens that live `expires_in` seconds.
    pub fn token_endpoint(&self, expires_in: u64) {
        self.on(
            "POST",
            &format!("/{TENANT}/oauth2/v2.0/token"),
            vec![Canned::json(200, serde_json::json!({"token_type":"Bearer","expires_in":expires_in,"access_token":"fixture-access-token"}))],
        );
    }

    /// Stamps answers with `clock`'s time, as the emulator stamps its movable clock.
    pub fn set_clock(&self, clock: ManualClock) {
        self.inner.lock().expect("lock").clock = Some(clock);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("lock").log.clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            login: self.base.clone(),
            graph: self.base.clone(),
            partner_center: self.base.clone(),
        }
    }

    pub fn options(&self, credentials: Credentials) -> ClientOptions {
        let mut o = ClientOptions::new(Environment::Public, credentials);
        o.endpoints = self.endpoints();
        o.retry = RetryPolicy {
            base_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        o
    }

    pub fn client(&self, credentials: Credentials) -> Client {
        Client::new(self.options(credentials)).expect("client")
    }
}

pub fn secret_only() -> Credentials {
    Credentials {
        tenant_id: TENANT.into(),
        client_id: APP_ID.into(),
        client_secret: Some(Secret::new(SECRET)),
        ..Credentials::default()
    }
}

pub fn secret_and_refresh() -> Credentials {
    Credentials {
        refresh_token: Some(Secret::new(REFRESH)),
        ..secret_only()
    }
}

pub fn ctx() -> CallContext {
    CallContext::default().with_timeout(Duration::from_secs(30))
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = {
        let mut inner = inner.lock().expect("lock");
        inner.log.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let path = uri.path();
        let route = inner
            .routes
            .iter_mut()
            .find(|r| r.method == method.as_str() && r.path == path);
        let answer = match route {
            Some(r) if r.answers.len() > 1 => r.answers.pop_front(),
            Some(r) => r.answers.front().cloned(),
            None => None,
        };
        let date = inner
            .clock
            .as_ref()
            .map(|c| c.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string());
        answer.map(|a| match date {
            Some(d) if !a.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("date")) => a.header("Date", &d),
            _ => a,
        })
    };
    let Some(a) = answer else {
        return (StatusCode::NOT_FOUND, format!("no fixture for {method} {uri}")).into_response();
    };
    if !a.delay.is_zero() {
        tokio::time::sleep(a.delay).await;
    }
    let mut resp = (StatusCode::from_u16(a.status).expect("status"), a.body).into_response();
    resp.headers_mut()
        .insert("content-type", "application/json".parse().expect("hv"));
    for (k, v) in a.headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    resp
}

/// Reads the fixture application through Graph, which must succeed.
pub async fn read_app(client: &Client) {
    client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect("ok");
}
