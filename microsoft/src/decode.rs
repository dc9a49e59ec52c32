//! Public entry points into the response decoders, for fuzzing (`fuzz/`): each takes the bytes a
//! Microsoft service answered and runs them through the same decoding a real answer goes through
//! ([`Response::json`](crate::http) after a BOM, the wire-to-public conversions, next-link
//! resolution, error-shape detection). They must return errors on bad input, never panic.
//!
//! Not part of the client's API proper: nothing here sends a request.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use crate::auth::token::TokenResponse;
use crate::endpoints::Environment;
use crate::error::{ApiError, Error, ResponseIds, Service, decode_error};
use crate::graph::{Application, GrantPage, PasswordCredential, PermissionGrant, ServicePrincipal};
use crate::http::Response;
use crate::partner_center::{
    Customer, IndirectReseller, MpnProfile, OrganizationProfile, Page, WireCustomer, resolve_link,
};
use crate::secret::Secret;

fn ok_response(service: Service, body: &[u8]) -> Response {
    Response {
        service,
        status: 200,
        request: "GET /fuzz".to_owned(),
        body: body.to_vec(),
    }
}

/// A Partner Center page's items and the URL of the next page, if any (resolved against the public
/// Partner Center root, refusing other hosts).
fn page<T, U>(body: &[u8], convert: impl Fn(T) -> U) -> Result<(Vec<U>, Option<Url>), Error>
where
    T: for<'de> Deserialize<'de>,
{
    let page: Page<T> = ok_response(Service::PartnerCenter, body).json("a collection page")?;
    let base = Environment::Public.endpoints().partner_center;
    let next = match page.links.and_then(|l| l.next).filter(|l| !l.uri.is_empty()) {
        Some(link) => Some(resolve_link(&base, &link.uri)?),
        None => None,
    };
    Ok((page.items.into_iter().map(convert).collect(), next))
}

/// `GET /v1/customers` page: the customers and the next page's URL.
pub fn customers_page(body: &[u8]) -> Result<(Vec<Customer>, Option<Url>), Error> {
    page::<WireCustomer, Customer>(body, Customer::from)
}

/// `GET /v1/relationships?relationship_type=IsIndirectCloudSolutionProviderOf` page.
pub fn indirect_resellers_page(body: &[u8]) -> Result<(Vec<IndirectReseller>, Option<Url>), Error> {
    page::<IndirectReseller, IndirectReseller>(body, |r| r)
}

/// `GET /v1/profiles/mpn`.
pub fn mpn_profile(body: &[u8]) -> Result<MpnProfile, Error> {
    ok_response(Service::PartnerCenter, body).json("an MPN profile")
}

/// `GET /v1/profiles/organization` (may start with a BOM).
pub fn organization_profile(body: &[u8]) -> Result<OrganizationProfile, Error> {
    ok_response(Service::PartnerCenter, body).json("an organization profile")
}

/// Graph `GET /applications(appId='…')`.
pub fn application(body: &[u8]) -> Result<Application, Error> {
    ok_response(Service::Graph, body).json("an application")
}

/// Graph `POST /applications/{id}/addPassword`: the credential and whether a secret came with it.
pub fn added_password(body: &[u8]) -> Result<PasswordCredential, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(flatten)]
        credential: PasswordCredential,
        #[allow(dead_code)]
        secret_text: Secret,
    }
    let a: Answer = ok_response(Service::Graph, body).json("a password credential with secretText")?;
    Ok(a.credential)
}

/// Graph `GET /servicePrincipals(appId='…')`.
pub fn service_principal(body: &[u8]) -> Result<ServicePrincipal, Error> {
    ok_response(Service::Graph, body).json("a service principal")
}

/// Graph `GET /oauth2PermissionGrants?$filter=…`: the grants (the page shape of `Graph::delegated_grants`).
pub fn permission_grants(body: &[u8]) -> Result<Vec<PermissionGrant>, Error> {
    let page: GrantPage = ok_response(Service::Graph, body).json("a list of permission grants")?;
    Ok(page.value)
}

/// A token endpoint answer (v1 or v2) and the access token's lifetime judged at `now`.
pub fn token_response(body: &[u8], now: DateTime<Utc>) -> Result<Duration, Error> {
    let t: TokenResponse = ok_response(Service::Login, body).json("a token response")?;
    Ok(t.lifetime(now))
}

/// Any error answer of `service` with `status`, as [`Error::Api`] would hold it; `retry_after` is the
/// raw `Retry-After` header.
pub fn api_error(
    service: Service,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> ApiError {
    let ids = ResponseIds {
        request_id: None,
        correlation_id: None,
        retry_after: retry_after.and_then(|v| crate::retry::parse_retry_after(v, now)),
    };
    decode_error(service, status, "GET /fuzz".to_owned(), ids, body)
}
