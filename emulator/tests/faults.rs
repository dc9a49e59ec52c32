//! Fault injection: status with each service's error shape, Retry-After, latency, count, probability,
//! custom bodies and connections dropped after the write; the request log sees all of it.

mod common;

use std::time::{Duration, Instant};

use common::{GRAPH, GRAPH_DEFAULT, PARTNER_CENTER, TokenForm, aadsts, demo_app_path, start};
use partnercenter_emulator::FaultSpec;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn status_faults_use_each_services_error_shape_with_retry_after() {
    let emu = start().await;
    let graph = emu.app_token(GRAPH).await;
    let partner_center = emu.app_token(PARTNER_CENTER).await;
    emu.fault(
        FaultSpec::on("GET /v1.0/applications/*")
            .status(503)
            .retry_after(7)
            .times(1),
    )
    .await;
    emu.fault(
        FaultSpec::on("GET /v1/customers")
            .status(429)
            .retry_after(12)
            .times(1),
    )
    .await;
    emu.fault(FaultSpec::on("POST /*/oauth2/v2.0/token").status(500).times(1))
        .await;

    let response = emu.get(&demo_app_path(), &graph).await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    assert!(body["error"]["innerError"]["request-id"].is_string());

    let response = emu.get("/v1/customers", &partner_center).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "12");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 12 seconds." })
    );

    let (status, body) = emu
        .token("v2", &TokenForm::client_credentials(GRAPH_DEFAULT))
        .await;
    assert_eq!(status, 500);
    assert!(aadsts(&body) > 0 && body["error_description"].as_str().unwrap().starts_with("AADSTS"));

    // count: 1 means the next calls pass.
    assert_eq!(emu.get(&demo_app_path(), &graph).await.status().as_u16(), 200);
    assert_eq!(
        emu.get("/v1/customers", &partner_center).await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn count_limits_applications_and_custom_bodies_are_sent() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let id = emu
        .fault(
            FaultSpec::on("* /v1.0/**")
                .status(409)
                .times(2)
                .body(json!({"error": {"code": "Conflict", "message": "custom"}})),
        )
        .await;
    for _ in 0..2 {
        let (status, body) = emu.get_json("/v1.0/applications", &token).await;
        assert_eq!((status, body["error"]["message"].as_str()), (409, Some("custom")));
    }
    assert_eq!(emu.get_json("/v1.0/applications", &token).await.0, 200);
    let (_, faults) = emu.control(Method::GET, "/faults", Value::Null).await;
    let fault = faults["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (fault["applied"].as_u64(), fault["remaining"].as_u64()),
        (Some(2), Some(0))
    );
    let log = emu.requests().await;
    let statuses: Vec<u64> = log
        .iter()
        .filter(|r| r["path"] == "/v1.0/applications")
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![409, 409, 200]);
}

