//! The request log: every non-control request with its method, path, query and answered status.

use serde::Serialize;

/// One served request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The status the handler (or fault) produced; also recorded when the connection was then dropped.
    pub status: u16,
    /// The connection was closed instead of sending the response.
    pub dropped: bool,
    /// The id of the fault that decided the answer (else the first that fired, e.g. a latency), if any.
    pub fault: Option<String>,
    /// The ids of every fault that fired for this request.
    pub faults: Vec<String>,
}

/// In order of arrival.
#[derive(Debug, Default)]
pub struct RequestLog {
    records: Vec<RequestRecord>,
}

impl RequestLog {
    pub fn push(&mut self, record: RequestRecord) {
        self.records.push(record);
    }

    pub fn records(&self) -> &[RequestRecord] {
        &self.records
    }

    pub fn clear(&mut self) {
        self.records.clear();
    }
}
