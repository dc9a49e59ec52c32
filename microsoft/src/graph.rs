//! Microsoft Graph v1.0: applications and their password credentials, service principals, and
//! delegated permission grants.

use crate::auth::Access;
use crate::client::Client;
use crate::context::CallContext;
use crate::endpoints::{join, next_link_on};
use crate::error::{Error, Service};
use crate::http::{Body, Request, Response};
use crate::secret::Secret;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// An application registration (only the fields this crate uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Object id (used in write routes).
    #[serde(default)]
    pub id: String,
    /// Application (client) id.
    #[serde(default)]
    pub app_id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_name: String,
    /// Secrets (values never included).
    #[serde(default, deserialize_with = "null_as_default")]
    pub password_credentials: Vec<PasswordCredential>,
    /// Requested API permissions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

/// A password credential (key) of an application, without its value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// Key id (GUID).
    #[serde(default)]
    pub key_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Start of validity.
    #[serde(default, deserialize_with = "lenient_time")]
    pub start_date_time: Option<DateTime<Utc>>,
    /// End of validity.
    #[serde(default, deserialize_with = "lenient_time")]
    pub end_date_time: Option<DateTime<Utc>>,
    /// First characters of the value.
    #[serde(default)]
    pub hint: Option<String>,
}

/// One API's requested permissions, as stored in `requiredResourceAccess`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    /// The API's application id.
    pub resource_app_id: String,
    /// The permissions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_access: Vec<ResourceAccess>,
}

/// One permission: a delegated scope or an app role, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    /// Scope or app role id.
    pub id: String,
    /// `Scope` or `Role`.
    #[serde(rename = "type")]
    pub kind: ResourceAccessKind,
}

/// An enum of Graph string values that keeps values this crate does not know (`Other`), compares
/// case-insensitively when reading, and writes the canonical spelling.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know.
            Other(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $(if s.eq_ignore_ascii_case($wire) {
                    return Ok(Self::$variant);
                })+
                Ok(Self::Other(s))
            }
        }
    };
}

open_enum! {
    /// The kind of a permission; unknown values are kept.
    ResourceAccessKind {
        /// Delegated permission.
        Scope = "Scope",
        /// Application permission.
        Role = "Role",
    }
}

/// A new key to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPassword {
    /// Display name.
    pub display_name: Option<String>,
    /// Start (Graph defaults to now).
    pub start: Option<DateTime<Utc>>,
    /// End (Graph defaults to start + 2 years).
    pub end: Option<DateTime<Utc>>,
}

/// The answer to addPassword: the credential and its value, shown only this once.
#[derive(Debug, Clone)]
pub struct CreatedPassword {
    /// The new credential.
    pub credential: PasswordCredential,
    /// Its value.
    pub secret_text: Secret,
}

/// A service principal (only the fields this crate uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Object id.
    #[serde(default)]
    pub id: String,
    /// Application id.
    #[serde(default)]
    pub app_id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_name: String,
    /// Delegated permissions the API exposes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub oauth2_permission_scopes: Vec<PermissionScope>,
}

/// A delegated permission exposed by an API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    /// Scope id.
    #[serde(default)]
    pub id: String,
    /// Claim value, e.g. `user_impersonation`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
    /// Label shown to admins.
    #[serde(default)]
    pub admin_consent_display_name: Option<String>,
    /// Whether it can be granted.
    #[serde(default = "yes")]
    pub is_enabled: bool,
}

fn yes() -> bool {
    true
}

open_enum! {
    /// Who a delegated grant is for; unknown values are kept.
    ConsentType {
        /// Admin consent for all users.
        AllPrincipals = "AllPrincipals",
        /// One user.
        Principal = "Principal",
    }
}

/// A delegated permission grant (oAuth2PermissionGrant).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGrant {
    /// Grant id.
    #[serde(default)]
    pub id: String,
    /// Object id of the client service principal.
    #[serde(default)]
    pub client_id: String,
    /// Who it is for.
    pub consent_type: ConsentType,
    /// The user, for `Principal` grants.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// Object id of the resource (API) service principal.
    #[serde(default)]
    pub resource_id: String,
    /// Space-separated scope values.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: String,
}

