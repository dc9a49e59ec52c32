//! The control API: reset, state dump, request log, out-of-band changes, settings, helper tokens.

mod common;

use common::{
    GRAPH, GRAPH_DEFAULT, PARTNER_CENTER, TokenForm, admin_grant, demo_app_path, start, start_without_lag,
};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn state_dump_has_everything_but_secrets() {
    let emu = start().await;
    let (status, state) = emu.control(Method::GET, "/state", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(state["tenants"][0]["tenantId"], demo::TENANT_ID);
    assert_eq!(state["tenants"][0]["mpnId"], demo::MPN_ID);
    assert_eq!(state["applications"][0]["appId"], demo::APP_ID);
    assert_eq!(state["customers"].as_array().unwrap().len(), 25);
    assert_eq!(state["resellers"].as_array().unwrap().len(), 3);
    assert!(state["servicePrincipals"].as_array().unwrap().len() >= 4);
    assert!(
        !state.to_string().contains(demo::CLIENT_SECRET),
        "no secrets in the dump"
    );
}

#[tokio::test]
async fn request_log_records_api_calls_but_not_control_calls() {
    let emu = start().await;
    let token = emu.app_token(PARTNER_CENTER).await;
    emu.get("/v1/customers?size=2", &token).await;
    emu.get("/v1/customers/nope", &token).await;
    let log = emu.requests().await;
    let shown: Vec<(String, String, Option<String>, u64)> = log
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().into(),
                r["path"].as_str().unwrap().into(),
                r["query"].as_str().map(Into::into),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown[0].0, "POST");
    assert_eq!(
        shown[1],
        ("GET".into(), "/v1/customers".into(), Some("size=2".into()), 200)
    );
    assert_eq!(shown[2], ("GET".into(), "/v1/customers/nope".into(), None, 404));
    assert!(shown.iter().all(|r| !r.1.starts_with("/_emulator")));
    let (status, _) = emu.control(Method::DELETE, "/requests", Value::Null).await;
    assert_eq!(status, 204);
    assert!(emu.requests().await.is_empty());
}

