//! Tenant app management policies (reference C.5): Graph serves them, addPassword obeys the effective one
//! (the app's assigned enabled policy, else the enabled tenant default), reset clears them.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Emu, GRAPH, start};
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::{Value, json};

const DEFAULT_ID: &str = "00000000-0000-0000-0000-000000000000";

async fn add_password(emu: &Emu, token: &str, credential: Value) -> (u16, Value) {
    emu.send_json(
        Method::POST,
        &format!("/v1.0/applications(appId='{}')/addPassword", demo::APP_ID),
        token,
        json!({ "passwordCredential": credential }),
    )
    .await
}

async fn set_default(emu: &Emu, policy: Value) {
    let (status, body) = emu.control(Method::PUT, "/policies/default", policy).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_default_policy_starts_disabled_and_empty() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (status, policy) = emu
        .get_json("/v1.0/policies/defaultAppManagementPolicy", &token)
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["id"], DEFAULT_ID);
    assert_eq!(policy["isEnabled"], false);
    assert_eq!(
        policy["applicationRestrictions"],
        json!({ "passwordCredentials": [], "keyCredentials": [] })
    );
    assert!(
        policy["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#policies/defaultAppManagementPolicy/$entity")
    );
    let (status, list) = emu.get_json("/v1.0/policies/appManagementPolicies", &token).await;
    assert_eq!((status, list["value"].clone()), (200, json!([])));
    let (status, body) = emu
        .get_json("/v1.0/policies/appManagementPolicies/nope/appliesTo", &token)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("Request_ResourceNotFound"))
    );
}

#[tokio::test]
async fn an_enabled_password_addition_restriction_blocks_add_password() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    set_default(
        &emu,
        json!({ "isEnabled": true, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordAddition", "state": "enabled", "restrictForAppsCreatedAfterDateTime": null }
        ] } }),
    )
    .await;
    let (status, body) = add_password(&emu, &token, json!({ "displayName": "blocked" })).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "CredentialTypeNotAllowedAsPerAppPolicy");
    assert_eq!(
        body["error"]["message"],
        format!("Credential type not allowed as per assigned policy '{DEFAULT_ID}'.")
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());

    // The same restriction on a disabled default, or disabled itself, is not evaluated.
    set_default(
        &emu,
        json!({ "isEnabled": false, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordAddition" }
        ] } }),
    )
    .await;
    assert_eq!(add_password(&emu, &token, json!({})).await.0, 200);
    set_default(
        &emu,
        json!({ "isEnabled": true, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordAddition", "state": "disabled" }
        ] } }),
    )
    .await;
    assert_eq!(add_password(&emu, &token, json!({})).await.0, 200);
    // Nor one that only binds apps created after the demo app.
    let tomorrow = (Utc::now() + TimeDelta::days(1)).to_rfc3339();
    set_default(
        &emu,
        json!({ "isEnabled": true, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": tomorrow }
        ] } }),
    )
    .await;
    assert_eq!(add_password(&emu, &token, json!({})).await.0, 200);
}

#[tokio::test]
async fn a_lifetime_cap_refuses_the_implicit_two_years() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    set_default(
        &emu,
        json!({ "isEnabled": true, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": "P90D" }
        ] } }),
    )
    .await;
    let (status, body) = add_password(&emu, &token, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "CredentialInvalidLifetimeAsPerAppPolicy");
    assert_eq!(
        body["error"]["message"],
        format!("Credential lifetime exceeds the max value allowed as per assigned policy '{DEFAULT_ID}'.")
    );
    let detail = &body["error"]["details"][0];
    assert_eq!(detail["code"], "InvalidKeyEndDate");
    assert_eq!(detail["target"], "EndDate");
    assert!(detail["message"].as_str().unwrap().contains("P90D"));

    let start: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let at_cap = json!({ "startDateTime": "2026-03-01T00:00:00Z",
        "endDateTime": (start + TimeDelta::days(90)).to_rfc3339() });
    assert_eq!(add_password(&emu, &token, at_cap).await.0, 200);
    let beyond = json!({ "startDateTime": "2026-03-01T00:00:00Z",
        "endDateTime": (start + TimeDelta::days(90) + TimeDelta::seconds(1)).to_rfc3339() });
    assert_eq!(add_password(&emu, &token, beyond).await.0, 400);
}

