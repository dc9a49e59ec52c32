//! `/v1/customers`: the seek-paged list with its JSON `filter`, and one customer by id. The list is kept
//! sorted and pre-rendered so that a page is a slice copy.

use std::fmt::Write as _;

use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::continuation::Continuation;
use super::error::PartnerCenterError;
use super::{PartnerCenterRequest, json_text_response, require_app_user};
use crate::access_token::TokenSigner;
use crate::seed::Seed;

/// `size` when the request gives none (or 0, as the .NET SDK sends).
pub const DEFAULT_PAGE_SIZE: usize = 500;

/// One customer, with lowercase keys for the case-insensitive `starts_with` filter and its list JSON.
#[derive(Debug, Clone)]
pub struct CustomerEntry {
    pub id: String,
    pub commerce_id: String,
    pub company_name: String,
    pub domain: String,
    pub relationship_to_partner: String,
    pub associated_partner_id: Option<String>,
    name_key: String,
    domain_key: String,
    reseller_key: String,
    list_json: String,
}

/// All customers, sorted by company name (case-insensitive), then id.
#[derive(Debug, Default)]
pub struct CustomerBook {
    pub customers: Vec<CustomerEntry>,
    /// Distinguishes seeds so that a token from another list is refused.
    pub generation: u64,
}

impl CustomerBook {
    pub fn new(seed: &Seed) -> Self {
        let mut customers: Vec<CustomerEntry> = seed
            .customers
            .iter()
            .map(|c| {
                let mut entry = CustomerEntry {
                    id: c.id.clone(),
                    commerce_id: c.commerce_id.clone().unwrap_or_else(|| c.id.clone()),
                    company_name: c.company_name.clone(),
                    domain: c.domain.clone(),
                    relationship_to_partner: c.relationship.clone().unwrap_or_else(|| "reseller".into()),
                    associated_partner_id: c.reseller_id.clone(),
                    name_key: c.company_name.to_lowercase(),
                    domain_key: c.domain.to_lowercase(),
                    reseller_key: c.reseller_id.clone().unwrap_or_default().to_lowercase(),
                    list_json: String::new(),
                };
                entry.list_json = entry.to_json(false).to_string();
                entry
            })
            .collect();
        customers.sort_by(|a, b| a.name_key.cmp(&b.name_key).then_with(|| a.id.cmp(&b.id)));
        // A fingerprint of the ids in order: tokens issued for one list are refused by another.
        let mut digest = Sha256::new();
        for customer in &customers {
            digest.update(customer.id.as_bytes());
        }
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.finalize()[..8]);
        let generation = u64::from_le_bytes(first);
        Self {
            customers,
            generation,
        }
    }

    pub fn by_id(&self, id: &str) -> Option<&CustomerEntry> {
        self.customers.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }
}

impl CustomerEntry {
    /// The customer JSON; `detailed` adds what only GET by id returns.
    pub fn to_json(&self, detailed: bool) -> Value {
        let mut customer = json!({
            "id": self.id,
            "commerceId": self.commerce_id,
            "companyProfile": {
                "tenantId": self.id,
                "domain": self.domain,
                "companyName": self.company_name,
                "links": { "self": { "uri": format!("/customers/{}/profiles/company", self.id), "method": "GET", "headers": [] } },
                "attributes": { "objectType": "CustomerCompanyProfile" }
            },
            "relationshipToPartner": self.relationship_to_partner,
            "links": { "self": { "uri": format!("/customers/{}", self.id), "method": "GET", "headers": [] } },
            "attributes": { "objectType": "Customer" }
        });
        if let Some(map) = customer.as_object_mut() {
            if let Some(partner) = &self.associated_partner_id {
                map.insert("associatedPartnerId".into(), Value::String(partner.clone()));
            }
            if detailed {
                map.insert("allowDelegatedAccess".into(), Value::Bool(true));
                map.insert("customDomains".into(), json!([self.domain]));
                map.insert(
                    "billingProfile".into(),
                    json!({
                        "id": self.commerce_id,
                        "companyName": self.company_name,
                        "culture": "en-US",
                        "language": "en",
                        "attributes": { "objectType": "CustomerBillingProfile" }
                    }),
                );
            }
        }
        customer
    }
}

/// The customer search fields Partner Center documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    CompanyName,
    Domain,
    IndirectReseller,
    IndirectCloudSolutionProvider,
}

impl Field {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "companyname" => Some(Self::CompanyName),
            "domain" => Some(Self::Domain),
            "indirectreseller" => Some(Self::IndirectReseller),
            "indirectcloudsolutionprovider" => Some(Self::IndirectCloudSolutionProvider),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::CompanyName => "CompanyName",
            Self::Domain => "Domain",
            Self::IndirectReseller => "IndirectReseller",
            Self::IndirectCloudSolutionProvider => "IndirectCloudSolutionProvider",
        }
    }
}

