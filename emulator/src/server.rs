//! HTTP plumbing: one router for all areas, the middleware that applies faults, stamps the emulator's `Date`
//! and ids and logs requests, and a connection loop that can hang up on a request after applying it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State as AxumState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::emulator::{Emulator, RequestContext};
use crate::faults::Fault;
use crate::graph::error::GraphError;
use crate::login::error::Aadsts;
use crate::partner_center::error::PartnerCenterError;
use crate::request_log::RequestRecord;

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// Which emulated service a path belongs to (decides error shapes and id headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Control,
    Graph,
    PartnerCenter,
    KeyVault,
    Login,
}

impl Area {
    fn of(path: &str) -> Self {
        if path.starts_with("/_emulator") {
            Area::Control
        } else if path.starts_with("/v1.0/") || path == "/v1.0" {
            Area::Graph
        } else if path.starts_with("/v1/") || path == "/v1" {
            Area::PartnerCenter
        } else if path.starts_with(crate::key_vault::PREFIX) {
            Area::KeyVault
        } else {
            Area::Login
        }
    }
}

/// The whole application.
pub fn router(emu: Arc<Emulator>) -> Router {
    Router::new()
        .merge(crate::login::routes())
        .route("/v1.0/{*path}", axum::routing::any(crate::graph::dispatch))
        .route("/v1/{*path}", axum::routing::any(crate::partner_center::dispatch))
        .route("/_vaults/{*path}", axum::routing::any(crate::key_vault::dispatch))
        .nest("/_emulator", crate::control::routes())
        .nest("/_emulator/vaults", crate::key_vault::control::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&emu), observe))
        .with_state(emu)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": "no such route on the emulator" })),
    )
        .into_response()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

async fn observe(AxumState(emu): AxumState<Arc<Emulator>>, mut request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let area = Area::of(&path);
    let headers = request.headers();
    let client_request_id = header_text(headers, "client-request-id").unwrap_or_else(new_id);
    let ctx = RequestContext {
        request_id: header_text(headers, "MS-RequestId")
            .filter(|_| area == Area::PartnerCenter)
            .unwrap_or_else(new_id),
        correlation_id: header_text(headers, "MS-CorrelationId").unwrap_or_else(|| client_request_id.clone()),
        client_request_id,
    };
    request.extensions_mut().insert(ctx.clone());

    if area == Area::Control {
        let mut response = next.run(request).await;
        stamp_date(&emu, response.headers_mut());
        return response;
    }

    let fired = emu.faults().fire(&method, &path);
    if let Some(latency) = fired.latency_ms() {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    // The first fault with a status or a drop decides; a drop lets the handler run (the write happens).
    let decider = fired.decider();
    let dropped = decider.is_some_and(|f| f.drop_connection_after_apply);
    let mut response = match decider.filter(|_| !dropped) {
        Some(fault) => fault_response(&emu, area, fault, &ctx),
        None => next.run(request).await,
    };
    if dropped {
        response.extensions_mut().insert(DropConnection);
    }
    let response_headers = response.headers_mut();
    match area {
        Area::Graph => {
            set(response_headers, "request-id", &ctx.request_id);
            set(response_headers, "client-request-id", &ctx.client_request_id);
        }
        Area::PartnerCenter => {
            set(response_headers, "MS-CorrelationId", &ctx.correlation_id);
            set(response_headers, "MS-RequestId", &ctx.request_id);
        }
        Area::Login | Area::KeyVault => {
            set(response_headers, "x-ms-request-id", &ctx.request_id);
            set(response_headers, "client-request-id", &ctx.client_request_id);
        }
        Area::Control => {}
    }
    stamp_date(&emu, response_headers);
    emu.requests().push(RequestRecord {
        method,
        path,
        query,
        status: response.status().as_u16(),
        dropped,
        fault: fired.shown().map(|f| f.id.clone()),
        faults: fired.ids(),
    });
    response
}

/// Every response carries the emulator clock's time (hyper would otherwise write the real time).
fn stamp_date(emu: &Emulator, headers: &mut HeaderMap) {
    let date = emu.clock.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    set(headers, "date", &date);
}

fn fault_response(emu: &Emulator, area: Area, fault: &Fault, ctx: &RequestContext) -> Response {
    let status = fault
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match &fault.body {
        Some(serde_json::Value::String(text)) => (status, text.clone()).into_response(),
        Some(body) => (status, axum::Json(body.clone())).into_response(),
        None => match area {
            Area::Graph => GraphError::for_status(status).render(emu.clock.now(), ctx),
            Area::PartnerCenter => PartnerCenterError::for_status(status, fault.retry_after).render(),
            Area::Login => Aadsts::transient(status).render(emu.clock.now(), ctx),
            Area::KeyVault => crate::key_vault::fault_response(status),
            Area::Control => status.into_response(),
        },
    };
    if let Some(seconds) = fault.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Accepts connections until `cancel` fires. Each connection is served by hyper directly (not
/// `axum::serve`) so that a response marked [`DropConnection`] can be replaced by closing the socket.
pub async fn serve(listener: TcpListener, app: Router, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            // Transient accept errors (e.g. too many open files): back off briefly and continue.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, app.clone(), cancel.clone()));
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, app: Router, cancel: CancellationToken) {
    let hang_up = Arc::new(Notify::new());
    let signal = Arc::clone(&hang_up);
    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let app = app.clone();
        let signal = Arc::clone(&signal);
        async move {
            let response = match app.oneshot(request.map(axum::body::Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                signal.notify_one();
                // Never answer: the connection task drops the socket.
                std::future::pending::<()>().await;
            }
            Ok::<_, Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = hang_up.notified() => {}
        () = cancel.cancelled() => {}
    }
}
