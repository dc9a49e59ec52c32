//! The partner tenant's Entra directory: application registrations with their keys, service principals and
//! delegated permission grants.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::replication::{self, Replication};
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
    pub required_resource_access: Vec<RequiredResourceAccess>,
    pub federated_identity_credentials: Vec<FederatedCredential>,
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
    pub replication: Option<Replication>,
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
    pub replication: Option<Replication>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
}

/// Microsoft's own tenant, owner of the first-party applications.
pub const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// All directory objects of the partner tenant.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub oauth2_permission_grants: Vec<PermissionGrant>,
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
            required_resource_access: vec![],
            federated_identity_credentials: vec![FederatedCredential {
                name: "github-main".into(),
                issuer: crate::demo::FEDERATED_ISSUER.into(),
                subject: crate::demo::FEDERATED_SUBJECT.into(),
                audiences: vec![crate::demo::FEDERATED_AUDIENCE.into()],
            }],
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
        }
    }

    /// The application registration with this App ID (writers' view: ignores replication).
    pub fn application_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }

    pub fn application_by_app_id_mut(&mut self, app_id: &str) -> Option<&mut Application> {
        self.applications
            .iter_mut()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Removes a service principal and, as Entra does, the grants that name it.
    pub fn delete_service_principal(&mut self, sp_id: &str) -> bool {
        let before = self.service_principals.len();
        self.service_principals
            .retain(|sp| !sp.id.eq_ignore_ascii_case(sp_id));
        self.oauth2_permission_grants.retain(|g| {
            !g.client_id.eq_ignore_ascii_case(sp_id) && !g.resource_id.eq_ignore_ascii_case(sp_id)
        });
        self.service_principals.len() != before
    }
}

impl Application {
    /// A copy as a reader sees it: keys still replicating are left out (and their pending reads consumed).
    pub fn replica_view(&mut self, now: DateTime<Utc>) -> Application {
        let mut seen = self.clone();
        seen.password_credentials.clear();
        for key in &mut self.password_credentials {
            if replication::read_sees(&mut key.replication, now) {
                seen.password_credentials.push(key.clone());
            }
        }
        seen
    }
}
