//! StopProvider (what Terraform calls on Ctrl-C) ends a read that is waiting out a long `Retry-After`:
//! the real provider, over gRPC in process, against the emulator throttling the customer list.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod support;

use std::time::{Duration, Instant};

use partnercenter_emulator::EmulatorConfig;
use serde_json::{Value as Json, json};
use support::grpc::{against_emulator, configured, data_source_type, dv, pb};
use terraform_provider_partnercenter::protocol::Value;

/// The emulator's request log.
async fn requests(http: &reqwest::Client, base: &str) -> Json {
    let log = http.get(format!("{base}/_emulator/requests")).send().await;
    log.expect("log").json().await.expect("log JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_provider_interrupts_a_read_waiting_out_a_long_retry_after() {
    let emulator = partnercenter_emulator::spawn(EmulatorConfig::default())
        .await
        .expect("emulator");
    let base = emulator.base_url();
    let http = reqwest::Client::new();
    let fault = http
        .post(format!("{base}/_emulator/faults"))
        .json(&json!({"route": "GET /v1/customers", "status": 429, "retry_after": 60}))
        .send()
        .await
        .expect("fault");
    assert!(fault.status().is_success());

    let provider = against_emulator(&base, true);
    let customers_type = data_source_type(&provider, "partnercenter_customers");
    let mut client = configured(provider, "1.0.3").await;

    let mut reader = client.clone();
    let config = Value::null_object(&customers_type);
    let read = tokio::spawn(async move {
        reader
            .read_data_source(pb::read_data_source::Request {
                type_name: "partnercenter_customers".into(),
                config: dv(&config, &customers_type),
                ..Default::default()
            })
            .await
    });

    // Wait until the provider got the 429 and is sleeping out its Retry-After.
    let throttled = Instant::now();
    loop {
        let log = requests(&http, &base).await;
        if log
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["status"] == json!(429)))
        {
            break;
        }
        assert!(
            throttled.elapsed() < Duration::from_secs(20),
            "the customer list was never requested: {log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !read.is_finished(),
        "the read waits out Retry-After: 60 rather than failing"
    );

    let stopped = Instant::now();
    client.stop(pb::stop_provider::Request {}).await;
    let response = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the read returned after StopProvider")
        .expect("task")
        .expect("ReadDataSource")
        .into_inner();
    let took = stopped.elapsed();
    eprintln!(
        "ReadDataSource returned {} ms after StopProvider",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(2), "returned promptly: {took:?}");
    let errors: Vec<&pb::Diagnostic> = response
        .diagnostics
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", response.diagnostics);
    assert_eq!(errors[0].summary, "Error listing customers");
    assert!(
        errors[0].detail.contains("interrupted"),
        "says it was interrupted: {}",
        errors[0].detail
    );
    let log = requests(&http, &base).await;
    let customer_calls = log.as_array().map_or(0, |l| {
        l.iter().filter(|r| r["path"] == json!("/v1/customers")).count()
    });
    assert_eq!(customer_calls, 1, "no retry after the stop: {log}");
    emulator.shutdown().await;
}
