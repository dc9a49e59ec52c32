//! Partner Center v1: MPN and organization profiles, customers (paged) and indirect resellers.

use crate::auth::Access;
use crate::client::Client;
use crate::context::CallContext;
use crate::endpoints::{join, next_link_on};
use crate::error::{Error, Service};
use crate::http::{Request, Response};
use futures::{Stream, StreamExt as _};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::collections::VecDeque;
use url::Url;

/// The partner's MPN (Partner ID) profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MpnProfile {
    /// MPN id (sent as a string; numbers accepted).
    #[serde(deserialize_with = "string_or_number")]
    pub mpn_id: String,
    /// Partner name (often absent).
    #[serde(default)]
    pub partner_name: Option<String>,
}

/// The partner's organization profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationProfile {
    /// Profile id.
    #[serde(default)]
    pub id: String,
    /// Partner tenant id.
    #[serde(default)]
    pub tenant_id: String,
    /// Default domain, e.g. `contoso.onmicrosoft.com`. Required: an answer without it is an error,
    /// not an empty domain.
    pub domain: String,
    /// Company name.
    #[serde(default)]
    pub company_name: String,
    /// Contact e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Culture, e.g. `en-US`.
    #[serde(default)]
    pub culture: Option<String>,
    /// Language, e.g. `en`.
    #[serde(default)]
    pub language: Option<String>,
    /// Default address.
    #[serde(default)]
    pub default_address: Option<Address>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// ISO country code.
    pub country: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// First line.
    pub address_line1: Option<String>,
    /// Second line.
    pub address_line2: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Contact first name.
    pub first_name: Option<String>,
    /// Contact last name.
    pub last_name: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
}

/// A customer of the partner, flattened from the list item's `companyProfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Customer id (= its tenant id).
    pub id: String,
    /// Customer tenant id.
    pub tenant_id: String,
    /// Commerce id.
    pub commerce_id: Option<String>,
    /// Default domain.
    pub domain: String,
    /// Company name.
    pub company_name: String,
    /// Relationship to the partner.
    pub relationship_to_partner: RelationshipToPartner,
    /// The indirect reseller associated with the customer, if any.
    pub associated_partner_id: Option<String>,
}

/// `relationshipToPartner`; unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RelationshipToPartner {
    /// `none`.
    None,
    /// `reseller`.
    Reseller,
    /// `advisor`.
    Advisor,
    /// `syndication`.
    Syndication,
    /// `microsoft_support`.
    MicrosoftSupport,
    /// Absent or `unknown`.
    Unknown,
    /// A value this crate does not know.
    Other(String),
}

