//! Token checks on every API: missing, forged, expired (by the emulator clock), wrong audience, app-only on
//! Partner Center's App+User-only routes.

mod common;

use common::{GRAPH, PARTNER_CENTER, TokenForm, start};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn missing_and_forged_tokens_are_refused() {
    let emu = start().await;
    let response = emu.http.get(emu.url("/v1.0/applications")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

    let response = emu.http.get(emu.url("/v1/customers")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["code"].is_number());
    assert_eq!(body["source"], "PartnerFD");

    // A token whose payload was edited (say, to another audience) fails the signature check.
    let token = emu.app_token(PARTNER_CENTER).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = common::claims(&token);
    claims["aud"] = json!(GRAPH);
    use base64::Engine as _;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let forged = parts.join(".");
    let (status, _) = emu.get_json("/v1.0/applications", &forged).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn wrong_audience_is_401_on_both_apis() {
    let emu = start().await;
    let graph = emu.app_token(GRAPH).await;
    let partner_center = emu.app_token(PARTNER_CENTER).await;
    let (status, body) = emu.get_json("/v1.0/applications", &partner_center).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    let response = emu.get("/v1/customers", &graph).await;
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    // Azure AD Graph tokens are retired for Partner Center.
    let (status, body) = emu
        .token(
            "v1",
            &TokenForm::grant("client_credentials")
                .with_secret()
                .set("resource", "https://graph.windows.net"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = emu
        .get_json("/v1/customers", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn app_only_tokens_are_refused_on_app_user_routes() {
    let emu = start().await;
    let app_only = emu.app_token(PARTNER_CENTER).await;
    let user = emu.partner_center_user_token().await;
    let reseller_filter = format!(
        "/v1/customers?size=10&filter={}",
        urlencode(
            &json!({ "Field": "IndirectReseller", "Value": "5d2f8a61", "Operator": "starts_with" })
                .to_string()
        )
    );
    for path in [
        "/v1/profiles/mpn",
        "/v1/profiles/organization",
        "/v1/relationships?relationship_type=IsIndirectCloudSolutionProviderOf",
        reseller_filter.as_str(),
    ] {
        let (status, body) = emu.get_json(path, &app_only).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(
            body["description"],
            "This resource can't be accessed by application credentials."
        );
        assert!(body["code"].is_number());
        let (status, _) = emu.get_json(path, &user).await;
        assert_eq!(status, 200, "{path} with app+user");
    }
    // The plain list and one customer are fine app-only.
    let (status, list) = emu.get_json("/v1/customers?size=5", &app_only).await;
    assert_eq!(status, 200);
    let id = list["items"][0]["id"].as_str().unwrap();
    let (status, _) = emu.get_json(&format!("/v1/customers/{id}"), &app_only).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn tokens_expire_by_the_emulator_clock() {
    let emu = start().await;
    let graph = emu.app_token(GRAPH).await;
    let partner_center = emu.partner_center_user_token().await;
    emu.advance_clock(3598).await;
    assert_eq!(emu.get_json("/v1.0/applications", &graph).await.0, 200);
    emu.advance_clock(2).await;
    let (status, body) = emu.get_json("/v1.0/applications", &graph).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"));
    assert_eq!(emu.get_json("/v1/profiles/mpn", &partner_center).await.0, 401);
    let (status, _) = emu
        .control(
            Method::POST,
            "/settings",
            json!({ "access_token_lifetime_seconds": 60 }),
        )
        .await;
    assert_eq!(status, 200);
    let short = emu.app_token(GRAPH).await;
    let c = common::claims(&short);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
