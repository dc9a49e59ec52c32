//! Seed data: the demo partner, its web app, customers and indirect resellers; from code, flags or a JSON file.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::demo;

/// The data an emulator starts from (and returns to on reset). Serialized form = the `--seed FILE` format.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// The signed-in partner (the only directory tenant the emulator hosts).
    pub partner: PartnerSeed,
    /// The partner's indirect resellers (`/v1/relationships`).
    pub resellers: Vec<ResellerSeed>,
    /// Customers, in any order (the emulator keeps them sorted by company name).
    pub customers: Vec<CustomerSeed>,
    /// When set, this many generated customers are appended (see [`Seed::generated`]).
    pub generate_customers: Option<usize>,
}

/// The partner tenant, its Partner Center web app and its demo user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartnerSeed {
    pub tenant_id: String,
    pub domain: String,
    pub company_name: String,
    pub mpn_id: String,
    pub app_id: String,
    pub app_object_id: String,
    pub app_display_name: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub user: String,
    pub user_object_id: String,
    pub country: String,
    /// Whether Partner Center's service principal exists at start (a CSP tenant normally has it).
    pub partner_center_service_principal: bool,
}

impl Default for PartnerSeed {
    fn default() -> Self {
        Self {
            tenant_id: demo::TENANT_ID.into(),
            domain: demo::DOMAIN.into(),
            company_name: demo::COMPANY_NAME.into(),
            mpn_id: demo::MPN_ID.into(),
            app_id: demo::APP_ID.into(),
            app_object_id: demo::APP_OBJECT_ID.into(),
            app_display_name: demo::APP_DISPLAY_NAME.into(),
            client_secret: demo::CLIENT_SECRET.into(),
            refresh_token: demo::REFRESH_TOKEN.into(),
            user: demo::USER.into(),
            user_object_id: demo::USER_OBJECT_ID.into(),
            country: "US".into(),
            partner_center_service_principal: true,
        }
    }
}

/// An indirect reseller linked to the partner (the partner is its indirect provider).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResellerSeed {
    /// The reseller's tenant id (Partner Center's relationship `id`).
    pub id: String,
    pub name: String,
    pub mpn_id: String,
    /// Country code.
    #[serde(default = "default_location")]
    pub location: String,
}

fn default_location() -> String {
    "US".into()
}

/// A customer of the partner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSeed {
    /// The customer's tenant id (also its Partner Center `id`).
    pub id: String,
    /// Defaults to the id.
    #[serde(default)]
    pub commerce_id: Option<String>,
    pub company_name: String,
    pub domain: String,
    /// Tenant id of the indirect reseller the customer belongs to (`associatedPartnerId`).
    #[serde(default)]
    pub reseller_id: Option<String>,
    /// `relationshipToPartner`; defaults to `reseller`.
    #[serde(default)]
    pub relationship: Option<String>,
}

/// Reading a `--seed FILE`.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("reading seed file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("parsing seed file {path}: {source}")]
    Parse { path: String, source: serde_json::Error },
}

impl Default for Seed {
    fn default() -> Self {
        Self::demo()
    }
}