/// A parsed `filter` (value already lowercased: the match ignores case).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    field: Field,
    value: String,
}

impl Filter {
    fn parse(text: &str) -> Result<Self, PartnerCenterError> {
        let invalid =
            |why: &str| PartnerCenterError::invalid_input(format!("Invalid filter '{text}': {why}"));
        let value: Value = serde_json::from_str(text).map_err(|_| invalid("not a JSON object"))?;
        let Value::Object(map) = value else {
            return Err(invalid("not a JSON object"));
        };
        // Keys are PascalCase in the docs; Newtonsoft reads them case-insensitively, so do we.
        let get = |key: &str| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .and_then(|(_, v)| v.as_str())
        };
        let field = get("Field").and_then(Field::parse).ok_or_else(|| {
            invalid("Field must be CompanyName, Domain, IndirectReseller or IndirectCloudSolutionProvider")
        })?;
        let operator = get("Operator").unwrap_or("starts_with");
        if !operator.eq_ignore_ascii_case("starts_with") {
            return Err(invalid(
                "the only supported operator for customers is starts_with",
            ));
        }
        let value = get("Value").ok_or_else(|| invalid("Value is required"))?;
        Ok(Self {
            field,
            value: value.to_lowercase(),
        })
    }

    fn from_token(pair: &(String, String)) -> Option<Self> {
        Some(Self {
            field: Field::parse(&pair.0)?,
            value: pair.1.clone(),
        })
    }

    fn to_token(&self) -> (String, String) {
        (self.field.name().to_owned(), self.value.clone())
    }

    fn matches(&self, customer: &CustomerEntry, partner_tenant: &str) -> bool {
        match self.field {
            Field::CompanyName => customer.name_key.starts_with(&self.value),
            Field::Domain => customer.domain_key.starts_with(&self.value),
            Field::IndirectReseller => {
                !customer.reseller_key.is_empty() && customer.reseller_key.starts_with(&self.value)
            }
            // The signed-in partner is the indirect provider of every customer that has a reseller.
            Field::IndirectCloudSolutionProvider => {
                !customer.reseller_key.is_empty() && partner_tenant.to_lowercase().starts_with(&self.value)
            }
        }
    }
}

fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How the customer list pages, fixed for one request.
pub struct Paging<'a> {
    pub signer: &'a TokenSigner,
    pub book: &'a CustomerBook,
    pub partner_tenant: &'a str,
    /// A page holding exactly `size` items carries a token even when nothing follows.
    pub full_last_page_has_token: bool,
}

/// `GET /v1/customers`: where the request starts (a first page, or a continuation token bound to its
/// filter), the page from there, and its body.
pub fn list(
    request: &PartnerCenterRequest<'_>,
    paging: &Paging<'_>,
) -> Result<axum::response::Response, PartnerCenterError> {
    let pairs = &request.query;
    let size = page_size(query_param(pairs, "size"))?;
    let start = Start::read(request, paging)?;
    if start
        .filter
        .as_ref()
        .is_some_and(|f| f.field == Field::IndirectReseller)
    {
        require_app_user(&request.claims)?;
    }
    let page = Page::from(&start, size, paging)?;
    Ok(json_text_response(StatusCode::OK, page.body(size)))
}

/// `size`: absent or 0 (as the .NET SDK sends) is the default.
fn page_size(text: Option<&str>) -> Result<usize, PartnerCenterError> {
    match text.map(|t| (t, t.trim().parse::<usize>())) {
        None | Some((_, Ok(0))) => Ok(DEFAULT_PAGE_SIZE),
        Some((_, Ok(n))) => Ok(n),
        Some((text, Err(_))) => Err(PartnerCenterError::invalid_input(format!(
            "Invalid page size '{text}'."
        ))),
    }
}

/// Where a list request starts: the first page with the request's filter, or where a continuation
/// token points, with the filter it was issued for.
struct Start {
    filter: Option<Filter>,
    position: usize,
    /// Whether the request follows a token (`seekOperation=next`).
    following: bool,
}

