//! Partner Center's customer throttle: N requests per minute per tenant, then 429 with Retry-After.

mod common;

use common::{PARTNER_CENTER, start};
use serde_json::{Value, json};

#[tokio::test]
async fn customer_requests_beyond_the_limit_get_429_until_the_minute_passes() {
    let emu = start().await;
    emu.settings(json!({ "customer_rate_limit_per_minute": 3 })).await;
    let token = emu.app_token(PARTNER_CENTER).await;
    for _ in 0..3 {
        assert_eq!(
            emu.get("/v1/customers?size=1", &token).await.status().as_u16(),
            200
        );
    }
    let response = emu.get("/v1/customers?size=1", &token).await;
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    assert_eq!(
        body["message"],
        format!("Rate limit is exceeded. Try again in {retry_after} seconds.")
    );
    // Other Partner Center resources are not throttled by the customer limit.
    let user = emu.partner_center_user_token().await;
    assert_eq!(emu.get("/v1/profiles/mpn", &user).await.status().as_u16(), 200);
    emu.advance_clock(61).await;
    assert_eq!(
        emu.get("/v1/customers?size=1", &token).await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn default_limit_is_500_per_minute() {
    let emu = start().await;
    let (_, settings) = emu.control(reqwest::Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["customer_rate_limit_per_minute"], 500);
}
