//! Entra app management policies: the tenant default and the policies assigned to applications, and the
//! verdict they give on a new password credential (reference C.1, C.3, C.5).

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::Application;

/// The id Graph gives the tenant default policy.
pub const DEFAULT_POLICY_ID: &str = "00000000-0000-0000-0000-000000000000";

/// `GET /policies/defaultAppManagementPolicy` (`tenantAppManagementPolicy`). Disabled with no
/// restrictions unless a test sets it (`PUT /_emulator/policies/default`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantAppManagementPolicy {
    /// Always [`DEFAULT_POLICY_ID`] (a value given to the control API is replaced).
    #[serde(default)]
    pub id: String,
    #[serde(default = "default_display_name")]
    pub display_name: String,
    #[serde(default = "default_description")]
    pub description: String,
    #[serde(default)]
    pub is_enabled: bool,
    #[serde(default)]
    pub application_restrictions: AppManagementConfiguration,
    #[serde(default)]
    pub service_principal_restrictions: AppManagementConfiguration,
}

fn default_display_name() -> String {
    "Default app management tenant policy".into()
}

fn default_description() -> String {
    "Default tenant policy that enforces app management restrictions on applications and service principals. \
     To apply policy to targeted resources, create a new policy under appManagementPolicies collection."
        .into()
}

impl Default for TenantAppManagementPolicy {
    fn default() -> Self {
        Self {
            id: DEFAULT_POLICY_ID.into(),
            display_name: default_display_name(),
            description: default_description(),
            is_enabled: false,
            application_restrictions: AppManagementConfiguration::default(),
            service_principal_restrictions: AppManagementConfiguration::default(),
        }
    }
}

/// A policy assigned to applications (`appManagementPolicy`); it overrides the tenant default for them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppManagementPolicy {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub is_enabled: bool,
    pub restrictions: AppManagementConfiguration,
    /// App IDs of the applications it is assigned to (Graph lists them under `appliesTo`).
    pub applies_to: Vec<String>,
}

/// `appManagementConfiguration`: the restrictions of one policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppManagementConfiguration {
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredentialConfiguration>,
    /// Kept and served; the emulator has no key credentials to apply them to.
    #[serde(default)]
    pub key_credentials: Vec<KeyCredentialConfiguration>,
}

/// `passwordCredentialConfiguration`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordCredentialConfiguration {
    pub restriction_type: PasswordRestriction,
    /// Absent means enabled (the v1.0 resource page omits the property).
    #[serde(default)]
    pub state: RestrictionState,
    #[serde(default)]
    pub max_lifetime: Option<IsoDuration>,
    /// The restriction applies to apps created at or after this instant; `null`: to every app.
    #[serde(default)]
    pub restrict_for_apps_created_after_date_time: Option<DateTime<Utc>>,
}

/// `keyCredentialConfiguration`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyCredentialConfiguration {
    pub restriction_type: KeyRestriction,
    #[serde(default)]
    pub state: RestrictionState,
    #[serde(default)]
    pub max_lifetime: Option<IsoDuration>,
    #[serde(default)]
    pub restrict_for_apps_created_after_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_based_application_configuration_ids: Option<Vec<String>>,
}

/// `appCredentialRestrictionType` values for passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PasswordRestriction {
    PasswordAddition,
    PasswordLifetime,
    SymmetricKeyAddition,
    SymmetricKeyLifetime,
    CustomPasswordAddition,
    UnknownFutureValue,
}

/// `appKeyCredentialRestrictionType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyRestriction {
    AsymmetricKeyLifetime,
    TrustedCertificateAuthority,
    UnknownFutureValue,
}

/// `appManagementRestrictionState`: only `enabled` restrictions are evaluated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RestrictionState {
    #[default]
    Enabled,
    Disabled,
    UnknownFutureValue,
}

/// Why a new password credential is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRefusal {
    /// An enabled `passwordAddition` restriction.
    NotAllowed { policy_id: String },
    /// The end date lies beyond `maxLifetime` of an enabled `passwordLifetime` restriction.
    LifetimeTooLong { policy_id: String, max_lifetime: String },
}

/// The tenant's policies.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppManagementPolicies {
    pub default_policy: TenantAppManagementPolicy,
    pub policies: Vec<AppManagementPolicy>,
}

impl AppManagementPolicies {
    /// The policy an application obeys: its assigned enabled policy, else the tenant default if enabled.
    fn effective(&self, app_id: &str) -> Option<(&str, &[PasswordCredentialConfiguration])> {
        let assigned = self
            .policies
            .iter()
            .find(|p| p.is_enabled && p.applies_to.iter().any(|a| a.eq_ignore_ascii_case(app_id)));
        match assigned {
            Some(policy) => Some((&policy.id, &policy.restrictions.password_credentials)),
            None if self.default_policy.is_enabled => Some((
                DEFAULT_POLICY_ID,
                &self.default_policy.application_restrictions.password_credentials,
            )),
            None => None,
        }
    }

