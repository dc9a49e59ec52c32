//! The partner tenant's Entra directory as the primary holds it: application registrations with their keys,
//! service principals and delegated permission grants, each with its write still replicating (if any),
//! and the objects deleted on the primary that lagging replicas still serve.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Months, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::replication::{self, Pending, Replicated, Replicator};
use crate::seed::{IdSource, PartnerSeed};
use crate::well_known::{self, PermissionScope};

/// An application registration (Graph `application`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub created_date_time: DateTime<Utc>,
    pub redirect_uris: Vec<String>,
    /// Lets the app redeem codes and device codes without a secret (public client flows).
    pub is_fallback_public_client: bool,
    pub password_credentials: Vec<PasswordCredential>,
    /// Keys removed on the primary that lagging replicas still list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_password_credentials: Vec<PasswordCredential>,
    pub required_resource_access: Vec<RequiredResourceAccess>,
    pub federated_identity_credentials: Vec<FederatedCredential>,
    /// Its creation, update or removal, while still replicating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<Pending<AppProperties>>,
}

/// The application properties a PATCH changes (what a request that misses the PATCH sees).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProperties {
    pub display_name: String,
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

/// A client secret (Graph `passwordCredential`). The secret itself never leaves except in addPassword.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
    pub hint: String,
    #[serde(skip)]
    pub secret_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<Pending>,
}

/// One API's entry in `requiredResourceAccess`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

/// A scope (`Scope`) or app role (`Role`) reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A workload identity federation trust (Graph `federatedIdentityCredential`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

/// A service principal (Graph `servicePrincipal`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    /// The tenant that owns the application (Microsoft's tenant for first-party APIs).
    pub app_owner_organization_id: String,
    pub oauth2_permission_scopes: Vec<PermissionScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<Pending>,
}

/// A delegated permission grant (Graph `oAuth2PermissionGrant`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGrant {
    pub id: String,
    pub client_id: String,
    pub consent_type: String,
    pub principal_id: Option<String>,
    pub resource_id: String,
    pub scope: String,
    /// An update's `readersSee` is the old scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<Pending<String>>,
}

/// Microsoft's own tenant, owner of the first-party applications.
pub const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// All directory objects of the partner tenant (the primary's truth), and the deleted ones lagging
/// replicas still serve.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub oauth2_permission_grants: Vec<PermissionGrant>,
    pub removed_applications: Vec<Application>,
    pub removed_service_principals: Vec<ServicePrincipal>,
    pub removed_oauth2_permission_grants: Vec<PermissionGrant>,
}

impl Directory {
    /// The seeded directory: the web app (with its secret and federated credential) and the first-party
    /// service principals a CSP tenant has. The web app's own service principal is absent on purpose.
    pub fn from_seed(
        partner: &PartnerSeed,
        dev_center_scope_id: &str,
        ids: &mut IdSource,
        now: DateTime<Utc>,
    ) -> Self {
        let created = now - chrono::TimeDelta::days(30);
        let secret_end = created.checked_add_months(Months::new(24)).unwrap_or(created);
        let app = Application {
            id: partner.app_object_id.clone(),
            app_id: partner.app_id.clone(),
            display_name: partner.app_display_name.clone(),
            created_date_time: created,
            redirect_uris: vec!["http://localhost".into(), "https://localhost/signin-oidc".into()],
            is_fallback_public_client: true,
            password_credentials: vec![PasswordCredential {
                key_id: crate::demo::CLIENT_SECRET_KEY_ID.into(),
                display_name: Some("Partner Center key".into()),
                start_date_time: created,
                end_date_time: secret_end,
                hint: partner.client_secret.chars().take(3).collect(),
                secret_text: partner.client_secret.clone(),
                replication: None,
            }],
            removed_password_credentials: vec![],
            required_resource_access: vec![],
            federated_identity_credentials: vec![FederatedCredential {
                name: "github-main".into(),
                issuer: crate::demo::FEDERATED_ISSUER.into(),
                subject: crate::demo::FEDERATED_SUBJECT.into(),
                audiences: vec![crate::demo::FEDERATED_AUDIENCE.into()],
            }],
            replication: None,
        };
        let service_principals = well_known::first_party_apis(dev_center_scope_id)
            .into_iter()
            .filter(|api| {
                partner.partner_center_service_principal || api.app_id != crate::demo::PARTNER_CENTER_APP_ID
            })
            .map(|api| ServicePrincipal {
                id: ids.next_uuid(),
                app_id: api.app_id.into(),
                display_name: api.display_name.into(),
                app_owner_organization_id: MICROSOFT_TENANT_ID.into(),
                oauth2_permission_scopes: api.scopes,
                replication: None,
            })
            .collect();
        Self {
            applications: vec![app],
            service_principals,
            oauth2_permission_grants: vec![],
            removed_applications: vec![],
            removed_service_principals: vec![],
            removed_oauth2_permission_grants: vec![],
        }
    }

