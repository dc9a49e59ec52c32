//! Graph service principals: lookups, creation of first-party and own-app principals, scopes.

mod common;

use common::{GRAPH, start, start_without_lag};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::{Value, json};

fn scope_id(sp: &Value, value: &str) -> Option<String> {
    sp["oauth2PermissionScopes"]
        .as_array()?
        .iter()
        .find(|s| s["value"] == value)?["id"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn well_known_apis_have_their_published_scopes() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (status, pc) = emu
        .get_service_principal(&token, demo::PARTNER_CENTER_APP_ID)
        .await;
    assert_eq!(status, 200, "{pc}");
    assert_eq!(
        scope_id(&pc, "user_impersonation").as_deref(),
        Some(demo::PARTNER_CENTER_USER_IMPERSONATION_ID)
    );
    let (_, list) = emu
        .get_json(
            &format!(
                "/v1.0/servicePrincipals?$filter=appId eq '{}'",
                demo::AZURE_AD_GRAPH_APP_ID
            ),
            &token,
        )
        .await;
    let aad = &list["value"][0];
    assert_eq!(
        scope_id(aad, "Directory.AccessAsUser.All").as_deref(),
        Some("a42657d6-7f20-40e3-b6f0-cee03008a62a")
    );
    assert_eq!(
        scope_id(aad, "User.Read").as_deref(),
        Some("311a71cc-e848-46a1-bdf8-97ff7156d8e6")
    );
    let (_, msgraph) = emu
        .get_service_principal(&token, demo::MICROSOFT_GRAPH_APP_ID)
        .await;
    assert_eq!(
        scope_id(&msgraph, "Directory.AccessAsUser.All").as_deref(),
        Some("0e263e50-5827-48a4-b97c-d940288653c7")
    );
    assert_eq!(
        scope_id(&msgraph, "User.Read").as_deref(),
        Some("e1fe6dd8-ba31-4d61-89e7-88639da4683d")
    );
    let by_id = msgraph["id"].as_str().unwrap();
    let (status, again) = emu
        .get_json(&format!("/v1.0/servicePrincipals/{by_id}"), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["appId"], demo::MICROSOFT_GRAPH_APP_ID);
}

#[tokio::test]
async fn dev_center_scope_id_is_only_discoverable_at_runtime() {
    let one = start().await;
    let two = start().await;
    let mut ids = Vec::new();
    for emu in [&one, &two] {
        let token = emu.app_token(GRAPH).await;
        let (_, sp) = emu.get_service_principal(&token, demo::DEV_CENTER_APP_ID).await;
        ids.push(scope_id(&sp, "user_impersonation").expect("Dev Center publishes user_impersonation"));
    }
    assert_ne!(
        ids[0], ids[1],
        "each emulator (without a fixed tenant seed) generates its own id"
    );
}

#[tokio::test]
async fn partner_center_principal_can_be_removed_and_created_again() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let (status, _) = emu
        .control(
            Method::DELETE,
            &format!("/service-principals/{}", demo::PARTNER_CENTER_APP_ID),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = emu
        .get_service_principal(&token, demo::PARTNER_CENTER_APP_ID)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("Request_ResourceNotFound"))
    );
    let (status, created) = emu
        .create_service_principal(&token, demo::PARTNER_CENTER_APP_ID)
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        scope_id(&created, "user_impersonation").as_deref(),
        Some(demo::PARTNER_CENTER_USER_IMPERSONATION_ID)
    );
    let (status, body) = emu
        .create_service_principal(&token, demo::PARTNER_CENTER_APP_ID)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("Request_MultipleObjectsWithSameKeyValue"))
    );
}

#[tokio::test]
async fn the_web_apps_own_principal_is_absent_until_created() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (_, list) = emu
        .get_json(
            &format!("/v1.0/servicePrincipals?$filter=appId eq '{}'", demo::APP_ID),
            &token,
        )
        .await;
    assert_eq!(list["value"], json!([]));
    let (status, created) = emu.create_service_principal(&token, demo::APP_ID).await;
    assert_eq!(status, 201);
    assert_eq!(created["appOwnerOrganizationId"], demo::TENANT_ID);
    let (status, body) = emu
        .create_service_principal(&token, "12345678-1234-1234-1234-123456789012")
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not reference a valid application object")
    );
}

#[tokio::test]
async fn principals_and_applications_can_be_deleted_through_graph() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let (_, created) = emu.create_service_principal(&token, demo::APP_ID).await;
    let path = format!("/v1.0/servicePrincipals/{}", created["id"].as_str().expect("id"));
    assert_eq!(
        emu.send_json(Method::PATCH, &path, &token, json!({ "tags": ["x"] }))
            .await
            .0,
        204
    );
    assert_eq!(
        emu.send_json(Method::DELETE, &path, &token, Value::Null).await.0,
        204
    );
    assert_eq!(emu.get_json(&path, &token).await.0, 404);
    let app = format!("/v1.0/applications(appId='{}')", demo::APP_ID);
    assert_eq!(
        emu.send_json(Method::DELETE, &app, &token, Value::Null).await.0,
        204
    );
    assert_eq!(emu.get_json(&app, &token).await.0, 404);
}
