//! The HTTP pipeline seen from outside: retries, headers, cancellation, deadlines, server time.

mod common;

use common::*;
use partnercenter_microsoft::{CallContext, Client, Error, NewPassword};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use url::Url;

const APP_PATH: &str = "/v1.0/applications(appId='0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47')";

fn app_json() -> serde_json::Value {
    serde_json::json!({"id":"obj-1","appId":APP_ID,"displayName":"web app","passwordCredentials":[],"requiredResourceAccess":[]})
}

#[tokio::test]
async fn throttled_then_ok_waits_for_retry_after() {
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        APP_PATH,
        vec![
            Canned::graph_error(429, "TooManyRequests", "slow down").header("Retry-After", "1"),
            Canned::json(200, app_json()),
        ],
    );
    let client = f.client(secret_only());
    let started = Instant::now();
    let app = client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect("succeeds after the 429");
    assert_eq!(app.expect("exists").id, "obj-1");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    let calls = f.requests_to(APP_PATH);
    assert_eq!(calls.len(), 2);
    // One logical call: the same request id and correlation id on both attempts.
    assert_eq!(calls[0].header("MS-RequestId"), calls[1].header("MS-RequestId"));
    assert_eq!(
        calls[0].header("MS-CorrelationId"),
        calls[1].header("MS-CorrelationId")
    );
    assert_eq!(
        calls[0].header("authorization").as_deref(),
        Some("Bearer fixture-access-token")
    );
    assert_eq!(calls[0].header("accept").as_deref(), Some("application/json"));
    // A second logical call gets new ids.
    read_app(&client).await;
    let calls = f.requests_to(APP_PATH);
    assert_ne!(calls[1].header("MS-RequestId"), calls[2].header("MS-RequestId"));
    assert_ne!(
        calls[1].header("MS-CorrelationId"),
        calls[2].header("MS-CorrelationId")
    );
}

#[tokio::test]
async fn unavailable_then_ok_backs_off_and_retries() {
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        APP_PATH,
        vec![
            Canned::raw(503, ""),
            Canned::raw(502, "<html>bad gateway</html>"),
            Canned::json(200, app_json()),
        ],
    );
    let client = f.client(secret_only());
    let app = client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect("succeeds after 503, 502");
    assert!(app.is_some());
    assert_eq!(f.requests_to(APP_PATH).len(), 3);
}

#[tokio::test]
async fn creating_post_is_not_retried_on_server_error_but_is_on_throttling() {
    let f = Fixture::with_tokens().await;
    let path = "/v1.0/applications/obj-1/addPassword";
    f.on(
        "POST",
        path,
        vec![Canned::graph_error(500, "InternalServerError", "boom")],
    );
    let client = f.client(secret_only());
    let err = client
        .graph()
        .add_password(&ctx(), "obj-1", NewPassword::default())
        .await
        .expect_err("500 on a create");
    assert!(err.is_ambiguous(), "{err:?}");
    assert_eq!(err.api().map(|e| e.status), Some(500));
    assert_eq!(f.requests_to(path).len(), 1, "never sent twice");

    let f = Fixture::with_tokens().await;
    f.on("POST", path, vec![
        Canned::graph_error(429, "TooManyRequests", "x").header("Retry-After", "0"),
        Canned::json(200, serde_json::json!({"keyId":"k1","displayName":"terraform","hint":"abc","secretText":"abc-the-secret-value","startDateTime":"2026-01-01T00:00:00Z","endDateTime":"2028-01-01T00:00:00Z"})),
    ]);
    let client = f.client(secret_only());
    let created = client
        .graph()
        .add_password(&ctx(), "obj-1", NewPassword::default())
        .await
        .expect("429 is retried");
    assert_eq!(created.credential.key_id, "k1");
    assert_eq!(created.secret_text.expose(), "abc-the-secret-value");
    assert!(!format!("{created:?}").contains("abc-the-secret-value"));
}

#[tokio::test]
async fn connection_refused_before_send_is_retried_then_reported() {
    // A port with nothing listening: every attempt is refused before anything is sent.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    let f = Fixture::with_tokens().await;
    let mut o = f.options(secret_only());
    o.endpoints.graph = Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    o.retry.max_attempts = 3;
    let client = Client::new(o).expect("client");
    let err = client
        .graph()
        .add_password(&ctx(), "obj-1", NewPassword::default())
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::Transport {
                before_send: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_ambiguous());
}