    /// The verdict on adding a password valid from `start` to `end` to `app`.
    pub fn check_new_password(
        &self,
        app: &Application,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), PasswordRefusal> {
        let Some((policy_id, restrictions)) = self.effective(&app.app_id) else {
            return Ok(());
        };
        let applies = |r: &&PasswordCredentialConfiguration| {
            r.state == RestrictionState::Enabled
                && r.restrict_for_apps_created_after_date_time
                    .is_none_or(|after| after <= app.created_date_time)
        };
        let in_force: Vec<&PasswordCredentialConfiguration> = restrictions.iter().filter(applies).collect();
        if in_force
            .iter()
            .any(|r| r.restriction_type == PasswordRestriction::PasswordAddition)
        {
            return Err(PasswordRefusal::NotAllowed {
                policy_id: policy_id.to_owned(),
            });
        }
        let too_long = in_force
            .iter()
            .filter(|r| r.restriction_type == PasswordRestriction::PasswordLifetime)
            .filter_map(|r| r.max_lifetime.as_ref())
            .find(|max| max.after(start).is_none_or(|limit| end > limit));
        match too_long {
            Some(max) => Err(PasswordRefusal::LifetimeTooLong {
                policy_id: policy_id.to_owned(),
                max_lifetime: max.text.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The policy with this id, if any.
    pub fn policy(&self, id: &str) -> Option<&AppManagementPolicy> {
        self.policies.iter().find(|p| p.id.eq_ignore_ascii_case(id))
    }
}

impl AppManagementConfiguration {
    /// Each restriction type at most once per policy, and a `maxLifetime` on lifetime restrictions.
    pub fn validate(&self) -> Result<(), String> {
        for (i, restriction) in self.password_credentials.iter().enumerate() {
            let kind = restriction.restriction_type;
            if self.password_credentials[..i]
                .iter()
                .any(|r| r.restriction_type == kind)
            {
                return Err(format!(
                    "passwordCredentials restrictionType {kind:?} appears more than once"
                ));
            }
            let needs_lifetime = matches!(
                kind,
                PasswordRestriction::PasswordLifetime | PasswordRestriction::SymmetricKeyLifetime
            );
            if needs_lifetime && restriction.max_lifetime.is_none() {
                return Err(format!(
                    "passwordCredentials restrictionType {kind:?} needs maxLifetime"
                ));
            }
        }
        Ok(())
    }
}

/// An ISO 8601 duration as Graph takes it for `maxLifetime` (`P90D`, `P1Y6M`, `P2W`, `PT12H`): whole
/// numbers of years, months, weeks, days, hours, minutes and seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoDuration {
    text: String,
    months: u32,
    days: i64,
    seconds: i64,
}

impl IsoDuration {
    /// `start` plus this duration (calendar months and years, then days and time); `None` on overflow.
    pub fn after(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        start
            .checked_add_months(Months::new(self.months))?
            .checked_add_signed(TimeDelta::try_days(self.days)?)?
            .checked_add_signed(TimeDelta::try_seconds(self.seconds)?)
    }
}

impl TryFrom<String> for IsoDuration {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let invalid = || format!("'{text}' is not an ISO 8601 duration such as P90D");
        let body = text.strip_prefix('P').ok_or_else(invalid)?;
        let (date, time) = match body.split_once('T') {
            Some((date, time)) if !time.is_empty() => (date, Some(time)),
            Some(_) => return Err(invalid()),
            None => (body, None),
        };
        let mut duration = Self {
            text: text.clone(),
            months: 0,
            days: 0,
            seconds: 0,
        };
        let mut any = false;
        for (number, unit) in components(date).ok_or_else(invalid)? {
            any = true;
            match unit {
                'Y' => duration.months += u32::try_from(number * 12).map_err(|_| invalid())?,
                'M' => duration.months += u32::try_from(number).map_err(|_| invalid())?,
                'W' => duration.days += number * 7,
                'D' => duration.days += number,
                _ => return Err(invalid()),
            }
        }
        for (number, unit) in components(time.unwrap_or_default()).ok_or_else(invalid)? {
            any = true;
            match unit {
                'H' => duration.seconds += number * 3600,
                'M' => duration.seconds += number * 60,
                'S' => duration.seconds += number,
                _ => return Err(invalid()),
            }
        }
        if any { Ok(duration) } else { Err(invalid()) }
    }
}

/// `90D12H` → `[(90, 'D'), (12, 'H')]`; `None` unless it is digits-then-letter pairs of sane size.
fn components(text: &str) -> Option<Vec<(i64, char)>> {
    let mut parts = Vec::new();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if digits.is_empty() || digits.len() > 9 {
                return None;
            }
            parts.push((digits.parse().ok()?, c));
            digits.clear();
        }
    }
    digits.is_empty().then_some(parts)
}

