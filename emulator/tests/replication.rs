//! Replication lag on every directory write: by default each write is missed by exactly two requests that
//! meet it (reads, and writes addressing the object); `replication_delay_ms` must pass too; a seed makes it
//! random but reproducible. `/_emulator/state` always shows the primary's truth with the pending lags.

mod common;

use common::{Emu, GRAPH, admin_grant, demo_app_path, start, start_with};
use partnercenter_emulator::{EmulatorConfig, demo};
use reqwest::Method;
use serde_json::{Value, json};

const NOT_PRESENT: &str = "does not exist or one of its queried reference-property objects are not present.";

async fn key_ids(emu: &Emu, token: &str) -> Vec<String> {
    let (status, app) = emu.get_json(&demo_app_path(), token).await;
    assert_eq!(status, 200, "{app}");
    app["passwordCredentials"]
        .as_array()
        .expect("well-formed response")
        .iter()
        .map(|k| k["keyId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn add_key(emu: &Emu, token: &str) -> String {
    let (status, key) = emu.add_password(token, json!({})).await;
    assert_eq!(status, 200, "{key}");
    key["keyId"].as_str().expect("keyId").to_owned()
}

async fn state(emu: &Emu) -> Value {
    emu.control(Method::GET, "/state", Value::Null).await.1
}

/// The demo app as the primary holds it.
fn demo_app(state: &Value) -> Value {
    state["applications"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["appId"] == demo::APP_ID))
        .cloned()
        .expect("the demo app")
}

#[tokio::test]
async fn by_default_a_new_key_is_missed_by_exactly_two_reads() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let key_id = add_key(&emu, &token).await;
    assert!(!key_ids(&emu, &token).await.contains(&key_id));
    assert!(!key_ids(&emu, &token).await.contains(&key_id));
    assert!(key_ids(&emu, &token).await.contains(&key_id));
    assert!(key_ids(&emu, &token).await.contains(&key_id));
}

#[tokio::test]
async fn a_removed_key_stays_listed_until_replicated_and_state_shows_the_truth() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let key_id = add_key(&emu, &token).await;
    let truth = demo_app(&state(&emu).await);
    let pending = truth["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] == key_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(pending["replication"]["change"], "created");
    assert_eq!(pending["replication"]["missesLeft"], 2);
    assert!(pending["replication"]["visibleAt"].is_string());
    for _ in 0..3 {
        key_ids(&emu, &token).await;
    }

    let (status, _) = emu.remove_password(&token, &key_id).await;
    assert_eq!(status, 204);
    let truth = demo_app(&state(&emu).await);
    assert!(
        truth["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["keyId"] != key_id.as_str()),
        "the primary no longer has it"
    );
    assert_eq!(truth["removedPasswordCredentials"][0]["keyId"], key_id.as_str());
    assert_eq!(
        truth["removedPasswordCredentials"][0]["replication"]["change"],
        "removed"
    );
    assert!(key_ids(&emu, &token).await.contains(&key_id));
    assert!(key_ids(&emu, &token).await.contains(&key_id));
    assert!(!key_ids(&emu, &token).await.contains(&key_id));
    let truth = demo_app(&state(&emu).await);
    assert!(truth.get("removedPasswordCredentials").is_none(), "{truth}");

    // A removePassword of a key that is gone on the primary fails at once.
    let (status, _) = emu.remove_password(&token, &key_id).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn keys_deleted_out_of_band_replicate_too() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (status, _) = emu
        .control(
            Method::DELETE,
            &format!(
                "/applications/{}/passwords/{}",
                demo::APP_ID,
                demo::CLIENT_SECRET_KEY_ID
            ),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let seeded = demo::CLIENT_SECRET_KEY_ID.to_owned();
    assert!(key_ids(&emu, &token).await.contains(&seeded));
    assert!(key_ids(&emu, &token).await.contains(&seeded));
    assert!(!key_ids(&emu, &token).await.contains(&seeded));
}

#[tokio::test]
async fn a_new_application_answers_404_to_reads_and_writes_until_replicated() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (status, app) = emu.create_application(&token, "fresh").await;
    assert_eq!(status, 201, "{app}");
    let id = app["id"].as_str().unwrap();
    let app_id = app["appId"].as_str().unwrap();

    let (status, body) = emu
        .get_json(&format!("/v1.0/applications(appId='{app_id}')"), &token)
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        body["error"]["message"],
        format!("Resource '{app_id}' {NOT_PRESENT}")
    );
    // A write to it fails the same way (CIPP's addPassword to a fresh app) and uses a miss too.
    let add = format!("/v1.0/applications/{id}/addPassword");
    let (status, body) = emu.send_json(Method::POST, &add, &token, json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], format!("Resource '{id}' {NOT_PRESENT}"));
    let (status, key) = emu.send_json(Method::POST, &add, &token, json!({})).await;
    assert_eq!(status, 200, "{key}");
    let (status, _) = emu.get_json(&format!("/v1.0/applications/{id}"), &token).await;
    assert_eq!(status, 200);

    // Apps made through the control API replicate the same way; a filtered list just leaves them out.
    let (_, made) = emu
        .control(Method::POST, "/applications", json!({ "display_name": "oob" }))
        .await;
    let oob = made["applications"][0]["appId"].as_str().unwrap();
    let filter = format!("/v1.0/applications?$filter=appId eq '{oob}'");
    assert_eq!(emu.get_json(&filter, &token).await.1["value"], json!([]));
    assert_eq!(emu.get_json(&filter, &token).await.1["value"], json!([]));
    assert_eq!(emu.get_json(&filter, &token).await.1["value"][0]["appId"], oob);
}

