//! Token acquisition and cache: single flight, refresh before expiry, rotation, kinds and errors.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use partnercenter_microsoft::{
    CLIENT_ASSERTION_TYPE, Client, Credentials, Error, FederatedToken, ManualClock, Secret,
};
use std::sync::Arc;
use std::time::Duration;

const TOKEN_PATH: &str = "/6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90/oauth2/v2.0/token";
const APP_PATH: &str = "/v1.0/applications(appId='0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47')";
const MPN_PATH: &str = "/v1/profiles/mpn";

fn app_ok() -> Canned {
    Canned::json(
        200,
        serde_json::json!({"id":"obj-1","appId":APP_ID,"displayName":"x"}),
    )
}

fn mpn_ok() -> Canned {
    Canned::json(
        200,
        serde_json::json!({"mpnId":"4391507","profileType":"MpnProfile"}),
    )
}

fn clocked(f: &Fixture, credentials: Credentials) -> (Client, ManualClock) {
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0)
            .single()
            .expect("date"),
    );
    let mut o = f.options(credentials);
    o.clock = Arc::new(clock.clone());
    f.set_clock(clock.clone());
    (Client::new(o).expect("client"), clock)
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let f = Fixture::start().await;
    f.on(
        "POST",
        TOKEN_PATH,
        vec![
            Canned::json(200, serde_json::json!({"expires_in":3600,"access_token":"t1"}))
                .delay(Duration::from_millis(300)),
        ],
    );
    f.on("GET", APP_PATH, vec![app_ok()]);
    let client = f.client(secret_only());
    let calls = (0..10).map(|_| {
        let c = client.clone();
        async move { c.graph().application_by_app_id(&ctx(), APP_ID).await }
    });
    for r in futures::future::join_all(calls).await {
        r.expect("ok");
    }
    let token_calls = f.requests_to(TOKEN_PATH);
    assert_eq!(token_calls.len(), 1, "single flight");
    let form = token_calls[0].form();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(f.requests_to(APP_PATH).len(), 10);
}

#[tokio::test]
async fn tokens_are_refreshed_five_minutes_before_expiry() {
    let f = Fixture::with_tokens().await;
    f.on("GET", APP_PATH, vec![app_ok()]);
    let (client, clock) = clocked(&f, secret_only());
    let graph = client.graph();
    graph.application_by_app_id(&ctx(), APP_ID).await.expect("ok");
    clock.advance(chrono::Duration::minutes(54));
    graph.application_by_app_id(&ctx(), APP_ID).await.expect("ok");
    assert_eq!(f.requests_to(TOKEN_PATH).len(), 1, "still fresh at 54 minutes");
    clock.advance(chrono::Duration::minutes(2));
    graph.application_by_app_id(&ctx(), APP_ID).await.expect("ok");
    assert_eq!(
        f.requests_to(TOKEN_PATH).len(),
        2,
        "refreshed inside the last 5 minutes"
    );
    // Graph and Partner Center tokens are cached apart.
    f.on(
        "GET",
        "/v1/customers",
        vec![Canned::json(200, serde_json::json!({"totalCount":0,"items":[]}))],
    );
    use futures::TryStreamExt;
    let _: Vec<_> = client
        .partner_center()
        .customers(&ctx(), Default::default())
        .try_collect()
        .await
        .expect("ok");
    let tokens = f.requests_to(TOKEN_PATH);
    assert_eq!(tokens.len(), 3);
    assert_eq!(
        tokens[2].form()["scope"],
        "https://api.partnercenter.microsoft.com/.default"
    );
}

