//! Microsoft Graph answers: application (with password credentials), addPassword, service principal,
//! permission grant lists, and Graph error bodies. Never a panic.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use partnercenter_microsoft::{Service, decode};

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let now = Utc
        .with_ymd_and_hms(2026, 11, 22, 6, 0, 0)
        .single()
        .expect("a valid time");
    match selector % 5 {
        0 => drop(decode::application(body)),
        1 => drop(decode::added_password(body)),
        2 => drop(decode::service_principal(body)),
        3 => drop(decode::permission_grants(body)),
        _ => {
            let e = decode::api_error(Service::Graph, 400 + u16::from(*selector) % 200, None, body, now);
            let _ = e.to_string();
        }
    }
});
