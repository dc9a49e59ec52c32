//! Entra ID token endpoint answers (v1 strings-for-numbers and v2), their lifetimes, AADSTS error bodies
//! and Retry-After values. Never a panic.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use partnercenter_microsoft::{Service, decode, retry};

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let now = Utc
        .with_ymd_and_hms(2026, 11, 22, 6, 0, 0)
        .single()
        .expect("a valid time");
    match selector % 3 {
        0 => drop(decode::token_response(body, now)),
        1 => {
            let e = decode::api_error(Service::Login, 400 + u16::from(*selector) % 200, None, body, now);
            let _ = e.to_string();
            let _ = (&e.code, &e.aadsts);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(body) {
                let _ = retry::parse_retry_after(text, now);
            }
        }
    }
});
