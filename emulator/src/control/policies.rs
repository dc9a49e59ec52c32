//! App management policies set up by tests: the tenant default and assigned policies that Graph serves and
//! addPassword obeys.

use std::sync::Arc;

use axum::Router;

use crate::emulator::Emulator;

pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
}
