//! Partner Center's customer resource throttle: at most N requests per partner tenant in any sliding minute.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

/// Request times per tenant within the last minute.
#[derive(Debug, Default)]
pub struct Throttle {
    recent: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl Throttle {
    /// Counts a request; `Err(seconds)` = refused, retry after that many seconds.
    pub fn admit(&mut self, tenant: &str, now: DateTime<Utc>, per_minute: u32) -> Result<(), u64> {
        let window = self.recent.entry(tenant.to_ascii_lowercase()).or_default();
        let minute_ago = now - TimeDelta::seconds(60);
        while window.front().is_some_and(|t| *t <= minute_ago) {
            window.pop_front();
        }
        if window.len() >= per_minute as usize {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = (oldest + TimeDelta::seconds(60) - now).num_milliseconds();
            // Round up: "Try again in 0 seconds" would invite an immediate retry that fails again.
            return Err(u64::try_from((wait + 999) / 1000).unwrap_or(1).max(1));
        }
        window.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sliding_minute_per_tenant() {
        let start = Utc::now();
        let mut throttle = Throttle::default();
        assert!(throttle.admit("t", start, 2).is_ok());
        assert!(throttle.admit("t", start + TimeDelta::seconds(30), 2).is_ok());
        assert_eq!(throttle.admit("T", start + TimeDelta::seconds(31), 2), Err(29));
        assert!(throttle.admit("other", start + TimeDelta::seconds(31), 2).is_ok());
        assert!(throttle.admit("t", start + TimeDelta::seconds(61), 2).is_ok());
    }
}