/// A grant to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGrant {
    /// Object id of the client service principal.
    pub client_id: String,
    /// Object id of the resource service principal.
    pub resource_id: String,
    /// Space-separated scope values.
    pub scope: String,
    /// Usually `AllPrincipals` (admin consent).
    pub consent_type: ConsentType,
    /// The user, for `Principal` grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
}

/// A tenant app management policy (the tenant default, `GET /policies/defaultAppManagementPolicy`, or one
/// assigned to applications, `GET /policies/appManagementPolicies/{id}`), reduced to what limits
/// password credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppManagementPolicy {
    /// Policy id (all zeros for the tenant default).
    pub id: String,
    /// Its name.
    pub display_name: Option<String>,
    /// Whether the policy is in force.
    pub is_enabled: bool,
    /// Its restrictions on applications' password credentials.
    pub password_credentials: Vec<PasswordRestriction>,
}

/// One `passwordCredentials` restriction of an app management policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordRestriction {
    /// `passwordAddition`, `passwordLifetime`, `customPasswordAddition`, ...
    pub restriction_type: String,
    /// `enabled` or `disabled` (absent in older documents: enabled).
    #[serde(default)]
    pub state: Option<String>,
    /// ISO 8601 duration for the `*Lifetime` types, e.g. `P90D`.
    #[serde(default)]
    pub max_lifetime: Option<String>,
}

impl PasswordRestriction {
    /// Whether the restriction is evaluated.
    pub fn is_enabled(&self) -> bool {
        self.state
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("enabled"))
    }
}

impl<'de> Deserialize<'de> for AppManagementPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Restrictions {
            #[serde(default)]
            password_credentials: Vec<PasswordRestriction>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            #[serde(default)]
            id: String,
            #[serde(default)]
            display_name: Option<String>,
            #[serde(default)]
            is_enabled: bool,
            // The tenant default names them `applicationRestrictions`, assigned policies `restrictions`.
            #[serde(default)]
            application_restrictions: Option<Restrictions>,
            #[serde(default)]
            restrictions: Option<Restrictions>,
        }
        let wire = Wire::deserialize(d)?;
        Ok(AppManagementPolicy {
            id: wire.id,
            display_name: wire.display_name,
            is_enabled: wire.is_enabled,
            password_credentials: wire
                .application_restrictions
                .or(wire.restrictions)
                .unwrap_or_default()
                .password_credentials,
        })
    }
}

/// Graph v1.0 operations. Obtained from [`Client::graph`].
#[derive(Debug, Clone)]
pub struct Graph {
    client: Client,
}

/// Graph's OData string literal: single quotes doubled, URL-special characters refused.
fn odata_literal(s: &str) -> Result<String, Error> {
    Ok(id_segment("id", s)?.replace('\'', "''"))
}

/// An id placed in a URL path. Ids are GUIDs or Graph's base64url grant ids; anything that could
/// change the path or query (`/`, `?`, `#`, `%`, spaces) is refused rather than encoded.
fn id_segment<'a>(what: &str, s: &'a str) -> Result<&'a str, Error> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '\'' | '@'));
    if ok {
        Ok(s)
    } else {
        Err(Error::Config(format!("{what} {s:?} is not a valid identifier")))
    }
}

