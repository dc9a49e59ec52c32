//! Logs as hclog JSON lines on stderr, the format go-plugin parses into levelled Terraform log entries, so
//! `TF_LOG` and `TF_LOG_PROVIDER` work as users expect.
//!
//! Only this workspace's crates log: the HTTP and TLS libraries below us trace raw frames and headers at
//! trace level, and a token must never reach the log at any level.

use std::io::Write;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// Crates whose events are logged; everything else is dropped.
const LOGGED_TARGETS: [&str; 2] = ["terraform_provider_partnercenter", "partnercenter_microsoft"];

/// The level asked for by `TF_LOG_PROVIDER_PARTNERCENTER`, `TF_LOG_PROVIDER` or `TF_LOG`, in that order.
pub fn level_from_env() -> Option<Level> {
    ["TF_LOG_PROVIDER_PARTNERCENTER", "TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .and_then(|v| parse_level(&v))
}

fn parse_level(value: &str) -> Option<Level> {
    match value.to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        _ => None,
    }
}

/// Installs the hclog writer for `level`; with no level nothing is logged (and nothing is formatted).
pub fn init(level: Option<Level>) {
    let Some(level) = level else { return };
    let subscriber = Registry::default().with(HclogLayer { max: level });
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HclogLayer {
    max: Level,
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        *metadata.level() <= self.max && LOGGED_TARGETS.iter().any(|t| metadata.target().starts_with(t))
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let line = hclog_line(event);
        // One write per line so lines from concurrent tasks never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

fn hclog_line(event: &Event<'_>) -> String {
    let mut fields = FieldCollector(Map::new());
    event.record(&mut fields);
    let mut line = fields.0;
    let message = line.remove("message").unwrap_or(Json::String(String::new()));
    let level = match *event.metadata().level() {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    };
    line.insert("@level".into(), level.into());
    line.insert("@message".into(), message);
    line.insert("@module".into(), "partnercenter".into());
    line.insert(
        "@timestamp".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .into(),
    );
    let mut out = Json::Object(line).to_string();
    out.push('\n');
    out
}

struct FieldCollector(Map<String, Json>);

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_level_names_are_understood() {
        assert_eq!(parse_level("trace"), Some(Level::TRACE));
        assert_eq!(parse_level("JSON"), Some(Level::TRACE));
        assert_eq!(parse_level("warn"), Some(Level::WARN));
        assert_eq!(parse_level("off"), None);
    }
}
