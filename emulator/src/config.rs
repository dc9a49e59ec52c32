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
    /// New keys, service principals and grants stay invisible to this many reads.
    pub replication_delay_reads: u32,
    /// New keys, service principals and grants stay invisible for this many milliseconds.
    pub replication_delay_ms: u64,
    /// Partner Center's customer resource throttle (per partner tenant, sliding minute).
    pub customer_rate_limit_per_minute: u32,
    /// When on, redeeming a refresh token revokes it (the new one replaces it).
    pub rotate_refresh_tokens_revokes_old: bool,
    /// When on, `GET /v1/profiles/organization` starts with a UTF-8 byte order mark, as the real one does.
    pub organization_profile_bom: bool,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime_seconds: i64,
    /// A refresh token unused for this long fails with AADSTS700082 (Entra's default: 90 days).
    pub refresh_token_max_inactive_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            replication_delay_reads: 0,
            replication_delay_ms: 0,
            customer_rate_limit_per_minute: 500,
            rotate_refresh_tokens_revokes_old: false,
            organization_profile_bom: true,
            access_token_lifetime_seconds: 3599,
            refresh_token_max_inactive_seconds: 90 * 24 * 3600,
        }
    }
}

/// A partial update of [`Settings`]: absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub replication_delay_reads: Option<u32>,
    pub replication_delay_ms: Option<u64>,
    pub customer_rate_limit_per_minute: Option<u32>,
    pub rotate_refresh_tokens_revokes_old: Option<bool>,
    pub organization_profile_bom: Option<bool>,
    pub access_token_lifetime_seconds: Option<i64>,
    pub refresh_token_max_inactive_seconds: Option<i64>,
}

impl Settings {
    /// Applies the fields present in `patch`.
    pub fn apply(&mut self, patch: SettingsPatch) {
        if let Some(v) = patch.replication_delay_reads {
            self.replication_delay_reads = v;
        }
        if let Some(v) = patch.replication_delay_ms {
            self.replication_delay_ms = v;
        }
        if let Some(v) = patch.customer_rate_limit_per_minute {
            self.customer_rate_limit_per_minute = v;
        }
        if let Some(v) = patch.rotate_refresh_tokens_revokes_old {
            self.rotate_refresh_tokens_revokes_old = v;
        }
        if let Some(v) = patch.organization_profile_bom {
            self.organization_profile_bom = v;
        }
        if let Some(v) = patch.access_token_lifetime_seconds {
            self.access_token_lifetime_seconds = v;
        }
        if let Some(v) = patch.refresh_token_max_inactive_seconds {
            self.refresh_token_max_inactive_seconds = v;
        }
    }
}
