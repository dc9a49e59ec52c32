//! Partner Center answers: customer and reseller pages (with next-link resolution), profiles, and error
//! bodies of every documented shape with an arbitrary status and Retry-After. Never a panic.
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
        0 => {
            if let Ok((_, Some(next))) = decode::customers_page(body) {
                assert_eq!(
                    next.host_str(),
                    Some("api.partnercenter.microsoft.com"),
                    "next links stay on the host"
                );
            }
        }
        1 => drop(decode::indirect_resellers_page(body)),
        2 => drop(decode::mpn_profile(body)),
        3 => drop(decode::organization_profile(body)),
        _ => {
            // The first line is the Retry-After header, the rest the body.
            let (header, body) = match body.iter().position(|b| *b == b'\n') {
                Some(i) => (std::str::from_utf8(&body[..i]).ok(), &body[i + 1..]),
                None => (None, body),
            };
            let status = 400 + u16::from(*selector) % 200;
            let e = decode::api_error(Service::PartnerCenter, status, header, body, now);
            let _ = e.to_string();
            let _ = (&e.code, &e.aadsts);
        }
    }
});
