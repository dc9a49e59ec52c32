//! The emulator clock: the Date header, key expiry and token lifetimes follow it.

mod common;

use chrono::{DateTime, Utc};
use common::{GRAPH, GRAPH_DEFAULT, TokenForm, start};
use reqwest::Method;
use serde_json::{Value, json};

fn date_header(response: &reqwest::Response) -> DateTime<Utc> {
    let text = response.headers()["date"].to_str().expect("well-formed response");
    DateTime::parse_from_rfc2822(text)
        .expect("well-formed response")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn every_response_carries_the_emulator_date() {
    let emu = start().await;
    // Far enough to be unmistakable, near enough that the seeded secret (2 years) still works.
    let target = (Utc::now() + chrono::TimeDelta::days(200)).date_naive();
    let (status, now) = emu
        .control(
            Method::POST,
            "/clock",
            json!({ "set": format!("{target}T05:06:07Z") }),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        now["now"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{target}T05:06"))
    );
    let token = emu.app_token(GRAPH).await;
    for response in [
        emu.get("/v1.0/applications", &token).await,
        emu.get("/v1/customers", &token).await,
        emu.http.get(emu.url("/_emulator/clock")).send().await.unwrap(),
        emu.http
            .post(emu.token_url("v2"))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap(),
    ] {
        let date = date_header(&response);
        assert_eq!(date.date_naive(), target, "{}", response.url());
        assert!(response.headers()["date"].to_str().unwrap().ends_with(" GMT"));
    }
}

#[tokio::test]
async fn advancing_the_clock_expires_keys_and_reset_restores_it() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (_, key) = emu
        .add_password(
            &token,
            json!({ "passwordCredential": { "endDateTime": (Utc::now() + chrono::TimeDelta::days(10)).to_rfc3339() } }),
        )
        .await;
    let secret = key["secretText"].as_str().unwrap().to_owned();
    let login = || {
        let emu = &emu;
        let secret = secret.clone();
        async move {
            emu.token(
                "v2",
                &TokenForm::grant("client_credentials")
                    .set("client_secret", &secret)
                    .set("scope", GRAPH_DEFAULT),
            )
            .await
        }
    };
    assert_eq!(login().await.0, 200);
    emu.advance_clock(11 * 24 * 3600).await;
    let (status, body) = login().await;
    assert_eq!((status, common::aadsts(&body)), (401, 7000222));

    let (_, before) = emu.control(Method::GET, "/clock", Value::Null).await;
    let moved: DateTime<Utc> = before["now"].as_str().unwrap().parse().unwrap();
    assert!(moved > Utc::now() + chrono::TimeDelta::days(10));
    emu.control(Method::POST, "/reset", json!({})).await;
    let (_, after) = emu.control(Method::GET, "/clock", Value::Null).await;
    let reset: DateTime<Utc> = after["now"].as_str().unwrap().parse().unwrap();
    assert!((reset - Utc::now()).num_seconds().abs() < 5);
}

#[tokio::test]
async fn clock_changes_need_exactly_one_instruction() {
    let emu = start().await;
    let (status, _) = emu.control(Method::POST, "/clock", json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = emu
        .control(
            Method::POST,
            "/clock",
            json!({ "set": "2030-01-01T00:00:00Z", "advance_seconds": 5 }),
        )
        .await;
    assert_eq!(status, 400);
}
