//! Turning a Microsoft client error into a Terraform diagnostic: what we were doing, what Microsoft
//! answered (status, code, message, request and correlation ids, all in the client error's text), and what
//! to do. Secrets never reach these texts: the client's errors carry none.

use partnercenter_microsoft::Error;

use crate::protocol::{AttributePath, Diagnostic};

/// `doing` completes "Error <doing>", e.g. "reading the MPN profile".
pub fn diagnostic(doing: &str, error: &Error) -> Diagnostic {
    let summary = format!("Error {doing}");
    let detail = match error {
        Error::Cancelled => "Terraform interrupted the operation (Ctrl-C); nothing was changed.".to_owned(),
        Error::Timeout { last: Some(last) } => {
            format!("Gave up after retrying until the timeout. The last answer was: {last}")
        }
        Error::Timeout { last: None } => "Gave up: the timeout was reached before an answer came.".to_owned(),
        other => other.to_string(),
    };
    Diagnostic::error(summary, detail)
}

/// The same, pointing at the attribute whose value the error is about.
pub fn attribute_diagnostic(doing: &str, error: &Error, attribute: &str) -> Diagnostic {
    diagnostic(doing, error).at(AttributePath::root(attribute))
}
