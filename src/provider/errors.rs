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
        other if needs_mfa(other) => format!(
            "{other}. Partner Center requires multi-factor authentication for App+User calls, and the refresh \
             token in use comes from a sign-in without MFA. What to do: sign in again with MFA, `{LOGIN} \
             --tenant-id <tenant> --client-id <app id> --out refresh-token.txt` (the sign-in must satisfy MFA), \
             and point refresh_token_file_path (or PARTNERCENTER_REFRESH_TOKEN) at the new token."
        ),
        other => other.to_string(),
    };
    Diagnostic::error(summary, detail)
}

/// The provider's sign-in command, which obtains a Secure Application Model refresh token.
const LOGIN: &str = "terraform-provider-partnercenter login";

/// Partner Center's answer to an App+User call whose token lacks MFA: 401 with code 900421 (reference
/// azure-key-vault-mfa-policies.md §B.2).
fn needs_mfa(error: &Error) -> bool {
    error
        .api()
        .is_some_and(|api| api.status == 401 && api.code.as_deref() == Some("900421"))
}

/// The same, pointing at the attribute whose value the error is about.
pub fn attribute_diagnostic(doing: &str, error: &Error, attribute: &str) -> Diagnostic {
    diagnostic(doing, error).at(AttributePath::root(attribute))
}
