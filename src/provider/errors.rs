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
        Error::Timeout { last: Some(last) } => format!(
            "Gave up after retrying until the timeout. The last answer was: {}",
            describe(last)
        ),
        Error::Timeout { last: None } => "Gave up: the timeout was reached before an answer came.".to_owned(),
        other if needs_mfa(other) => format!(
            "{other}. Partner Center requires multi-factor authentication for App+User calls, and the refresh \
             token in use comes from a sign-in without MFA. What to do: sign in again with MFA, `{LOGIN} \
             --tenant-id <tenant> --client-id <app id> --out refresh-token.txt` (the sign-in must satisfy MFA), \
             and point refresh_token_file_path (or PARTNERCENTER_REFRESH_TOKEN) at the new token."
        ),
        other => describe(other),
    };
    Diagnostic::error(summary, detail)
}

/// The client error's text (facts: what failed, Microsoft's answer and ids) and, where the user can do
/// something about it, what, in Terraform's terms.
pub fn describe(error: &Error) -> String {
    match advice(error) {
        Some(advice) => format!("{error}. {advice}"),
        None => error.to_string(),
    }
}

/// The provider's sign-in command, which obtains a Secure Application Model refresh token.
pub const LOGIN: &str = "terraform-provider-partnercenter login";

fn advice(error: &Error) -> Option<String> {
    if let Error::RefreshTokenNeeded {
        tenant_id, client_id, ..
    } = error
    {
        return Some(format!(
            "Get one with `{LOGIN} --tenant-id {tenant_id} --client-id {client_id}`, then set \
             refresh_token_file_path (or PARTNERCENTER_REFRESH_TOKEN) to it"
        ));
    }
    let aadsts = error.api()?.aadsts.as_deref()?;
    login_advice(aadsts).map(|what| format!("What to do: {what}"))
}

/// What to do about the common login failures, by the AADSTS code Entra answered with
/// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
pub fn login_advice(aadsts: &str) -> Option<String> {
    let advice = match aadsts.trim_start_matches("AADSTS") {
        "7000215" => "check client_secret: it is wrong, or the key has expired or was deleted".to_owned(),
        "7000222" => "the client secret has expired: add a new key and set client_secret to it".to_owned(),
        "700082" | "70008" | "700084" | "50173" => format!(
            "the refresh token has expired or was revoked: run `{LOGIN}` again and set the new refresh token"
        ),
        "90002" | "900023" => "the tenant was not found: check tenant_id and environment".to_owned(),
        "700016" => "the application was not found in the tenant: check client_id, tenant_id and environment"
            .to_owned(),
        "90038" => "the credentials belong to another cloud: check environment".to_owned(),
        "65001" => {
            "the application lacks consent for the requested permission: grant admin consent".to_owned()
        }
        "50076" | "50079" => {
            format!("multi-factor authentication is required: run `{LOGIN}` to sign in interactively")
        }
        "7000218" => {
            "the token request needs a client secret or federated token: set client_secret".to_owned()
        }
        "700213" | "70021" | "700024" => "the federated token was refused: check the federated credential's \
             issuer, subject and audience on the application"
            .to_owned(),
        _ => return None,
    };
    Some(advice)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use partnercenter_microsoft::{Service, decode};

    /// A login error body as the client decodes it (the client crate's fixtures).
    fn login_error(status: u16, body: &[u8]) -> Error {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("a valid time");
        Error::from(decode::api_error(Service::Login, status, None, body, now))
    }

    #[test]
    fn a_wrong_secret_keeps_the_aadsts_code_and_says_what_to_do() {
        let e = login_error(
            401,
            include_bytes!("../../microsoft/tests/fixtures/login_error_invalid_client.json"),
        );
        let shown = describe(&e);
        assert!(
            shown.starts_with("Entra ID login answered 401 invalid_client: AADSTS7000215"),
            "{shown}"
        );
        assert!(
            shown.ends_with(
                ". What to do: check client_secret: it is wrong, or the key has expired or was deleted"
            ),
            "{shown}"
        );
        assert_eq!(diagnostic("listing customers", &e).detail, shown);
    }

    #[test]
    fn an_expired_refresh_token_says_run_login_and_an_unknown_tenant_says_check_it() {
        let e = login_error(
            400,
            include_bytes!("../../microsoft/tests/fixtures/login_error_expired_refresh_token.json"),
        );
        assert!(describe(&e).contains(LOGIN), "{}", describe(&e));
        let e = login_error(
            400,
            br#"{"error":"invalid_request","error_description":"Tenant 'x' not found.","error_codes":[90002]}"#,
        );
        assert!(
            describe(&e).contains("check tenant_id and environment"),
            "{}",
            describe(&e)
        );
        // Retried until the deadline, the advice still ends the text.
        let timed_out = Error::Timeout {
            last: Some(Box::new(e)),
        };
        assert!(
            diagnostic("reading the MPN profile", &timed_out)
                .detail
                .ends_with("What to do: the tenant was not found: check tenant_id and environment")
        );
        assert_eq!(login_advice("AADSTS1234567"), None);
    }

    #[test]
    fn a_missing_refresh_token_says_how_to_get_one() {
        let e = Error::RefreshTokenNeeded {
            operation: "reading the organization profile".into(),
            tenant_id: "t-1".into(),
            client_id: "app-1".into(),
        };
        let shown = diagnostic("reading the organization profile", &e).detail;
        assert!(shown.contains("reading the organization profile"), "{shown}");
        assert!(
            shown.contains(&format!("{LOGIN} --tenant-id t-1 --client-id app-1")),
            "{shown}"
        );
        assert!(shown.contains("refresh_token_file_path"), "{shown}");
    }
}
