//! Graph oauth2PermissionGrants: create, list by clientId, get, PATCH scope, DELETE, any route casing.

mod common;

use common::{GRAPH, admin_grant, start, start_without_lag};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn grant_lifecycle() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let (client_id, resource_id) = emu.grant_ends(&token, demo::PARTNER_CENTER_APP_ID).await;

    let body = admin_grant(&client_id, &resource_id, "user_impersonation");
    let (status, grant) = emu.create_grant(&token, body.clone()).await;
    assert_eq!(status, 201, "{grant}");
    assert!(grant["principalId"].is_null());
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    let (status, dup) = emu.create_grant(&token, body).await;
    assert_eq!(status, 409, "{dup}");

    let (status, list) = emu
        .get_json(
            &format!("/v1.0/oauth2PermissionGrants?$filter=clientId eq '{client_id}'"),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0]["scope"], "user_impersonation");
    let (_, via_sp) = emu
        .get_json(
            &format!("/v1.0/servicePrincipals/{client_id}/oauth2PermissionGrants"),
            &token,
        )
        .await;
    assert_eq!(via_sp["value"][0]["id"], grant_id.as_str());

    let (status, _) = emu
        .send_json(
            Method::PATCH,
            &format!("/v1.0/oAuth2PermissionGrants/{grant_id}"),
            &token,
            json!({ "scope": "user_impersonation other" }),
        )
        .await;
    assert_eq!(status, 204);
    let (status, got) = emu
        .get_json(&format!("/v1.0/oauth2permissiongrants/{grant_id}"), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["scope"], "user_impersonation other");

    let (status, _) = emu
        .send_json(
            Method::DELETE,
            &format!("/v1.0/oAuth2PermissionGrants/{grant_id}"),
            &token,
            json!(null),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = emu
        .get_json(&format!("/v1.0/oauth2PermissionGrants/{grant_id}"), &token)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn grants_need_existing_principals() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let resource_id = emu
        .service_principal_id(&token, demo::PARTNER_CENTER_APP_ID)
        .await;
    let body = admin_grant(
        "00000000-0000-0000-0000-000000000000",
        &resource_id,
        "user_impersonation",
    );
    let (status, error) = emu.create_grant(&token, body).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist or one of its queried reference-property objects are not present")
    );
}