impl From<IsoDuration> for String {
    fn from(duration: IsoDuration) -> Self {
        duration.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(text: &str) -> IsoDuration {
        IsoDuration::try_from(text.to_owned()).expect("valid duration")
    }

    #[test]
    fn durations_parse_and_add_calendar_units() {
        let start: DateTime<Utc> = "2024-01-31T00:00:00Z".parse().expect("time");
        assert_eq!(
            duration("P90D").after(start).map(|t| t.to_rfc3339()),
            Some("2024-04-30T00:00:00+00:00".into())
        );
        assert_eq!(
            duration("P1Y1M").after(start).map(|t| t.to_rfc3339()),
            Some("2025-02-28T00:00:00+00:00".into())
        );
        assert_eq!(
            duration("P2WT1H30M").after(start).map(|t| t.to_rfc3339()),
            Some("2024-02-14T01:30:00+00:00".into())
        );
        for bad in ["90D", "P", "PT", "P1.5D", "P1X", "PD", "P99999999999D"] {
            assert!(IsoDuration::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    fn app(created: &str) -> Application {
        let mut app = Application::new("x".into(), created.parse().expect("time"));
        app.app_id = "app".into();
        app
    }

    fn restriction(kind: PasswordRestriction, max: Option<&str>) -> PasswordCredentialConfiguration {
        PasswordCredentialConfiguration {
            restriction_type: kind,
            state: RestrictionState::Enabled,
            max_lifetime: max.map(duration),
            restrict_for_apps_created_after_date_time: None,
        }
    }

    #[test]
    fn the_assigned_policy_overrides_an_enabled_default() {
        let app = app("2025-01-01T00:00:00Z");
        let start = "2026-01-01T00:00:00Z".parse().expect("time");
        let two_years = "2028-01-01T00:00:00Z".parse().expect("time");
        let mut policies = AppManagementPolicies::default();
        assert_eq!(policies.check_new_password(&app, start, two_years), Ok(()));

        policies
            .default_policy
            .application_restrictions
            .password_credentials = vec![restriction(PasswordRestriction::PasswordLifetime, Some("P365D"))];
        assert_eq!(
            policies.check_new_password(&app, start, two_years),
            Ok(()),
            "a disabled default is not evaluated"
        );
        policies.default_policy.is_enabled = true;
        assert_eq!(
            policies.check_new_password(&app, start, two_years),
            Err(PasswordRefusal::LifetimeTooLong {
                policy_id: DEFAULT_POLICY_ID.into(),
                max_lifetime: "P365D".into()
            })
        );

        policies.policies.push(AppManagementPolicy {
            id: "p1".into(),
            display_name: "exemption".into(),
            description: None,
            is_enabled: true,
            restrictions: AppManagementConfiguration::default(),
            applies_to: vec!["app".into()],
        });
        assert_eq!(policies.check_new_password(&app, start, two_years), Ok(()));
        policies.policies[0].restrictions.password_credentials =
            vec![restriction(PasswordRestriction::PasswordAddition, None)];
        assert_eq!(
            policies.check_new_password(&app, start, two_years),
            Err(PasswordRefusal::NotAllowed {
                policy_id: "p1".into()
            })
        );
        policies.policies[0].restrictions.password_credentials[0].state = RestrictionState::Disabled;
        assert_eq!(policies.check_new_password(&app, start, two_years), Ok(()));
    }

    #[test]
    fn restrictions_only_bind_apps_created_after_their_date() {
        let mut policies = AppManagementPolicies::default();
        policies.default_policy.is_enabled = true;
        let mut blocked = restriction(PasswordRestriction::PasswordAddition, None);
        blocked.restrict_for_apps_created_after_date_time =
            Some("2025-06-01T00:00:00Z".parse().expect("time"));
        policies
            .default_policy
            .application_restrictions
            .password_credentials = vec![blocked];
        let start = "2026-01-01T00:00:00Z".parse().expect("time");
        let end = "2026-02-01T00:00:00Z".parse().expect("time");
        assert_eq!(
            policies.check_new_password(&app("2025-05-31T23:59:59Z"), start, end),
            Ok(())
        );
        assert!(
            policies
                .check_new_password(&app("2025-06-01T00:00:00Z"), start, end)
                .is_err()
        );
    }
}
