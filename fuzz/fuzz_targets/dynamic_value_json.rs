//! DynamicValue JSON and stored state (`UpgradeResourceState` hands raw state JSON over), and cty type
//! JSON: arbitrary bytes must decode or fail, never panic; decoded values re-encode stably.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use terraform_provider_partnercenter::protocol::Type;
use terraform_provider_partnercenter::protocol::value::{from_json, to_json};

fuzz_target!(|data: &[u8]| {
    let Some((ty, bytes)) = common::split(data) else {
        return;
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    // The same bytes read as a cty type, as schemas and dynamic values carry them.
    let _ = Type::from_json(&json);
    for drop_unknown in [false, true] {
        if let Ok(value) = from_json(&json, ty, drop_unknown) {
            let encoded = to_json(&value, ty);
            let again = from_json(&encoded, ty, false).expect("JSON this crate wrote decodes again");
            // JSON is compared as JSON: a number beyond f64 (say "1e400") decodes to an infinity, which
            // JSON can only write as null, so msgpack encodings may differ while the JSON form is stable.
            assert_eq!(to_json(&again, ty), encoded, "the JSON encoding is a fixed point");
        }
    }
});
