//! Graph operations against a scripted server: shapes sent, answers read, not-found kinds.

mod common;

use common::*;
use partnercenter_microsoft::{
    ConsentType, NewGrant, NewPassword, RequiredResourceAccess, ResourceAccess, ResourceAccessKind,
};

#[tokio::test]
async fn passwords_added_and_removed() {
    let f = Fixture::with_tokens().await;
    f.on("POST", "/v1.0/applications/obj-1/addPassword", vec![Canned::json(200, serde_json::json!({
        "customKeyIdentifier":null,"displayName":"terraform","endDateTime":"2028-11-22T06:00:00Z","hint":"Q~x",
        "keyId":"k-1","secretText":"Q~x-very-secret","startDateTime":"2026-11-22T06:00:00Z"}))]);
    f.on(
        "POST",
        "/v1.0/applications/obj-1/removePassword",
        vec![
            Canned::raw(204, ""),
            Canned::json(
                404,
                serde_json::json!({"error":{"code":"Request_ResourceNotFound","message":"gone"}}),
            ),
        ],
    );
    let g = f.client(secret_only()).graph();
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
        .expect("date")
        .to_utc();
    let created = g
        .add_password(
            &ctx(),
            "obj-1",
            NewPassword {
                display_name: Some("terraform".into()),
                start: Some(start),
                end: start.checked_add_months(chrono::Months::new(24)),
            },
        )
        .await
        .expect("ok");
    assert_eq!(created.credential.key_id, "k-1");
    assert_eq!(created.secret_text.expose(), "Q~x-very-secret");
    let sent: serde_json::Value =
        serde_json::from_str(&f.requests_to("/v1.0/applications/obj-1/addPassword")[0].body).expect("json");
    assert_eq!(
        sent,
        serde_json::json!({"passwordCredential":{"displayName":"terraform","startDateTime":"2026-11-22T06:00:00Z","endDateTime":"2028-11-22T06:00:00Z"}})
    );
    g.remove_password(&ctx(), "obj-1", "k-1").await.expect("removed");
    let err = g
        .remove_password(&ctx(), "obj-1", "k-1")
        .await
        .expect_err("second time");
    assert!(err.is_not_found(), "{err:?}");
    let body: serde_json::Value =
        serde_json::from_str(&f.requests_to("/v1.0/applications/obj-1/removePassword")[0].body)
            .expect("json");
    assert_eq!(body, serde_json::json!({"keyId":"k-1"}));
}

#[tokio::test]
async fn required_resource_access_is_patched_whole() {
    let f = Fixture::with_tokens().await;
    f.on("PATCH", "/v1.0/applications/obj-1", vec![Canned::raw(204, "")]);
    let rra = vec![RequiredResourceAccess {
        resource_app_id: "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd".into(),
        resource_access: vec![ResourceAccess {
            id: "1cebfa2a-fb4d-419e-b5f9-839b4383e05a".into(),
            kind: ResourceAccessKind::Scope,
        }],
    }];
    f.client(secret_only())
        .graph()
        .set_required_resource_access(&ctx(), "obj-1", &rra)
        .await
        .expect("ok");
    let body: serde_json::Value =
        serde_json::from_str(&f.requests_to("/v1.0/applications/obj-1")[0].body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"requiredResourceAccess":[{"resourceAppId":"fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd","resourceAccess":[{"id":"1cebfa2a-fb4d-419e-b5f9-839b4383e05a","type":"Scope"}]}]})
    );
}

#[tokio::test]
async fn service_principals_found_missing_and_created() {
    let f = Fixture::with_tokens().await;
    let pc_sp = "/v1.0/servicePrincipals(appId='fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd')";
    f.on(
        "GET",
        pc_sp,
        vec![Canned::json(
            404,
            serde_json::json!({"error":{"code":"Request_ResourceNotFound","message":"no"}}),
        )],
    );
    f.on(
        "POST",
        "/v1.0/servicePrincipals",
        vec![Canned::raw(
            201,
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/graph_service_principal.json"
            ))
            .expect("fixture"),
        )],
    );
    let g = f.client(secret_only()).graph();
    assert!(
        g.service_principal_by_app_id(&ctx(), "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd")
            .await
            .expect("ok")
            .is_none()
    );
    let sp = g
        .create_service_principal(&ctx(), "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd")
        .await
        .expect("created");
    assert_eq!(
        sp.oauth2_permission_scopes[0].id,
        "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"
    );
    assert_eq!(
        f.requests_to("/v1.0/servicePrincipals")[0].body,
        r#"{"appId":"fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"}"#
    );
}

#[tokio::test]
async fn grants_listed_across_pages_created_updated_deleted() {
    let f = Fixture::with_tokens().await;
    let next = format!("{}v1.0/oauth2PermissionGrants?$skiptoken=p2", f.base);
    f.on("GET", "/v1.0/oauth2PermissionGrants", vec![
        Canned::json(200, serde_json::json!({"value":[{"id":"g1","clientId":"sp","consentType":"AllPrincipals","principalId":null,"resourceId":"r1","scope":"User.Read"}],"@odata.nextLink":next})),
        Canned::json(200, serde_json::json!({"value":[{"id":"g2","clientId":"sp","consentType":"Principal","principalId":"u","resourceId":"r2","scope":"a b"}]})),
    ]);
    f.on("POST", "/v1.0/oauth2PermissionGrants", vec![Canned::json(201, serde_json::json!({"id":"g3","clientId":"sp","consentType":"AllPrincipals","principalId":null,"resourceId":"r3","scope":"user_impersonation"}))]);
    f.on(
        "PATCH",
        "/v1.0/oauth2PermissionGrants/g3",
        vec![Canned::raw(204, "")],
    );
    f.on(
        "DELETE",
        "/v1.0/oauth2PermissionGrants/g3",
        vec![
            Canned::raw(204, ""),
            Canned::json(
                404,
                serde_json::json!({"error":{"code":"Request_ResourceNotFound","message":"no"}}),
            ),
        ],
    );
    let g = f.client(secret_only()).graph();
    let grants = g.delegated_grants(&ctx(), "sp").await.expect("ok");
    assert_eq!(
        grants.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["g1", "g2"]
    );
    assert_eq!(grants[1].consent_type, ConsentType::Principal);
    let first = &f.requests_to("/v1.0/oauth2PermissionGrants")[0];
    assert_eq!(first.query.as_deref(), Some("%24filter=clientId+eq+%27sp%27"));
    let created = g
        .create_delegated_grant(
            &ctx(),
            NewGrant {
                client_id: "sp".into(),
                resource_id: "r3".into(),
                scope: "user_impersonation".into(),
                consent_type: ConsentType::AllPrincipals,
                principal_id: None,
            },
        )
        .await
        .expect("ok");
    assert_eq!(created.id, "g3");
    g.update_grant_scope(&ctx(), "g3", "user_impersonation other")
        .await
        .expect("ok");
    assert_eq!(
        f.requests_to("/v1.0/oauth2PermissionGrants/g3")[0].body,
        r#"{"scope":"user_impersonation other"}"#
    );
    g.delete_grant(&ctx(), "g3").await.expect("ok");
    assert!(
        g.delete_grant(&ctx(), "g3")
            .await
            .expect_err("gone")
            .is_not_found()
    );
}
