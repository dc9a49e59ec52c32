//! Benchmark: 50,000 generated customers paged over HTTP in pages of 500, the way a client follows
//! `links.next`. Run with `cargo run --release -p partnercenter-emulator --example page_customers`.

use std::time::Instant;

use partnercenter_emulator::{EmulatorConfig, Seed, demo};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

const CUSTOMERS: usize = 50_000;
const PAGE_SIZE: usize = 500;

/// What a paging client needs from a page: how many items, and the token for the next one. The items are
/// skipped rather than built into values, so the figure measures the emulator rather than the client.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    total_count: usize,
    items: Vec<IgnoredAny>,
    continuation_token: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = EmulatorConfig {
        seed: Seed::generated(CUSTOMERS),
        ..EmulatorConfig::default()
    };
    let emulator = partnercenter_emulator::spawn(config).await?;
    let base = emulator.base_url();
    let http = reqwest::Client::new();

    let token: Value = http
        .post(format!("{base}/{}/oauth2/v2.0/token", demo::TENANT_ID))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", demo::APP_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();

    let started = Instant::now();
    let mut pages = 0usize;
    let mut customers = 0usize;
    let mut continuation: Option<String> = None;
    loop {
        let mut request = http.get(format!("{base}/v1/customers")).bearer_auth(&token);
        request = match &continuation {
            None => request.query(&[("size", PAGE_SIZE.to_string())]),
            Some(token) => request
                .query(&[
                    ("size", PAGE_SIZE.to_string()),
                    ("seekOperation", "next".to_owned()),
                ])
                .header("MS-ContinuationToken", token),
        };
        let response = request.send().await?;
        if continuation.is_some() && response.status() == reqwest::StatusCode::BAD_REQUEST {
            // The last page was full, so it carried a token; 400 code 2000 is the end (as in Microsoft's
            // own tool).
            let error: Value = serde_json::from_slice(&response.bytes().await?)?;
            if error["code"] == 2000 {
                break;
            }
            return Err(format!("page {} answered 400: {error}", pages + 1).into());
        }
        if !response.status().is_success() {
            return Err(format!("page {} answered {}", pages + 1, response.status()).into());
        }
        let page: Page = serde_json::from_slice(&response.bytes().await?)?;
        pages += 1;
        if page.total_count != page.items.len() {
            return Err(format!(
                "page {pages}: totalCount {} but {} items",
                page.total_count,
                page.items.len()
            )
            .into());
        }
        customers += page.items.len();
        continuation = page.continuation_token;
        if continuation.is_none() {
            break;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "emulator paging: {customers} customers in {pages} pages: {} ms",
        elapsed.as_millis()
    );
    if customers != CUSTOMERS {
        return Err(format!("expected {CUSTOMERS} customers, saw {customers}").into());
    }
    emulator.shutdown().await;
    Ok(())
}