#[tokio::test]
async fn out_of_band_changes_show_up_in_graph_and_login() {
    let emu = start_without_lag().await;
    let token = emu.app_token(GRAPH).await;
    let app = demo_app_path();
    let (status, _) = emu
        .control(
            Method::POST,
            &format!("/applications/{}/required-resource-access", demo::APP_ID),
            json!({
                "resourceAppId": demo::MICROSOFT_GRAPH_APP_ID,
                "resourceAccess": [{ "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope" }]
            }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        emu.get_json(&app, &token).await.1["requiredResourceAccess"][0]["resourceAppId"],
        demo::MICROSOFT_GRAPH_APP_ID
    );

    let (_, key) = emu
        .send_json(Method::POST, &format!("{app}/addPassword"), &token, json!({}))
        .await;
    let key_id = key["keyId"].as_str().unwrap();
    let (status, _) = emu
        .control(
            Method::DELETE,
            &format!("/applications/{}/passwords/{key_id}", demo::APP_ID),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let listed = emu.get_json(&app, &token).await.1;
    assert!(
        listed["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["keyId"] != key_id)
    );

    // Grants: revoke one scope, then the whole grant.
    let (client_id, resource) = emu.grant_ends(&token, demo::MICROSOFT_GRAPH_APP_ID).await;
    let (_, grant) = emu
        .create_grant(
            &token,
            admin_grant(&client_id, &resource, "User.Read Directory.AccessAsUser.All"),
        )
        .await;
    let grant_id = grant["id"].as_str().unwrap();
    let (status, changed) = emu
        .control(
            Method::POST,
            &format!("/grants/{grant_id}/remove-scope"),
            json!({ "scope": "User.Read" }),
        )
        .await;
    assert_eq!(
        (status, changed["scope"].as_str()),
        (200, Some("Directory.AccessAsUser.All"))
    );
    assert_eq!(
        emu.get_json(&format!("/v1.0/oauth2PermissionGrants/{grant_id}"), &token)
            .await
            .1["scope"],
        "Directory.AccessAsUser.All"
    );
    let (status, _) = emu
        .control(Method::DELETE, &format!("/grants/{grant_id}"), Value::Null)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        emu.get_json(&format!("/v1.0/oauth2PermissionGrants/{grant_id}"), &token)
            .await
            .0,
        404
    );

    // Deleting the app: Graph 404, and the app can no longer sign in.
    let (status, _) = emu
        .control(
            Method::DELETE,
            &format!("/applications/{}", demo::APP_ID),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(emu.get_json(&app, &token).await.0, 404);
    let (status, body) = emu
        .token("v2", &TokenForm::client_credentials(GRAPH_DEFAULT))
        .await;
    assert_eq!((status, common::aadsts(&body)), (400, 700016));

    let (status, _) = emu.control(Method::POST, "/reset", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        emu.get_json(&app, &token).await.0,
        200,
        "reset restores the seed; old tokens still verify"
    );
}

#[tokio::test]
async fn unknown_objects_and_settings_are_reported() {
    let emu = start().await;
    let (status, _) = emu.control(Method::DELETE, "/grants/nope", Value::Null).await;
    assert_eq!(status, 404);
    let (status, _) = emu
        .control(Method::POST, "/settings", json!({ "no_such_setting": 1 }))
        .await;
    assert_eq!(status, 400);
    let (status, body) = emu
        .control(Method::POST, "/settings", json!({ "replication_delay_reads": 3 }))
        .await;
    assert_eq!((status, body["replication_delay_reads"].as_u64()), (200, Some(3)));
}

#[tokio::test]
async fn helper_access_tokens_work_on_the_apis() {
    let emu = start().await;
    let (status, minted) = emu
        .control(
            Method::POST,
            "/access-token",
            json!({ "audience": PARTNER_CENTER }),
        )
        .await;
    assert_eq!(status, 200);
    let token = minted["access_token"].as_str().unwrap();
    assert_eq!(emu.get_json("/v1/profiles/mpn", token).await.0, 200);
    let (_, app_only) = emu
        .control(
            Method::POST,
            "/access-token",
            json!({ "audience": PARTNER_CENTER, "app_only": true }),
        )
        .await;
    assert_eq!(
        emu.get_json("/v1/profiles/mpn", app_only["access_token"].as_str().unwrap())
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn extra_applications_are_served_by_graph_take_keys_and_go_on_reset() {
    let emu = start_without_lag().await;
    let (status, body) = emu
        .control(
            Method::POST,
            "/applications",
            json!({"count": 3, "display_name": "bench"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let apps = body["applications"].as_array().unwrap().clone();
    assert_eq!(apps.len(), 3);
    assert_eq!(apps[2]["displayName"], "bench 3");
    let token = emu.app_token(GRAPH).await;
    let app_id = apps[1]["appId"].as_str().unwrap();
    let (status, app) = emu
        .get_json(&format!("/v1.0/applications(appId='{app_id}')"), &token)
        .await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["displayName"], "bench 2");
    assert_eq!(app["passwordCredentials"], json!([]));
    let (status, key) = emu
        .send_json(
            Method::POST,
            &format!(
                "/v1.0/applications/{}/addPassword",
                apps[1]["id"].as_str().unwrap()
            ),
            &token,
            json!({"passwordCredential": {"displayName": "k"}}),
        )
        .await;
    assert_eq!(status, 200, "{key}");

    let (status, _) = emu
        .control(Method::POST, "/applications", json!({"count": 0}))
        .await;
    assert_eq!(status, 400, "count 0 is refused");
    let (status, _) = emu
        .control(Method::POST, "/applications", json!({"nope": 1}))
        .await;
    assert_eq!(status, 400, "unknown fields are refused");

    emu.control(Method::POST, "/reset", Value::Null).await;
    let (_, state) = emu.control(Method::GET, "/state", Value::Null).await;
    assert_eq!(
        state["applications"].as_array().unwrap().len(),
        1,
        "reset keeps the seed only"
    );
}

#[tokio::test]
async fn settings_default_to_microsofts_behaviour_and_reset_restores_them() {
    let emu = start().await;
    let defaults = json!({
        "replication_delay_reads": 2,
        "replication_delay_ms": 0,
        "replication_random_seed": null,
        "customer_rate_limit_per_minute": 500,
        "full_last_page_has_continuation_token": true,
        "rotate_refresh_tokens_revokes_old": false,
        "organization_profile_bom": true,
        "access_token_lifetime_seconds": 3599,
        "refresh_token_max_inactive_seconds": 7776000,
        "mfa_enforced": true,
        "sign_ins_use_mfa": true,
        "ca_requires_mfa": false,
    });
    let (_, settings) = emu.control(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings, defaults);
    let (status, changed) = emu
        .control(
            Method::POST,
            "/settings",
            json!({ "replication_random_seed": 7, "mfa_enforced": false }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(changed["replication_random_seed"], 7);
    let (status, _) = emu
        .control(Method::POST, "/settings", json!({ "replication_seed": 7 }))
        .await;
    assert_eq!(status, 400, "unknown settings are refused");
    emu.control(Method::POST, "/reset", Value::Null).await;
    let (_, settings) = emu.control(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings, defaults);
}