impl RelationshipToPartner {
    fn parse(s: Option<&str>) -> Self {
        let Some(s) = s else { return Self::Unknown };
        // Partner Center answers snake_case; the SDK's docs use PascalCase. Compare without
        // separators or case.
        let key: String = s
            .chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "none" => Self::None,
            "reseller" => Self::Reseller,
            "advisor" => Self::Advisor,
            "syndication" => Self::Syndication,
            "microsoftsupport" => Self::MicrosoftSupport,
            "unknown" | "" => Self::Unknown,
            _ => Self::Other(s.to_owned()),
        }
    }

    /// The wire value (snake_case).
    pub fn as_str(&self) -> &str {
        match self {
            Self::None => "none",
            Self::Reseller => "reseller",
            Self::Advisor => "advisor",
            Self::Syndication => "syndication",
            Self::MicrosoftSupport => "microsoft_support",
            Self::Unknown => "unknown",
            Self::Other(s) => s,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCustomer {
    #[serde(default)]
    id: String,
    #[serde(default)]
    commerce_id: Option<String>,
    #[serde(default)]
    company_profile: Option<WireCompanyProfile>,
    #[serde(default)]
    relationship_to_partner: Option<String>,
    #[serde(default)]
    associated_partner_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireCompanyProfile {
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    company_name: Option<String>,
}

impl From<WireCustomer> for Customer {
    fn from(w: WireCustomer) -> Self {
        let p = w.company_profile.unwrap_or_default();
        Self {
            tenant_id: p.tenant_id.unwrap_or_else(|| w.id.clone()),
            id: w.id,
            commerce_id: w.commerce_id,
            domain: p.domain.unwrap_or_default(),
            company_name: p.company_name.unwrap_or_default(),
            relationship_to_partner: RelationshipToPartner::parse(w.relationship_to_partner.as_deref()),
            associated_partner_id: w.associated_partner_id.filter(|s| !s.is_empty()),
        }
    }
}

/// An indirect reseller of the signed-in indirect provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndirectReseller {
    /// The reseller's tenant id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// MPN id.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub mpn_id: Option<String>,
    /// Relationship state, e.g. `Active` (kept as sent).
    #[serde(default)]
    pub state: Option<String>,
    /// Country code.
    #[serde(default)]
    pub location: Option<String>,
}

/// Filters for [`PartnerCenter::customers`]. Partner Center takes one filter field per request: the
/// most selective one given is sent (indirect reseller, then domain prefix, then company name
/// prefix) and the others are applied here, case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Company name starts with (case-insensitive).
    pub company_name_prefix: Option<String>,
    /// Default domain starts with (case-insensitive).
    pub domain_prefix: Option<String>,
    /// Only customers of this indirect reseller (tenant id). App+User only.
    pub indirect_reseller_id: Option<String>,
    /// Page size (default 500, as Microsoft's own tooling uses).
    pub page_size: Option<u32>,
}

/// The default customer page size.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Partner Center v1 operations. Obtained from [`Client::partner_center`].
#[derive(Debug, Clone)]
pub struct PartnerCenter {
    client: Client,
}

impl PartnerCenter {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        join(&self.client.inner.endpoints.partner_center, &format!("v1/{path}"))
    }

    async fn get(
        &self,
        ctx: &CallContext,
        operation: &str,
        access: Access,
        url: Url,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Response, Error> {
        let mut req = Request::new(Service::PartnerCenter, Method::GET, url);
        req.headers = headers;
        let audience = self.client.inner.audiences.partner_center;
        self.client
            .send_authed(ctx, audience, access, operation, req)
            .await
    }

    /// `GET /v1/profiles/mpn[?mpnId=]` (App+User only). An unknown `mpn_id` is an [`Error::Api`]
    /// with code `"3000"` (404); [`Error::is_not_found`] is true for it.
    pub async fn mpn_profile(&self, ctx: &CallContext, mpn_id: Option<&str>) -> Result<MpnProfile, Error> {
        let mut url = self.url("profiles/mpn")?;
        if let Some(id) = mpn_id {
            url.query_pairs_mut().append_pair("mpnId", id);
        }
        self.get(
            ctx,
            "reading the MPN profile",
            Access::AppUserOnly,
            url,
            Vec::new(),
        )
        .await?
        .json("an MPN profile")
    }

    /// `GET /v1/profiles/organization` (App+User only; the body may start with a BOM).
    pub async fn organization_profile(&self, ctx: &CallContext) -> Result<OrganizationProfile, Error> {
        let url = self.url("profiles/organization")?;
        self.get(
            ctx,
            "reading the organization profile",
            Access::AppUserOnly,
            url,
            Vec::new(),
        )
        .await?
        .json("an organization profile")
    }

    /// `GET /v1/customers`, every page, as a stream. Follows `links.next` (its URI and headers) or a
    /// top-level `continuationToken` (`seekOperation=next` + `MS-ContinuationToken`) to the end; an
    /// HTTP 400 with code 2000 ("no more records") also ends it. App-only unless
    /// `indirect_reseller_id` is given (that filter is App+User only).
    pub fn customers(
        &self,
        ctx: &CallContext,
        query: CustomerQuery,
    ) -> impl Stream<Item = Result<Customer, Error>> + Send + 'static {
        let size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1);
        let (filter, access) = if let Some(id) = &query.indirect_reseller_id {
            (Some(("IndirectReseller", id.clone())), Access::AppUserOnly)
        } else if let Some(p) = &query.domain_prefix {
            (Some(("Domain", p.clone())), Access::AppOnlyOrUser)
        } else {
            (
                query.company_name_prefix.clone().map(|p| ("CompanyName", p)),
                Access::AppOnlyOrUser,
            )
        };
        let first = self.url("customers").map(|mut u| {
            {
                let mut q = u.query_pairs_mut();
                q.append_pair("size", &size.to_string());
                if let Some((field, value)) = &filter {
                    let f = serde_json::json!({ "Field": field, "Value": value, "Operator": "starts_with" });
                    q.append_pair("filter", &f.to_string());
                }
            }
            u
        });
        let matches = move |c: &Customer| {
            let starts = |s: &str, p: &Option<String>| {
                p.as_ref()
                    .is_none_or(|p| s.to_lowercase().starts_with(&p.to_lowercase()))
            };
            starts(&c.domain, &query.domain_prefix) && starts(&c.company_name, &query.company_name_prefix)
        };
        let customers = match first {
            Ok(first) => {
                Pager::<WireCustomer>::new(self.clone(), ctx.clone(), first, access, "listing customers")
                    .into_stream()
                    .left_stream()
            }
            Err(e) => futures::stream::once(std::future::ready(Err(e))).right_stream(),
        };
        customers.filter_map(move |r| {
            let out = match r {
                Ok(w) => {
                    let c = Customer::from(w);
                    matches(&c).then_some(Ok(c))
                }
                Err(e) => Some(Err(e)),
            };
            std::future::ready(out)
        })
    }

    /// `GET /v1/relationships?relationship_type=IsIndirectCloudSolutionProviderOf` (App+User only),
    /// all pages.
    pub async fn indirect_resellers(&self, ctx: &CallContext) -> Result<Vec<IndirectReseller>, Error> {
        let mut url = self.url("relationships")?;
        url.query_pairs_mut()
            .append_pair("relationship_type", "IsIndirectCloudSolutionProviderOf");
        let pager = Pager::<IndirectReseller>::new(
            self.clone(),
            ctx.clone(),
            url,
            Access::AppUserOnly,
            "listing indirect resellers",
        );
        futures::TryStreamExt::try_collect(pager.into_stream()).await
    }
}