    /// The application registration with this App ID (writers' view: ignores replication).
    pub fn application_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Adds a new object (a write that replicates: lagging requests do not see it yet).
    pub fn add<T: DirectoryObject>(&mut self, object: T, replicator: &mut Replicator, now: DateTime<Utc>) {
        let (committed, _) = T::collections(self);
        add_created(committed, object, replicator, now);
    }

    /// Deletes the object at `index` on the primary, with what Entra deletes along (a service principal's
    /// grants); lagging replicas keep serving them. An application's service principal is the caller's
    /// business.
    pub fn remove<T: DirectoryObject>(
        &mut self,
        index: usize,
        replicator: &mut Replicator,
        now: DateTime<Utc>,
    ) {
        T::remove_dependents(self, index, replicator, now);
        let (committed, removed) = T::collections(self);
        if index < committed.len() {
            let object = committed.remove(index);
            replicator.removed(object, removed, now);
        }
    }

    /// The index of the service principal of `app_id` on the primary.
    pub fn service_principal_index(&self, app_id: &str) -> Option<usize> {
        self.service_principals
            .iter()
            .position(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Sets a grant's scope (a write that replicates: lagging requests see the old scope).
    pub fn set_grant_scope(
        &mut self,
        index: usize,
        scope: String,
        replicator: &mut Replicator,
        now: DateTime<Utc>,
    ) {
        if let Some(grant) = self.oauth2_permission_grants.get_mut(index) {
            replicator.updating(grant, now);
            grant.scope = scope;
        }
    }

    /// Clears the lags that are over and forgets the deleted objects every replica has dropped, so that the
    /// state dump shows only what can still be missed.
    /// Every pending write reaches every replica at once: what a test means by "a while later".
    pub fn settle(&mut self) {
        for app in &mut self.applications {
            *app.pending() = None;
            app.password_credentials
                .iter_mut()
                .for_each(|key| *key.pending() = None);
            app.removed_password_credentials.clear();
        }
        self.service_principals
            .iter_mut()
            .for_each(|sp| *sp.pending() = None);
        self.oauth2_permission_grants
            .iter_mut()
            .for_each(|grant| *grant.pending() = None);
        self.removed_applications.clear();
        self.removed_service_principals.clear();
        self.removed_oauth2_permission_grants.clear();
    }

    pub fn forget_replicated(&mut self, now: DateTime<Utc>) {
        for app in &mut self.applications {
            replication::forget_if_over(app, now);
            app.password_credentials
                .iter_mut()
                .for_each(|key| replication::forget_if_over(key, now));
            replication::forget_tombstones(&mut app.removed_password_credentials, now);
        }
        self.service_principals
            .iter_mut()
            .for_each(|sp| replication::forget_if_over(sp, now));
        self.oauth2_permission_grants
            .iter_mut()
            .for_each(|grant| replication::forget_if_over(grant, now));
        replication::forget_tombstones(&mut self.removed_applications, now);
        replication::forget_tombstones(&mut self.removed_service_principals, now);
        replication::forget_tombstones(&mut self.removed_oauth2_permission_grants, now);
    }
}

/// Adds a new object to `list`; its creation replicates.
fn add_created<T: Replicated>(
    list: &mut Vec<T>,
    mut object: T,
    replicator: &mut Replicator,
    now: DateTime<Utc>,
) {
    *object.pending() = replicator.created(now);
    list.push(object);
}

/// A kind of top-level directory object.
pub trait DirectoryObject: Replicated {
    /// Where the directory keeps them: the committed ones, and the deleted ones lagging replicas still
    /// serve.
    fn collections(directory: &mut Directory) -> (&mut Vec<Self>, &mut Vec<Self>);

    /// Deletes what Entra deletes along with the object at `index`.
    fn remove_dependents(
        _directory: &mut Directory,
        _index: usize,
        _replicator: &mut Replicator,
        _now: DateTime<Utc>,
    ) {
    }
}

impl DirectoryObject for Application {
    fn collections(directory: &mut Directory) -> (&mut Vec<Self>, &mut Vec<Self>) {
        (&mut directory.applications, &mut directory.removed_applications)
    }
}

impl DirectoryObject for ServicePrincipal {
    fn collections(directory: &mut Directory) -> (&mut Vec<Self>, &mut Vec<Self>) {
        (
            &mut directory.service_principals,
            &mut directory.removed_service_principals,
        )
    }

    /// The grants that name the service principal, as client or resource.
    fn remove_dependents(
        directory: &mut Directory,
        index: usize,
        replicator: &mut Replicator,
        now: DateTime<Utc>,
    ) {
        let Some(sp_id) = directory.service_principals.get(index).map(|sp| sp.id.clone()) else {
            return;
        };
        let (orphaned, kept) = std::mem::take(&mut directory.oauth2_permission_grants)
            .into_iter()
            .partition(|g| {
                g.client_id.eq_ignore_ascii_case(&sp_id) || g.resource_id.eq_ignore_ascii_case(&sp_id)
            });
        directory.oauth2_permission_grants = kept;
        for grant in orphaned {
            replicator.removed(grant, &mut directory.removed_oauth2_permission_grants, now);
        }
    }
}

impl DirectoryObject for PermissionGrant {
    fn collections(directory: &mut Directory) -> (&mut Vec<Self>, &mut Vec<Self>) {
        (
            &mut directory.oauth2_permission_grants,
            &mut directory.removed_oauth2_permission_grants,
        )
    }
}

impl Application {
    /// A new registration with no keys, as Graph's `POST /applications` or the control API makes it.
    pub fn new(display_name: String, now: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            app_id: uuid::Uuid::new_v4().to_string(),
            display_name,
            created_date_time: now,
            redirect_uris: vec![],
            is_fallback_public_client: false,
            password_credentials: vec![],
            removed_password_credentials: vec![],
            required_resource_access: vec![],
            federated_identity_credentials: vec![],
            replication: None,
        }
    }

    /// Adds a key (a write that replicates: lagging requests do not list it yet).
    pub fn add_password(&mut self, key: PasswordCredential, replicator: &mut Replicator, now: DateTime<Utc>) {
        add_created(&mut self.password_credentials, key, replicator, now);
    }

    /// Removes a key (a write that replicates: lagging requests still list it). False if there is none.
    pub fn remove_password(&mut self, key_id: &str, replicator: &mut Replicator, now: DateTime<Utc>) -> bool {
        let Some(index) = self
            .password_credentials
            .iter()
            .position(|k| k.key_id.eq_ignore_ascii_case(key_id))
        else {
            return false;
        };
        let key = self.password_credentials.remove(index);
        replicator.removed(key, &mut self.removed_password_credentials, now);
        true
    }
}

impl Replicated for Application {
    type Before = AppProperties;

