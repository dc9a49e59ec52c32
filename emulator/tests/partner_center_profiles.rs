//! Partner Center profiles and relationships: MPN (own, by id, unknown), organization (BOM), resellers.

mod common;

use common::start;
use partnercenter_emulator::demo;
use serde_json::{Value, json};

#[tokio::test]
async fn mpn_profile_and_lookup_by_mpn_id() {
    let emu = start().await;
    let token = emu.partner_center_user_token().await;
    let response = emu
        .http
        .get(emu.url("/v1/profiles/mpn"))
        .bearer_auth(&token)
        .header("MS-CorrelationId", "corr-123")
        .header("MS-RequestId", "req-456")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["ms-correlationid"], "corr-123");
    assert_eq!(response.headers()["ms-requestid"], "req-456");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mpnId"], demo::MPN_ID);
    assert_eq!(body["partnerName"], demo::COMPANY_NAME);
    assert_eq!(body["attributes"]["objectType"], "MpnProfile");

    let (status, reseller) = emu.get_json("/v1/profiles/mpn?mpnId=5120394", &token).await;
    assert_eq!(status, 200);
    assert_eq!(reseller["partnerName"], "Fourth Coffee Solutions");
    let (status, body) = emu.get_json("/v1/profiles/mpn?mpnId=9999999", &token).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], 3000);
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["source"], "PartnerFD");
}

async fn organization_profile_bytes(emu: &common::Emu, token: &str) -> Vec<u8> {
    let response = emu.get("/v1/profiles/organization", token).await;
    response.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn organization_profile_starts_with_a_bom_unless_switched_off() {
    let emu = start().await;
    let token = emu.partner_center_user_token().await;
    let bytes = organization_profile_bytes(&emu, &token).await;
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    let body: Value = serde_json::from_slice(&bytes[3..]).unwrap();
    assert_eq!(body["domain"], demo::DOMAIN);
    assert_eq!(body["tenantId"], demo::TENANT_ID);
    assert_eq!(body["companyName"], demo::COMPANY_NAME);
    emu.settings(json!({ "organization_profile_bom": false })).await;
    let bytes = organization_profile_bytes(&emu, &token).await;
    assert_eq!(bytes[0], b'{');
}

#[tokio::test]
async fn indirect_resellers_in_either_spelling() {
    let emu = start().await;
    let token = emu.partner_center_user_token().await;
    for kind in [
        "IsIndirectCloudSolutionProviderOf",
        "is_indirect_cloud_solution_provider_of",
    ] {
        let (status, body) = emu
            .get_json(&format!("/v1/relationships?relationship_type={kind}"), &token)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["totalCount"], 3);
        let first = &body["items"][0];
        assert_eq!(
            first["relationshipType"],
            "is_indirect_cloud_solution_provider_of"
        );
        assert_eq!(first["state"], "Active");
        assert!(first["mpnId"].is_string());
        assert_eq!(first["attributes"]["objectType"], "PartnerRelationship");
    }
    let (status, body) = emu
        .get_json("/v1/relationships?relationship_type=IsIndirectResellerOf", &token)
        .await;
    assert_eq!((status, body["totalCount"].as_u64()), (200, Some(0)));
    let (status, body) = emu.get_json("/v1/relationships", &token).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(2000)));
}

#[tokio::test]
async fn a_customers_reseller() {
    let emu = start().await;
    let token = emu.partner_center_user_token().await;
    let (_, page) = emu.get_json("/v1/customers?size=100", &token).await;
    let with_reseller = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["associatedPartnerId"].is_string())
        .unwrap();
    let id = with_reseller["id"].as_str().unwrap();
    let (status, body) = emu
        .get_json(&format!("/v1/customers/{id}/relationships"), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["id"], with_reseller["associatedPartnerId"]);
    assert_eq!(body["items"][0]["relationshipType"], "is_indirect_reseller_of");
}
