//! The control API for vaults (`/_emulator/vaults`): create, dump, switches (RBAC / access policy
//! denials, firewall, delete and recover windows), delete; and out-of-band writes that bypass auth,
//! switches and faults (someone else writing, disabling or deleting a secret).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store::{
    AttributeParams, Permission, PermissionModel, SecretParams, Vault, VaultSettings, is_vault_name,
};
use super::{PREFIX, origin};
use crate::control::{ControlError, ControlResult, parse_json};
use crate::emulator::Emulator;

type Shared = AxumState<Arc<Emulator>>;

/// The routes, nested under `/_emulator/vaults`.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/", post(create).get(list))
        .route("/{vault}", get(dump).delete(remove))
        .route("/{vault}/switches", post(switches))
        .route(
            "/{vault}/secrets/{secret}",
            put(write_secret).delete(delete_secret),
        )
        .route("/{vault}/secrets/{secret}/{version}", patch(update_version))
        .route(
            "/{vault}/deletedsecrets/{secret}",
            axum::routing::delete(purge_secret),
        )
}

fn vault_uri(headers: &HeaderMap, name: &str) -> String {
    format!("{}{PREFIX}{name}/", origin(headers))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switches {
    permission_model: Option<PermissionModel>,
    /// Replaces the denied set: `"set"`, `"secrets/get"`, … or `"*"` for all.
    denied_permissions: Option<Vec<String>>,
    firewall: Option<bool>,
    transition_ms: Option<u64>,
    recoverable_days: Option<u32>,
}

impl Switches {
    fn apply(self, settings: &mut VaultSettings) -> Result<(), ControlError> {
        if let Some(m) = self.permission_model {
            settings.permission_model = m;
        }
        if let Some(denied) = self.denied_permissions {
            let mut set = std::collections::BTreeSet::new();
            for p in denied {
                if p.trim() == "*" {
                    set.extend(Permission::all());
                } else {
                    set.insert(Permission::parse(&p).ok_or_else(|| {
                        ControlError::bad_request(format!(
                            "unknown permission {p:?}: get, list, set, delete, recover, purge or *"
                        ))
                    })?);
                }
            }
            settings.denied_permissions = set;
        }
        if let Some(f) = self.firewall {
            settings.firewall = f;
        }
        if let Some(t) = self.transition_ms {
            settings.transition_ms = t;
        }
        if let Some(d) = self.recoverable_days {
            if !(7..=90).contains(&d) {
                return Err(ControlError::bad_request("recoverable_days must be 7-90"));
            }
            settings.recoverable_days = d;
        }
        Ok(())
    }
}

/// `POST /_emulator/vaults {name, …switches}` → 201 `{name, vault_uri}`.
async fn create(AxumState(emu): Shared, headers: HeaderMap, body: Bytes) -> ControlResult {
    let raw: Value = parse_json(&body)?;
    let Some(name) = raw.get("name").and_then(Value::as_str).map(str::to_owned) else {
        return Err(ControlError::bad_request("name is required"));
    };
    if !is_vault_name(&name) {
        return Err(ControlError::bad_request(format!(
            "{name:?} is not a vault name: 3-24 letters, digits and single hyphens, a letter first"
        )));
    }
    let mut rest = raw.clone();
    if let Some(map) = rest.as_object_mut() {
        map.remove("name");
    }
    let switches: Switches = serde_json::from_value(rest)
        .map_err(|e| ControlError::bad_request(format!("invalid vault settings: {e}")))?;
    let mut settings = VaultSettings::default();
    switches.apply(&mut settings)?;
    let key = name.to_ascii_lowercase();
    let mut vaults = emu.key_vault.lock();
    if vaults.contains_key(&key) {
        return Err(ControlError::conflict(format!("vault {name} exists")));
    }
    vaults.insert(key.clone(), Vault::new(&key, settings));
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": key, "vault_uri": vault_uri(&headers, &key) })),
    )
        .into_response())
}

async fn list(AxumState(emu): Shared, headers: HeaderMap) -> Response {
    let vaults = emu.key_vault.lock();
    let items: Vec<Value> = vaults
        .keys()
        .map(|name| json!({ "name": name, "vault_uri": vault_uri(&headers, name) }))
        .collect();
    Json(json!({ "vaults": items })).into_response()
}