impl Start {
    fn read(request: &PartnerCenterRequest<'_>, paging: &Paging<'_>) -> Result<Self, PartnerCenterError> {
        let pairs = &request.query;
        let given = query_param(pairs, "filter").map(Filter::parse).transpose()?;
        match query_param(pairs, "seekOperation") {
            None => {
                return Ok(Self {
                    filter: given,
                    position: 0,
                    following: false,
                });
            }
            Some(op) if op.eq_ignore_ascii_case("next") => {}
            Some(op) => {
                return Err(PartnerCenterError::invalid_input(format!(
                    "Unsupported seekOperation '{op}'."
                )));
            }
        }
        let token = continuation_header(request.headers).ok_or_else(|| {
            PartnerCenterError::invalid_input("seekOperation=next needs the MS-ContinuationToken header.")
        })?;
        let expired =
            || PartnerCenterError::invalid_input("The continuation token is invalid or has expired.");
        let continuation = Continuation::decode(token, paging.signer)
            .filter(|c| c.generation == paging.book.generation)
            .ok_or_else(expired)?;
        let bound = match &continuation.filter {
            Some(pair) => Some(Filter::from_token(pair).ok_or_else(expired)?),
            None => None,
        };
        if given.is_some() && given != bound {
            return Err(PartnerCenterError::invalid_input(
                "The continuation token was issued for a different filter than this request's.",
            ));
        }
        Ok(Self {
            filter: bound,
            position: continuation.position,
            following: true,
        })
    }
}

/// One page of matching customers and the token for the next match, if any.
struct Page<'a> {
    customers: Vec<&'a CustomerEntry>,
    token: Option<String>,
}

impl<'a> Page<'a> {
    fn from(start: &Start, size: usize, paging: &Paging<'a>) -> Result<Self, PartnerCenterError> {
        let customers = &paging.book.customers;
        let accept = |c: &CustomerEntry| {
            start
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(c, paging.partner_tenant))
        };
        let exhausted = customers
            .get(start.position..)
            .is_none_or(|rest| !rest.iter().any(&accept));
        if start.following && exhausted {
            // What Microsoft's own tool reads as the end of the list.
            return Err(PartnerCenterError::invalid_input(
                "There are no more records to return for this continuation token.",
            ));
        }
        let mut page: Vec<&CustomerEntry> = Vec::with_capacity(size.min(customers.len()));
        let mut position = start.position.min(customers.len());
        while position < customers.len() && page.len() < size {
            if let Some(c) = customers.get(position).filter(|c| accept(c)) {
                page.push(c);
            }
            position += 1;
        }
        // A token points at the next match; a full page carries one even when none remains (the real
        // service pages "by the page size"), and following it then answers 400 code 2000.
        let next = customers
            .get(position..)
            .and_then(|rest| rest.iter().position(&accept))
            .map(|i| position + i)
            .or_else(|| (paging.full_last_page_has_token && page.len() == size).then_some(position));
        let token = next.map(|position| {
            Continuation {
                filter: start.filter.as_ref().map(Filter::to_token),
                position,
                generation: paging.book.generation,
            }
            .encode(paging.signer)
        });
        Ok(Self {
            customers: page,
            token,
        })
    }

    /// The page's JSON, written from the pre-rendered customers.
    fn body(&self, size: usize) -> String {
        let page = &self.customers;
        let mut body = String::with_capacity(page.iter().map(|c| c.list_json.len() + 1).sum::<usize>() + 512);
        // `totalCount` is the number of items in this page, as the real service reports it.
        let _ = write!(body, "{{\"totalCount\":{},\"items\":[", page.len());
        for (i, customer) in page.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&customer.list_json);
        }
        body.push_str("],\"links\":{\"self\":");
        body.push_str(&link(&format!("/customers?size={size}"), None).to_string());
        if let Some(token) = &self.token {
            body.push_str(",\"next\":");
            body.push_str(
                &link(&format!("/customers?size={size}&seekOperation=next"), Some(token)).to_string(),
            );
        }
        body.push('}');
        if let Some(token) = &self.token {
            let _ = write!(body, ",\"continuationToken\":{}", Value::String(token.clone()));
        }
        body.push_str(",\"attributes\":{\"objectType\":\"Collection\"}}");
        body
    }
}

fn link(uri: &str, continuation: Option<&str>) -> Value {
    let headers = match continuation {
        Some(token) => json!([{ "key": "MS-ContinuationToken", "value": token }]),
        None => json!([]),
    };
    json!({ "uri": uri, "method": "GET", "headers": headers })
}

fn continuation_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("MS-ContinuationToken")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

/// `GET /v1/customers/{id}`.
pub fn get(book: &CustomerBook, id: &str) -> Result<axum::response::Response, PartnerCenterError> {
    let customer = book.by_id(id).ok_or_else(|| {
        PartnerCenterError::not_found(format!("Customer '{id}' was not found for this partner."))
    })?;
    Ok(json_text_response(
        StatusCode::OK,
        customer.to_json(true).to_string(),
    ))
}
