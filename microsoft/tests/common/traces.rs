//! Everything traced while a test runs, at every level, captured for checks that no secret leaks.
//! Use in a test binary of its own: tracing caches per-callsite interest process-wide, and other tests
//! running without a subscriber would hide events from this test's thread-local one.

use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::subscriber::DefaultGuard;

/// Where the traces go.
#[derive(Clone, Default)]
pub struct Traces(Arc<Mutex<Vec<u8>>>);

impl Write for Traces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Traces {
    /// Captures this thread's traces, at every level, until the guard drops.
    pub fn capture() -> (Self, DefaultGuard) {
        let traces = Self::default();
        let writer = traces.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (traces, tracing::subscriber::set_default(subscriber))
    }

    /// What was traced so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf8")
    }
}
