//! The Partner Center MFA rule for App+User calls (reference B.5): refresh tokens remember whether the
//! sign-in had MFA, access tokens say so in `amr`, Partner Center refuses App+User tokens without it
//! (401, code "900421") unless asked only to report (`ValidateMfa: true` → `isMfaCompliant`).

mod common;

use common::{DEVICE_CODE_GRANT, Emu, PARTNER_CENTER, TokenForm, aadsts, claims, start};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::{Value, json};

const PC_SCOPE: &str = "https://api.partnercenter.microsoft.com/user_impersonation offline_access";

/// A refresh token of the demo user whose sign-in had (or lacked) MFA.
async fn refresh_token(emu: &Emu, mfa: bool) -> String {
    let (status, body) = emu
        .control(Method::POST, "/refresh-tokens", json!({ "mfa": mfa }))
        .await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"].as_str().expect("refresh_token").to_owned()
}

/// Redeems `refresh_token` for Partner Center: (status, body).
async fn redeem(emu: &Emu, refresh_token: &str) -> (u16, Value) {
    emu.token(
        "v2",
        &TokenForm::grant("refresh_token")
            .with_secret()
            .set("refresh_token", refresh_token)
            .set("scope", PC_SCOPE),
    )
    .await
}

async fn access_token(emu: &Emu, refresh_token: &str) -> String {
    let (status, body) = redeem(emu, refresh_token).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// Signs the demo user in through authorize (`extra` query parameters added) and redeems the code.
async fn sign_in(emu: &Emu, extra: &[(&str, &str)]) -> String {
    let mut query = vec![
        ("client_id", demo::APP_ID),
        ("response_type", "code"),
        ("redirect_uri", "http://localhost:5000/cb"),
        ("scope", PC_SCOPE),
    ];
    query.extend_from_slice(extra);
    let response = emu
        .http
        .get(emu.url("/organizations/oauth2/v2.0/authorize"))
        .query(&query)
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status().as_u16(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().expect("ascii")).expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (status, body) = emu
        .token(
            "v2",
            &TokenForm::grant("authorization_code")
                .set("code", &code)
                .set("redirect_uri", "http://localhost:5000/cb")
                .set("scope", PC_SCOPE),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

#[tokio::test]
async fn the_seeded_refresh_token_signed_in_with_mfa() {
    let emu = start().await;
    let token = emu.partner_center_user_token().await;
    assert_eq!(claims(&token)["amr"], json!(["pwd", "mfa"]));
    assert_eq!(emu.get_json("/v1/profiles/mpn", &token).await.0, 200);
}

#[tokio::test]
async fn app_user_tokens_without_mfa_get_401_code_900421() {
    let emu = start().await;
    let without = refresh_token(&emu, false).await;
    let (_, state) = emu.control(Method::GET, "/state", Value::Null).await;
    assert_eq!(state["refreshTokens"]["withoutMfa"], 1);
    let (status, body) = redeem(&emu, &without).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["amr"], json!(["pwd"]));
    for path in ["/v1/profiles/mpn", "/v1/customers?size=10"] {
        let (status, body) = emu.get_json(path, token).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["code"], "900421", "a JSON string");
        assert!(body["description"].as_str().unwrap().contains("MFA"));
        assert_eq!(body["data"], json!([]));
        assert_eq!(body["source"], "PartnerFD");
    }
    // Refresh tokens minted from it inherit the missing factor.
    let rotated = redeem(&emu, &without).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims(&access_token(&emu, &rotated).await)["amr"], json!(["pwd"]));

    // An MFA one works; app-only is never checked.
    let with = refresh_token(&emu, true).await;
    let token = access_token(&emu, &with).await;
    assert_eq!(emu.get_json("/v1/profiles/mpn", &token).await.0, 200);
    let app_only = emu.app_token(PARTNER_CENTER).await;
    assert!(claims(&app_only).get("amr").is_none());
    assert_eq!(emu.get_json("/v1/customers?size=10", &app_only).await.0, 200);
}

#[tokio::test]
async fn validate_mfa_reports_compliance_without_blocking() {
    let emu = start().await;
    let without = access_token(&emu, &refresh_token(&emu, false).await).await;
    let with = emu.partner_center_user_token().await;
    for (token, compliant) in [(&without, "false"), (&with, "true")] {
        let response = emu
            .http
            .get(emu.url("/v1/profiles/mpn"))
            .bearer_auth(token)
            .header("ValidateMfa", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["isMfaCompliant"], compliant);
    }
    let response = emu.get("/v1/profiles/mpn", &with).await;
    assert!(
        !response.headers().contains_key("isMfaCompliant"),
        "only when asked"
    );
}

#[tokio::test]
async fn enforcement_and_interactive_mfa_are_settings() {
    let emu = start().await;
    let without = access_token(&emu, &refresh_token(&emu, false).await).await;
    emu.settings(json!({ "mfa_enforced": false })).await;
    assert_eq!(emu.get_json("/v1/profiles/mpn", &without).await.0, 200);

    // Sign-ins count as MFA by default; with `sign_ins_use_mfa` off only `amr_values=mfa` forces it.
    assert_eq!(claims(&sign_in(&emu, &[]).await)["amr"], json!(["pwd", "mfa"]));
    emu.settings(json!({ "sign_ins_use_mfa": false })).await;
    assert_eq!(claims(&sign_in(&emu, &[]).await)["amr"], json!(["pwd"]));
    assert_eq!(
        claims(&sign_in(&emu, &[("amr_values", "mfa")]).await)["amr"],
        json!(["pwd", "mfa"])
    );

    // A minted token can lack it too.
    let (_, minted) = emu
        .control(
            Method::POST,
            "/access-token",
            json!({ "audience": PARTNER_CENTER, "mfa": false }),
        )
        .await;
    assert_eq!(
        claims(minted["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    emu.settings(json!({ "mfa_enforced": true })).await;
    assert_eq!(
        emu.get_json("/v1/profiles/mpn", minted["access_token"].as_str().unwrap())
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn device_code_sign_ins_follow_sign_ins_use_mfa() {
    let emu = start().await;
    emu.settings(json!({ "sign_ins_use_mfa": false })).await;
    let (_, started) = emu
        .post_form(
            &emu.url("/organizations/oauth2/v2.0/devicecode"),
            &[("client_id", demo::APP_ID), ("scope", PC_SCOPE)],
        )
        .await;
    emu.control(Method::POST, "/device-codes/approve", json!({}))
        .await;
    let (status, body) = emu
        .token(
            "v2",
            &TokenForm::grant(DEVICE_CODE_GRANT).set("device_code", started["device_code"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
}

#[tokio::test]
async fn conditional_access_refuses_refresh_tokens_without_mfa() {
    let emu = start().await;
    let without = refresh_token(&emu, false).await;
    emu.settings(json!({ "ca_requires_mfa": true, "sign_ins_use_mfa": false }))
        .await;
    let (status, body) = redeem(&emu, &without).await;
    assert_eq!((status, aadsts(&body)), (400, 50076), "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["suberror"], "basic_action");
    assert!(body["claims"].as_str().unwrap().contains("access_token"));
    assert!(body["error_description"].as_str().unwrap().contains(
        "you must use multi-factor authentication to access 'https://api.partnercenter.microsoft.com'"
    ));
    // MFA refresh tokens still work, and interactive sign-ins now perform MFA.
    assert_eq!(redeem(&emu, demo::REFRESH_TOKEN).await.0, 200);
    assert_eq!(claims(&sign_in(&emu, &[]).await)["amr"], json!(["pwd", "mfa"]));
}
