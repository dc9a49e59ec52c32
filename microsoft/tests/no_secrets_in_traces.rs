//! Traces at every level never contain a secret, token or refresh token.

mod common;

use common::traces::Traces;
use common::*;
use partnercenter_microsoft::NewPassword;

#[tokio::test]
async fn trace_output_holds_no_secret() {
    let (traces, _guard) = Traces::capture();

    let f = Fixture::start().await;
    f.on("POST", &format!("/{TENANT}/oauth2/v2.0/token"), vec![
        Canned::json(200, serde_json::json!({"expires_in":"3599","access_token":"leak-check-access-token","refresh_token":"leak-check-rotated-refresh","id_token":"leak-check-id-token"})),
    ]);
    f.on(
        "GET",
        "/v1/profiles/mpn",
        vec![Canned::json(200, serde_json::json!({"mpnId":"4391507"}))],
    );
    f.on(
        "POST",
        "/v1.0/applications/obj-1/addPassword",
        vec![
            Canned::json(503, serde_json::json!({"error":{"code":"x","message":"y"}}))
                .header("Retry-After", "0"),
        ],
    );
    let client = f.client(secret_and_refresh());
    client
        .partner_center()
        .mpn_profile(&ctx(), None)
        .await
        .expect("ok");
    f.on(
        "POST",
        "/v1.0/applications/obj-2/addPassword",
        vec![Canned::json(
            200,
            serde_json::json!({"keyId":"k","secretText":"leak-check-secret-text"}),
        )],
    );
    client
        .graph()
        .add_password(&ctx(), "obj-2", NewPassword::default())
        .await
        .expect("ok");
    let err = client
        .graph()
        .add_password(&ctx(), "obj-1", NewPassword::default())
        .await
        .expect_err("503");
    let shown = format!(
        "{err} {err:?} {client:?} {:?} {:?}",
        secret_and_refresh(),
        client.current_refresh_token()
    );

    let logs = traces.text();
    assert!(logs.contains("response body"), "bodies are traced: {logs}");
    assert!(logs.contains("request body"), "bodies are traced: {logs}");
    for secret in [
        SECRET,
        REFRESH,
        "leak-check-access-token",
        "leak-check-rotated-refresh",
        "leak-check-id-token",
        "leak-check-secret-text",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into traces:\n{logs}");
        assert!(
            !shown.contains(secret),
            "{secret} leaked into an error or Debug: {shown}"
        );
    }
}
