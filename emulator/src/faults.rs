//! Injected faults per route pattern: a status (with the route's own error shape), Retry-After, latency,
//! a dropped connection after the write is applied; limited by count or a seeded probability.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A fault as the control API receives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `"METHOD /path/glob"`: `*` matches one path segment, `**` any number; method `*` matches any.
    pub route: String,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub latency_ms: Option<u64>,
    /// Apply this many times, then stop.
    pub count: Option<u32>,
    /// Apply to this fraction of matching requests (decided by the emulator's seeded RNG).
    pub probability: Option<f64>,
    /// Let the request through (the write happens), then close the connection without a response.
    #[serde(default)]
    pub drop_connection_after_apply: bool,
    /// The error body to answer with instead of the route's default error shape.
    pub body: Option<Value>,
}

/// A fault in force.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: String,
    pub route: String,
    #[serde(skip)]
    method: String,
    #[serde(skip)]
    segments: Vec<String>,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub latency_ms: Option<u64>,
    /// Applications left (`None` = unlimited).
    pub remaining: Option<u32>,
    pub probability: Option<f64>,
    pub drop_connection_after_apply: bool,
    pub body: Option<Value>,
    /// How many times it has been applied.
    pub applied: u32,
}

/// Rejected fault definitions.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("route '{0}' must look like \"METHOD /path/glob\"")]
    Route(String),
    #[error("status {0} is not an HTTP error status (400-599)")]
    Status(u16),
    #[error("probability {0} must be between 0 and 1")]
    Probability(f64),
}

/// The faults and the RNG that decides probabilistic ones.
#[derive(Debug)]
pub struct FaultBook {
    faults: Vec<Fault>,
    rng: StdRng,
    next_id: u64,
}

impl FaultBook {
    pub fn new(seed: u64) -> Self {
        Self {
            faults: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            next_id: 1,
        }
    }

    pub fn add(&mut self, spec: FaultSpec) -> Result<Fault, FaultError> {
        let (method, path) = match spec.route.trim().split_once(' ') {
            Some((method, path)) => (method.trim().to_ascii_uppercase(), path.trim()),
            None => ("*".to_owned(), spec.route.trim()),
        };
        if !path.starts_with('/') {
            return Err(FaultError::Route(spec.route));
        }
        if let Some(status) = spec.status {
            if !(400..=599).contains(&status) {
                return Err(FaultError::Status(status));
            }
        }
        if let Some(p) = spec.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultError::Probability(p));
            }
        }
        let fault = Fault {
            id: format!("fault-{}", self.next_id),
            route: spec.route.clone(),
            method,
            segments: split(path),
            status: spec.status,
            retry_after: spec.retry_after,
            latency_ms: spec.latency_ms,
            remaining: spec.count,
            probability: spec.probability,
            drop_connection_after_apply: spec.drop_connection_after_apply,
            body: spec.body,
            applied: 0,
        };
        self.next_id += 1;
        self.faults.push(fault.clone());
        Ok(fault)
    }

    pub fn list(&self) -> &[Fault] {
        &self.faults
    }

    pub fn clear(&mut self) {
        self.faults.clear();
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.faults.len();
        self.faults.retain(|f| f.id != id);
        before != self.faults.len()
    }

    /// The first fault that fires for this request (consuming one of its applications).
    pub fn fire(&mut self, method: &str, path: &str) -> Option<Fault> {
        let segments = split(path);
        for fault in &mut self.faults {
            if fault.remaining == Some(0) {
                continue;
            }
            if fault.method != "*" && !fault.method.eq_ignore_ascii_case(method) {
                continue;
            }
            if !glob(&fault.segments, &segments) {
                continue;
            }
            if let Some(p) = fault.probability {
                if self.rng.random::<f64>() >= p {
                    continue;
                }
            }
            if let Some(remaining) = fault.remaining.as_mut() {
                *remaining -= 1;
            }
            fault.applied += 1;
            return Some(fault.clone());
        }
        None
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `*` = one segment, `**` = zero or more; literal segments compare case-insensitively.
fn glob(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((head, rest)) if head == "**" => {
            (0..=path.len()).any(|skip| glob(rest, path.get(skip..).unwrap_or_default()))
        }
        Some((head, rest)) => match path.split_first() {
            Some((segment, tail)) => (head == "*" || head.eq_ignore_ascii_case(segment)) && glob(rest, tail),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        split(path)
    }

    #[test]
    fn globs_match_segments() {
        assert!(glob(
            &segs("/v1.0/applications/*/addPassword"),
            &segs("/v1.0/applications/abc/addpassword")
        ));
        assert!(!glob(
            &segs("/v1.0/applications/*"),
            &segs("/v1.0/applications/abc/addPassword")
        ));
        assert!(glob(
            &segs("/v1.0/**"),
            &segs("/v1.0/applications/abc/addPassword")
        ));
        assert!(glob(&segs("/**/token"), &segs("/tenant/oauth2/v2.0/token")));
        assert!(!glob(&segs("/v1/customers"), &segs("/v1/customers/x")));
    }
}
