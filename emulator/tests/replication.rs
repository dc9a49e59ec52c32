//! Replication delay: new keys, service principals and grants are invisible to reads for N reads or M ms.

mod common;

use common::{GRAPH, start};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::json;

async fn key_visible(emu: &common::Emu, token: &str, key_id: &str) -> bool {
    let (_, app) = emu
        .get_json(&format!("/v1.0/applications/{}", demo::APP_OBJECT_ID), token)
        .await;
    app["passwordCredentials"]
        .as_array()
        .expect("well-formed response")
        .iter()
        .any(|k| k["keyId"] == key_id)
}

#[tokio::test]
async fn new_keys_are_invisible_for_a_number_of_reads() {
    let emu = start().await;
    emu.settings(json!({ "replication_delay_reads": 2 })).await;
    let token = emu.app_token(GRAPH).await;
    let (_, key) = emu
        .send_json(
            Method::POST,
            &format!("/v1.0/applications/{}/addPassword", demo::APP_OBJECT_ID),
            &token,
            json!({}),
        )
        .await;
    let key_id = key["keyId"].as_str().unwrap();
    assert!(!key_visible(&emu, &token, key_id).await);
    assert!(!key_visible(&emu, &token, key_id).await);
    assert!(key_visible(&emu, &token, key_id).await);
    assert!(key_visible(&emu, &token, key_id).await);
}

#[tokio::test]
async fn new_service_principals_and_grants_are_invisible_for_some_time() {
    let emu = start().await;
    emu.settings(json!({ "replication_delay_ms": 5000 })).await;
    let token = emu.app_token(GRAPH).await;
    let (status, sp) = emu
        .send_json(
            Method::POST,
            "/v1.0/servicePrincipals",
            &token,
            json!({ "appId": demo::APP_ID }),
        )
        .await;
    assert_eq!(status, 201);
    let path = format!("/v1.0/servicePrincipals(appId='{}')", demo::APP_ID);
    assert_eq!(emu.get_json(&path, &token).await.0, 404);
    let resource_id = emu
        .service_principal_id(&token, demo::PARTNER_CENTER_APP_ID)
        .await;
    let grant = json!({ "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": resource_id, "scope": "user_impersonation" });
    let (status, _) = emu
        .send_json(
            Method::POST,
            "/v1.0/oauth2PermissionGrants",
            &token,
            grant.clone(),
        )
        .await;
    assert_eq!(status, 400, "the client principal has not replicated yet");

    emu.advance_clock(6).await;
    assert_eq!(emu.get_json(&path, &token).await.0, 200);
    let (status, created) = emu
        .send_json(Method::POST, "/v1.0/oauth2PermissionGrants", &token, grant)
        .await;
    assert_eq!(status, 201);
    let list = format!(
        "/v1.0/oauth2PermissionGrants?$filter=clientId eq '{}'",
        sp["id"].as_str().unwrap()
    );
    assert_eq!(emu.get_json(&list, &token).await.1["value"], json!([]));
    emu.advance_clock(6).await;
    assert_eq!(
        emu.get_json(&list, &token).await.1["value"][0]["id"],
        created["id"]
    );
}

#[tokio::test]
async fn no_delay_by_default() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (_, key) = emu
        .send_json(
            Method::POST,
            &format!("/v1.0/applications/{}/addPassword", demo::APP_OBJECT_ID),
            &token,
            json!({}),
        )
        .await;
    assert!(key_visible(&emu, &token, key["keyId"].as_str().unwrap()).await);
}
