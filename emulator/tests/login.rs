//! Login: grants, token shapes (v1 strings, v2 numbers), AADSTS errors, rotation, PKCE, device code,
//! federated client assertions.

mod common;

use base64::Engine as _;
use common::{
    DEVICE_CODE_GRANT, GRAPH, GRAPH_DEFAULT, PARTNER_CENTER, PARTNER_CENTER_USER, TokenForm, aadsts, claims,
    start,
};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::json;
use sha2::Digest as _;

#[tokio::test]
async fn client_credentials_v2_gives_an_app_only_graph_token() {
    let emu = start().await;
    let (status, body) = emu
        .token("v2", &TokenForm::client_credentials(GRAPH_DEFAULT))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].is_i64(), "v2 numbers are numbers: {body}");
    assert!(body.get("refresh_token").is_none());
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], GRAPH);
    assert_eq!(c["tid"], demo::TENANT_ID);
    assert_eq!(c["appid"], demo::APP_ID);
    assert_eq!(c["idtyp"], "app");
    assert!(c["roles"].is_array());
    assert!(c.get("scp").is_none());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3599);
}

#[tokio::test]
async fn client_credentials_v1_uses_resource_and_string_numbers() {
    let emu = start().await;
    let (status, body) = emu
        .token(
            "v1",
            &TokenForm::grant("client_credentials")
                .with_secret()
                .set("resource", PARTNER_CENTER),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for field in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
        assert!(body[field].is_string(), "{field} must be a string in v1: {body}");
    }
    assert_eq!(body["resource"], PARTNER_CENTER);
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        PARTNER_CENTER
    );
}

#[tokio::test]
async fn tenant_can_be_named_by_domain_and_unknown_tenants_fail_with_90002() {
    let emu = start().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", demo::APP_ID),
        ("client_secret", demo::CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let (status, _) = emu
        .post_form(&emu.url(&format!("/{}/oauth2/v2.0/token", demo::DOMAIN)), &form)
        .await;
    assert_eq!(status, 200);
    let (status, body) = emu
        .post_form(&emu.url("/fabrikam.onmicrosoft.com/oauth2/v2.0/token"), &form)
        .await;
    assert_eq!(status, 400);
    assert_eq!(aadsts(&body), 90002);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS90002: ")
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field} missing: {body}");
    }
}

#[tokio::test]
async fn bad_secret_unknown_client_and_bad_scopes_give_their_aadsts_codes() {
    let emu = start().await;
    let app_only = TokenForm::client_credentials(GRAPH_DEFAULT);
    let (status, body) = emu
        .token("v2", &app_only.clone().set("client_secret", "wrong"))
        .await;
    assert_eq!(
        (status, aadsts(&body), body["error"].as_str()),
        (401, 7000215, Some("invalid_client"))
    );
    let unknown_client = app_only
        .clone()
        .set("client_id", "11111111-2222-3333-4444-555555555555")
        .set("client_secret", "x");
    let (status, body) = emu.token("v2", &unknown_client).await;
    assert_eq!((status, aadsts(&body)), (400, 700016));
    let user_scope = app_only
        .clone()
        .set("scope", "https://graph.microsoft.com/User.Read");
    let (status, body) = emu.token("v2", &user_scope).await;
    assert_eq!((status, aadsts(&body)), (400, 1002012));
    let unknown_resource = app_only
        .clone()
        .set("scope", "https://unknown.example.com/.default");
    let (status, body) = emu.token("v2", &unknown_resource).await;
    assert_eq!((status, aadsts(&body)), (400, 500011));
    let (status, body) = emu.token("v2", &app_only.without("client_secret")).await;
    assert_eq!((status, aadsts(&body)), (401, 7000218));
}

