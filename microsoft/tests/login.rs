//! Sign-in flows: authorization code with PKCE and a loopback listener, and device code.

mod common;

use common::*;
use partnercenter_microsoft::login::{AuthCodeOptions, DeviceCodePrompt, Pkce};
use partnercenter_microsoft::{Error, LoginError, Secret};
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

const TOKEN_PATH: &str = "/6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90/oauth2/v2.0/token";

/// Runs the authorization code flow and plays the browser with `redirect(state) -> query`.
async fn browser_flow(
    f: &Fixture,
    redirect: impl Fn(&str) -> String,
) -> (Result<Secret, Error>, HashMap<String, String>) {
    let client = f.client(secret_only());
    let (tx, rx) = tokio::sync::oneshot::channel::<Url>();
    let flow = tokio::spawn(async move {
        client
            .login()
            .authorization_code(&ctx(), AuthCodeOptions::default(), move |url| {
                let _ = tx.send(url.clone());
            })
            .await
    });
    let url = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("url shown")
        .expect("sent");
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let redirect_uri = Url::parse(&q["redirect_uri"]).expect("redirect uri");
    let port = redirect_uri.port().expect("port");
    assert!((8400..=8999).contains(&port), "{port}");
    assert_eq!(redirect_uri.host_str(), Some("localhost"));
    // The browser asks for a favicon first; then follows the redirect (to 127.0.0.1, where we listen).
    let http = reqwest::Client::new();
    let favicon = http
        .get(format!("http://127.0.0.1:{port}/favicon.ico"))
        .send()
        .await
        .expect("listener up");
    assert_eq!(favicon.status().as_u16(), 404);
    let page = http
        .get(format!("http://127.0.0.1:{port}/?{}", redirect(&q["state"])))
        .send()
        .await
        .expect("redirect served");
    assert_eq!(page.status().as_u16(), 200);
    let result = tokio::time::timeout(Duration::from_secs(5), flow)
        .await
        .expect("flow ends")
        .expect("join");
    (result, q)
}

#[tokio::test]
async fn authorization_code_with_pkce_returns_the_refresh_token() {
    let f = Fixture::start().await;
    f.on("POST", TOKEN_PATH, vec![Canned::json(200, serde_json::json!({"token_type":"Bearer","expires_in":3600,"access_token":"a","refresh_token":"rt-from-login"}))]);
    let (result, q) = browser_flow(&f, |state| {
        format!("code=the-auth-code&state={state}&session_state=x")
    })
    .await;
    assert_eq!(result.expect("signed in").expose(), "rt-from-login");
    assert_eq!(
        q["scope"],
        "https://api.partnercenter.microsoft.com/user_impersonation offline_access"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    let form = f.requests_to(TOKEN_PATH)[0].form();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-auth-code");
    assert_eq!(form["redirect_uri"], q["redirect_uri"]);
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(
        Pkce::from_verifier(form["code_verifier"].clone()).challenge,
        q["code_challenge"],
        "verifier matches the challenge"
    );
}

#[tokio::test]
async fn a_forged_state_is_refused_and_no_code_is_redeemed() {
    let f = Fixture::start().await;
    f.on(
        "POST",
        TOKEN_PATH,
        vec![Canned::json(
            200,
            serde_json::json!({"access_token":"a","refresh_token":"rt"}),
        )],
    );
    let (result, _) = browser_flow(&f, |_| "code=c&state=forged".to_owned()).await;
    assert!(
        matches!(result, Err(Error::Login(LoginError::StateMismatch))),
        "{result:?}"
    );
    assert!(f.requests_to(TOKEN_PATH).is_empty());
    let (result, _) = browser_flow(&f, |state| {
        format!("error=access_denied&error_description=user+said+no&state={state}")
    })
    .await;
    assert!(
        matches!(result, Err(Error::Login(LoginError::Denied { ref error, .. })) if error == "access_denied"),
        "{result:?}"
    );
}

#[tokio::test]
async fn device_code_polls_until_signed_in() {
    let f = Fixture::start().await;
    f.on("POST", "/6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90/oauth2/v2.0/devicecode", vec![Canned::json(200, serde_json::json!({
        "device_code":"dc-secret-value","user_code":"ABCD-EFGH","verification_uri":"https://microsoft.com/devicelogin",
        "expires_in":"900","interval":"1","message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."}))]);
    f.on("POST", TOKEN_PATH, vec![
        Canned::json(400, serde_json::json!({"error":"authorization_pending","error_description":"AADSTS70016: pending","error_codes":[70016]})),
        Canned::json(200, serde_json::json!({"access_token":"a","refresh_token":"rt-device","expires_in":"3599"})),
    ]);
    let client = f.client(secret_only());
    let mut shown: Option<DeviceCodePrompt> = None;
    let rt = client
        .login()
        .device_code(&ctx(), |p| shown = Some(p.clone()))
        .await
        .expect("signed in");
    assert_eq!(rt.expose(), "rt-device");
    let p = shown.expect("prompt shown");
    assert_eq!(p.user_code, "ABCD-EFGH");
    assert!(p.message.contains("ABCD-EFGH"));
    let polls = f.requests_to(TOKEN_PATH);
    assert_eq!(polls.len(), 2);
    assert_eq!(
        polls[0].form()["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(polls[0].form()["device_code"], "dc-secret-value");
    let dc = f.requests_to("/6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90/oauth2/v2.0/devicecode")[0].form();
    assert_eq!(
        dc["scope"],
        "https://api.partnercenter.microsoft.com/user_impersonation offline_access"
    );
}

#[tokio::test]
async fn device_code_expiry_ends_the_flow() {
    let f = Fixture::start().await;
    f.on(
        "POST",
        "/6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90/oauth2/v2.0/devicecode",
        vec![Canned::json(
            200,
            serde_json::json!({
        "device_code":"d","user_code":"U","verification_uri":"https://x","expires_in":900,"interval":1}),
        )],
    );
    f.on(
        "POST",
        TOKEN_PATH,
        vec![Canned::json(
            400,
            serde_json::json!({"error":"expired_token","error_description":"AADSTS70020: expired"}),
        )],
    );
    let err = f
        .client(secret_only())
        .login()
        .device_code(&ctx(), |_| {})
        .await
        .expect_err("expired");
    assert!(
        matches!(err, Error::Login(LoginError::DeviceCodeExpired)),
        "{err:?}"
    );
}