impl Seed {
    /// The demo partner with 25 customers, 9 of them through three indirect resellers.
    pub fn demo() -> Self {
        let resellers = demo_resellers();
        let direct = [
            ("Fabrikam, Inc.", "fabrikam"),
            ("Northwind Traders", "northwindtraders"),
            ("Tailspin Toys", "tailspintoys"),
            ("Wide World Importers", "wideworldimporters"),
            ("Adventure Works Cycles", "adventureworks"),
            ("Alpine Ski House", "alpineskihouse"),
            ("Woodgrove Bank", "woodgrovebank"),
            ("Coho Winery", "cohowinery"),
            ("Lamna Healthcare Company", "lamnahealthcare"),
            ("Margie's Travel", "margiestravel"),
            ("Relecloud", "relecloud"),
            ("Trey Research", "treyresearch"),
            ("Bellows College", "bellowscollege"),
            ("Best For You Organics Company", "bestforyouorganics"),
            ("Contoso Pharmaceuticals", "contosopharma"),
            ("VanArsdel, Ltd.", "vanarsdel"),
        ];
        let via_reseller = [
            ("Blue Yonder Airlines", "blueyonderairlines", 0),
            ("City Power & Light", "citypowerlight", 0),
            ("Consolidated Messenger", "consolidatedmessenger", 0),
            ("Graphic Design Institute", "graphicdesigninstitute", 1),
            ("Humongous Insurance", "humongousinsurance", 1),
            ("Munson's Pickles and Preserves Farm", "munsonspickles", 1),
            ("Nod Publishers", "nodpublishers", 2),
            ("Southridge Video", "southridgevideo", 2),
            ("School of Fine Art", "schooloffineart", 2),
        ];
        let mut ids = IdSource::new(0x0c5b_2026);
        let mut customers = Vec::new();
        for (name, domain) in direct {
            customers.push(CustomerSeed {
                id: ids.next_uuid(),
                commerce_id: Some(ids.next_uuid()),
                company_name: name.into(),
                domain: format!("{domain}.onmicrosoft.com"),
                reseller_id: None,
                relationship: None,
            });
        }
        for (name, domain, reseller) in via_reseller {
            customers.push(CustomerSeed {
                id: ids.next_uuid(),
                commerce_id: Some(ids.next_uuid()),
                company_name: name.into(),
                domain: format!("{domain}.onmicrosoft.com"),
                reseller_id: resellers.get(reseller).map(|r| r.id.clone()),
                relationship: None,
            });
        }
        Self {
            partner: PartnerSeed::default(),
            resellers,
            customers,
            generate_customers: None,
        }
    }

    /// The demo partner and resellers with `count` generated customers: realistic names and domains,
    /// the same for the same `count`; about one in seven belongs to an indirect reseller.
    pub fn generated(count: usize) -> Self {
        let resellers = demo_resellers();
        let customers = generate_customers(count, &resellers, &HashSet::new());
        Self {
            partner: PartnerSeed::default(),
            resellers,
            customers,
            generate_customers: None,
        }
    }

    /// Reads a JSON seed file; `generate_customers` in it appends generated customers.
    pub fn from_file(path: &Path) -> Result<Self, SeedError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: shown.clone(),
            source,
        })?;
        let seed: Seed =
            serde_json::from_str(&text).map_err(|source| SeedError::Parse { path: shown, source })?;
        Ok(seed.expanded())
    }

    /// Appends the generated customers `generate_customers` asks for (and clears it).
    pub fn expanded(mut self) -> Self {
        if let Some(count) = self.generate_customers.take() {
            let taken: HashSet<String> = self.customers.iter().map(|c| c.domain.to_lowercase()).collect();
            let more = generate_customers(count, &self.resellers, &taken);
            self.customers.extend(more);
        }
        self
    }
}

fn demo_resellers() -> Vec<ResellerSeed> {
    vec![
        ResellerSeed {
            id: "5d2f8a61-3b7e-4c10-9a4f-6e8b1c2d3f40".into(),
            name: "Fourth Coffee Solutions".into(),
            mpn_id: "5120394".into(),
            location: "US".into(),
        },
        ResellerSeed {
            id: "8e1a4c73-9d2b-4f56-8c3e-7a9b0d1e2f51".into(),
            name: "Litware Cloud Partners".into(),
            mpn_id: "6203817".into(),
            location: "GB".into(),
        },
        ResellerSeed {
            id: "2b7c9e14-6a3d-4e89-b5f2-1c4d7e8a9b62".into(),
            name: "Proseware Reseller Group".into(),
            mpn_id: "7310528".into(),
            location: "DE".into(),
        },
    ]
}