#[tokio::test]
async fn refresh_token_rotates_and_the_old_one_stays_valid_by_default() {
    let emu = start().await;
    let refresh = |rt: String| {
        let emu = &emu;
        async move {
            emu.token(
                "v2",
                &TokenForm::grant("refresh_token")
                    .with_secret()
                    .set("refresh_token", &rt)
                    .set("scope", PARTNER_CENTER_USER),
            )
            .await
        }
    };
    let (status, first) = refresh(demo::REFRESH_TOKEN.into()).await;
    assert_eq!(status, 200, "{first}");
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, demo::REFRESH_TOKEN);
    let c = claims(first["access_token"].as_str().unwrap());
    assert_eq!(
        (c["aud"].as_str(), c["idtyp"].as_str(), c["scp"].as_str()),
        (Some(PARTNER_CENTER), Some("user"), Some("user_impersonation"))
    );
    assert_eq!(c["upn"], demo::USER);
    assert_eq!(
        first["scope"],
        "https://api.partnercenter.microsoft.com/user_impersonation"
    );

    let (status, second) = refresh(rotated.clone()).await;
    assert_eq!(status, 200);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (status, _) = refresh(demo::REFRESH_TOKEN.into()).await;
    assert_eq!(
        status, 200,
        "the old refresh token stays valid unless the setting says otherwise"
    );

    emu.settings(json!({ "rotate_refresh_tokens_revokes_old": true }))
        .await;
    let (status, third) = refresh(rotated.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = refresh(rotated).await;
    assert_eq!((status, aadsts(&body)), (400, 50173));
    let (status, _) = refresh(third["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn refresh_tokens_fail_when_revoked_inactive_or_unknown() {
    let emu = start().await;
    let form = |rt: &str| {
        TokenForm::grant("refresh_token").set("refresh_token", rt).set(
            "scope",
            "https://api.partnercenter.microsoft.com/user_impersonation",
        )
    };
    let (status, body) = emu.token("v2", &form("emu-refresh-unknown")).await;
    assert_eq!(
        (status, aadsts(&body), body["error"].as_str()),
        (400, 9002313, Some("invalid_grant"))
    );

    emu.advance_clock(91 * 24 * 3600).await;
    let (status, body) = emu.token("v2", &form(demo::REFRESH_TOKEN)).await;
    assert_eq!((status, aadsts(&body)), (400, 700082), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("inactive for 91.00:00:")
    );

    emu.control(Method::POST, "/reset", json!({})).await;
    let (status, _) = emu.token("v2", &form(demo::REFRESH_TOKEN)).await;
    assert_eq!(status, 200);
    let (_, revoked) = emu
        .control(Method::POST, "/refresh-tokens/revoke", json!({}))
        .await;
    assert!(revoked["revoked"].as_u64().unwrap() >= 1);
    let (status, body) = emu.token("v2", &form(demo::REFRESH_TOKEN)).await;
    assert_eq!((status, aadsts(&body)), (400, 50173));
}

fn pkce_pair() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned();
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn authorize(emu: &common::Emu, challenge: &str, redirect: &str) -> (String, url::Url) {
    let response = emu
        .http
        .get(emu.url("/organizations/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", demo::APP_ID),
            ("response_type", "code"),
            ("redirect_uri", redirect),
            (
                "scope",
                "https://api.partnercenter.microsoft.com/user_impersonation offline_access openid",
            ),
            ("state", "xyz-state"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("well-formed response");
    assert_eq!(response.status().as_u16(), 302);
    let location = url::Url::parse(
        response.headers()["location"]
            .to_str()
            .expect("well-formed response"),
    )
    .expect("well-formed response");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("well-formed response");
    (code, location)
}

#[tokio::test]
async fn authorization_code_with_pkce_signs_in_the_demo_user_once() {
    let emu = start().await;
    let (verifier, challenge) = pkce_pair();
    let redirect = "http://localhost:53123/callback";
    let (code, location) = authorize(&emu, &challenge, redirect).await;
    assert_eq!(location.host_str(), Some("localhost"));
    assert_eq!(location.port(), Some(53123));
    assert!(
        location
            .query_pairs()
            .any(|(k, v)| k == "state" && v == "xyz-state")
    );

    let redeem = |code: String, verifier: String| {
        let emu = &emu;
        async move {
            emu.token(
                "v2",
                &TokenForm::grant("authorization_code")
                    .set("code", &code)
                    .set("redirect_uri", redirect)
                    .set("code_verifier", &verifier)
                    .set(
                        "scope",
                        "https://api.partnercenter.microsoft.com/user_impersonation offline_access openid",
                    ),
            )
            .await
        }
    };
    let (status, body) = redeem(
        code.clone(),
        "wrong-verifier-wrong-verifier-wrong-verifier".into(),
    )
    .await;
    assert_eq!((status, aadsts(&body)), (400, 501481));
    let (status, body) = redeem(code.clone(), verifier.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("emu-refresh-"))
    );
    assert!(body["id_token"].is_string());
    assert_eq!(claims(body["access_token"].as_str().unwrap())["upn"], demo::USER);
    let (status, body) = redeem(code, verifier).await;
    assert_eq!((status, aadsts(&body)), (400, 54005));
    let (status, body) = redeem("0.AQnot-a-code".into(), "x".into()).await;
    assert_eq!((status, aadsts(&body)), (400, 70008));
}

#[tokio::test]
async fn authorize_refuses_unregistered_redirects_and_unknown_clients() {
    let emu = start().await;
    let response = emu
        .http
        .get(emu.url("/common/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", demo::APP_ID),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example.com/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(aadsts(&response.json().await.unwrap()), 50011);
    let response = emu
        .http
        .get(emu.url("/common/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", "00000000-0000-0000-0000-000000000001"),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(aadsts(&response.json().await.unwrap()), 700016);
}

#[tokio::test]
async fn device_code_is_pending_until_approved() {
    let emu = start().await;
    let (status, started) = emu
        .post_form(
            &emu.url("/organizations/oauth2/v2.0/devicecode"),
            &[
                ("client_id", demo::APP_ID),
                (
                    "scope",
                    "https://api.partnercenter.microsoft.com/user_impersonation offline_access",
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["verification_uri"], "https://microsoft.com/devicelogin");
    assert!(
        started["message"]
            .as_str()
            .unwrap()
            .contains(started["user_code"].as_str().unwrap())
    );
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let poll = || {
        let emu = &emu;
        let device_code = device_code.clone();
        async move {
            emu.token(
                "v2",
                &TokenForm::grant(DEVICE_CODE_GRANT).set("device_code", &device_code),
            )
            .await
        }
    };
    let (status, body) = poll().await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body)),
        (400, Some("authorization_pending"), 70016)
    );
    let (_, approved) = emu
        .control(Method::POST, "/device-codes/approve", json!({}))
        .await;
    assert_eq!(approved["approved"], 1);
    let (status, body) = poll().await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string());
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        PARTNER_CENTER
    );
}

#[tokio::test]
async fn device_codes_expire() {
    let emu = start().await;
    let (_, started) = emu
        .post_form(
            &emu.url("/organizations/oauth2/v2.0/devicecode"),
            &[("client_id", demo::APP_ID), ("scope", "openid")],
        )
        .await;
    emu.advance_clock(901).await;
    let (status, body) = emu
        .token(
            "v2",
            &TokenForm::grant(DEVICE_CODE_GRANT).set("device_code", started["device_code"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body)),
        (400, Some("expired_token"), 70019)
    );
}

#[tokio::test]
async fn federated_client_assertion_authenticates_the_app() {
    let emu = start().await;
    let (status, oidc) = emu.control(Method::POST, "/oidc-token", json!({})).await;
    assert_eq!(status, 200);
    let assertion = oidc["value"].as_str().unwrap().to_owned();
    let form = |assertion: &str| {
        TokenForm::grant("client_credentials")
            .set(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .set("client_assertion", assertion)
            .set("scope", "https://api.partnercenter.microsoft.com/.default")
    };
    let (status, _) = emu.token("v2", &form(&assertion)).await;
    assert_eq!(status, 200);

    let (_, other) = emu
        .control(
            Method::POST,
            "/oidc-token",
            json!({ "subject": "repo:contoso/onboarding:ref:refs/heads/evil" }),
        )
        .await;
    let (status, body) = emu.token("v2", &form(other["value"].as_str().unwrap())).await;
    assert_eq!(status, 400);
    assert_eq!(aadsts(&body), 70021);

    emu.advance_clock(600).await;
    let (_, body) = emu.token("v2", &form(&assertion)).await;
    assert_eq!(aadsts(&body), 700024);
}

#[tokio::test]
async fn an_expired_key_fails_with_7000222() {
    let emu = start().await;
    let (status, _) = emu
        .control(
            Method::POST,
            &format!(
                "/applications/{}/passwords/{}/expire",
                demo::APP_ID,
                demo::CLIENT_SECRET_KEY_ID
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = emu
        .token("v2", &TokenForm::client_credentials(GRAPH_DEFAULT))
        .await;
    assert_eq!((status, aadsts(&body)), (401, 7000222));
}

#[tokio::test]
async fn v1_authorize_form_post_and_v1_device_code() {
    let emu = start().await;
    let response = emu
        .http
        .get(emu.url("/common/oauth2/authorize"))
        .query(&[
            ("client_id", demo::APP_ID),
            ("response_type", "code id_token"),
            ("response_mode", "form_post"),
            ("redirect_uri", "http://localhost:8400/"),
            ("state", "s1"),
            ("nonce", "n1"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.expect("form page");
    assert!(page.contains(r#"action="http://localhost:8400/""#));
    assert!(page.contains(r#"name="id_token""#) && page.contains(r#"name="state" value="s1""#));
    let code = page
        .split(r#"name="code" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("code field");
    let (status, body) = emu
        .token(
            "v1",
            &TokenForm::grant("authorization_code")
                .with_secret()
                .set("code", code)
                .set("redirect_uri", "http://localhost:8400/")
                .set("resource", PARTNER_CENTER),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].is_string() && body["refresh_token"].is_string());
    assert_eq!(body["scope"], "user_impersonation");

    let (status, started) = emu
        .post_form(
            &emu.url(&format!("/{}/oauth2/devicecode", demo::TENANT_ID)),
            &[("client_id", demo::APP_ID), ("resource", PARTNER_CENTER)],
        )
        .await;
    assert_eq!(status, 200);
    assert!(started["expires_in"].is_string() && started["verification_url"].is_string());
    emu.control(Method::POST, "/device-codes/approve", json!({}))
        .await;
    let (status, body) = emu
        .token(
            "v1",
            &TokenForm::grant("device_code")
                .set("code", started["device_code"].as_str().expect("device code"))
                .set("resource", PARTNER_CENTER),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().expect("token"))["aud"],
        PARTNER_CENTER
    );
}
