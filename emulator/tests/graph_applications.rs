//! Graph applications: lookups, addPassword / removePassword, PATCH requiredResourceAccess, errors, headers.

mod common;

use chrono::{DateTime, Utc};
use common::{GRAPH, GRAPH_DEFAULT, TokenForm, demo_app_path, start, start_without_lag};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn application_by_object_id_app_id_and_filter() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (status, by_id) = emu.get_json(&demo_app_path(), &token).await;
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(by_id["appId"], demo::APP_ID);
    assert!(
        by_id["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#applications/$entity")
    );
    let key = &by_id["passwordCredentials"][0];
    assert_eq!(key["keyId"], demo::CLIENT_SECRET_KEY_ID);
    assert_eq!(key["hint"], "emu");
    assert!(key["secretText"].is_null());

    let (status, by_app_id) = emu
        .get_json(&format!("/v1.0/applications(appId='{}')", demo::APP_ID), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_app_id["id"], demo::APP_OBJECT_ID);
    // Percent-encoded quotes and parentheses are the same address.
    let (status, _) = emu
        .get_json(
            &format!("/v1.0/applications%28appId=%27{}%27%29", demo::APP_ID),
            &token,
        )
        .await;
    assert_eq!(status, 200);

    let (status, list) = emu
        .get_json(
            &format!("/v1.0/applications?$filter=appId eq '{}'", demo::APP_ID),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#applications")
    );
    let (_, none) = emu
        .get_json(
            "/v1.0/applications?$filter=appId eq '00000000-0000-0000-0000-000000000000'",
            &token,
        )
        .await;
    assert_eq!(none["value"], json!([]));
}

#[tokio::test]
async fn unknown_application_is_a_graph_404_with_request_ids() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let response = emu
        .http
        .get(emu.url("/v1.0/applications/00000000-0000-0000-0000-000000000000"))
        .bearer_auth(&token)
        .header("client-request-id", "my-client-request")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.headers().contains_key("request-id"));
    assert_eq!(response.headers()["client-request-id"], "my-client-request");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "my-client-request"
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());
    assert!(body["error"]["innerError"]["date"].is_string());
    let (status, body) = emu.get_json("/v1.0/nonsense", &token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BadRequest"))
    );
}

#[tokio::test]
async fn add_password_returns_the_secret_once_with_a_two_year_default() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let (status, key) = emu
        .add_password(
            &token,
            json!({ "passwordCredential": { "displayName": "terraform" } }),
        )
        .await;
    assert_eq!(status, 200, "{key}");
    let secret = key["secretText"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 16);
    assert_eq!(key["hint"].as_str().unwrap(), &secret[..3]);
    assert_eq!(key["displayName"], "terraform");
    let start: DateTime<Utc> = key["startDateTime"].as_str().unwrap().parse().unwrap();
    let end: DateTime<Utc> = key["endDateTime"].as_str().unwrap().parse().unwrap();
    assert_eq!(end, start.checked_add_months(chrono::Months::new(24)).unwrap());

    // Readable afterwards, but never with its secret.
    let (_, app) = emu.get_json(&demo_app_path(), &token).await;
    let listed = app["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] == key["keyId"])
        .cloned()
        .unwrap();
    assert!(listed["secretText"].is_null());

    // The new secret works at the token endpoint.
    let (status, _) = emu
        .token(
            "v2",
            &TokenForm::grant("client_credentials")
                .set("client_secret", &secret)
                .set("scope", GRAPH_DEFAULT),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn add_password_by_app_id_honours_given_dates() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let path = format!("/v1.0/applications(appId='{}')/addPassword", demo::APP_ID);
    let body = json!({ "passwordCredential": { "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z" } });
    let (status, key) = emu.send_json(Method::POST, &path, &token, body).await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["startDateTime"], "2026-01-01T00:00:00Z");
    assert_eq!(key["endDateTime"], "2027-01-01T00:00:00Z");
    let bad = json!({ "passwordCredential": { "startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z" } });
    let (status, body) = emu.send_json(Method::POST, &path, &token, bad).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("Request_BadRequest"))
    );
}

#[tokio::test]
async fn remove_password_deletes_and_unknown_key_ids_are_refused() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (_, key) = emu.add_password(&token, json!({})).await;
    let remove = format!("/v1.0/applications/{}/removePassword", demo::APP_OBJECT_ID);
    let (status, _) = emu
        .send_json(Method::POST, &remove, &token, json!({ "keyId": key["keyId"] }))
        .await;
    assert_eq!(status, 204);
    let (_, app) = emu.get_json(&demo_app_path(), &token).await;
    assert!(
        app["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["keyId"] != key["keyId"])
    );
    let (status, body) = emu
        .send_json(Method::POST, &remove, &token, json!({ "keyId": key["keyId"] }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("Request_BadRequest"))
    );
}

#[tokio::test]
async fn patch_replaces_required_resource_access_whole() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let path = demo_app_path();
    let first = json!({ "requiredResourceAccess": [
        { "resourceAppId": demo::PARTNER_CENTER_APP_ID, "resourceAccess": [{ "id": demo::PARTNER_CENTER_USER_IMPERSONATION_ID, "type": "Scope" }] },
        { "resourceAppId": demo::MICROSOFT_GRAPH_APP_ID, "resourceAccess": [{ "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope" }] }
    ]});
    let (status, _) = emu.send_json(Method::PATCH, &path, &token, first).await;
    assert_eq!(status, 204);
    let (_, app) = emu.get_json(&path, &token).await;
    assert_eq!(app["requiredResourceAccess"].as_array().unwrap().len(), 2);
    let second = json!({ "requiredResourceAccess": [
        { "resourceAppId": demo::AZURE_AD_GRAPH_APP_ID, "resourceAccess": [{ "id": "a42657d6-7f20-40e3-b6f0-cee03008a62a", "type": "Scope" }] }
    ]});
    let (status, _) = emu.send_json(Method::PATCH, &path, &token, second.clone()).await;
    assert_eq!(status, 204);
    let (_, app) = emu.get_json(&path, &token).await;
    assert_eq!(app["requiredResourceAccess"], second["requiredResourceAccess"]);
    let (status, _) = emu
        .send_json(Method::PATCH, &path, &token, json!({ "passwordCredentials": [] }))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn add_password_keeps_sub_second_times_to_graphs_100_ns_tick() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let body = json!({ "passwordCredential": {
        "startDateTime": "2026-01-01T08:30:00.1234567Z",
        "endDateTime": "2027-01-01T08:30:00.123456Z" } });
    let (status, key) = emu.add_password(&token, body).await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["startDateTime"], "2026-01-01T08:30:00.1234567Z");
    assert_eq!(key["endDateTime"], "2027-01-01T08:30:00.123456Z");
    let (_, app) = emu.get_json(&demo_app_path(), &token).await;
    let listed = app["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] == key["keyId"])
        .cloned()
        .unwrap();
    assert_eq!(listed["startDateTime"], "2026-01-01T08:30:00.1234567Z");
    assert_eq!(listed["endDateTime"], "2027-01-01T08:30:00.123456Z");

    // Nanoseconds beyond the tick are cut; an offset is turned into UTC.
    let body = json!({ "passwordCredential": {
        "startDateTime": "2026-01-01T10:30:00.123456789+02:00",
        "endDateTime": "2027-01-01T08:30:00.5Z" } });
    let (_, key) = emu.add_password(&token, body).await;
    assert_eq!(key["startDateTime"], "2026-01-01T08:30:00.1234567Z");
    assert_eq!(key["endDateTime"], "2027-01-01T08:30:00.5Z");
}
