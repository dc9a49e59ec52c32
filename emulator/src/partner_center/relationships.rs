//! `/v1/relationships?relationship_type=...` (the partner's indirect resellers) and a customer's resellers.

use http::StatusCode;
use serde_json::{Value, json};

use super::error::PartnerCenterError;
use super::json_text_response;
use crate::emulator::State;
use crate::seed::ResellerSeed;

fn relationship_json(reseller: &ResellerSeed, kind: &str) -> Value {
    json!({
        "id": reseller.id,
        "name": reseller.name,
        "relationshipType": kind,
        "state": "Active",
        "mpnId": reseller.mpn_id,
        "location": reseller.location,
        "attributes": { "objectType": "PartnerRelationship" }
    })
}

fn collection(items: Vec<Value>) -> axum::response::Response {
    let body =
        json!({ "totalCount": items.len(), "items": items, "attributes": { "objectType": "Collection" } });
    json_text_response(StatusCode::OK, body.to_string())
}

/// `relationship_type` comes PascalCase from the SDK and snake_case from the swagger; responses are snake_case.
pub fn list(
    state: &State,
    relationship_type: Option<&str>,
    filter: Option<&str>,
) -> Result<axum::response::Response, PartnerCenterError> {
    let kind = relationship_type
        .ok_or_else(|| PartnerCenterError::invalid_input("The relationship_type parameter is required."))?
        .replace('_', "")
        .to_ascii_lowercase();
    let name_prefix = match filter {
        Some(text) => Some(name_filter(text)?),
        None => None,
    };
    match kind.as_str() {
        "isindirectcloudsolutionproviderof" => Ok(collection(
            state
                .resellers
                .iter()
                .filter(|r| {
                    name_prefix
                        .as_ref()
                        .is_none_or(|p| r.name.to_lowercase().starts_with(p))
                })
                .map(|r| relationship_json(r, "is_indirect_cloud_solution_provider_of"))
                .collect(),
        )),
        // The demo partner is an indirect provider, not a reseller: it has no providers of its own.
        "isindirectresellerof" => Ok(collection(vec![])),
        _ => Err(PartnerCenterError::invalid_input(format!(
            "Unsupported relationship_type '{}'.",
            relationship_type.unwrap_or_default()
        ))),
    }
}

fn name_filter(text: &str) -> Result<String, PartnerCenterError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|_| PartnerCenterError::invalid_input(format!("Invalid filter '{text}'.")))?;
    let field = value.get("Field").and_then(Value::as_str).unwrap_or_default();
    let wanted = value.get("Value").and_then(Value::as_str);
    match wanted {
        Some(wanted) if field.eq_ignore_ascii_case("Name") => Ok(wanted.to_lowercase()),
        _ => Err(PartnerCenterError::invalid_input(format!(
            "Invalid filter '{text}': only Field Name is supported."
        ))),
    }
}

/// `GET /v1/customers/{id}/relationships`: the indirect reseller a customer belongs to.
pub fn of_customer(state: &State, customer_id: &str) -> Result<axum::response::Response, PartnerCenterError> {
    let customer = state.customers.by_id(customer_id).ok_or_else(|| {
        PartnerCenterError::not_found(format!(
            "Customer '{customer_id}' was not found for this partner."
        ))
    })?;
    let items = state
        .resellers
        .iter()
        .filter(|r| {
            customer
                .associated_partner_id
                .as_ref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&r.id))
        })
        .map(|r| relationship_json(r, "is_indirect_reseller_of"))
        .collect();
    Ok(collection(items))
}
