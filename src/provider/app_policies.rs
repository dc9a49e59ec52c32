//! Explaining a key that Entra refused because of a tenant app management policy: which policy, what it
//! allows, and what to do (reference azure-key-vault-mfa-policies.md §C). Entra's error names the policy
//! but not its limit, so the policy is read (that needs `Policy.Read.All`; without it the advice says so).

use partnercenter_microsoft::graph::AppManagementPolicy;
use partnercenter_microsoft::{CallContext, Client, Error};

use crate::protocol::{AttributePath, Diagnostic};
use crate::provider::errors;

/// The tenant default policy's id.
const DEFAULT_POLICY_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Why a policy refused a new password credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `passwordAddition`: no client secrets at all.
    SecretsBlocked { policy_id: Option<String> },
    /// `passwordLifetime`: the end date is beyond the policy's maximum lifetime.
    LifetimeTooLong { policy_id: Option<String> },
}

impl Refusal {
    /// The refusal behind an addPassword error, if a policy caused it.
    pub fn of(error: &Error) -> Option<Refusal> {
        let api = error.api()?;
        let policy_id = quoted_id(&api.message);
        match api.code.as_deref()? {
            "CredentialTypeNotAllowedAsPerAppPolicy" => Some(Refusal::SecretsBlocked { policy_id }),
            "CredentialInvalidLifetimeAsPerAppPolicy" => Some(Refusal::LifetimeTooLong { policy_id }),
            _ => None,
        }
    }

    fn policy_id(&self) -> &str {
        match self {
            Refusal::SecretsBlocked { policy_id } | Refusal::LifetimeTooLong { policy_id } => {
                policy_id.as_deref().unwrap_or(DEFAULT_POLICY_ID)
            }
        }
    }
}

/// The diagnostic for a refused key on `app_id`, after reading the policy that refused it.
pub async fn explain(
    client: &Client,
    call: &CallContext,
    app_id: &str,
    refusal: &Refusal,
    error: &Error,
) -> Diagnostic {
    let policy = read_policy(client, call, refusal.policy_id()).await;
    let named = match &policy {
        Ok(p) => format!(
            "the app management policy \"{}\" ({})",
            p.display_name.as_deref().unwrap_or("unnamed"),
            p.id
        ),
        Err(_) => format!("the app management policy {}", refusal.policy_id()),
    };
    let unread = match &policy {
        Ok(_) => String::new(),
        Err(e) => format!(
            " (Its settings could not be read: {}. Reading them needs the Graph permission Policy.Read.All.)",
            errors::describe(e)
        ),
    };
    match refusal {
        Refusal::SecretsBlocked { .. } => Diagnostic::error(
            format!("Application {app_id} may not have client secrets"),
            format!(
                "Entra refused the key: {named} blocks password credentials (restriction passwordAddition).{unread} \
                 What to do: ask a tenant administrator to exempt this application (assign it an app management \
                 policy without passwordAddition), then apply again. Microsoft's answer: {}",
                errors::describe(error)
            ),
        )
        .at(AttributePath::root("application_id")),
        Refusal::LifetimeTooLong { .. } => {
            let limit = policy.as_ref().ok().and_then(max_lifetime);
            let advice = match limit {
                Some(limit) => format!(
                    "it allows keys valid for at most {} ({} hours). What to do: set validity to \"{}h\" or less (or \
                     an end_date within that), then apply again.",
                    limit.text,
                    limit.hours,
                    limit.hours
                ),
                None => "it caps how long a key may be valid. What to do: set a shorter validity (hours, e.g. \
                         \"2160h\" for 90 days) or ask an administrator for the policy's maximum lifetime."
                    .to_owned(),
            };
            Diagnostic::error(
                format!("The key is valid longer than application {app_id} allows"),
                format!(
                    "Entra refused the key: {named} limits password lifetimes (restriction passwordLifetime); \
                     {advice}{unread} Microsoft's answer: {}",
                    errors::describe(error)
                ),
            )
            .at(AttributePath::root("validity"))
        }
    }
}

async fn read_policy(
    client: &Client,
    call: &CallContext,
    policy_id: &str,
) -> Result<AppManagementPolicy, Error> {
    let graph = client.graph();
    if policy_id == DEFAULT_POLICY_ID {
        return graph.default_app_management_policy(call).await;
    }
    match graph.app_management_policy(call, policy_id).await? {
        Some(policy) => Ok(policy),
        None => graph.default_app_management_policy(call).await,
    }
}

/// A policy's enabled `passwordLifetime` limit.
struct Lifetime {
    text: String,
    hours: i64,
}

fn max_lifetime(policy: &AppManagementPolicy) -> Option<Lifetime> {
    let restriction = policy
        .password_credentials
        .iter()
        .find(|r| r.restriction_type.eq_ignore_ascii_case("passwordLifetime") && r.is_enabled())?;
    let text = restriction.max_lifetime.clone()?;
    let hours = iso8601_hours(&text)?;
    Some(Lifetime { text, hours })
}

/// Hours in an ISO 8601 duration such as `P90D`, `P1Y`, `PT720H`, `P1DT12H` (years as 365 days, months
/// as 30: what matters is a validity the policy accepts, so the count rounds down).
fn iso8601_hours(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut hours = 0i64;
    for (part, units) in [
        (
            date,
            &[('Y', 365 * 24), ('M', 30 * 24), ('W', 7 * 24), ('D', 24)][..],
        ),
        (time, &[('H', 1)][..]),
    ] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let per = units.iter().find(|(u, _)| *u == c).map(|(_, h)| *h);
            match per {
                Some(per) => hours += number.parse::<i64>().ok()? * per,
                // Minutes and seconds round away.
                None if matches!(c, 'M' | 'S') && part == time => {}
                None => return None,
            }
            number.clear();
        }
    }
    Some(hours)
}

/// The id in `... policy '<id>'.`, Entra's way of naming the policy.
fn quoted_id(message: &str) -> Option<String> {
    let end = message.rfind('\'')?;
    let start = message[..end].rfind('\'')?;
    let id = &message[start + 1..end];
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_become_hours() {
        assert_eq!(iso8601_hours("P90D"), Some(2160));
        assert_eq!(iso8601_hours("P1Y"), Some(8760));
        assert_eq!(iso8601_hours("PT720H"), Some(720));
        assert_eq!(iso8601_hours("P1DT12H30M"), Some(36));
        assert_eq!(iso8601_hours("90 days"), None);
    }

    #[test]
    fn the_policy_is_named_by_the_message() {
        assert_eq!(
            quoted_id("Credential lifetime exceeds the max value allowed as per assigned policy 'a1b2'."),
            Some("a1b2".to_owned())
        );
        assert_eq!(quoted_id("no policy here"), None);
    }
}