/// A Partner Center collection page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(crate) items: Vec<T>,
    #[serde(default)]
    pub(crate) continuation_token: Option<String>,
    #[serde(default)]
    pub(crate) links: Option<Links>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Links {
    #[serde(default)]
    pub(crate) next: Option<Link>,
}

#[derive(Deserialize)]
pub(crate) struct Link {
    #[serde(default)]
    pub(crate) uri: String,
    #[serde(default)]
    headers: Vec<LinkHeader>,
}

#[derive(Deserialize)]
struct LinkHeader {
    key: String,
    value: String,
}

/// The request for the next page.
struct NextPage {
    url: Url,
    headers: Vec<(&'static str, String)>,
    /// Whether this page continues a listing (any page after the first).
    continued: bool,
}

/// Walks a Partner Center collection page by page.
struct Pager<T> {
    pc: PartnerCenter,
    ctx: CallContext,
    next: Option<NextPage>,
    /// The first page's URL, which a bare `continuationToken` continues.
    first: Url,
    access: Access,
    operation: &'static str,
    buffer: VecDeque<T>,
    last_token: Option<String>,
}

impl<T: DeserializeOwned + Send + 'static> Pager<T> {
    fn new(pc: PartnerCenter, ctx: CallContext, first: Url, access: Access, operation: &'static str) -> Self {
        Self {
            pc,
            ctx,
            next: Some(NextPage {
                url: first.clone(),
                headers: Vec::new(),
                continued: false,
            }),
            first,
            access,
            operation,
            buffer: VecDeque::new(),
            last_token: None,
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
        futures::stream::unfold(self, |mut p| async move {
            loop {
                if let Some(item) = p.buffer.pop_front() {
                    return Some((Ok(item), p));
                }
                let next = p.next.take()?;
                match p.fetch(next).await {
                    Ok(()) => continue,
                    Err(e) => return Some((Err(e), p)),
                }
            }
        })
    }

    async fn fetch(&mut self, next: NextPage) -> Result<(), Error> {
        let NextPage {
            url,
            headers,
            continued,
        } = next;
        // Only a request that carried a continuation token can be past the end: there, Microsoft's own
        // tool reads 400 + code 2000 as "no more records". On the first page the same answer is a refused
        // request (a bad filter or size), never an empty or short list.
        let r = match self
            .pc
            .get(&self.ctx, self.operation, self.access, url, headers)
            .await
        {
            Ok(r) => r,
            Err(Error::Api(e)) if continued && e.status == 400 && e.code.as_deref() == Some("2000") => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let page: Page<T> = r.json("a collection page")?;
        self.buffer.extend(page.items);
        self.next = self.next_request(page.links.and_then(|l| l.next), page.continuation_token)?;
        Ok(())
    }

    fn next_request(&mut self, link: Option<Link>, token: Option<String>) -> Result<Option<NextPage>, Error> {
        let base = &self.pc.client.inner.endpoints.partner_center;
        let (url, token) = match (
            link.filter(|l| !l.uri.is_empty()),
            token.filter(|t| !t.is_empty()),
        ) {
            (Some(link), top_token) => {
                let url = resolve_link(base, &link.uri)?;
                let token = link
                    .headers
                    .into_iter()
                    .find(|h| h.key.eq_ignore_ascii_case("MS-ContinuationToken"))
                    .map(|h| h.value)
                    .or(top_token);
                (url, token)
            }
            (None, Some(token)) => {
                let mut url = self.first.clone();
                url.query_pairs_mut().append_pair("seekOperation", "next");
                (url, Some(token))
            }
            (None, None) => return Ok(None),
        };
        // A service that hands back the same token would page forever.
        if token.is_some() && token == self.last_token {
            return Err(Error::Protocol {
                service: Service::PartnerCenter,
                detail: format!(
                    "returned the same continuation token twice while {}",
                    self.operation
                ),
            });
        }
        self.last_token.clone_from(&token);
        let headers = token
            .map(|t| vec![("MS-ContinuationToken", t)])
            .unwrap_or_default();
        Ok(Some(NextPage {
            url,
            headers,
            continued: true,
        }))
    }
}

/// Resolves a `links.next.uri`: relative to the API root with or without the `/v1` prefix
/// (documented links omit it), or absolute on the configured host only (the token must not leave it).
pub(crate) fn resolve_link(base: &Url, uri: &str) -> Result<Url, Error> {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return next_link_on(Service::PartnerCenter, base, Url::parse(uri));
    }
    let rel = uri.trim_start_matches('/');
    let rel = if rel.starts_with("v1/") {
        rel.to_owned()
    } else {
        format!("v1/{rel}")
    };
    join(base, &rel)
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_string_or_number(d)?.ok_or_else(|| serde::de::Error::custom("expected a string or number"))
}

fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::fixture;

