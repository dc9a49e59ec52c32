//! The client against the project's emulator: demo seed, auth rules, paging, faults, clock, login.

mod common;

use common::emulator::{Emu, demo_app_only, demo_credentials};
use futures::TryStreamExt;
use partnercenter_emulator::{FaultSpec, demo};
use partnercenter_microsoft::login::AuthCodeOptions;
use partnercenter_microsoft::{
    CallContext, Credentials, CustomerQuery, Error, FederatedToken, NewPassword, Secret,
};
use serde_json::json;
use std::time::Duration;

/// The MPN id read with the refresh token a sign-in gave.
async fn mpn_id_signed_in_with(emu: &Emu, refresh_token: Secret) -> String {
    let signed_in = emu.client(Credentials {
        refresh_token: Some(refresh_token),
        ..demo_credentials()
    });
    let profile = signed_in.partner_center().mpn_profile(&ctx(), None).await;
    profile.expect("mpn").mpn_id
}

fn ctx() -> CallContext {
    CallContext::default().with_timeout(Duration::from_secs(30))
}

#[tokio::test]
async fn demo_profiles_application_and_resellers() {
    let emu = Emu::start().await;
    let client = emu.client(demo_credentials());
    let pc = client.partner_center();
    assert_eq!(
        pc.mpn_profile(&ctx(), None).await.expect("mpn").mpn_id,
        demo::MPN_ID
    );
    let err = pc
        .mpn_profile(&ctx(), Some("9999999"))
        .await
        .expect_err("unknown MPN id");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.api().and_then(|e| e.code.as_deref()), Some("3000"));

    let app = client
        .graph()
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(app.id, demo::APP_OBJECT_ID);
    assert!(
        app.password_credentials
            .iter()
            .any(|k| k.key_id == demo::CLIENT_SECRET_KEY_ID)
    );
    assert!(
        client
            .graph()
            .application_by_app_id(&ctx(), "11111111-1111-4111-8111-111111111111")
            .await
            .expect("read")
            .is_none()
    );

    let resellers = pc.indirect_resellers(&ctx()).await.expect("resellers");
    assert!(!resellers.is_empty());
    let theirs: Vec<_> = pc
        .customers(
            &ctx(),
            CustomerQuery {
                indirect_reseller_id: Some(resellers[0].id.clone()),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .expect("reseller customers");
    assert!(
        theirs.iter().all(|c| c
            .associated_partner_id
            .as_deref()
            .is_none_or(|p| p == resellers[0].id)),
        "{theirs:?}"
    );
    assert!(client.server_time().is_some());
}

#[tokio::test]
async fn all_customers_across_small_pages() {
    let emu = Emu::start().await;
    let state = emu.control(reqwest::Method::GET, "/state", None).await;
    let seeded = state["customers"].as_array().map(Vec::len).unwrap_or(0);
    assert!(seeded > 3, "seed has customers: {seeded}");
    let client = emu.client(demo_credentials());
    let all: Vec<_> = client
        .partner_center()
        .customers(
            &ctx(),
            CustomerQuery {
                page_size: Some(3),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .expect("customers");
    assert_eq!(all.len(), seeded, "every seeded customer, across pages of 3");
    let mut ids: Vec<_> = all.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no customer twice");
    let log = emu.control(reqwest::Method::GET, "/requests", None).await;
    let pages = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["path"] == "/v1/customers")
        .count();
    assert!(pages >= all.len().div_ceil(3), "{pages} pages for {}", all.len());
}

#[tokio::test]
async fn auth_errors_are_clear() {
    let emu = Emu::start().await;
    let wrong = emu.client(Credentials {
        client_secret: Some(Secret::new("wrong")),
        refresh_token: None,
        ..demo_credentials()
    });
    let err = wrong
        .graph()
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect_err("wrong secret");
    assert_eq!(
        err.api().and_then(|e| e.aadsts.as_deref()),
        Some("AADSTS7000215"),
        "{err}"
    );

    let app_only = emu.client(demo_app_only());
    let err = app_only
        .partner_center()
        .mpn_profile(&ctx(), None)
        .await
        .expect_err("app+user only");
    assert!(matches!(err, Error::RefreshTokenNeeded { .. }), "{err:?}");
    // App-only serves the customer list.
    let n = app_only
        .partner_center()
        .customers(&ctx(), CustomerQuery::default())
        .try_collect::<Vec<_>>()
        .await
        .expect("app-only list")
        .len();
    assert!(n > 0);
}

#[tokio::test]
async fn refresh_token_rotation_with_revocation() {
    let emu = Emu::start().await;
    emu.control(
        reqwest::Method::POST,
        "/settings",
        Some(json!({"rotate_refresh_tokens_revokes_old": true})),
    )
    .await;
    let client = emu.client(Credentials {
        client_secret: Some(Secret::new(demo::CLIENT_SECRET)),
        ..demo_credentials()
    });
    client
        .partner_center()
        .mpn_profile(&ctx(), None)
        .await
        .expect("first");
    let rotated = client.current_refresh_token().expect("a refresh token");
    assert_ne!(rotated.expose(), demo::REFRESH_TOKEN, "rotated");
    // Move the emulator clock past the access token's expiry to force
    // a second redemption, which must use the rotated token (the old one is revoked).
    emu.control(
        reqwest::Method::POST,
        "/clock",
        Some(json!({"advance_seconds": 7200})),
    )
    .await;
    client
        .partner_center()
        .mpn_profile(&ctx(), None)
        .await
        .expect("second redemption with the rotated token");
    assert_ne!(
        client.current_refresh_token().map(|s| s.expose().to_owned()),
        Some(rotated.expose().to_owned()),
        "rotated again"
    );
}

#[tokio::test]
async fn keys_grants_and_service_principals() {
    let emu = Emu::start().await;
    let client = emu.client(demo_credentials());
    let g = client.graph();
    let created = g
        .add_password(
            &ctx(),
            demo::APP_OBJECT_ID,
            NewPassword {
                display_name: Some("terraform".into()),
                start: None,
                end: None,
            },
        )
        .await
        .expect("key added");
    assert!(!created.secret_text.expose().is_empty());
    let app = g
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("read")
        .expect("exists");
    assert!(
        app.password_credentials
            .iter()
            .any(|k| k.key_id == created.credential.key_id)
    );
    g.remove_password(&ctx(), demo::APP_OBJECT_ID, &created.credential.key_id)
        .await
        .expect("removed");
    let again = g
        .remove_password(&ctx(), demo::APP_OBJECT_ID, &created.credential.key_id)
        .await
        .expect_err("gone");
    assert!(again.is_not_found(), "{again:?}");

    let pc_sp = g
        .service_principal_by_app_id(&ctx(), demo::PARTNER_CENTER_APP_ID)
        .await
        .expect("read")
        .expect("seeded");
    assert!(
        pc_sp
            .oauth2_permission_scopes
            .iter()
            .any(|s| s.value == "user_impersonation")
    );
    let client_sp = match g
        .service_principal_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("read")
    {
        Some(sp) => sp,
        None => g
            .create_service_principal(&ctx(), demo::APP_ID)
            .await
            .expect("created"),
    };
    let before = g.delegated_grants(&ctx(), &client_sp.id).await.expect("grants");
    let existing = before.iter().find(|gr| gr.resource_id == pc_sp.id);
    let grant_id = match existing {
        Some(gr) => gr.id.clone(),
        None => {
            g.create_delegated_grant(
                &ctx(),
                partnercenter_microsoft::NewGrant {
                    client_id: client_sp.id.clone(),
                    resource_id: pc_sp.id.clone(),
                    scope: "user_impersonation".into(),
                    consent_type: partnercenter_microsoft::ConsentType::AllPrincipals,
                    principal_id: None,
                },
            )
            .await
            .expect("grant created")
            .id
        }
    };
    g.update_grant_scope(&ctx(), &grant_id, "user_impersonation")
        .await
        .expect("updated");
    g.delete_grant(&ctx(), &grant_id).await.expect("deleted");
    assert!(
        g.delete_grant(&ctx(), &grant_id)
            .await
            .expect_err("gone")
            .is_not_found()
    );
}

#[tokio::test]
async fn throttling_and_unavailability_are_ridden_out() {
    let emu = Emu::start().await;
    emu.fault(
        FaultSpec::on("GET /v1/customers")
            .status(429)
            .retry_after(1)
            .times(2),
    )
    .await;
    emu.fault(FaultSpec::on("GET /v1.0/**").status(503).times(2))
        .await;
    let client = emu.client(demo_credentials());
    let n = client
        .partner_center()
        .customers(&ctx(), CustomerQuery::default())
        .try_collect::<Vec<_>>()
        .await
        .expect("after 429s")
        .len();
    assert!(n > 0);
    client
        .graph()
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("after 503s")
        .expect("exists");
    // A create answered 503 is not blindly repeated.
    emu.fault(
        FaultSpec::on("POST /v1.0/applications/*/addPassword")
            .status(503)
            .times(1),
    )
    .await;
    let err = client
        .graph()
        .add_password(&ctx(), demo::APP_OBJECT_ID, NewPassword::default())
        .await
        .expect_err("503 on create");
    assert!(err.is_ambiguous(), "{err:?}");
}

#[tokio::test]
async fn server_time_follows_the_emulator_clock() {
    let emu = Emu::start().await;
    let client = emu.client(demo_credentials());
    client
        .graph()
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("read");
    let before = client.server_time().expect("seen");
    emu.control(
        reqwest::Method::POST,
        "/clock",
        Some(json!({"advance_seconds": 400 * 86400})),
    )
    .await;
    // The cached token has expired by the emulator's clock: one 401, a new token, success.
    client
        .graph()
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("read after the clock moved");
    let after = client.server_time().expect("seen");
    assert!(
        after - before >= chrono::Duration::days(399),
        "{before} -> {after}"
    );
}

#[tokio::test]
async fn federated_assertion_instead_of_a_secret() {
    let emu = Emu::start().await;
    let minted = emu
        .control(reqwest::Method::POST, "/oidc-token", Some(json!({})))
        .await;
    let jwt = minted["value"].as_str().expect("value").to_owned();
    let client = emu.client(Credentials {
        client_secret: None,
        refresh_token: None,
        federated: Some(FederatedToken::Assertion(Secret::new(jwt))),
        ..demo_credentials()
    });
    client
        .graph()
        .application_by_app_id(&ctx(), demo::APP_ID)
        .await
        .expect("federated login")
        .expect("exists");
}

#[tokio::test]
async fn device_code_login_against_the_emulator() {
    let emu = Emu::start().await;
    let client = emu.client(demo_app_only());
    let base = emu.base.clone();
    let rt = client
        .login()
        .device_code(&ctx(), move |prompt| {
            assert!(!prompt.user_code.is_empty());
            let base = base.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = reqwest::Client::new()
                    .post(base.join("/_emulator/device-codes/approve").expect("url"))
                    .send()
                    .await;
            });
        })
        .await
        .expect("device code sign-in");
    assert_eq!(mpn_id_signed_in_with(&emu, rt).await, demo::MPN_ID);
}

#[tokio::test]
async fn authorization_code_login_against_the_emulator() {
    let emu = Emu::start().await;
    let client = emu.client(demo_app_only());
    let rt = client
        .login()
        .authorization_code(&ctx(), AuthCodeOptions::default(), |url| {
            // Play the browser: the emulator signs the demo user in and redirects to our listener.
            let url = url.clone();
            tokio::spawn(async move {
                let _ = reqwest::Client::new().get(url).send().await;
            });
        })
        .await
        .expect("authorization code sign-in");
    assert_eq!(mpn_id_signed_in_with(&emu, rt).await, demo::MPN_ID);
}

#[tokio::test]
async fn organization_profile_per_the_reference() {
    let emu = Emu::start().await;
    let client = emu.client(demo_credentials());
    let org = client
        .partner_center()
        .organization_profile(&ctx())
        .await
        .expect("organization profile (BOM)");
    assert_eq!(org.domain, demo::DOMAIN);
    assert_eq!(org.company_name, demo::COMPANY_NAME);
    assert!(org.default_address.and_then(|a| a.country).is_some());
}
