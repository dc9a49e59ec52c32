//! How an emulator is started (port, seed, clock, randomness) and the behaviour switches tests flip.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::seed::Seed;

/// Everything `spawn` needs. `EmulatorConfig::default()` is the demo seed on any free port, no faults.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks any free port.
    pub port: u16,
    /// The partner, its app, customers and indirect resellers.
    pub seed: Seed,
    /// Behaviour switches in force after start and after `POST /_emulator/reset`.
    pub settings: Settings,
    /// Where the emulator clock starts; `None` = the real time.
    pub start_time: Option<DateTime<Utc>>,
    /// Seed of the values Microsoft generates per tenant (the Dev Center scope id, generated secrets);
    /// `None` = a fresh random value per process, so clients must discover them at runtime.
    pub tenant_seed: Option<u64>,
    /// Seed of the RNG that decides probabilistic faults, so tests are deterministic.
    pub fault_seed: u64,
}

impl EmulatorConfig {
    /// Starts with replication lag in random mode (`Settings::replication_random_seed`), for chaos tests:
    /// the same seed replays the same lags.
    pub fn with_random_replication(mut self, seed: u64) -> Self {
        self.settings.replication_random_seed = Some(seed);
        self
    }

    /// Starts with every directory write visible at once (no replication lag), for tests about something
    /// else.
    pub fn without_replication_lag(mut self) -> Self {
        self.settings.replication_delay_reads = 0;
        self.settings.replication_delay_ms = 0;
        self.settings.replication_random_seed = None;
        self
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            port: 0,
            seed: Seed::demo(),
            settings: Settings::default(),
            start_time: None,
            tenant_seed: None,
            fault_seed: 0x5eed,
        }
    }
}

/// Behaviour switches, changed at runtime by `POST /_emulator/settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Every directory write is missed by this many requests that meet it (Entra-like default: 2). In
    /// random mode, each write draws its misses from `0..=2 × this`.
    pub replication_delay_reads: u32,
    /// … and stays unseen for this many milliseconds of the emulator clock.
    pub replication_delay_ms: u64,
    /// `Some(seed)`: random replication (misses drawn per write, replicas flap), reproducible by seed.
    pub replication_random_seed: Option<u64>,
    /// Partner Center's customer resource throttle (per partner tenant, sliding minute).
    pub customer_rate_limit_per_minute: u32,
    /// A customer page holding exactly `size` items carries a continuation token even when nothing
    /// follows (the real service pages "by the page size"); following it answers 400 code 2000.
    pub full_last_page_has_continuation_token: bool,
    /// When on, redeeming a refresh token revokes it (the new one replaces it).
    pub rotate_refresh_tokens_revokes_old: bool,
    /// When on, `GET /v1/profiles/organization` starts with a UTF-8 byte order mark, as the real one does.
    pub organization_profile_bom: bool,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime_seconds: i64,
    /// A refresh token unused for this long fails with AADSTS700082 (Entra's default: 90 days).
    pub refresh_token_max_inactive_seconds: i64,
    /// Partner Center refuses App+User tokens without `mfa` in `amr` (401, code 900421), as since 2026.
    pub mfa_enforced: bool,
    /// Interactive sign-ins (authorize, device code) count as multi-factor.
    pub sign_ins_use_mfa: bool,
    /// A Conditional Access policy requires MFA: redeeming a refresh token whose sign-in had none fails
    /// with AADSTS50076, and every interactive sign-in performs MFA.
    pub ca_requires_mfa: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            replication_delay_reads: 2,
            replication_delay_ms: 0,
            replication_random_seed: None,
            customer_rate_limit_per_minute: 500,
            full_last_page_has_continuation_token: true,
            rotate_refresh_tokens_revokes_old: false,
            organization_profile_bom: true,
            access_token_lifetime_seconds: 3599,
            refresh_token_max_inactive_seconds: 90 * 24 * 3600,
            mfa_enforced: true,
            sign_ins_use_mfa: true,
            ca_requires_mfa: false,
        }
    }
}

/// A partial update of [`Settings`]: absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub replication_delay_reads: Option<u32>,
    pub replication_delay_ms: Option<u64>,
    /// Absent: unchanged; `null`: deterministic mode; a number: random mode from that seed on.
    #[serde(default, deserialize_with = "present")]
    pub replication_random_seed: Option<Option<u64>>,
    pub customer_rate_limit_per_minute: Option<u32>,
    pub full_last_page_has_continuation_token: Option<bool>,
    pub rotate_refresh_tokens_revokes_old: Option<bool>,
    pub organization_profile_bom: Option<bool>,
    pub access_token_lifetime_seconds: Option<i64>,
    pub refresh_token_max_inactive_seconds: Option<i64>,
    pub mfa_enforced: Option<bool>,
    pub sign_ins_use_mfa: Option<bool>,
    pub ca_requires_mfa: Option<bool>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`, through `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl Settings {
    /// Applies the fields present in `patch`.
    pub fn apply(&mut self, patch: SettingsPatch) {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        set(&mut self.replication_delay_reads, patch.replication_delay_reads);
        set(&mut self.replication_delay_ms, patch.replication_delay_ms);
        set(&mut self.replication_random_seed, patch.replication_random_seed);
        set(
            &mut self.customer_rate_limit_per_minute,
            patch.customer_rate_limit_per_minute,
        );
        set(
            &mut self.full_last_page_has_continuation_token,
            patch.full_last_page_has_continuation_token,
        );
        set(
            &mut self.rotate_refresh_tokens_revokes_old,
            patch.rotate_refresh_tokens_revokes_old,
        );
        set(&mut self.organization_profile_bom, patch.organization_profile_bom);
        set(
            &mut self.access_token_lifetime_seconds,
            patch.access_token_lifetime_seconds,
        );
        set(
            &mut self.refresh_token_max_inactive_seconds,
            patch.refresh_token_max_inactive_seconds,
        );
        set(&mut self.mfa_enforced, patch.mfa_enforced);
        set(&mut self.sign_ins_use_mfa, patch.sign_ins_use_mfa);
        set(&mut self.ca_requires_mfa, patch.ca_requires_mfa);
    }
}
