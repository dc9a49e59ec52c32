//! Partner Center operations against a scripted server: paging in both styles, filters, profiles.

mod common;

use common::*;
use futures::TryStreamExt;
use partnercenter_microsoft::{Customer, CustomerQuery, Error, RelationshipToPartner};

const CUSTOMERS: &str = "/v1/customers";

/// The customer listing, against a server whose one answer is `page`: an error, `why`.
async fn listing_error(page: Canned, why: &str) -> Error {
    let f = Fixture::with_tokens().await;
    f.on("GET", CUSTOMERS, vec![page]);
    collect(&f, CustomerQuery::default()).await.expect_err(why)
}

/// Every customer, `size` per page.
fn pages_of(size: u32) -> CustomerQuery {
    CustomerQuery {
        page_size: Some(size),
        ..Default::default()
    }
}

fn customer(n: u32, company: &str, domain: &str) -> serde_json::Value {
    serde_json::json!({
        "id": format!("c{n}"),
        "commerceId": format!("m{n}"),
        "companyProfile": {"tenantId": format!("c{n}"), "domain": domain, "companyName": company},
        "relationshipToPartner": "reseller",
        "attributes": {"objectType": "Customer"}
    })
}

async fn collect(f: &Fixture, q: CustomerQuery) -> Result<Vec<Customer>, Error> {
    f.client(secret_and_refresh())
        .partner_center()
        .customers(&ctx(), q)
        .try_collect()
        .await
}

#[tokio::test]
async fn pages_follow_a_top_level_continuation_token_to_the_end() {
    let f = Fixture::with_tokens().await;
    f.on("GET", CUSTOMERS, vec![
        Canned::json(200, serde_json::json!({"totalCount":2,"items":[customer(1,"A","a.com"), customer(2,"B","b.com")],"continuationToken":"tok-1"})),
        Canned::json(200, serde_json::json!({"totalCount":2,"items":[customer(3,"C","c.com"), customer(4,"D","d.com")],"continuationToken":"tok-2"})),
        Canned::json(200, serde_json::json!({"totalCount":1,"items":[customer(5,"E","e.com")]})),
    ]);
    let all = collect(&f, pages_of(2)).await.expect("ok");
    assert_eq!(
        all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c1", "c2", "c3", "c4", "c5"]
    );
    assert_eq!(all[0].relationship_to_partner, RelationshipToPartner::Reseller);
    let reqs = f.requests_to(CUSTOMERS);
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].query.as_deref(), Some("size=2"));
    assert_eq!(reqs[0].header("MS-ContinuationToken"), None);
    assert_eq!(reqs[1].query.as_deref(), Some("size=2&seekOperation=next"));
    assert_eq!(reqs[1].header("MS-ContinuationToken").as_deref(), Some("tok-1"));
    assert_eq!(reqs[2].header("MS-ContinuationToken").as_deref(), Some("tok-2"));
    // The customer list is app-only.
    assert_eq!(
        f.requests_to(&format!("/{TENANT}/oauth2/v2.0/token"))[0].form()["grant_type"],
        "client_credentials"
    );
}

#[tokio::test]
async fn pages_follow_links_next_with_its_headers_and_stop_on_code_2000() {
    let f = Fixture::with_tokens().await;
    let next = |tok: &str| serde_json::json!({"next":{"uri":"/customers?size=2&seekOperation=Next","method":"GET","headers":[{"key":"MS-ContinuationToken","value":tok}]}});
    f.on("GET", CUSTOMERS, vec![
        Canned::json(200, serde_json::json!({"items":[customer(1,"A","a.com"), customer(2,"B","b.com")],"links":next("L1")})),
        Canned::json(200, serde_json::json!({"items":[customer(3,"C","c.com"), customer(4,"D","d.com")],"links":next("L2")})),
        Canned::json(400, serde_json::json!({"code":2000,"description":"No more records"})),
    ]);
    let all = collect(&f, pages_of(2)).await.expect("400/2000 ends the list");
    assert_eq!(all.len(), 4);
    let reqs = f.requests_to(CUSTOMERS);
    assert_eq!(reqs[1].query.as_deref(), Some("size=2&seekOperation=Next"));
    assert_eq!(reqs[1].header("MS-ContinuationToken").as_deref(), Some("L1"));
    assert_eq!(reqs[2].header("MS-ContinuationToken").as_deref(), Some("L2"));
}

#[tokio::test]
async fn code_2000_on_the_first_page_is_an_error_never_an_empty_list() {
    let err = listing_error(
        Canned::json(
            400,
            serde_json::json!({"code":2000,"description":"Invalid filter"}),
        ),
        "a refused first request is not the end of a list",
    )
    .await;
    assert!(err.to_string().contains("2000"), "{err}");
}