#[tokio::test]
async fn v1_style_string_numbers_are_accepted() {
    let f = Fixture::start().await;
    f.on("POST", TOKEN_PATH, vec![Canned::json(200, serde_json::json!({"token_type":"Bearer","expires_in":"3599","expires_on":"1547579127","access_token":"a"}))]);
    f.on("GET", APP_PATH, vec![app_ok()]);
    let (client, clock) = clocked(&f, secret_only());
    read_app(&client).await;
    clock.advance(chrono::Duration::minutes(50));
    read_app(&client).await;
    assert_eq!(
        f.requests_to(TOKEN_PATH).len(),
        1,
        "expires_in \"3599\" read as a number"
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_replaces_the_old_one() {
    let f = Fixture::start().await;
    f.on(
        "POST",
        TOKEN_PATH,
        vec![
            Canned::json(
                200,
                serde_json::json!({"expires_in":3600,"access_token":"u1","refresh_token":"rotated-2"}),
            ),
            Canned::json(
                200,
                serde_json::json!({"expires_in":3600,"access_token":"u2","refresh_token":"rotated-3"}),
            ),
        ],
    );
    f.on("GET", MPN_PATH, vec![mpn_ok()]);
    let (client, clock) = clocked(&f, secret_and_refresh());
    let pc = client.partner_center();
    assert_eq!(pc.mpn_profile(&ctx(), None).await.expect("ok").mpn_id, "4391507");
    assert_eq!(
        client.current_refresh_token().as_ref().map(Secret::expose),
        Some("rotated-2")
    );
    clock.advance(chrono::Duration::hours(2));
    pc.mpn_profile(&ctx(), None).await.expect("ok");
    let tokens = f.requests_to(TOKEN_PATH);
    assert_eq!(tokens.len(), 2);
    let (first, second) = (tokens[0].form(), tokens[1].form());
    assert_eq!(first["grant_type"], "refresh_token");
    assert_eq!(first["refresh_token"], REFRESH);
    assert_eq!(
        first["scope"],
        "https://api.partnercenter.microsoft.com/user_impersonation offline_access"
    );
    assert_eq!(
        first["client_secret"], SECRET,
        "a web app's refresh needs its secret"
    );
    assert_eq!(
        second["refresh_token"], "rotated-2",
        "the rotated token is used from then on"
    );
    assert_eq!(
        client.current_refresh_token().as_ref().map(Secret::expose),
        Some("rotated-3")
    );
    let mpn = f.requests_to(MPN_PATH);
    assert_eq!(mpn[1].header("authorization").as_deref(), Some("Bearer u2"));
    assert!(mpn[0].header("MS-PartnerCenter-Client").is_some());
}

#[tokio::test]
async fn app_user_only_route_without_refresh_token_says_how_to_get_one() {
    let f = Fixture::with_tokens().await;
    let client = f.client(secret_only());
    let err = client
        .partner_center()
        .organization_profile(&ctx())
        .await
        .expect_err("needs app+user");
    // Facts only: the provider words how to get one (src/provider/errors.rs).
    let Error::RefreshTokenNeeded {
        operation,
        tenant_id,
        client_id,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(operation, "reading the organization profile");
    assert_eq!((tenant_id.as_str(), client_id.as_str()), (TENANT, APP_ID));
    assert!(
        err.to_string().contains("reading the organization profile"),
        "{err}"
    );
    assert!(f.requests().is_empty(), "nothing sent");
    // Without any credential, even app-only routes say what they need.
    let client = f.client(Credentials {
        tenant_id: TENANT.into(),
        client_id: APP_ID.into(),
        ..Credentials::default()
    });
    let err = client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect_err("no credential");
    assert!(matches!(err, Error::CredentialNeeded { .. }), "{err:?}");
}

#[tokio::test]
async fn only_a_refresh_token_serves_app_only_routes_too() {
    let f = Fixture::with_tokens().await;
    f.on("GET", APP_PATH, vec![app_ok()]);
    let client = f.client(Credentials {
        client_secret: None,
        ..secret_and_refresh()
    });
    read_app(&client).await;
    let form = f.requests_to(TOKEN_PATH)[0].form();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(
        form["scope"],
        "https://graph.microsoft.com/.default offline_access"
    );
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test]
async fn wrong_secret_shows_the_aadsts_code() {
    let f = Fixture::start().await;
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/login_error_invalid_client.json"
    ))
    .expect("fixture");
    f.on("POST", TOKEN_PATH, vec![Canned::raw(401, &body)]);
    let client = f.client(secret_only());
    let err = client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect_err("bad secret");
    let api = err.api().expect("api error");
    assert_eq!(api.aadsts.as_deref(), Some("AADSTS7000215"));
    let msg = err.to_string();
    assert!(
        msg.starts_with("Entra ID login answered 401 invalid_client: AADSTS7000215"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET));
    assert_eq!(f.requests_to(TOKEN_PATH).len(), 1, "401 is not retried");
}

#[tokio::test]
async fn github_actions_federated_token_is_sent_as_client_assertion() {
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        "/oidc/token",
        vec![Canned::json(
            200,
            serde_json::json!({"count":1,"value":"gha-jwt-value"}),
        )],
    );
    f.on("GET", APP_PATH, vec![app_ok()]);
    let creds = Credentials {
        client_secret: None,
        federated: Some(FederatedToken::GitHubActions {
            request_url: format!("{}oidc/token?api-version=2.0", f.base),
            request_token: Secret::new("gha-request-token"),
        }),
        ..secret_only()
    };
    let client = f.client(creds);
    read_app(&client).await;
    let oidc = &f.requests_to("/oidc/token")[0];
    assert_eq!(
        oidc.query.as_deref(),
        Some("api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange")
    );
    assert_eq!(
        oidc.header("authorization").as_deref(),
        Some("Bearer gha-request-token")
    );
    let form = f.requests_to(TOKEN_PATH)[0].form();
    assert_eq!(form["client_assertion"], "gha-jwt-value");
    assert_eq!(form["client_assertion_type"], CLIENT_ASSERTION_TYPE);
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test]
async fn a_refused_token_is_replaced_once() {
    let f = Fixture::start().await;
    f.on(
        "POST",
        TOKEN_PATH,
        vec![
            Canned::json(200, serde_json::json!({"expires_in":3600,"access_token":"t1"})),
            Canned::json(200, serde_json::json!({"expires_in":3600,"access_token":"t2"})),
        ],
    );
    f.on("GET", APP_PATH, vec![
        Canned::json(401, serde_json::json!({"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}})),
        app_ok(),
    ]);
    let client = f.client(secret_only());
    client
        .graph()
        .application_by_app_id(&ctx(), APP_ID)
        .await
        .expect("retried with a new token");
    let calls = f.requests_to(APP_PATH);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("authorization").as_deref(), Some("Bearer t1"));
    assert_eq!(calls[1].header("authorization").as_deref(), Some("Bearer t2"));
    // A second 401 is returned, not looped on.
    f.on(
        "GET",
        "/v1.0/servicePrincipals(appId='x')",
        vec![Canned::json(
            401,
            serde_json::json!({"error":{"code":"InvalidAuthenticationToken","message":"no"}}),
        )],
    );
    let err = client
        .graph()
        .service_principal_by_app_id(&ctx(), "x")
        .await
        .expect_err("401 twice");
    assert_eq!(err.api().map(|e| e.status), Some(401));
    assert_eq!(f.requests_to("/v1.0/servicePrincipals(appId='x')").len(), 2);
}

#[tokio::test]
async fn token_lifetimes_follow_the_servers_clock() {
    let f = Fixture::with_tokens().await;
    f.on("GET", APP_PATH, vec![app_ok()]);
    let (client, _local) = clocked(&f, secret_only());
    // The server's clock moves on its own (as the emulator's does); ours stands still.
    let server = ManualClock::new(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().expect("date"));
    f.set_clock(server.clone());
    read_app(&client).await;
    server.advance(chrono::Duration::hours(2));
    read_app(&client).await;
    assert_eq!(
        client
            .server_time()
            .map(|t| t.format("%H:%M").to_string())
            .as_deref(),
        Some("02:00")
    );
    read_app(&client).await;
    assert_eq!(
        f.requests_to(TOKEN_PATH).len(),
        2,
        "expired by the server's clock, so refreshed"
    );
}