fn with_vault(emu: &Emulator, name: &str, f: impl FnOnce(&mut Vault) -> Response) -> ControlResult {
    let mut vaults = emu.key_vault.lock();
    match vaults.get_mut(&name.to_ascii_lowercase()) {
        Some(v) => Ok(f(v)),
        None => Err(ControlError::not_found(format!("no vault {name}"))),
    }
}

/// `GET /_emulator/vaults/{vault}`: settings, versions (values as `value_sha256` and `value_bytes`),
/// deleted secrets, request log.
async fn dump(AxumState(emu): Shared, headers: HeaderMap, Path(name): Path<String>) -> ControlResult {
    let base = vault_uri(&headers, &name.to_ascii_lowercase());
    with_vault(&emu, &name, |v| Json(v.dump(&base)).into_response())
}

async fn remove(AxumState(emu): Shared, Path(name): Path<String>) -> ControlResult {
    match emu.key_vault.lock().remove(&name.to_ascii_lowercase()) {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(ControlError::not_found(format!("no vault {name}"))),
    }
}

/// `POST /_emulator/vaults/{vault}/switches`: changes the given switches, answers the dump.
async fn switches(
    AxumState(emu): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ControlResult {
    let switches: Switches = parse_json(&body)?;
    let base = vault_uri(&headers, &name.to_ascii_lowercase());
    with_vault(&emu, &name, |v| match switches.apply(&mut v.settings) {
        Ok(()) => Json(v.dump(&base)).into_response(),
        Err(refused) => refused.into_response(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfBandSecret {
    value: String,
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

/// `PUT /_emulator/vaults/{vault}/secrets/{secret}`: a version written by someone else.
async fn write_secret(
    AxumState(emu): Shared,
    headers: HeaderMap,
    Path((name, secret)): Path<(String, String)>,
    body: Bytes,
) -> ControlResult {
    let s: OutOfBandSecret = parse_json(&body)?;
    let now = emu.clock.now();
    let base = vault_uri(&headers, &name.to_ascii_lowercase());
    let params = SecretParams {
        value: Some(s.value),
        content_type: s.content_type,
        tags: s.tags,
        attributes: Some(AttributeParams {
            enabled: s.enabled,
            nbf: s.nbf,
            exp: s.exp,
        }),
    };
    with_vault(&emu, &name, |v| match v.set(&base, &secret, params, now) {
        Ok(mut bundle) => {
            // The control API never hands a value back.
            if let Some(map) = bundle.as_object_mut() {
                map.remove("value");
            }
            (StatusCode::CREATED, Json(bundle)).into_response()
        }
        Err(e) => e.render(None),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfBandUpdate {
    enabled: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
}

/// `PATCH /_emulator/vaults/{vault}/secrets/{secret}/{version}` `{enabled?, tags?}`.
async fn update_version(
    AxumState(emu): Shared,
    headers: HeaderMap,
    Path((name, secret, version)): Path<(String, String, String)>,
    body: Bytes,
) -> ControlResult {
    let u: OutOfBandUpdate = parse_json(&body)?;
    let now = emu.clock.now();
    let base = vault_uri(&headers, &name.to_ascii_lowercase());
    let params = SecretParams {
        tags: u.tags,
        attributes: Some(AttributeParams {
            enabled: u.enabled,
            ..AttributeParams::default()
        }),
        ..SecretParams::default()
    };
    with_vault(&emu, &name, |v| {
        match v.update(&base, &secret, &version, params, now) {
            Ok(bundle) => Json(bundle).into_response(),
            Err(e) => e.render(None),
        }
    })
}

/// `DELETE /_emulator/vaults/{vault}/secrets/{secret}`: soft delete by someone else.
async fn delete_secret(
    AxumState(emu): Shared,
    headers: HeaderMap,
    Path((name, secret)): Path<(String, String)>,
) -> ControlResult {
    let now = emu.clock.now();
    let base = vault_uri(&headers, &name.to_ascii_lowercase());
    with_vault(&emu, &name, |v| match v.delete(&base, &secret, now) {
        Ok(bundle) => Json(bundle).into_response(),
        Err(e) => e.render(None),
    })
}

/// `DELETE /_emulator/vaults/{vault}/deletedsecrets/{secret}`: purge by someone else.
async fn purge_secret(AxumState(emu): Shared, Path((name, secret)): Path<(String, String)>) -> ControlResult {
    let now = emu.clock.now();
    with_vault(&emu, &name, |v| match v.purge(&secret, now) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.render(None),
    })
}
