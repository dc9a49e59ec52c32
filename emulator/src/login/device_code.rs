//! The device code endpoint (`/oauth2/v2.0/devicecode` and v1's `/oauth2/devicecode`): a code for the
//! user to enter, approved through the control API (`POST /_emulator/device-codes/approve`) and redeemed
//! at the token endpoint.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng as _;
use serde_json::json;

use super::error::Aadsts;
use super::sessions::DeviceCode;
use super::{Form, Shared, Version, find_app, param, parse_form, random_token, resolve_tenant};
use crate::emulator::Emulator;

const DEVICE_CODE_LIFETIME_SECONDS: i64 = 900;
const VERIFICATION_URI: &str = "https://microsoft.com/devicelogin";

/// `POST /{tenant}/oauth2[/v2.0]/devicecode`.
pub(super) async fn endpoint(
    AxumState(emu): Shared,
    Extension(ctx): Extension<crate::emulator::RequestContext>,
    version: Version,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let now = emu.clock.now();
    match start(&emu, &tenant, &parse_form(&body), now) {
        Ok(entry) => axum::Json(answer(&entry, version)).into_response(),
        Err(error) => error.render(now, &ctx),
    }
}

/// A new device code flow for a known client, remembered until redeemed or expired.
fn start(emu: &Emulator, tenant: &str, form: &Form, now: DateTime<Utc>) -> Result<DeviceCode, Aadsts> {
    let mut state = emu.state();
    resolve_tenant(&state, tenant, true)?;
    let client_id = param(form, "client_id")?.to_owned();
    find_app(&state, &client_id, tenant)?;
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let user_code: String = (0..9)
        .map(|_| char::from(LETTERS[rng.random_range(0..LETTERS.len())]))
        .collect();
    let entry = DeviceCode {
        device_code: format!("DAQABAAEAAA{}", random_token(48)),
        user_code,
        client_id,
        scope: form.get("scope").cloned(),
        resource: form.get("resource").cloned(),
        expires: now + TimeDelta::seconds(DEVICE_CODE_LIFETIME_SECONDS),
        approved: false,
        redeemed: false,
        mfa: false,
    };
    state.sessions.device_codes.push(entry.clone());
    Ok(entry)
}

/// v2 answers `verification_uri` and numbers; v1 `verification_url` and numbers as strings.
fn answer(entry: &DeviceCode, version: Version) -> serde_json::Value {
    let message = format!(
        "To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the code {} to authenticate.",
        entry.user_code
    );
    match version {
        Version::V2 => json!({
            "user_code": entry.user_code,
            "device_code": entry.device_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": DEVICE_CODE_LIFETIME_SECONDS,
            "interval": 5,
            "message": message,
        }),
        Version::V1 => json!({
            "user_code": entry.user_code,
            "device_code": entry.device_code,
            "verification_url": VERIFICATION_URI,
            "expires_in": DEVICE_CODE_LIFETIME_SECONDS.to_string(),
            "interval": "5",
            "message": message,
        }),
    }
}