#[tokio::test]
async fn cancellation_stops_a_retry_loop_promptly() {
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        APP_PATH,
        vec![Canned::raw(503, "").header("Retry-After", "30")],
    );
    let client = f.client(secret_only());
    let token = CancellationToken::new();
    let ctx = CallContext::new(token.clone());
    let started = Instant::now();
    let task = tokio::spawn(async move { client.graph().application_by_app_id(&ctx, APP_ID).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    token.cancel();
    let r = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("stops promptly")
        .expect("join");
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn deadline_returns_timeout_with_the_last_error() {
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        APP_PATH,
        vec![Canned::graph_error(503, "ServiceUnavailable", "try later").header("Retry-After", "5")],
    );
    let client = f.client(secret_only());
    let ctx = CallContext::default().with_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let err = client
        .graph()
        .application_by_app_id(&ctx, APP_ID)
        .await
        .expect_err("deadline");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "returns without waiting out Retry-After"
    );
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        err.api().and_then(|e| e.code.clone()).as_deref(),
        Some("ServiceUnavailable")
    );
    assert!(
        err.to_string().contains("Graph answered 503 ServiceUnavailable"),
        "{err}"
    );
}

#[tokio::test]
async fn plain_http_is_refused_unless_loopback() {
    let f = Fixture::start().await;
    let mut o = f.options(secret_only());
    o.endpoints.partner_center = Url::parse("http://partner.example.com").expect("url");
    let err = Client::new(o).expect_err("refused");
    assert!(
        matches!(err, Error::InvalidEndpoint { ref name, .. } if name == "partner_center"),
        "{err:?}"
    );
    assert!(Client::new(f.options(secret_only())).is_ok());
}

#[tokio::test]
async fn server_time_follows_the_date_header() {
    let f = Fixture::start().await;
    f.on(
        "POST",
        &format!("/{TENANT}/oauth2/v2.0/token"),
        vec![
            Canned::json(200, serde_json::json!({"expires_in":3600,"access_token":"a"}))
                .header("Date", "Wed, 01 Jan 2031 00:00:00 GMT"),
        ],
    );
    f.on(
        "GET",
        APP_PATH,
        vec![
            Canned::graph_error(404, "Request_ResourceNotFound", "nope")
                .header("Date", "Wed, 01 Jan 2031 00:10:00 GMT"),
        ],
    );
    let client = f.client(secret_only());
    assert!(client.server_time().is_none());
    assert!(
        client
            .graph()
            .application_by_app_id(&ctx(), APP_ID)
            .await
            .expect("404 is None")
            .is_none()
    );
    // The latest answer's Date wins; time moves on from there with the local clock.
    let t = client.server_time().expect("recorded");
    assert_eq!(t.format("%Y-%m-%d %H:%M").to_string(), "2031-01-01 00:10");
    assert!(client.now() >= t);
}

/// A server that reads each request and hangs up without answering; counts requests.
async fn hang_up_server() -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = Url::parse(&format!("http://{}", listener.local_addr().expect("addr"))).expect("url");
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            if conn.read(&mut buf).await.unwrap_or(0) > 0 {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            drop(conn);
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_dropped_connection_after_sending_is_retried_for_reads_and_ambiguous_for_creates() {
    let f = Fixture::with_tokens().await;
    let (graph, count) = hang_up_server().await;
    let mut o = f.options(secret_only());
    o.endpoints.graph = graph;
    o.retry.max_attempts = 3;
    let client = Client::new(o).expect("client");

    let err = client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect_err("never answered");
    assert!(
        matches!(
            err,
            Error::Transport {
                before_send: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "a read is retried"
    );

    count.store(0, std::sync::atomic::Ordering::SeqCst);
    let err = client
        .graph()
        .add_password(&ctx(), "obj-1", NewPassword::default())
        .await
        .expect_err("never answered");
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(
        err.to_string().contains("may or may not have been applied"),
        "{err}"
    );
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a create is sent once"
    );
}