#[tokio::test]
async fn an_assigned_policy_overrides_the_default_and_is_listed() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    set_default(
        &emu,
        json!({ "isEnabled": true, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordAddition", "state": "enabled" },
            { "restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": "P30D" }
        ] } }),
    )
    .await;
    // CIPP's exemption: the same restrictions, switched off, for its own app.
    let (status, created) = emu
        .control(
            Method::POST,
            "/policies",
            json!({ "displayName": "CIPP Exemption Policy", "isEnabled": true,
                "restrictions": { "passwordCredentials": [
                    { "restrictionType": "passwordAddition", "state": "disabled",
                      "restrictForAppsCreatedAfterDateTime": "0001-01-01T00:00:00Z" }
                ] },
                "appliesTo": [demo::APP_ID] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(add_password(&emu, &token, json!({})).await.0, 200);

    let (_, list) = emu.get_json("/v1.0/policies/appManagementPolicies", &token).await;
    let listed = &list["value"][0];
    assert_eq!(listed["id"], id);
    assert_eq!(listed["displayName"], "CIPP Exemption Policy");
    assert_eq!(listed["isEnabled"], true);
    assert_eq!(
        listed["restrictions"]["passwordCredentials"][0]["state"],
        "disabled"
    );
    let (status, one) = emu
        .get_json(&format!("/v1.0/policies/appManagementPolicies/{id}"), &token)
        .await;
    assert_eq!((status, one["id"].as_str()), (200, Some(id)));
    let (_, applies) = emu
        .get_json(
            &format!("/v1.0/policies/appManagementPolicies/{id}/appliesTo"),
            &token,
        )
        .await;
    assert_eq!(applies["value"][0]["appId"], demo::APP_ID);
    assert_eq!(applies["value"][0]["@odata.type"], "#microsoft.graph.application");

    // POST sets the default too (for clients without PUT).
    let (status, _) = emu
        .control(Method::POST, "/policies/default", json!({ "isEnabled": false }))
        .await;
    assert_eq!(status, 200);

    // An app takes one policy; reset clears them all.
    let (status, _) = emu
        .control(
            Method::POST,
            "/policies",
            json!({ "displayName": "second", "appliesTo": [demo::APP_ID] }),
        )
        .await;
    assert_eq!(status, 409);
    emu.control(Method::POST, "/reset", Value::Null).await;
    let (_, list) = emu.get_json("/v1.0/policies/appManagementPolicies", &token).await;
    assert_eq!(list["value"], json!([]));
    let (_, default) = emu
        .get_json("/v1.0/policies/defaultAppManagementPolicy", &token)
        .await;
    assert_eq!(default["isEnabled"], false);
}

#[tokio::test]
async fn policy_definitions_are_checked() {
    let emu = start().await;
    let bad = [
        json!({ "isEnabled": true, "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordAddition" }, { "restrictionType": "passwordAddition" }] } }),
        json!({ "applicationRestrictions": { "passwordCredentials": [{ "restrictionType": "passwordLifetime" }] } }),
        json!({ "applicationRestrictions": { "passwordCredentials": [
            { "restrictionType": "passwordLifetime", "maxLifetime": "90 days" }] } }),
        json!({ "applicationRestrictions": { "passwordCredentials": [{ "restrictionType": "noSuchType" }] } }),
        json!({ "isEnable": true }),
    ];
    for policy in bad {
        let (status, _) = emu
            .control(Method::PUT, "/policies/default", policy.clone())
            .await;
        assert_eq!(status, 400, "{policy}");
    }
    let (status, _) = emu
        .control(
            Method::POST,
            "/policies",
            json!({ "displayName": "x", "appliesTo": ["00000000-0000-0000-0000-00000000beef"] }),
        )
        .await;
    assert_eq!(status, 400, "unknown application");
}