const NAME_FIRST: &[&str] = &[
    "Alder",
    "Amber",
    "Apex",
    "Arbor",
    "Aspen",
    "Atlas",
    "Azure",
    "Beacon",
    "Birch",
    "Blue Ridge",
    "Boulder",
    "Bright",
    "Canyon",
    "Cascade",
    "Cedar",
    "Charter",
    "Clear",
    "Cobalt",
    "Coastal",
    "Copper",
    "Crest",
    "Crystal",
    "Delta",
    "Eagle",
    "Elm",
    "Evergreen",
    "Falcon",
    "Fern",
    "Fjord",
    "Golden",
    "Granite",
    "Harbor",
    "Heritage",
    "Highland",
    "Horizon",
    "Iron",
    "Juniper",
    "Keystone",
    "Lake",
    "Laurel",
    "Liberty",
    "Lighthouse",
    "Maple",
    "Meadow",
    "Meridian",
    "Metro",
    "Midland",
    "Noble",
    "North Star",
    "Oak",
    "Ocean",
    "Orchard",
    "Pacific",
    "Pine",
    "Pinnacle",
    "Prairie",
    "Quarry",
    "Redwood",
    "River",
    "Rocky",
    "Sage",
    "Sapphire",
    "Silver",
    "Skyline",
    "Spruce",
    "Summit",
    "Sunrise",
    "Tidewater",
    "Timber",
    "Trinity",
    "Union",
    "Valley",
    "Vista",
    "Willow",
    "Windmill",
    "Zenith",
];
const NAME_SECOND: &[&str] = &[
    "Accounting",
    "Analytics",
    "Architects",
    "Bakery",
    "Brewing",
    "Builders",
    "Capital",
    "Clinic",
    "Construction",
    "Consulting",
    "Dental",
    "Design",
    "Electric",
    "Energy",
    "Engineering",
    "Farms",
    "Fitness",
    "Foods",
    "Freight",
    "Health",
    "Hotels",
    "Insurance",
    "Labs",
    "Law",
    "Legal",
    "Logistics",
    "Manufacturing",
    "Marine",
    "Media",
    "Medical",
    "Motors",
    "Outfitters",
    "Pharmacy",
    "Plumbing",
    "Printing",
    "Properties",
    "Realty",
    "Robotics",
    "Software",
    "Solar",
    "Studios",
    "Supply",
    "Systems",
    "Textiles",
    "Tours",
    "Transport",
    "Veterinary",
    "Wellness",
];
const NAME_FORM: &[&str] = &[
    "", "", "Inc.", "LLC", "Ltd.", "GmbH", "Group", "Co.", "Partners", "S.A.", "B.V.", "Pty Ltd",
];

fn generate_customers(
    count: usize,
    resellers: &[ResellerSeed],
    taken: &HashSet<String>,
) -> Vec<CustomerSeed> {
    let mut ids = IdSource::new(0x6e6e_5eed_0000_0001);
    let mut names = HashSet::new();
    let mut domains: HashSet<String> = taken.clone();
    let mut customers = Vec::with_capacity(count);
    for index in 0..count {
        let first = NAME_FIRST[ids.below(NAME_FIRST.len())];
        let second = NAME_SECOND[ids.below(NAME_SECOND.len())];
        let form = NAME_FORM[ids.below(NAME_FORM.len())];
        let base = if form.is_empty() {
            format!("{first} {second}")
        } else {
            format!("{first} {second} {form}")
        };
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.to_lowercase()) {
            name = format!("{base} {n}");
            n += 1;
        }
        let stem: String = format!("{first}{second}")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let stem = stem.to_lowercase();
        let mut domain = format!("{stem}.onmicrosoft.com");
        let mut n = 2;
        while !domains.insert(domain.clone()) {
            domain = format!("{stem}{n}.onmicrosoft.com");
            n += 1;
        }
        let reseller_id = if !resellers.is_empty() && index % 7 == 3 {
            resellers.get((index / 7) % resellers.len()).map(|r| r.id.clone())
        } else {
            None
        };
        customers.push(CustomerSeed {
            id: ids.next_uuid(),
            commerce_id: Some(ids.next_uuid()),
            company_name: name,
            domain,
            reseller_id,
            relationship: None,
        });
    }
    customers
}

/// A small deterministic generator (splitmix64): the same seed gives the same ids on every platform and
/// every version of `rand`, which is what "same N -> same data" needs.
pub(crate) struct IdSource(u64);

impl IdSource {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        // Modulo bias is irrelevant for picking names.
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    pub(crate) fn next_uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }
}