#[tokio::test]
async fn a_repeated_token_is_an_error_not_an_endless_loop() {
    let err = listing_error(
        Canned::json(
            200,
            serde_json::json!({"items":[customer(1,"A","a.com")],"continuationToken":"same"}),
        ),
        "loop detected",
    )
    .await;
    assert!(err.to_string().contains("same continuation token"), "{err}");
}

#[tokio::test]
async fn one_filter_is_sent_and_the_others_applied_here() {
    let f = Fixture::with_tokens().await;
    f.on("GET", CUSTOMERS, vec![Canned::json(200, serde_json::json!({"items":[
        customer(1,"Fabrikam","fab.onmicrosoft.com"), customer(2,"Other","fab2.onmicrosoft.com"), customer(3,"fabulous","fab3.onmicrosoft.com")
    ]}))]);
    let q = CustomerQuery {
        company_name_prefix: Some("FAB".into()),
        domain_prefix: Some("fab".into()),
        ..Default::default()
    };
    let got = collect(&f, q).await.expect("ok");
    assert_eq!(
        got.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c1", "c3"]
    );
    let req = &f.requests_to(CUSTOMERS)[0];
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(req.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    assert_eq!(q["size"], "500");
    let filter: serde_json::Value = serde_json::from_str(&q["filter"]).expect("json filter");
    assert_eq!(
        filter,
        serde_json::json!({"Field":"Domain","Value":"fab","Operator":"starts_with"})
    );
}

#[tokio::test]
async fn reseller_filter_uses_app_user() {
    let f = Fixture::with_tokens().await;
    f.on(
        "GET",
        CUSTOMERS,
        vec![Canned::json(
            200,
            serde_json::json!({"items":[customer(1,"A","a.com")]}),
        )],
    );
    let got = collect(
        &f,
        CustomerQuery {
            indirect_reseller_id: Some("r-1".into()),
            ..Default::default()
        },
    )
    .await
    .expect("ok");
    assert_eq!(got.len(), 1);
    assert_eq!(
        f.requests_to(&format!("/{TENANT}/oauth2/v2.0/token"))[0].form()["grant_type"],
        "refresh_token"
    );
    let err: Result<Vec<Customer>, Error> = f
        .client(secret_only())
        .partner_center()
        .customers(
            &ctx(),
            CustomerQuery {
                indirect_reseller_id: Some("r-1".into()),
                ..Default::default()
            },
        )
        .try_collect()
        .await;
    assert!(matches!(err, Err(Error::RefreshTokenNeeded { .. })), "{err:?}");
}

#[tokio::test]
async fn profiles_and_resellers() {
    let f = Fixture::with_tokens().await;
    // The fixture starts with a UTF-8 BOM, as Partner Center's answer does.
    let org = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pc_organization_profile.json"
    ))
    .expect("fixture");
    assert!(org.starts_with(b"\xEF\xBB\xBF"));
    f.on(
        "GET",
        "/v1/profiles/organization",
        vec![Canned::raw(200, &String::from_utf8(org).expect("utf8"))],
    );
    f.on("GET", "/v1/profiles/mpn", vec![Canned::json(404, serde_json::json!({"code":3000,"description":"Partner Organization with partner_id 9999999 could not be found","data":[],"source":"PartnerFD"}))]);
    f.on(
        "GET",
        "/v1/relationships",
        vec![Canned::raw(
            200,
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/pc_relationships.json"
            ))
            .expect("fixture"),
        )],
    );
    let pc = f.client(secret_and_refresh()).partner_center();
    assert_eq!(
        pc.organization_profile(&ctx())
            .await
            .expect("BOM stripped")
            .domain,
        "contoso-csp.onmicrosoft.com"
    );
    let err = pc
        .mpn_profile(&ctx(), Some("9999999"))
        .await
        .expect_err("unknown");
    assert!(err.is_not_found());
    assert_eq!(err.api().and_then(|e| e.code.as_deref()), Some("3000"));
    assert_eq!(
        f.requests_to("/v1/profiles/mpn")[0].query.as_deref(),
        Some("mpnId=9999999")
    );
    let resellers = pc.indirect_resellers(&ctx()).await.expect("ok");
    assert_eq!(resellers[0].name, "Northwind Reseller");
    assert_eq!(
        f.requests_to("/v1/relationships")[0].query.as_deref(),
        Some("relationship_type=IsIndirectCloudSolutionProviderOf")
    );
}
