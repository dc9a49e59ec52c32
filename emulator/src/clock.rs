//! The emulator's movable clock: real time plus an offset the control API sets or advances.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Time as the emulated Microsoft services see it. It keeps flowing at the real rate; tests move it
/// forward to expire keys and tokens without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset: Mutex<TimeDelta>,
}

impl Clock {
    /// A clock that starts at `start` (or at the real time when `None`).
    pub fn starting_at(start: Option<DateTime<Utc>>) -> Self {
        let clock = Self::default();
        if let Some(start) = start {
            clock.set(start);
        }
        clock
    }

    /// The emulator's "now".
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }

    /// Jump to `at` (time keeps flowing from there).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at - Utc::now();
    }

    /// Move forward (or backward, with a negative value) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        *self.lock() += TimeDelta::seconds(seconds);
    }

    fn offset(&self) -> TimeDelta {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TimeDelta> {
        // A poisoned offset is still a valid offset.
        self.offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
