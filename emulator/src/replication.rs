//! Replication lag: a just-written directory object that reads do not see yet, for N reads and/or M ms.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::config::Settings;

/// Why a new object is still invisible to reads. `None` on the object means fully replicated.
#[derive(Debug, Clone, Serialize)]
pub struct Replication {
    /// Reads that will still miss the object.
    pub reads_left: u32,
    /// The object shows up from this instant (emulator clock) on.
    pub visible_at: DateTime<Utc>,
}

impl Replication {
    /// The lag a new object gets under the current settings (`None` when both delays are zero).
    pub fn for_new_object(settings: &Settings, now: DateTime<Utc>) -> Option<Self> {
        if settings.replication_delay_reads == 0 && settings.replication_delay_ms == 0 {
            return None;
        }
        let delay = i64::try_from(settings.replication_delay_ms).unwrap_or(i64::MAX);
        Some(Self {
            reads_left: settings.replication_delay_reads,
            visible_at: now + TimeDelta::milliseconds(delay),
        })
    }
}

/// Decides whether a read sees an object, consuming one of its pending invisible reads if not. Clears the
/// lag once it has passed so later reads are cheap.
pub fn read_sees(replication: &mut Option<Replication>, now: DateTime<Utc>) -> bool {
    let Some(lag) = replication else {
        return true;
    };
    if lag.reads_left > 0 {
        lag.reads_left -= 1;
        return false;
    }
    if now < lag.visible_at {
        return false;
    }
    *replication = None;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_then_time_must_pass() {
        let now = Utc::now();
        let settings = Settings {
            replication_delay_reads: 2,
            replication_delay_ms: 1000,
            ..Settings::default()
        };
        let mut lag = Replication::for_new_object(&settings, now);
        assert!(!read_sees(&mut lag, now));
        assert!(!read_sees(&mut lag, now));
        assert!(
            !read_sees(&mut lag, now),
            "reads used up, but the second has not passed"
        );
        assert!(read_sees(&mut lag, now + TimeDelta::milliseconds(1000)));
        assert!(lag.is_none());
        assert!(Replication::for_new_object(&Settings::default(), now).is_none());
    }
}