    fn pending(&mut self) -> &mut Option<Pending<AppProperties>> {
        &mut self.replication
    }

    fn properties(&self) -> AppProperties {
        AppProperties {
            display_name: self.display_name.clone(),
            required_resource_access: self.required_resource_access.clone(),
        }
    }

    fn as_before(&self, before: &AppProperties) -> Self {
        let mut old = self.clone();
        old.display_name = before.display_name.clone();
        old.required_resource_access = before.required_resource_access.clone();
        old
    }

    /// Keys replicate on their own: new ones are missed, removed ones still listed.
    fn view_parts(&mut self, seen: &mut Self, replicator: &mut Replicator, now: DateTime<Utc>) {
        seen.password_credentials = replicator.list(
            &mut self.password_credentials,
            &mut self.removed_password_credentials,
            |_| true,
            now,
        );
        seen.removed_password_credentials.clear();
    }
}

/// Objects that are only created and removed, never updated: a request that misses a write sees the
/// object as it is.
macro_rules! replicated_without_updates {
    ($($object:ty),+) => {$(
        impl Replicated for $object {
            type Before = ();

            fn pending(&mut self) -> &mut Option<Pending> {
                &mut self.replication
            }

            fn properties(&self) {}

            fn as_before(&self, _: &()) -> Self {
                self.clone()
            }
        }
    )+};
}

replicated_without_updates!(PasswordCredential, ServicePrincipal);

impl PermissionGrant {
    /// A new grant id: real ones are 43-character base64url strings, not GUIDs.
    pub fn new_id() -> String {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        URL_SAFE_NO_PAD.encode(raw)
    }
}

impl Replicated for PermissionGrant {
    type Before = String;

    fn pending(&mut self) -> &mut Option<Pending<String>> {
        &mut self.replication
    }

    fn properties(&self) -> String {
        self.scope.clone()
    }

    fn as_before(&self, before: &String) -> Self {
        let mut old = self.clone();
        old.scope = before.clone();
        old
    }
}