    #[test]
    fn profiles_decode_with_bom_and_numeric_ids() {
        let body = fixture("pc_organization_profile.json");
        assert!(body.starts_with(b"\xEF\xBB\xBF"), "the fixture keeps its BOM");
        let p: OrganizationProfile = serde_json::from_slice(crate::error::strip_bom(&body)).expect("decodes");
        assert_eq!(p.domain, "contoso-csp.onmicrosoft.com");
        assert_eq!(p.default_address.and_then(|a| a.country).as_deref(), Some("US"));
        let m: MpnProfile = serde_json::from_slice(&fixture("pc_mpn_profile.json")).expect("decodes");
        assert_eq!(m.mpn_id, "4391507");
        let m: MpnProfile = serde_json::from_slice(br#"{"mpnId":4391507}"#).expect("decodes");
        assert_eq!(m.mpn_id, "4391507");
        assert_eq!(m.partner_name, None);
    }

    #[test]
    fn customers_page_decodes_with_unknown_relationships() {
        let page: Page<WireCustomer> =
            serde_json::from_slice(&fixture("pc_customers_page.json")).expect("decodes");
        let cs: Vec<Customer> = page.items.into_iter().map(Customer::from).collect();
        assert_eq!(cs[0].relationship_to_partner, RelationshipToPartner::Reseller);
        assert_eq!(cs[0].domain, "fabrikam.onmicrosoft.com");
        assert_eq!(
            cs[1].relationship_to_partner,
            RelationshipToPartner::Other("brand_new_kind".into())
        );
        assert_eq!(cs[1].associated_partner_id.as_deref(), Some("r-1"));
        assert_eq!(
            RelationshipToPartner::parse(Some("MicrosoftSupport")),
            RelationshipToPartner::MicrosoftSupport
        );
        assert_eq!(page.continuation_token.as_deref(), Some("tok-1"));
        assert_eq!(
            page.links
                .and_then(|l| l.next)
                .map(|n| n.headers[0].value.clone())
                .as_deref(),
            Some("tok-1")
        );
    }

    #[test]
    fn relationships_decode() {
        let page: Page<IndirectReseller> =
            serde_json::from_slice(&fixture("pc_relationships.json")).expect("decodes");
        assert_eq!(page.items[0].mpn_id.as_deref(), Some("9876543"));
        assert_eq!(page.items[0].state.as_deref(), Some("Active"));
    }

    #[test]
    fn next_links_resolve_under_v1_and_never_off_host() {
        let base = Url::parse("http://127.0.0.1:9/pc").expect("url");
        assert_eq!(
            resolve_link(&base, "/customers?size=2&seekOperation=Next")
                .expect("ok")
                .as_str(),
            "http://127.0.0.1:9/pc/v1/customers?size=2&seekOperation=Next"
        );
        assert_eq!(
            resolve_link(&base, "/v1/customers?size=2").expect("ok").as_str(),
            "http://127.0.0.1:9/pc/v1/customers?size=2"
        );
        assert!(resolve_link(&base, "https://elsewhere.example/v1/customers").is_err());
    }
}
