//! The shared state behind every route: seed, clock, signing key, directory, sessions, customers, faults, log.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri};
use rand::RngCore as _;

use crate::access_token::TokenSigner;
use crate::app_policies::AppManagementPolicies;
use crate::clock::Clock;
use crate::config::{EmulatorConfig, Settings, SettingsPatch};
use crate::directory::Directory;
use crate::faults::FaultBook;
use crate::login::sessions::Sessions;
use crate::partner_center::customers::CustomerBook;
use crate::partner_center::throttle::Throttle;
use crate::replication::{self, Replicator};
use crate::request_log::RequestLog;
use crate::seed::{IdSource, PartnerSeed, ResellerSeed};

/// Everything mutable lives in [`State`] behind one lock; handlers hold it briefly and never across awaits.
pub struct Emulator {
    pub config: EmulatorConfig,
    pub clock: Clock,
    pub signer: TokenSigner,
    /// Generated per tenant seed: the id of Dev Center's `user_impersonation` scope.
    pub dev_center_scope_id: String,
    /// The seed in force (drawn at random when the config gives none), so resets give the same ids.
    tenant_seed: u64,
    /// Built once (sorting and pre-rendering 50,000 customers is not free) and shared by resets.
    seeded_customers: Arc<CustomerBook>,
    state: Mutex<State>,
    pub faults: Mutex<FaultBook>,
    pub requests: Mutex<RequestLog>,
    /// Emulated Key Vaults, behind their own lock.
    pub key_vault: crate::key_vault::Vaults,
}

/// The resettable part of the emulator.
pub struct State {
    pub settings: Settings,
    pub partner: PartnerSeed,
    pub directory: Directory,
    /// Lags of directory writes and what each request sees of them.
    pub replicator: Replicator,
    /// App management policies (tenant default and assigned ones) that addPassword obeys.
    pub policies: AppManagementPolicies,
    pub sessions: Sessions,
    pub customers: Arc<CustomerBook>,
    pub resellers: Vec<ResellerSeed>,
    pub customer_throttle: Throttle,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Arc<Self> {
        let tenant_seed = config.tenant_seed.unwrap_or_else(|| rand::rng().next_u64());
        let mut ids = IdSource::new(tenant_seed);
        let dev_center_scope_id = ids.next_uuid();
        let mut key = [0u8; 32];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&ids.next_u64().to_le_bytes());
        }
        // The signing key must not be derivable from a seed a test knows.
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        for (k, r) in key.iter_mut().zip(random) {
            *k ^= r;
        }
        let seed = config.seed.clone().expanded();
        let seeded_customers = Arc::new(CustomerBook::new(&seed));
        let clock = Clock::starting_at(config.start_time);
        let state = State::from_config(
            &config,
            &seed,
            &dev_center_scope_id,
            tenant_seed,
            &clock,
            &seeded_customers,
        );
        let faults = FaultBook::new(config.fault_seed);
        if let Some(seed) = config.settings.replication_random_seed {
            replication::report_seed(seed);
        }
        Arc::new(Self {
            config,
            clock,
            signer: TokenSigner::new(key),
            dev_center_scope_id,
            tenant_seed,
            seeded_customers,
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            requests: Mutex::new(RequestLog::default()),
            key_vault: crate::key_vault::Vaults::default(),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        // A handler that panicked mid-update leaves state that is still memory-safe; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultBook> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn requests(&self) -> MutexGuard<'_, RequestLog> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to the seed: state, faults, request log, settings and clock.
    pub fn reset(&self) {
        match self.config.start_time {
            Some(start) => self.clock.set(start),
            None => self.clock.set(chrono::Utc::now()),
        }
        let seed = self.config.seed.clone();
        let tenant_seed = self.tenant_seed;
        let fresh = State::from_config(
            &self.config,
            &seed,
            &self.dev_center_scope_id,
            tenant_seed,
            &self.clock,
            &self.seeded_customers,
        );
        *self.state() = fresh;
        *self.faults() = FaultBook::new(self.config.fault_seed);
        self.requests().clear();
        self.key_vault.reset();
    }
}

impl State {
    fn from_config(
        config: &EmulatorConfig,
        seed: &crate::seed::Seed,
        dev_center_scope_id: &str,
        tenant_seed: u64,
        clock: &Clock,
        customers: &Arc<CustomerBook>,
    ) -> Self {
        let now = clock.now();
        // Object ids of the first-party service principals differ per tenant, like in Entra.
        let mut ids = IdSource::new(tenant_seed ^ 0x5e5e_5e5e);
        let directory = Directory::from_seed(&seed.partner, dev_center_scope_id, &mut ids, now);
        let sessions = Sessions::seeded(&seed.partner, now);
        Self {
            settings: config.settings.clone(),
            partner: seed.partner.clone(),
            directory,
            replicator: Replicator::new(&config.settings),
            policies: AppManagementPolicies::default(),
            sessions,
            customers: Arc::clone(customers),
            resellers: seed.resellers.clone(),
            customer_throttle: Throttle::default(),
        }
    }
}

impl State {
    /// Applies a settings change; writes made from now on replicate under the new delays, and a
    /// `replication_random_seed` given (even the same one) restarts the random sequence from it.
    pub fn change_settings(&mut self, patch: SettingsPatch) {
        let reseed = patch.replication_random_seed;
        self.settings.apply(patch);
        self.replicator.configure(&self.settings);
        if let Some(seed) = reseed {
            self.replicator.reseed(seed);
        }
    }
}

/// Per-request ids, made by the outer middleware so that error bodies and response headers agree.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub client_request_id: String,
    pub correlation_id: String,
}

/// A request to an emulated service as its dispatcher reads it: the whole request, and the ids the
/// middleware gave it.
pub struct ServiceRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub ctx: RequestContext,
}

impl<S: Send + Sync> FromRequest<S> for ServiceRequest {
    type Rejection = Response;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, Response> {
        let ctx = request
            .extensions_mut()
            .remove::<RequestContext>()
            .ok_or_else(|| (StatusCode::INTERNAL_SERVER_ERROR, "request ids missing").into_response())?;
        let method = request.method().clone();
        let uri = request.uri().clone();
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            method,
            uri,
            headers,
            body,
            ctx,
        })
    }
}