impl Graph {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        join(&self.client.inner.endpoints.graph, &format!("v1.0/{path}"))
    }

    async fn send(&self, ctx: &CallContext, operation: &str, req: Request) -> Result<Response, Error> {
        let audience = self.client.inner.audiences.graph;
        self.client
            .send_authed(ctx, audience, Access::AppOnlyOrUser, operation, req)
            .await
    }

    fn request(&self, method: Method, path: &str) -> Result<Request, Error> {
        Ok(Request::new(Service::Graph, method, self.url(path)?))
    }

    /// `GET /{set}(appId='{app_id}')` read as `what`; `None` when there is none.
    async fn by_app_id<T: DeserializeOwned>(
        &self,
        ctx: &CallContext,
        set: &str,
        app_id: &str,
        operation: &str,
        what: &'static str,
    ) -> Result<Option<T>, Error> {
        let path = format!("{set}(appId='{}')", odata_literal(app_id)?);
        self.get_if_found(ctx, operation, &path, what).await
    }

    /// `GET {path}` read as `what`; `None` when Graph answers 404 (no such object).
    async fn get_if_found<T: DeserializeOwned>(
        &self,
        ctx: &CallContext,
        operation: &str,
        path: &str,
        what: &'static str,
    ) -> Result<Option<T>, Error> {
        let req = self.request(Method::GET, path)?;
        match self.send(ctx, operation, req).await {
            Ok(r) => r.json(what).map(Some),
            Err(Error::Api(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /applications(appId='{app_id}')`; `None` when there is no such application.
    pub async fn application_by_app_id(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<Option<Application>, Error> {
        self.by_app_id(
            ctx,
            "applications",
            app_id,
            "reading an application",
            "an application",
        )
        .await
    }

    /// `POST /applications/{id}/addPassword`. Not retried when it may have been applied
    /// ([`Error::Ambiguous`]): look for the key by display name and start before trying again.
    pub async fn add_password(
        &self,
        ctx: &CallContext,
        app_object_id: &str,
        password: NewPassword,
    ) -> Result<CreatedPassword, Error> {
        let mut cred = serde_json::Map::new();
        if let Some(n) = &password.display_name {
            cred.insert("displayName".into(), n.clone().into());
        }
        if let Some(s) = password.start {
            cred.insert("startDateTime".into(), graph_time(s).into());
        }
        if let Some(e) = password.end {
            cred.insert("endDateTime".into(), graph_time(e).into());
        }
        let body = serde_json::json!({ "passwordCredential": cred });
        let req = self
            .request(
                Method::POST,
                &format!(
                    "applications/{}/addPassword",
                    id_segment("application object id", app_object_id)?
                ),
            )?
            .body(Body::json(&body)?);
        let r = self.send(ctx, "adding a key to an application", req).await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            #[serde(flatten)]
            credential: PasswordCredential,
            secret_text: Secret,
        }
        let a: Answer = r.json("a password credential with secretText")?;
        Ok(CreatedPassword {
            credential: a.credential,
            secret_text: a.secret_text,
        })
    }

    /// `POST /applications/{id}/removePassword`. A key or application that does not exist is
    /// [`Error::NotFound`], so callers can treat removal as idempotent. Safe to retry.
    pub async fn remove_password(
        &self,
        ctx: &CallContext,
        app_object_id: &str,
        key_id: &str,
    ) -> Result<(), Error> {
        let req = self
            .request(
                Method::POST,
                &format!(
                    "applications/{}/removePassword",
                    id_segment("application object id", app_object_id)?
                ),
            )?
            .body(Body::json(&serde_json::json!({ "keyId": key_id }))?)
            .idempotent(true);
        match self.send(ctx, "removing a key from an application", req).await {
            Ok(_) => Ok(()),
            Err(Error::Api(e)) if e.status == 404 || removal_target_missing(&e) => Err(Error::NotFound {
                what: format!("key {key_id} of application {app_object_id}"),
                source: e,
            }),
            Err(e) => Err(e),
        }
    }

    /// `PATCH /applications/{id}` with the whole `requiredResourceAccess` list (Graph replaces it:
    /// read, merge, then write).
    pub async fn set_required_resource_access(
        &self,
        ctx: &CallContext,
        app_object_id: &str,
        access: &[RequiredResourceAccess],
    ) -> Result<(), Error> {
        let req = self
            .request(
                Method::PATCH,
                &format!(
                    "applications/{}",
                    id_segment("application object id", app_object_id)?
                ),
            )?
            .body(Body::json(
                &serde_json::json!({ "requiredResourceAccess": access }),
            )?);
        self.send(ctx, "updating an application's API permissions", req)
            .await?;
        Ok(())
    }

    /// `GET /servicePrincipals(appId='{app_id}')`; `None` when the tenant has none.
    pub async fn service_principal_by_app_id(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, Error> {
        let what = "a service principal";
        self.by_app_id(
            ctx,
            "servicePrincipals",
            app_id,
            "reading a service principal",
            what,
        )
        .await
    }

    /// `GET /policies/defaultAppManagementPolicy`: the tenant's default app management policy (needs
    /// `Policy.Read.All`).
    pub async fn default_app_management_policy(
        &self,
        ctx: &CallContext,
    ) -> Result<AppManagementPolicy, Error> {
        let req = self.request(Method::GET, "policies/defaultAppManagementPolicy")?;
        self.send(ctx, "reading the tenant's app management policy", req)
            .await?
            .json("an app management policy")
    }

    /// `GET /policies/appManagementPolicies/{id}`; `None` when there is no such policy.
    pub async fn app_management_policy(
        &self,
        ctx: &CallContext,
        policy_id: &str,
    ) -> Result<Option<AppManagementPolicy>, Error> {
        let path = format!(
            "policies/appManagementPolicies/{}",
            id_segment("policy id", policy_id)?
        );
        self.get_if_found(
            ctx,
            "reading an app management policy",
            &path,
            "an app management policy",
        )
        .await
    }

    /// `POST /servicePrincipals` `{appId}`. Not retried when it may have been applied.
    pub async fn create_service_principal(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<ServicePrincipal, Error> {
        let req = self
            .request(Method::POST, "servicePrincipals")?
            .body(Body::json(&serde_json::json!({ "appId": app_id }))?);
        self.send(ctx, "creating a service principal", req)
            .await?
            .json("a service principal")
    }

    /// `GET /oauth2PermissionGrants?$filter=clientId eq '{id}'`, all pages.
    pub async fn delegated_grants(
        &self,
        ctx: &CallContext,
        client_sp_id: &str,
    ) -> Result<Vec<PermissionGrant>, Error> {
        let mut url = self.url("oauth2PermissionGrants")?;
        url.query_pairs_mut().append_pair(
            "$filter",
            &format!("clientId eq '{}'", odata_literal(client_sp_id)?),
        );
        let mut out = Vec::new();
        let mut next = Some(url);
        let graph = &self.client.inner.endpoints.graph;
        while let Some(url) = next.take() {
            let req = Request::new(Service::Graph, Method::GET, url);
            let r = self.send(ctx, "listing delegated permission grants", req).await?;
            let page: GrantPage = r.json("a list of permission grants")?;
            out.extend(page.value);
            next = match page.next_link {
                Some(link) => Some(next_link_on(Service::Graph, graph, Url::parse(&link))?),
                None => None,
            };
        }
        Ok(out)
    }

    /// `POST /oauth2PermissionGrants`. Not retried when it may have been applied.
    pub async fn create_delegated_grant(
        &self,
        ctx: &CallContext,
        grant: NewGrant,
    ) -> Result<PermissionGrant, Error> {
        let req = self
            .request(Method::POST, "oauth2PermissionGrants")?
            .body(Body::json(&grant)?);
        self.send(ctx, "creating a delegated permission grant", req)
            .await?
            .json("a permission grant")
    }

    /// `PATCH /oauth2PermissionGrants/{id}` `{scope}` (replaces the whole scope list).
    pub async fn update_grant_scope(
        &self,
        ctx: &CallContext,
        grant_id: &str,
        scope: &str,
    ) -> Result<(), Error> {
        let req = self
            .request(
                Method::PATCH,
                &format!("oauth2PermissionGrants/{}", id_segment("grant id", grant_id)?),
            )?
            .body(Body::json(&serde_json::json!({ "scope": scope }))?);
        self.send(ctx, "updating a delegated permission grant", req)
            .await?;
        Ok(())
    }

    /// `DELETE /oauth2PermissionGrants/{id}`; a grant that does not exist is [`Error::NotFound`].
    pub async fn delete_grant(&self, ctx: &CallContext, grant_id: &str) -> Result<(), Error> {
        let req = self.request(
            Method::DELETE,
            &format!("oauth2PermissionGrants/{}", id_segment("grant id", grant_id)?),
        )?;
        match self.send(ctx, "deleting a delegated permission grant", req).await {
            Ok(_) => Ok(()),
            Err(Error::Api(e)) if e.status == 404 => Err(Error::NotFound {
                what: format!("delegated permission grant {grant_id}"),
                source: e,
            }),
            Err(e) => Err(e),
        }
    }
}

/// A page of `GET /oauth2PermissionGrants`.
#[derive(Deserialize)]
pub(crate) struct GrantPage {
    #[serde(default)]
    pub(crate) value: Vec<PermissionGrant>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// Graph answers removePassword for an unknown key with 400 and a message naming the key; treat it as
/// "not found" so removal can be idempotent.
fn removal_target_missing(e: &crate::error::ApiError) -> bool {
    e.status == 400 && {
        let m = e.message.to_ascii_lowercase();
        m.contains("no password credential") || m.contains("does not exist") || m.contains("not found")
    }
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// RFC 3339, or a zone-less date-time taken as UTC (Graph's `date` fields sometimes lack the `Z`).
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| Some(n.and_utc()))
        .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 date-time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::fixture;

    #[test]
    fn application_decodes_and_drops_unknown_fields() {
        let app: Application = serde_json::from_slice(&fixture("graph_application.json")).expect("decodes");
        assert_eq!(app.app_id, "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47");
        assert_eq!(app.password_credentials.len(), 2);
        let k = &app.password_credentials[0];
        assert_eq!(k.display_name.as_deref(), Some("terraform"));
        assert_eq!(
            k.end_date_time.map(|t| t.to_rfc3339()),
            Some("2027-11-22T05:00:00+00:00".into())
        );
        // A zone-less time and a null display name are accepted.
        assert_eq!(app.password_credentials[1].display_name, None);
        assert!(app.password_credentials[1].start_date_time.is_some());
        let rra = &app.required_resource_access;
        assert_eq!(rra[0].resource_access[0].kind, ResourceAccessKind::Scope);
        assert_eq!(
            rra[1].resource_access[0].kind,
            ResourceAccessKind::Other("Delegated2".into())
        );
        // Writing it back keeps exactly the wire shape.
        let back = serde_json::to_value(rra).expect("encodes");
        assert_eq!(back[0]["resourceAccess"][0]["type"], "Scope");
        assert_eq!(back[1]["resourceAccess"][0]["type"], "Delegated2");
    }

    #[test]
    fn service_principal_and_grants_decode() {
        let sp: ServicePrincipal =
            serde_json::from_slice(&fixture("graph_service_principal.json")).expect("decodes");
        assert_eq!(sp.oauth2_permission_scopes[0].value, "user_impersonation");
        assert!(sp.oauth2_permission_scopes[0].is_enabled);
        let g: PermissionGrant = serde_json::from_slice(
            br#"{"id":"g1","clientId":"c","consentType":"AllPrincipals","principalId":null,"resourceId":"r","scope":"User.Read Directory.AccessAsUser.All"}"#,
        )
        .expect("decodes");
        assert_eq!(g.consent_type, ConsentType::AllPrincipals);
        assert_eq!(g.principal_id, None);
        let g: PermissionGrant = serde_json::from_slice(
            br#"{"id":"g2","clientId":"c","consentType":"SomethingNew","resourceId":"r"}"#,
        )
        .expect("decodes");
        assert_eq!(g.consent_type, ConsentType::Other("SomethingNew".into()));
        assert_eq!(g.scope, "");
    }

    #[test]
    fn new_grant_encodes_as_documented() {
        let g = NewGrant {
            client_id: "c".into(),
            resource_id: "r".into(),
            scope: "user_impersonation".into(),
            consent_type: ConsentType::AllPrincipals,
            principal_id: None,
        };
        assert_eq!(
            serde_json::to_value(&g).expect("encodes"),
            serde_json::json!({"clientId":"c","resourceId":"r","scope":"user_impersonation","consentType":"AllPrincipals"})
        );
        assert_eq!(odata_literal("o'brien").expect("ok"), "o''brien");
        for bad in ["", "a/b", "a?b", "a b", "a%2F", "x#y"] {
            assert!(id_segment("id", bad).is_err(), "{bad:?}");
        }
        assert!(id_segment("grant id", "AbC-_d.e~").is_ok());
    }
}
