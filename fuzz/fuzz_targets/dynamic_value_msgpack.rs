//! DynamicValue msgpack, as Terraform sends it in every RPC: decoding arbitrary bytes against the
//! provider's own schema types must return a value or an error, never panic; a decoded value re-encodes
//! to bytes that decode to the same encoding (a stable canonical form).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use terraform_provider_partnercenter::protocol::value::{from_msgpack, to_msgpack};

fuzz_target!(|data: &[u8]| {
    let Some((ty, bytes)) = common::split(data) else {
        return;
    };
    if let Ok(value) = from_msgpack(bytes, ty) {
        let encoded = to_msgpack(&value, ty);
        let again = from_msgpack(&encoded, ty).expect("a value this crate encoded decodes again");
        assert_eq!(to_msgpack(&again, ty), encoded, "encoding is stable");
    }
});
