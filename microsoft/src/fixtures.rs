//! The recorded Microsoft answers under `tests/fixtures/`, for the unit tests beside the decoders.

/// The bytes of `tests/fixtures/{name}`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
