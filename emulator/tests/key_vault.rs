//! Key Vault over HTTP: the challenge, tokens, api-version, versions and latest, PATCH, disabled and
//! missing secrets, paging, soft delete, access switches, faults in Key Vault's shape, control API, reset.

mod common;

use common::{Emu, GRAPH, start};
use partnercenter_emulator::FaultSpec;
use partnercenter_emulator::demo;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const VAULT_AUDIENCE: &str = "https://vault.azure.net";
const API: &str = "api-version=2025-07-01";

/// Creates vault `name` and answers its URI.
async fn vault(emu: &Emu, name: &str) -> String {
    let (status, body) = emu
        .control(Method::POST, "/vaults", json!({ "name": name }))
        .await;
    assert_eq!(status, 201, "{body}");
    let uri = body["vault_uri"].as_str().expect("vault_uri").to_owned();
    assert_eq!(uri, emu.url(&format!("/_vaults/{name}/")));
    uri
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// Requests to vaults with one token (or none).
struct Caller<'a> {
    emu: &'a Emu,
    token: Option<String>,
}

impl<'a> Caller<'a> {
    fn new(emu: &'a Emu, token: Option<&str>) -> Self {
        Self {
            emu,
            token: token.map(str::to_owned),
        }
    }

    async fn send(&self, method: Method, url: &str, body: Option<Value>) -> Answer {
        let mut req = self.emu.http.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let response = req.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    async fn get(&self, url: &str) -> Answer {
        self.send(Method::GET, url, None).await
    }

    async fn put(&self, url: &str, body: Value) -> Answer {
        self.send(Method::PUT, url, Some(body)).await
    }

    async fn patch(&self, url: &str, body: Value) -> Answer {
        self.send(Method::PATCH, url, Some(body)).await
    }

    async fn post(&self, url: &str) -> Answer {
        self.send(Method::POST, url, None).await
    }

    async fn delete(&self, url: &str) -> Answer {
        self.send(Method::DELETE, url, None).await
    }
}

/// Vault `kv1`, its URI, and a caller with an app-only vault token.
async fn kv1(emu: &Emu) -> (String, Caller<'_>) {
    let base = vault(emu, "kv1").await;
    let token = emu.app_token(VAULT_AUDIENCE).await;
    (base, Caller::new(emu, Some(&token)))
}

fn version_of(id: &str) -> String {
    id.rsplit('/').next().expect("version").to_owned()
}

fn sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn first_request_gets_the_challenge_and_vault_tokens_come_from_the_login() {
    let emu = start().await;
    let base = vault(&emu, "kv1").await;

    // The SDKs' first request: no Authorization, no body.
    let response = emu
        .http
        .put(format!("{base}secrets/app-key?{API}"))
        .header("content-length", "0")
        .send()
        .await
        .expect("challenge request");
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        challenge,
        format!(
            r#"Bearer authorization="{}/{}", resource="https://vault.azure.net""#,
            emu.running.base_url(),
            demo::TENANT_ID
        )
    );
    assert!(response.headers().contains_key("x-ms-request-id"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}})
    );

    // Client credentials and refresh tokens both give vault tokens.
    let app = emu.app_token(VAULT_AUDIENCE).await;
    assert_eq!(common::claims(&app)["aud"], VAULT_AUDIENCE);
    let user = emu
        .user_token("https://vault.azure.net/.default offline_access")
        .await;
    assert_eq!(common::claims(&user)["idtyp"], "user");

    let set = Caller::new(&emu, Some(&app)).put(&format!("{base}secrets/app-key?{API}"), json!({"value": "s3cret", "contentType": "text/plain", "tags": {"app": "a1"}, "attributes": {"nbf": 1_800_000_000, "exp": 1_900_000_000}}))
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let id = set.body["id"].as_str().expect("id");
    assert!(id.starts_with(&format!("{base}secrets/app-key/")), "{id}");
    let version = version_of(id);
    assert!(
        version.len() == 32 && version.chars().all(|c| c.is_ascii_hexdigit()),
        "{version}"
    );
    assert_eq!(set.body["value"], "s3cret");
    assert_eq!(set.body["contentType"], "text/plain");
    assert_eq!(set.body["tags"], json!({"app": "a1"}));
    let attributes = &set.body["attributes"];
    assert_eq!(attributes["enabled"], true);
    assert_eq!(attributes["nbf"], 1_800_000_000);
    assert_eq!(attributes["exp"], 1_900_000_000);
    assert!(attributes["created"].is_i64() && attributes["updated"].is_i64());
    assert_eq!(attributes["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(attributes["recoverableDays"], 90);
    assert!(set.headers.contains_key("x-ms-request-id"));

    let read = Caller::new(&emu, Some(&user))
        .get(&format!("{base}secrets/app-key/?{API}"))
        .await;
    assert_eq!(read.body["value"], "s3cret");

    // Tokens for another audience, a forged token and a missing api-version are refused.
    let graph = emu.app_token(GRAPH).await;
    let wrong = Caller::new(&emu, Some(&graph))
        .get(&format!("{base}secrets/app-key?{API}"))
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.headers.contains_key("www-authenticate"));
    assert!(
        wrong.body["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("AKV10022: Invalid audience"),
        "{}",
        wrong.body
    );
    let forged = Caller::new(&emu, Some("a.b.c"))
        .get(&format!("{base}secrets/app-key?{API}"))
        .await;
    assert_eq!(forged.status, 401);
    let none = Caller::new(&emu, Some(&app))
        .get(&format!("{base}secrets/app-key"))
        .await;
    assert_eq!(
        (none.status, &none.body["error"]["code"]),
        (400, &json!("BadParameter"))
    );
    let odd = Caller::new(&emu, Some(&app))
        .get(&format!("{base}secrets/app-key?api-version=1.0"))
        .await;
    assert_eq!(odd.status, 400);
    for v in ["7.4", "7.6", "2025-07-01", "2026-04-01"] {
        let ok = Caller::new(&emu, Some(&app))
            .get(&format!("{base}secrets/app-key?api-version={v}"))
            .await;
        assert_eq!(ok.status, 200, "{v}");
    }

    // The vault's log: the challenge came without token and without body.
    let (_, dump) = emu.control(Method::GET, "/vaults/kv1", Value::Null).await;
    let first = &dump["requests"][0];
    assert_eq!(first["method"], "PUT");
    assert_eq!(first["authorized"], false);
    assert_eq!(first["body_bytes"], 0);
    assert_eq!(first["content_length"], 0);
    assert_eq!(first["status"], 401);
    let v = &dump["secrets"][0]["versions"][0];
    assert_eq!(v["value_sha256"], sha256("s3cret"));
    assert_eq!(v["value_bytes"], 6);
    assert!(!dump.to_string().contains("s3cret"), "values never in the dump");

    let missing = Caller::new(&emu, Some(&app))
        .get(&emu.url(&format!("/_vaults/nope/secrets/x?{API}")))
        .await;
    assert_eq!(
        (missing.status, &missing.body["error"]["code"]),
        (404, &json!("VaultNotFound"))
    );
}

#[tokio::test]
async fn versions_latest_patch_disabled_and_missing() {
    let emu = start().await;
    let (base, t) = kv1(&emu).await;
    let put = |value: &'static str| {
        let url = format!("{base}secrets/n?{API}");
        let t = &t;
        async move { t.put(&url, json!({ "value": value })).await }
    };
    let v1 = version_of(put("one").await.body["id"].as_str().expect("id"));
    let v2 = version_of(put("two").await.body["id"].as_str().expect("id"));
    assert_ne!(v1, v2);
    for latest in [
        format!("{base}secrets/n?{API}"),
        format!("{base}secrets/n/?{API}"),
    ] {
        let r = t.get(&latest).await;
        assert_eq!((r.status, &r.body["value"]), (200, &json!("two")), "{latest}");
        assert_eq!(version_of(r.body["id"].as_str().expect("id")), v2);
    }
    let r = t
        .get(&format!("{base}secrets/N/{}?{API}", v1.to_uppercase()))
        .await;
    assert_eq!(r.body["value"], "one", "names and versions are case-insensitive");

    // PATCH never changes the value and answers without it.
    let patched = t
        .patch(
            &format!("{base}secrets/n/{v1}?{API}"),
            json!({"value": "changed?", "tags": {"k": "v"}, "attributes": {"enabled": false}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(patched.body.get("value").is_none(), "{}", patched.body);
    assert_eq!(patched.body["attributes"]["enabled"], false);
    assert_eq!(patched.body["tags"], json!({"k": "v"}));
    let disabled = t.get(&format!("{base}secrets/n/{v1}?{API}")).await;
    assert_eq!(disabled.status, 403);
    assert_eq!(
        disabled.body,
        json!({"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}})
    );
    let back = t
        .patch(
            &format!("{base}secrets/n/{v1}?{API}"),
            json!({"attributes": {"enabled": true}}),
        )
        .await;
    assert_eq!(back.status, 200);
    let r = t.get(&format!("{base}secrets/n/{v1}?{API}")).await;
    assert_eq!(r.body["value"], "one", "the value survived the PATCH");

    // An empty version PATCHes the latest (azurerm does that).
    let latest = t
        .patch(
            &format!("{base}secrets/n/?{API}"),
            json!({"contentType": "text/plain"}),
        )
        .await;
    assert_eq!(version_of(latest.body["id"].as_str().expect("id")), v2);

    // nbf and exp are informational: a not-yet-valid and an expired secret are both served.
    let now = chrono::Utc::now().timestamp();
    for attributes in [json!({"nbf": now + 86_400}), json!({"exp": now - 86_400})] {
        let url = format!("{base}secrets/window?{API}");
        let set = t.put(&url, json!({"value": "w", "attributes": attributes})).await;
        assert_eq!(set.status, 200);
        assert_eq!(t.get(&url).await.status, 200);
    }

    let missing = t.get(&format!("{base}secrets/absent?{API}")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "SecretNotFound");
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("A secret with (name/id) absent was not found in this key vault.")
    );
    let bad = t
        .put(&format!("{base}secrets/bad_name?{API}"), json!({"value": "x"}))
        .await;
    assert_eq!(
        (bad.status, &bad.body["error"]["code"]),
        (400, &json!("BadParameter"))
    );
    let big = "x".repeat(25 * 1024 + 1);
    let too_big = t
        .put(&format!("{base}secrets/n?{API}"), json!({"value": big}))
        .await;
    assert_eq!(too_big.status, 400);
    let tags: serde_json::Map<String, Value> = (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
    let many = t
        .put(
            &format!("{base}secrets/n?{API}"),
            json!({"value": "x", "tags": tags}),
        )
        .await;
    assert_eq!(many.status, 400);
}

#[tokio::test]
async fn versions_and_secrets_are_listed_in_pages_with_absolute_next_links() {
    let emu = start().await;
    let (base, t) = kv1(&emu).await;
    for i in 0..30 {
        let r = t
            .put(
                &format!("{base}secrets/many?{API}"),
                json!({"value": format!("v{i}")}),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let first = t
        .get(&format!("{base}secrets/many/versions?api-version=7.4"))
        .await;
    let items = first.body["value"].as_array().expect("value");
    assert_eq!(items.len(), 25);
    assert!(
        items
            .iter()
            .all(|i| i.get("value").is_none() && i["id"].as_str().is_some())
    );
    let next = first.body["nextLink"].as_str().expect("nextLink");
    assert!(
        next.starts_with(&format!(
            "{base}secrets/many/versions?api-version=7.4&$skiptoken="
        )),
        "{next}"
    );
    assert!(next.ends_with("&maxresults=25"), "{next}");
    // A client that puts its own api-version on the link is served too.
    let rewritten = next.replace("api-version=7.4", "api-version=2025-07-01");
    let second = t.get(&rewritten).await;
    assert_eq!(second.body["value"].as_array().expect("value").len(), 5);
    assert!(second.body["nextLink"].is_null());

    let mut pages = 0;
    let mut seen = 0;
    let mut url = Some(format!("{base}secrets/many/versions?{API}&maxresults=10"));
    while let Some(u) = url {
        let page = t.get(&u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        seen += page.body["value"].as_array().expect("value").len();
        url = page.body["nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!((pages, seen), (3, 30));
    for bad in ["maxresults=0", "maxresults=26", "$skiptoken=junk"] {
        let r = t.get(&format!("{base}secrets/many/versions?{API}&{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
    }

    t.put(&format!("{base}secrets/other?{API}"), json!({"value": "o"}))
        .await;
    let list = t.get(&format!("{base}secrets?{API}")).await;
    let ids: Vec<&str> = list.body["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![format!("{base}secrets/many"), format!("{base}secrets/other")]
    );
}

#[tokio::test]
async fn soft_delete_recover_purge_and_the_409s() {
    let emu = start().await;
    let (base, t) = kv1(&emu).await;
    let url = format!("{base}secrets/n?{API}");
    t.put(&url, json!({"value": "x"})).await;
    let deleted = t.delete(&url).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["recoveryId"], format!("{base}deletedsecrets/n"));
    let (d, p) = (
        deleted.body["deletedDate"].as_i64().expect("deletedDate"),
        deleted.body["scheduledPurgeDate"]
            .as_i64()
            .expect("scheduledPurgeDate"),
    );
    assert_eq!(p - d, 90 * 86_400);
    assert!(deleted.body.get("value").is_none());

    let again = t.put(&url, json!({"value": "y"})).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        json!({"error":{"code":"Conflict","message":"Secret n is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.","innererror":{"code":"ObjectIsDeletedButRecoverable"}}})
    );
    assert_eq!(t.get(&url).await.status, 404);
    let got = t.get(&format!("{base}deletedsecrets/n?{API}")).await;
    assert_eq!(got.body["recoveryId"], format!("{base}deletedsecrets/n"));
    let recovered = t.post(&format!("{base}deletedsecrets/n/recover?{API}")).await;
    assert_eq!(recovered.status, 200, "{}", recovered.body);
    assert_eq!(t.get(&url).await.body["value"], "x");

    t.delete(&url).await;
    let purged = t.delete(&format!("{base}deletedsecrets/n?{API}")).await;
    assert_eq!(purged.status, 204);
    let gone = t.get(&format!("{base}deletedsecrets/n?{API}")).await;
    assert_eq!(
        gone.body,
        json!({"error":{"code":"SecretNotFound","message":"Deleted Secret not found: n"}})
    );
    assert_eq!(t.put(&url, json!({"value": "z"})).await.status, 200);

    // A delete that takes a while: ObjectIsBeingDeleted, then the usual 409.
    let (status, _) = emu
        .control(
            Method::POST,
            "/vaults/kv1/switches",
            json!({"transition_ms": 60_000}),
        )
        .await;
    assert_eq!(status, 200);
    t.delete(&url).await;
    let busy = t.put(&url, json!({"value": "w"})).await;
    assert_eq!(busy.body["error"]["innererror"]["code"], "ObjectIsBeingDeleted");
    emu.advance_clock(61).await;
    let token = emu.app_token(VAULT_AUDIENCE).await;
    let later = Caller::new(&emu, Some(&token))
        .put(&url, json!({"value": "w"}))
        .await;
    assert_eq!(
        later.body["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );
    Caller::new(&emu, Some(&token))
        .post(&format!("{base}deletedsecrets/n/recover?{API}"))
        .await;
    let recovering = Caller::new(&emu, Some(&token))
        .put(&url, json!({"value": "w"}))
        .await;
    assert_eq!(
        recovering.body["error"]["innererror"]["code"],
        "ObjectIsBeingRecovered"
    );
}

#[tokio::test]
async fn rbac_policy_and_firewall_switches_refuse_with_the_real_shapes() {
    let emu = start().await;
    let (base, t) = kv1(&emu).await;
    let url = format!("{base}secrets/n?{API}");
    t.put(&url, json!({"value": "x"})).await;

    let (status, dump) = emu
        .control(
            Method::POST,
            "/vaults/kv1/switches",
            json!({"denied_permissions": ["secrets/set"]}),
        )
        .await;
    assert_eq!(status, 200, "{dump}");
    assert_eq!(dump["settings"]["denied_permissions"], json!(["set"]));
    let rbac = t.put(&url, json!({"value": "y"})).await;
    assert_eq!(rbac.status, 403);
    assert_eq!(rbac.body["error"]["code"], "Forbidden");
    assert_eq!(rbac.body["error"]["innererror"]["code"], "ForbiddenByRbac");
    let message = rbac.body["error"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("Caller is not authorized to perform action on resource.\r\n"),
        "{message}"
    );
    assert!(
        message.contains(&format!("Caller: appid={};", demo::APP_ID)),
        "{message}"
    );
    assert!(
        message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'"),
        "{message}"
    );
    assert_eq!(t.get(&url).await.status, 200, "get is still allowed");
    let patch = t.patch(&format!("{base}secrets/n/?{API}"), json!({})).await;
    assert!(
        patch.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("secrets/update/action")
    );

    emu.control(
        Method::POST,
        "/vaults/kv1/switches",
        json!({"permission_model": "access_policy"}),
    )
    .await;
    let policy = t.put(&url, json!({"value": "y"})).await;
    assert_eq!(policy.body["error"]["innererror"]["code"], "ForbiddenByPolicy");
    let message = policy.body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("does not have secrets set permission on key vault 'kv1;location="),
        "{message}"
    );

    emu.control(
        Method::POST,
        "/vaults/kv1/switches",
        json!({"denied_permissions": ["*"], "firewall": false}),
    )
    .await;
    assert_eq!(t.get(&url).await.status, 403);
    emu.control(
        Method::POST,
        "/vaults/kv1/switches",
        json!({"denied_permissions": [], "firewall": true}),
    )
    .await;
    let firewall = t.get(&url).await;
    assert_eq!(
        firewall.body["error"]["innererror"]["code"],
        "ForbiddenByFirewall"
    );
    let (status, _) = emu
        .control(
            Method::POST,
            "/vaults/kv1/switches",
            json!({"denied_permissions": ["fly"]}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn faults_use_key_vaults_error_shape_and_can_drop_after_the_write() {
    let emu = start().await;
    let (base, t) = kv1(&emu).await;
    let url = format!("{base}secrets/n?{API}");
    emu.fault(FaultSpec::on("PUT /_vaults/kv1/secrets/*").status(429).times(1))
        .await;
    let throttled = t.put(&url, json!({"value": "x"})).await;
    assert_eq!(throttled.status, 429);
    assert!(!throttled.headers.contains_key("retry-after"));
    assert!(throttled.headers.contains_key("x-ms-request-id"));
    assert_eq!(
        throttled.body,
        json!({"error":{"code":"Throttled","message":"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}})
    );
    emu.fault(FaultSpec::on("GET /_vaults/kv1/**").status(503).times(1))
        .await;
    assert_eq!(t.get(&url).await.body["error"]["code"], "ServiceUnavailable");

    emu.fault(
        FaultSpec::on("PUT /_vaults/kv1/secrets/*")
            .drop_after_apply()
            .times(1),
    )
    .await;
    let dropped = emu
        .http
        .put(&url)
        .bearer_auth(t.token.as_deref().unwrap_or_default())
        .json(&json!({"value": "applied"}))
        .send()
        .await;
    assert!(dropped.is_err(), "the connection is closed without an answer");
    let (_, dump) = emu.control(Method::GET, "/vaults/kv1", Value::Null).await;
    let versions = dump["secrets"][0]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "the write was applied: {dump}");
    assert_eq!(versions[0]["value_sha256"], sha256("applied"));
    let log = emu.requests().await;
    assert!(
        log.iter()
            .any(|r| r["path"] == "/_vaults/kv1/secrets/n" && r["dropped"] == true)
    );
}

#[tokio::test]
async fn control_api_out_of_band_changes_and_reset() {
    let emu = start().await;
    let base = vault(&emu, "kv1").await;
    for bad in [
        json!({"name": "k"}),
        json!({"name": "a--b"}),
        json!({}),
        json!({"name": "kv2", "colour": 1}),
    ] {
        let (status, _) = emu.control(Method::POST, "/vaults", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = emu.control(Method::POST, "/vaults", json!({"name": "KV1"})).await;
    assert_eq!(status, 409);
    let (status, made) = emu
        .control(
            Method::POST,
            "/vaults",
            json!({"name": "kv2", "permission_model": "access_policy", "recoverable_days": 7}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (_, list) = emu.control(Method::GET, "/vaults", Value::Null).await;
    assert_eq!(list["vaults"].as_array().expect("vaults").len(), 2);

    // Someone else writes a version, disables it, deletes the secret.
    let (status, written) = emu
        .control(
            Method::PUT,
            "/vaults/kv1/secrets/n",
            json!({"value": "theirs", "tags": {"by": "someone"}}),
        )
        .await;
    assert_eq!(status, 201, "{written}");
    assert!(written.get("value").is_none());
    let version = version_of(written["id"].as_str().expect("id"));
    let token = emu.app_token(VAULT_AUDIENCE).await;
    let read = Caller::new(&emu, Some(&token))
        .get(&format!("{base}secrets/n?{API}"))
        .await;
    assert_eq!(read.body["value"], "theirs");
    let (status, _) = emu
        .control(
            Method::PATCH,
            &format!("/vaults/kv1/secrets/n/{version}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, 200);
    let read = Caller::new(&emu, Some(&token))
        .get(&format!("{base}secrets/n?{API}"))
        .await;
    assert_eq!(read.status, 403);
    let (status, _) = emu
        .control(Method::DELETE, "/vaults/kv1/secrets/n", Value::Null)
        .await;
    assert_eq!(status, 200);
    let (_, dump) = emu.control(Method::GET, "/vaults/kv1", Value::Null).await;
    assert_eq!(dump["deleted_secrets"][0]["name"], "n");
    let (status, _) = emu
        .control(Method::DELETE, "/vaults/kv1/deletedsecrets/n", Value::Null)
        .await;
    assert_eq!(status, 204);

    let (status, _) = emu.control(Method::POST, "/reset", Value::Null).await;
    assert_eq!(status, 200);
    let (_, list) = emu.control(Method::GET, "/vaults", Value::Null).await;
    assert_eq!(list["vaults"], json!([]));
    let (status, _) = emu.control(Method::GET, "/vaults/kv1", Value::Null).await;
    assert_eq!(status, 404);
}
