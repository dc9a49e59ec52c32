//! Injected faults per route pattern: a status (with the route's own error shape), Retry-After, latency,
//! a dropped connection after the write is applied; limited by count or a seeded probability. Several
//! faults can match one request: all of them fire, their latencies add up, and the first one with a status
//! or a drop decides the answer.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A fault as the control API receives it (`POST /_emulator/faults`), and a typed builder for Rust tests:
///
/// ```
/// use partnercenter_emulator::FaultSpec;
/// let spec = FaultSpec::on("POST /v1.0/applications/*/addPassword").status(429).retry_after(1).times(2);
/// assert_eq!(
///     spec.to_json(),
///     serde_json::json!({"route": "POST /v1.0/applications/*/addPassword", "status": 429, "retry_after": 1, "count": 2})
/// );
/// ```
///
/// It serializes to exactly the JSON the control API takes (absent options are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `"METHOD /path/glob"`: `*` matches one path segment, `**` any number; method `*` matches any.
    route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    /// Apply this many times, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    /// Apply to this fraction of matching requests (decided by the emulator's seeded RNG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probability: Option<f64>,
    /// Let the request through (the write happens), then close the connection without a response.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    drop_connection_after_apply: bool,
    /// The error body to answer with instead of the route's default error shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
}

impl FaultSpec {
    /// A fault on `route` (`"METHOD /path/glob"`) that does nothing until given a status, latency or drop.
    pub fn on(route: impl Into<String>) -> Self {
        Self {
            route: route.into(),
            status: None,
            retry_after: None,
            latency_ms: None,
            count: None,
            probability: None,
            drop_connection_after_apply: false,
            body: None,
        }
    }

    /// Answer with this HTTP error status (400-599) instead of running the handler.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Add `Retry-After: seconds` to the answer.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Wait this long before handling the request.
    pub fn latency_ms(mut self, milliseconds: u64) -> Self {
        self.latency_ms = Some(milliseconds);
        self
    }

    /// Fire `count` times, then stop (the JSON field is `count`).
    pub fn times(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }

    /// Fire for this fraction (0..=1) of matching requests, decided by the emulator's seeded fault RNG.
    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }

    /// Run the handler (the write happens), then close the connection without a response.
    pub fn drop_after_apply(mut self) -> Self {
        self.drop_connection_after_apply = true;
        self
    }

    /// The body to answer with (JSON, or a JSON string sent verbatim) instead of the route's error shape.
    pub fn body(mut self, body: impl Into<Value>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The JSON the control API takes.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
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

    /// Every fault that fires for this request, in the order they were added (each consumes one of its
    /// applications).
    pub fn fire(&mut self, method: &str, path: &str) -> Fired {
        let segments = split(path);
        let mut fired = Vec::new();
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
            fired.push(fault.clone());
        }
        Fired(fired)
    }
}

/// The faults that fired for one request.
#[derive(Debug, Default)]
pub struct Fired(Vec<Fault>);

impl Fired {
    /// The sum of their latencies (`None` when none adds any).
    pub fn latency_ms(&self) -> Option<u64> {
        self.0
            .iter()
            .filter_map(|f| f.latency_ms)
            .reduce(u64::saturating_add)
    }

    /// The first with a status or a drop: it decides the answer. The others only add latency.
    pub fn decider(&self) -> Option<&Fault> {
        self.0
            .iter()
            .find(|f| f.status.is_some() || f.drop_connection_after_apply)
    }

    /// The fault the request log names: the decider, else the first that fired.
    pub fn shown(&self) -> Option<&Fault> {
        self.decider().or(self.0.first())
    }

    /// The ids of all that fired.
    pub fn ids(&self) -> Vec<String> {
        self.0.iter().map(|f| f.id.clone()).collect()
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
