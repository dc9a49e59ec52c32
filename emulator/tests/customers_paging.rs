//! Partner Center customers: seek paging to the last page under every filter, token binding, by-id reads.

mod common;

use std::collections::HashSet;

use common::start_with;
use partnercenter_emulator::{EmulatorConfig, Seed, demo};
use serde_json::{Value, json};

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn filter(field: &str, value: &str) -> String {
    urlencode(&json!({ "Field": field, "Value": value, "Operator": "starts_with" }).to_string())
}

/// Follows `links.next` (uri relative to /v1, headers copied) until the last page, or until a token left by
/// a full last page answers 400 code 2000; checks each page's shape.
async fn page_all(emu: &common::Emu, token: &str, first: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = first.to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    for _ in 0..1000 {
        let mut request = emu.http.get(emu.url(&path)).bearer_auth(token);
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let response = request.send().await.expect("well-formed response");
        if !headers.is_empty() && response.status().as_u16() == 400 {
            let error: Value = response.json().await.expect("well-formed response");
            assert_eq!(error["code"], 2000, "{error}");
            return items;
        }
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let page: Value = response.json().await.expect("well-formed response");
        let page_items = page["items"].as_array().expect("well-formed response");
        assert_eq!(
            page["totalCount"].as_u64().expect("well-formed response") as usize,
            page_items.len(),
            "totalCount = items in this page"
        );
        assert_eq!(page["attributes"]["objectType"], "Collection");
        items.extend(page_items.iter().cloned());
        let Some(next) = page["links"].get("next") else {
            assert!(
                page.get("continuationToken").is_none(),
                "the last page has no token"
            );
            return items;
        };
        let token_value = page["continuationToken"]
            .as_str()
            .expect("non-final pages carry continuationToken");
        assert_eq!(next["headers"][0]["key"], "MS-ContinuationToken");
        assert_eq!(next["headers"][0]["value"], token_value);
        assert_eq!(next["method"], "GET");
        let uri = next["uri"].as_str().expect("well-formed response");
        assert!(
            uri.starts_with("/customers?size=") && uri.ends_with("&seekOperation=next"),
            "{uri}"
        );
        path = format!("/v1{uri}");
        headers = next["headers"]
            .as_array()
            .expect("well-formed response")
            .iter()
            .map(|h| {
                (
                    h["key"].as_str().expect("well-formed response").to_owned(),
                    h["value"].as_str().expect("well-formed response").to_owned(),
                )
            })
            .collect();
    }
    panic!("paging did not end");
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|c| {
            c["companyProfile"]["companyName"]
                .as_str()
                .expect("well-formed response")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn demo_customers_page_to_the_end_sorted_and_complete() {
    let emu = start_with(EmulatorConfig::default()).await;
    let token = emu.partner_center_user_token().await;
    let all = page_all(&emu, &token, "/v1/customers?size=10").await;
    assert_eq!(all.len(), 25);
    let ids: HashSet<&str> = all
        .iter()
        .map(|c| c["id"].as_str().expect("well-formed response"))
        .collect();
    assert_eq!(ids.len(), 25);
    let listed = names(&all);
    let mut sorted = listed.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(listed, sorted);
    let first = &all[0];
    assert_eq!(first["attributes"]["objectType"], "Customer");
    assert_eq!(
        first["companyProfile"]["attributes"]["objectType"],
        "CustomerCompanyProfile"
    );
    assert_eq!(first["companyProfile"]["tenantId"], first["id"]);
    assert_eq!(first["relationshipToPartner"], "reseller");
    assert!(
        first["links"]["self"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("/customers/")
    );
    assert!(
        first.get("allowDelegatedAccess").is_none(),
        "only GET by id has allowDelegatedAccess"
    );
    assert_eq!(
        all.iter()
            .filter(|c| c["associatedPartnerId"].is_string())
            .count(),
        9
    );
}

#[tokio::test]
async fn every_filter_pages_to_its_last_page() {
    let emu = start_with(EmulatorConfig {
        seed: Seed::generated(600),
        ..EmulatorConfig::default()
    })
    .await;
    let token = emu.partner_center_user_token().await;
    let everyone = page_all(&emu, &token, "/v1/customers?size=97").await;
    assert_eq!(everyone.len(), 600);

    let by_name = page_all(
        &emu,
        &token,
        &format!("/v1/customers?size=7&filter={}", filter("CompanyName", "cEdAr")),
    )
    .await;
    let expected = everyone
        .iter()
        .filter(|c| {
            c["companyProfile"]["companyName"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .starts_with("cedar")
        })
        .count();
    assert!(expected > 7, "the filter spans several pages ({expected})");
    assert_eq!(by_name.len(), expected);

    let by_domain = page_all(
        &emu,
        &token,
        &format!("/v1/customers?size=3&filter={}", filter("Domain", "SUMMIT")),
    )
    .await;
    let expected = everyone
        .iter()
        .filter(|c| {
            c["companyProfile"]["domain"]
                .as_str()
                .unwrap()
                .starts_with("summit")
        })
        .count();
    assert!(expected > 3);
    assert_eq!(by_domain.len(), expected);

    let reseller = "8e1a4c73-9d2b-4f56-8c3e-7a9b0d1e2f51";
    let by_reseller = page_all(
        &emu,
        &token,
        &format!(
            "/v1/customers?size=5&filter={}",
            filter("IndirectReseller", reseller)
        ),
    )
    .await;
    let expected = everyone
        .iter()
        .filter(|c| c["associatedPartnerId"] == reseller)
        .count();
    assert!(expected > 5);
    assert_eq!(by_reseller.len(), expected);
    assert!(by_reseller.iter().all(|c| c["associatedPartnerId"] == reseller));

    let by_provider = page_all(
        &emu,
        &token,
        &format!(
            "/v1/customers?size=11&filter={}",
            filter("IndirectCloudSolutionProvider", demo::TENANT_ID)
        ),
    )
    .await;
    assert_eq!(
        by_provider.len(),
        everyone
            .iter()
            .filter(|c| c["associatedPartnerId"].is_string())
            .count()
    );

    let nobody = page_all(
        &emu,
        &token,
        &format!(
            "/v1/customers?size=5&filter={}",
            filter("CompanyName", "zzz-nobody")
        ),
    )
    .await;
    assert!(nobody.is_empty());
}

#[tokio::test]
async fn continuation_tokens_are_bound_to_their_filter() {
    let emu = start_with(EmulatorConfig::default()).await;
    let token = emu.partner_center_user_token().await;
    let (status, first) = emu
        .get_json(
            &format!("/v1/customers?size=2&filter={}", filter("CompanyName", "c")),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    let continuation = first["continuationToken"].as_str().unwrap();
    let next = |path: String, continuation: &str| {
        let emu = &emu;
        let token = token.clone();
        let continuation = continuation.to_owned();
        async move {
            let response = emu
                .http
                .get(emu.url(&path))
                .bearer_auth(token)
                .header("MS-ContinuationToken", continuation)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = next(
        format!(
            "/v1/customers?size=2&seekOperation=next&filter={}",
            filter("Domain", "c")
        ),
        continuation,
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(2000)), "{body}");
    let (status, _) = next(
        format!(
            "/v1/customers?size=2&seekOperation=Next&filter={}",
            filter("CompanyName", "C")
        ),
        continuation,
    )
    .await;
    assert_eq!(status, 200, "the same filter (any case) is fine");
    let (status, body) = next("/v1/customers?size=2&seekOperation=next".into(), "forged.token").await;
    assert_eq!((status, body["source"].as_str()), (400, Some("PartnerFD")));
    let (status, _) = emu
        .get_json("/v1/customers?size=2&seekOperation=next", &token)
        .await;
    assert_eq!(status, 400, "seekOperation=next needs the header");
    let (status, _) = emu
        .get_json(
            &format!(
                "/v1/customers?filter={}",
                filter("Domain", "x").replace("starts_with", "equals")
            ),
            &token,
        )
        .await;
    assert_eq!(status, 400, "only starts_with is supported");
}

#[tokio::test]
async fn customer_by_id_and_unknown_id() {
    let emu = start_with(EmulatorConfig::default()).await;
    let token = emu.app_token(common::PARTNER_CENTER).await;
    let (_, page) = emu.get_json("/v1/customers?size=1", &token).await;
    let id = page["items"][0]["id"].as_str().unwrap();
    let (status, customer) = emu.get_json(&format!("/v1/customers/{id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(customer["id"], id);
    assert_eq!(customer["allowDelegatedAccess"], true);
    let (status, body) = emu
        .get_json("/v1/customers/00000000-0000-0000-0000-000000000000", &token)
        .await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(3000)));
}

#[tokio::test]
async fn generated_customers_are_deterministic() {
    let a = Seed::generated(300);
    let b = Seed::generated(300);
    let key = |s: &Seed| {
        s.customers
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    c.company_name.clone(),
                    c.domain.clone(),
                    c.reseller_id.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b));
    let domains: HashSet<&str> = a.customers.iter().map(|c| c.domain.as_str()).collect();
    assert_eq!(domains.len(), 300, "domains are unique");
    assert_eq!(Seed::demo().customers.len(), 25);
}

/// Follows one page's continuation token: (status, body).
async fn follow(emu: &common::Emu, token: &str, size: usize, continuation: &str) -> (u16, Value) {
    let response = emu
        .http
        .get(emu.url(&format!("/v1/customers?size={size}&seekOperation=next")))
        .bearer_auth(token)
        .header("MS-ContinuationToken", continuation)
        .send()
        .await
        .expect("response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_full_last_page_carries_a_token_and_following_it_answers_code_2000() {
    let emu = start_with(EmulatorConfig::default()).await;
    let token = emu.app_token(common::PARTNER_CENTER).await;
    // 25 demo customers in pages of 5: the fifth page is full and the last.
    let mut continuation: Option<String> = None;
    for page in 1..=5 {
        let (status, body) = match &continuation {
            None => emu.get_json("/v1/customers?size=5", &token).await,
            Some(c) => follow(&emu, &token, 5, c).await,
        };
        assert_eq!(status, 200, "page {page}: {body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 5);
        continuation = body["continuationToken"].as_str().map(str::to_owned);
        assert!(continuation.is_some(), "page {page} is full, so it has a token");
    }
    let exhausted = continuation.unwrap();
    let (status, body) = follow(&emu, &token, 5, &exhausted).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], 2000);
    assert_eq!(body["source"], "PartnerFD");

    // Without the switch the last page has no token.
    emu.settings(json!({ "full_last_page_has_continuation_token": false }))
        .await;
    let (_, again) = follow(&emu, &token, 5, &exhausted).await;
    assert_eq!(again["code"], 2000, "an exhausted token stays exhausted");
    let (_, first) = emu.get_json("/v1/customers?size=20", &token).await;
    let (status, last) = follow(&emu, &token, 20, first["continuationToken"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(last["items"].as_array().unwrap().len(), 5);
    assert!(last.get("continuationToken").is_none());
    let (_, full) = emu.get_json("/v1/customers?size=25", &token).await;
    assert!(full.get("continuationToken").is_none());
}
