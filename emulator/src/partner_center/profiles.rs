//! `/v1/profiles/mpn` (also `?mpnId=`) and `/v1/profiles/organization` (UTF-8 BOM first, like the real one).

use axum::response::{IntoResponse as _, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use super::error::PartnerCenterError;
use super::json_text_response;
use crate::emulator::State;

fn self_link(uri: &str) -> serde_json::Value {
    json!({ "self": { "uri": uri, "method": "GET", "headers": [] } })
}

/// The partner's MPN profile, or (with `mpnId`) the one of the partner or an indirect reseller.
pub fn mpn(state: &State, mpn_id: Option<&str>) -> Result<Response, PartnerCenterError> {
    let (name, id) = match mpn_id {
        None => (state.partner.company_name.clone(), state.partner.mpn_id.clone()),
        Some(wanted) if wanted == state.partner.mpn_id => {
            (state.partner.company_name.clone(), state.partner.mpn_id.clone())
        }
        Some(wanted) => match state.resellers.iter().find(|r| r.mpn_id == wanted) {
            Some(reseller) => (reseller.name.clone(), reseller.mpn_id.clone()),
            None => {
                return Err(PartnerCenterError::not_found(format!(
                    "MPN Id {wanted} not found."
                )));
            }
        },
    };
    let uri = match mpn_id {
        Some(wanted) => format!("/profiles/mpn?mpnId={wanted}"),
        None => "/profiles/mpn".to_owned(),
    };
    let body = json!({
        "partnerName": name,
        "mpnId": id,
        "profileType": "MpnProfile",
        "links": self_link(&uri),
        "attributes": { "objectType": "MpnProfile" }
    });
    Ok(json_text_response(StatusCode::OK, body.to_string()))
}

/// The partner's organization profile. Partner Center prefixes this body with a byte order mark, which
/// trips strict JSON parsers; the `organization_profile_bom` setting turns it off.
pub fn organization(state: &State) -> Response {
    let partner = &state.partner;
    let body = json!({
        "id": partner.tenant_id,
        "companyName": partner.company_name,
        // Field names as the Partner Center docs and .NET SDK model them (reference §2.3).
        "domain": partner.domain,
        "tenantId": partner.tenant_id,
        "defaultAddress": {
            "country": partner.country,
            "region": "WA",
            "city": "Redmond",
            "state": "WA",
            "addressLine1": "1 Contoso Way",
            "postalCode": "98052",
            "firstName": "Ada",
            "lastName": "Admin",
            "phoneNumber": "4255550100"
        },
        "email": partner.user,
        "language": "en",
        "culture": "en-US",
        "profileType": "OrganizationProfile",
        "links": self_link("/profiles/organization"),
        "attributes": { "etag": "\"emulator-1\"", "objectType": "OrganizationProfile" }
    });
    let mut bytes = Vec::new();
    if state.settings.organization_profile_bom {
        bytes.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
    }
    bytes.extend_from_slice(body.to_string().as_bytes());
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