#[tokio::test]
async fn a_service_principal_for_a_lagging_application_is_refused() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (_, app) = emu.create_application(&token, "fresh").await;
    let app_id = app["appId"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = emu.create_service_principal(&token, app_id).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            )
        );
    }
    let (status, _) = emu.create_service_principal(&token, app_id).await;
    assert_eq!(status, 201);
}

/// Creates the demo app's service principal and lets it replicate; answers its object id.
async fn replicated_client_principal(emu: &Emu, token: &str) -> String {
    let (status, sp) = emu.create_service_principal(token, demo::APP_ID).await;
    assert_eq!(status, 201);
    let path = format!("/v1.0/servicePrincipals/{}", sp["id"].as_str().expect("id"));
    assert_eq!(emu.get_json(&path, token).await.0, 404);
    assert_eq!(emu.get_json(&path, token).await.0, 404);
    assert_eq!(emu.get_json(&path, token).await.0, 200);
    sp["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn grants_lag_when_created_updated_and_deleted() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (client_id, resource_id) = emu.grant_ends(&token, demo::PARTNER_CENTER_APP_ID).await;
    let grant = admin_grant(&client_id, &resource_id, "user_impersonation");
    // The client principal is two requests behind: the grant naming it is refused twice.
    for _ in 0..2 {
        let (status, body) = emu.create_grant(&token, grant.clone()).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            format!("Resource '{client_id}' {NOT_PRESENT}")
        );
    }
    let (status, created) = emu.create_grant(&token, grant).await;
    assert_eq!(status, 201);
    let grant_path = format!("/v1.0/oauth2PermissionGrants/{}", created["id"].as_str().unwrap());
    let list = format!("/v1.0/oauth2PermissionGrants?$filter=clientId eq '{client_id}'");

    // New: missed twice (a PATCH addressing it counts as one), then seen.
    assert_eq!(emu.get_json(&grant_path, &token).await.0, 404);
    let (status, _) = emu
        .send_json(
            Method::PATCH,
            &grant_path,
            &token,
            json!({ "scope": "user_impersonation x" }),
        )
        .await;
    assert_eq!(status, 404, "a write to a lagging grant fails like a read");
    assert_eq!(
        emu.get_json(&list, &token).await.1["value"][0]["scope"],
        "user_impersonation"
    );

    // Updated: the old scope twice, then the new one.
    let (status, _) = emu
        .send_json(
            Method::PATCH,
            &grant_path,
            &token,
            json!({ "scope": "user_impersonation more" }),
        )
        .await;
    assert_eq!(status, 204);
    let truth = state(&emu).await;
    let pending = &truth["oauth2PermissionGrants"][0];
    assert_eq!(pending["scope"], "user_impersonation more");
    assert_eq!(pending["replication"]["change"], "updated");
    assert_eq!(pending["replication"]["readersSee"], "user_impersonation");
    assert_eq!(
        emu.get_json(&grant_path, &token).await.1["scope"],
        "user_impersonation"
    );
    assert_eq!(
        emu.get_json(&list, &token).await.1["value"][0]["scope"],
        "user_impersonation"
    );
    assert_eq!(
        emu.get_json(&grant_path, &token).await.1["scope"],
        "user_impersonation more"
    );

    // Deleted: still there twice, then gone.
    let (status, _) = emu
        .send_json(Method::DELETE, &grant_path, &token, Value::Null)
        .await;
    assert_eq!(status, 204);
    assert_eq!(emu.get_json(&grant_path, &token).await.0, 200);
    assert_eq!(
        emu.get_json(&list, &token).await.1["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(emu.get_json(&grant_path, &token).await.0, 404);
    assert_eq!(emu.get_json(&list, &token).await.1["value"], json!([]));
}

#[tokio::test]
async fn a_deleted_service_principal_and_its_grants_stay_visible_until_replicated() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let client_id = replicated_client_principal(&emu, &token).await;
    let (status, _) = emu
        .control(
            Method::POST,
            "/grants",
            json!({ "clientAppId": demo::APP_ID, "resourceAppId": demo::PARTNER_CENTER_APP_ID, "scope": "user_impersonation" }),
        )
        .await;
    assert_eq!(status, 201);
    let list = format!("/v1.0/servicePrincipals/{client_id}/oauth2PermissionGrants");
    // The out-of-band grant is missed twice too (the principal itself is replicated).
    assert_eq!(emu.get_json(&list, &token).await.1["value"], json!([]));
    assert_eq!(emu.get_json(&list, &token).await.1["value"], json!([]));
    assert_eq!(
        emu.get_json(&list, &token).await.1["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let sp_path = format!("/v1.0/servicePrincipals(appId='{}')", demo::APP_ID);
    let (status, _) = emu.send_json(Method::DELETE, &sp_path, &token, Value::Null).await;
    assert_eq!(status, 204);
    let truth = state(&emu).await;
    assert_eq!(truth["removedServicePrincipals"][0]["id"], client_id.as_str());
    assert_eq!(
        truth["removedOauth2PermissionGrants"].as_array().unwrap().len(),
        1
    );
    assert_eq!(truth["oauth2PermissionGrants"], json!([]));
    // Each request below meets the principal once; the grants list meets the grant too.
    assert_eq!(
        emu.get_json(&list, &token).await.1["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(emu.get_json(&sp_path, &token).await.0, 200);
    assert_eq!(emu.get_json(&sp_path, &token).await.0, 404);
    assert_eq!(emu.get_json(&list, &token).await.0, 404);
    let truth = state(&emu).await;
    assert_eq!(truth["removedServicePrincipals"], json!([]));
}

#[tokio::test]
async fn patched_required_resource_access_and_display_name_show_the_old_values_until_replicated() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let wanted = json!([{ "resourceAppId": demo::PARTNER_CENTER_APP_ID,
        "resourceAccess": [{ "id": demo::PARTNER_CENTER_USER_IMPERSONATION_ID, "type": "Scope" }] }]);
    let (status, _) = emu
        .send_json(
            Method::PATCH,
            &demo_app_path(),
            &token,
            json!({ "requiredResourceAccess": wanted, "displayName": "renamed" }),
        )
        .await;
    assert_eq!(status, 204);
    let truth = demo_app(&state(&emu).await);
    assert_eq!(truth["requiredResourceAccess"], wanted);
    assert_eq!(truth["replication"]["change"], "updated");
    assert_eq!(
        truth["replication"]["readersSee"]["requiredResourceAccess"],
        json!([])
    );
    for _ in 0..2 {
        let (_, app) = emu.get_json(&demo_app_path(), &token).await;
        assert_eq!(app["requiredResourceAccess"], json!([]));
        assert_eq!(app["displayName"], demo::APP_DISPLAY_NAME);
    }
    let (_, app) = emu.get_json(&demo_app_path(), &token).await;
    assert_eq!(app["requiredResourceAccess"], wanted);
    assert_eq!(app["displayName"], "renamed");

    // An entry written out of band lags the same way.
    let entry = json!({ "resourceAppId": demo::MICROSOFT_GRAPH_APP_ID,
        "resourceAccess": [{ "id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope" }] });
    let (status, _) = emu
        .control(
            Method::POST,
            &format!("/applications/{}/required-resource-access", demo::APP_ID),
            entry,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        emu.get_json(&demo_app_path(), &token).await.1["requiredResourceAccess"],
        wanted
    );
    assert_eq!(
        emu.get_json(&demo_app_path(), &token).await.1["requiredResourceAccess"],
        wanted
    );
    assert_eq!(
        emu.get_json(&demo_app_path(), &token).await.1["requiredResourceAccess"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_time_delay_must_pass_too() {
    let emu = start().await;
    emu.settings(json!({ "replication_delay_reads": 0, "replication_delay_ms": 5000 }))
        .await;
    let token = emu.app_token(GRAPH).await;
    let (status, _) = emu.create_service_principal(&token, demo::APP_ID).await;
    assert_eq!(status, 201);
    let path = format!("/v1.0/servicePrincipals(appId='{}')", demo::APP_ID);
    for _ in 0..5 {
        assert_eq!(emu.get_json(&path, &token).await.0, 404);
    }
    emu.advance_clock(6).await;
    assert_eq!(emu.get_json(&path, &token).await.0, 200);
}

#[tokio::test]
async fn no_lag_when_set_to_zero() {
    let emu = start().await;
    emu.settings(json!({ "replication_delay_reads": 0 })).await;
    let token = emu.app_token(GRAPH).await;
    let key_id = add_key(&emu, &token).await;
    assert!(key_ids(&emu, &token).await.contains(&key_id));
}

/// For 30 new keys, whether each of 6 reads after it lists it.
async fn random_pattern(emu: &Emu) -> Vec<bool> {
    let token = emu.app_token(GRAPH).await;
    let mut seen = Vec::new();
    for _ in 0..30 {
        let key_id = add_key(emu, &token).await;
        for _ in 0..6 {
            seen.push(key_ids(emu, &token).await.contains(&key_id));
        }
    }
    seen
}

#[tokio::test]
async fn random_mode_flaps_and_a_seed_reproduces_the_run() {
    let first =
        random_pattern(&start_with(EmulatorConfig::default().with_random_replication(42)).await).await;
    let again =
        random_pattern(&start_with(EmulatorConfig::default().with_random_replication(42)).await).await;
    assert_eq!(first, again, "the same seed replays the same lags");

    // Setting the seed at runtime restarts the same sequence.
    let emu = start().await;
    emu.settings(json!({ "replication_random_seed": 42 })).await;
    assert_eq!(random_pattern(&emu).await, first);

    let flapped = first
        .chunks(6)
        .any(|reads| reads.windows(2).any(|pair| pair[0] && !pair[1]));
    assert!(
        flapped,
        "a read that saw the key can be followed by one that does not"
    );
    assert!(
        first.chunks(6).all(|reads| reads[4] && reads[5]),
        "at most 2 × 2 misses, then always seen"
    );
    assert!(first.chunks(6).any(|reads| !reads[0]), "some keys are missed");

    // null switches back to deterministic mode.
    emu.settings(json!({ "replication_random_seed": null })).await;
    let (_, settings) = emu.control(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["replication_random_seed"], Value::Null);
    assert_eq!(settings["replication_delay_reads"], 2);
}

#[tokio::test]
async fn a_deleted_application_stays_readable_until_replicated_but_takes_no_writes() {
    let emu = start().await;
    let token = emu.app_token(GRAPH).await;
    let (status, _) = emu
        .send_json(Method::DELETE, &demo_app_path(), &token, Value::Null)
        .await;
    assert_eq!(status, 204);
    let truth = state(&emu).await;
    assert_eq!(truth["removedApplications"][0]["appId"], demo::APP_ID);
    assert_eq!(
        truth["removedApplications"][0]["replication"]["change"],
        "removed"
    );
    // A write goes to the primary, where the application is gone (and it meets no lagging replica).
    let (status, _) = emu.add_password(&token, json!({})).await;
    assert_eq!(status, 404);
    let by_app_id = format!("/v1.0/applications(appId='{}')", demo::APP_ID);
    assert_eq!(emu.get_json(&by_app_id, &token).await.0, 200);
    assert_eq!(emu.get_json(&demo_app_path(), &token).await.0, 200);
    assert_eq!(emu.get_json(&demo_app_path(), &token).await.0, 404);
}
