//! The `timeouts` block of managed resources, as in every HashiCorp provider: how long an operation may
//! keep retrying and waiting for Microsoft's replication before it gives up.

use std::time::Duration;

use crate::protocol::{Attribute, Block, NestedBlock, Nesting, Value};
use crate::provider::duration;

/// Default limits per operation.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub create: Duration,
    pub read: Duration,
    pub update: Duration,
    pub delete: Duration,
}

pub fn block(defaults: Defaults) -> NestedBlock {
    let attribute = |name: &str, default: Duration| {
        Attribute::string(name)
            .optional()
            .description(&format!(
                "How long {name} may take, e.g. `\"30m\"` (default `\"{}m\"`).",
                default.as_secs() / 60
            ))
            .validate(duration::validator())
    };
    NestedBlock::new(
        "timeouts",
        Nesting::Single,
        Block::new("Limits for each operation, in Go duration syntax.")
            .attribute(attribute("create", defaults.create))
            .attribute(attribute("read", defaults.read))
            .attribute(attribute("update", defaults.update))
            .attribute(attribute("delete", defaults.delete)),
    )
}

/// The configured limit for `operation` (`"create"`, ...), from a config, plan or state value.
pub fn get(value: &Value, operation: &str, default: Duration) -> Duration {
    value
        .get("timeouts")
        .get(operation)
        .as_str()
        .and_then(|s| duration::parse(s).ok())
        .unwrap_or(default)
}