#[tokio::test]
async fn probability_is_deterministic_for_a_seed() {
    async fn pattern() -> Vec<u16> {
        let emu = start().await;
        let token = emu.app_token(GRAPH).await;
        emu.fault(
            FaultSpec::on("GET /v1.0/applications")
                .status(500)
                .probability(0.5),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(emu.get("/v1.0/applications", &token).await.status().as_u16());
        }
        statuses
    }
    let first = pattern().await;
    assert_eq!(first, pattern().await, "same fault seed, same decisions");
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!((5..=35).contains(&failures), "about half fail: {failures}");
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    emu.fault(
        FaultSpec::on("GET /v1.0/servicePrincipals")
            .latency_ms(300)
            .times(1),
    )
    .await;
    let started = Instant::now();
    let (status, _) = emu.get_json("/v1.0/servicePrincipals", &token).await;
    assert_eq!(status, 200, "latency alone does not change the answer");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// Someone reported that a dropped connection prevented the write. Through a real TCP client, on a
/// connection already used for an earlier request (as a provider's pooled client would): the write is
/// applied, registered for replication like any other, and only then is the connection closed.
#[tokio::test]
async fn dropped_connection_after_the_write_is_applied() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let app = demo_app_path();
    assert_eq!(
        emu.get_json(&app, &token).await.0,
        200,
        "warms the pooled connection"
    );
    emu.fault(
        FaultSpec::on("POST /v1.0/applications/*/addPassword")
            .drop_after_apply()
            .times(1),
    )
    .await;
    let result = emu
        .http
        .post(emu.url(&format!("{app}/addPassword")))
        .bearer_auth(&token)
        .json(&json!({ "passwordCredential": { "displayName": "ambiguous" } }))
        .send()
        .await;
    let error = result.expect_err("the client sees a connection error, not a response");
    assert!(!error.is_status());

    // The primary has the key, still replicating (default lag: missed by two requests).
    let (_, state) = emu.control(Method::GET, "/state", Value::Null).await;
    let key = state["applications"][0]["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["displayName"] == "ambiguous")
        .cloned()
        .expect("the write was applied");
    assert_eq!(key["replication"]["change"], "created");
    assert_eq!(key["replication"]["missesLeft"], 2);
    let listed = |app: &Value| {
        app["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["displayName"] == "ambiguous")
    };
    assert!(!listed(&emu.get_json(&app, &token).await.1));
    assert!(!listed(&emu.get_json(&app, &token).await.1));
    assert!(listed(&emu.get_json(&app, &token).await.1));

    let log = emu.requests().await;
    let dropped = log
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/addPassword"))
        .unwrap();
    assert_eq!(dropped["dropped"], true);
    assert_eq!(dropped["status"], 200);
}

#[tokio::test]
async fn faults_can_be_listed_removed_and_cleared() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let id = emu
        .fault(FaultSpec::on("GET /v1.0/applications").status(500))
        .await;
    assert_eq!(emu.get_json("/v1.0/applications", &token).await.0, 500);
    let (status, _) = emu
        .control(Method::DELETE, &format!("/faults/{id}"), Value::Null)
        .await;
    assert_eq!(status, 204);
    assert_eq!(emu.get_json("/v1.0/applications", &token).await.0, 200);
    emu.fault(FaultSpec::on("GET /v1.0/applications").status(502))
        .await;
    let (status, _) = emu.control(Method::DELETE, "/faults", Value::Null).await;
    assert_eq!(status, 204);
    assert_eq!(emu.get_json("/v1.0/applications", &token).await.0, 200);
    let (status, _) = emu
        .control(
            Method::POST,
            "/faults",
            FaultSpec::on("GET /x").status(200).to_json(),
        )
        .await;
    assert_eq!(status, 400, "a fault status must be an error status");
}

#[tokio::test]
async fn every_matching_fault_fires_latencies_add_and_the_first_status_decides() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let slow = emu
        .fault(FaultSpec::on("GET /v1.0/applications").latency_ms(200).times(1))
        .await;
    let slower = emu
        .fault(FaultSpec::on("GET /v1.0/**").latency_ms(150).times(1))
        .await;
    let unavailable = emu
        .fault(
            FaultSpec::on("GET /v1.0/applications")
                .status(503)
                .retry_after(3)
                .times(1),
        )
        .await;
    let server_error = emu
        .fault(FaultSpec::on("* /v1.0/applications").status(500).times(1))
        .await;
    let started = Instant::now();
    let response = emu.get("/v1.0/applications", &token).await;
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "latencies add up"
    );
    assert_eq!(
        response.status().as_u16(),
        503,
        "the first fault with a status decides"
    );
    assert_eq!(response.headers()["retry-after"], "3");
    // Every fault that matched used one of its applications, the 500 included.
    assert_eq!(emu.get_json("/v1.0/applications", &token).await.0, 200);
    let (_, faults) = emu.control(Method::GET, "/faults", Value::Null).await;
    for fault in faults["faults"].as_array().unwrap() {
        assert_eq!(fault["applied"], 1, "{fault}");
        assert_eq!(fault["remaining"], 0, "{fault}");
    }
    let log = emu.requests().await;
    let first = log.iter().find(|r| r["path"] == "/v1.0/applications").unwrap();
    assert_eq!(first["fault"], unavailable.as_str());
    assert_eq!(first["faults"], json!([slow, slower, unavailable, server_error]));
}

#[tokio::test]
async fn a_drop_listed_first_decides_over_a_later_status() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    emu.fault(
        FaultSpec::on("GET /v1.0/servicePrincipals")
            .drop_after_apply()
            .times(1),
    )
    .await;
    emu.fault(FaultSpec::on("GET /v1.0/servicePrincipals").status(500).times(1))
        .await;
    let result = emu
        .http
        .get(emu.url("/v1.0/servicePrincipals"))
        .bearer_auth(&token)
        .send()
        .await;
    assert!(result.is_err(), "the connection is dropped, not answered 500");
    assert_eq!(emu.get_json("/v1.0/servicePrincipals", &token).await.0, 200);
}

#[tokio::test]
async fn the_typed_builder_serializes_to_the_control_api_json() {
    let spec = FaultSpec::on("POST /v1.0/applications/*/addPassword")
        .status(429)
        .retry_after(1)
        .times(2);
    assert_eq!(
        spec.to_json(),
        json!({ "route": "POST /v1.0/applications/*/addPassword", "status": 429, "retry_after": 1, "count": 2 })
    );
    let every_option = FaultSpec::on("* /v1/**")
        .status(503)
        .latency_ms(50)
        .probability(0.5)
        .drop_after_apply()
        .body(json!({ "code": 1 }));
    assert_eq!(
        serde_json::to_value(&every_option).unwrap(),
        json!({ "route": "* /v1/**", "status": 503, "latency_ms": 50, "probability": 0.5,
                "drop_connection_after_apply": true, "body": { "code": 1 } })
    );
    let back: FaultSpec = serde_json::from_value(every_option.to_json()).unwrap();
    assert_eq!(back, every_option);

    // The control API takes it as is.
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    emu.fault(FaultSpec::on("GET /v1.0/applications").status(418).times(1))
        .await;
    assert_eq!(emu.get_json("/v1.0/applications", &token).await.0, 418);
}
