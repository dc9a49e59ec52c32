//! The first-party APIs a partner tenant knows (Partner Center, Azure AD Graph, Microsoft Graph, Dev Center):
//! their app ids, token audiences and published delegated scopes.

use serde::Serialize;

use crate::demo;

/// A delegated permission an API publishes (Graph `permissionScope`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    pub id: String,
    pub value: String,
    /// `Admin` or `User`.
    #[serde(rename = "type")]
    pub kind: String,
    pub admin_consent_display_name: String,
    pub admin_consent_description: String,
    pub user_consent_display_name: String,
    pub user_consent_description: String,
    pub is_enabled: bool,
}

impl PermissionScope {
    fn new(id: &str, value: &str, kind: &str, display: &str) -> Self {
        Self {
            id: id.into(),
            value: value.into(),
            kind: kind.into(),
            admin_consent_display_name: display.into(),
            admin_consent_description: format!("Allows the app to {}.", display.to_lowercase()),
            user_consent_display_name: display.into(),
            user_consent_description: format!("Allows the app to {}.", display.to_lowercase()),
            is_enabled: true,
        }
    }
}

/// A Microsoft first-party API whose service principal a tenant can have.
#[derive(Debug, Clone)]
pub struct FirstPartyApi {
    pub app_id: &'static str,
    pub display_name: &'static str,
    /// Token audiences (besides the app id) that name this API.
    pub identifier_uris: &'static [&'static str],
    pub scopes: Vec<PermissionScope>,
}

/// Which API an access token is for, as the emulator's resource servers check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    MicrosoftGraph,
    PartnerCenter,
}

impl Api {
    /// Whether a token audience names this API (the URI, with or without a trailing slash, or the app id).
    pub fn accepts_audience(self, audience: &str) -> bool {
        let audience = audience.trim_end_matches('/');
        match self {
            Api::MicrosoftGraph => {
                audience.eq_ignore_ascii_case(demo::GRAPH_AUDIENCE)
                    || audience == demo::MICROSOFT_GRAPH_APP_ID
            }
            Api::PartnerCenter => {
                audience.eq_ignore_ascii_case(demo::PARTNER_CENTER_AUDIENCE)
                    || audience == demo::PARTNER_CENTER_APP_ID
            }
        }
    }
}

/// One delegated permission an API publishes, as the tables below list them.
struct Published {
    id: &'static str,
    value: &'static str,
    /// `Admin` or `User`.
    kind: &'static str,
    display: &'static str,
}

const PARTNER_CENTER_SCOPES: &[Published] = &[Published {
    id: demo::PARTNER_CENTER_USER_IMPERSONATION_ID,
    value: "user_impersonation",
    kind: "User",
    display: "Access Partner Center API",
}];

const AZURE_AD_GRAPH_SCOPES: &[Published] = &[
    Published {
        id: "a42657d6-7f20-40e3-b6f0-cee03008a62a",
        value: "Directory.AccessAsUser.All",
        kind: "Admin",
        display: "Access the directory as the signed-in user",
    },
    Published {
        id: "311a71cc-e848-46a1-bdf8-97ff7156d8e6",
        value: "User.Read",
        kind: "User",
        display: "Sign in and read user profile",
    },
    Published {
        id: "5778995a-e1bf-45b8-affa-663a9f3f4d04",
        value: "Directory.Read.All",
        kind: "Admin",
        display: "Read directory data",
    },
    Published {
        id: "78c8a3c8-a07e-4b9e-af1b-b5ccab50a175",
        value: "Directory.ReadWrite.All",
        kind: "Admin",
        display: "Read and write directory data",
    },
];

const MICROSOFT_GRAPH_SCOPES: &[Published] = &[
    Published {
        id: "0e263e50-5827-48a4-b97c-d940288653c7",
        value: "Directory.AccessAsUser.All",
        kind: "Admin",
        display: "Access directory as the signed in user",
    },
    Published {
        id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        value: "User.Read",
        kind: "User",
        display: "Sign in and read user profile",
    },
    Published {
        id: "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        value: "Application.ReadWrite.All",
        kind: "Admin",
        display: "Read and write all applications",
    },
    Published {
        id: "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
        value: "DelegatedPermissionGrant.ReadWrite.All",
        kind: "Admin",
        display: "Manage all delegated permission grants",
    },
    Published {
        id: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        value: "offline_access",
        kind: "User",
        display: "Maintain access to data you have given it access to",
    },
];

fn scopes(table: &[Published]) -> Vec<PermissionScope> {
    table
        .iter()
        .map(|p| PermissionScope::new(p.id, p.value, p.kind, p.display))
        .collect()
}

/// The catalogue; `dev_center_scope_id` differs per emulator seed so clients must look it up.
pub fn first_party_apis(dev_center_scope_id: &str) -> Vec<FirstPartyApi> {
    vec![
        FirstPartyApi {
            app_id: demo::PARTNER_CENTER_APP_ID,
            display_name: "Microsoft Partner Center",
            identifier_uris: &["https://api.partnercenter.microsoft.com"],
            scopes: scopes(PARTNER_CENTER_SCOPES),
        },
        FirstPartyApi {
            app_id: demo::AZURE_AD_GRAPH_APP_ID,
            display_name: "Windows Azure Active Directory",
            identifier_uris: &["https://graph.windows.net"],
            scopes: scopes(AZURE_AD_GRAPH_SCOPES),
        },
        FirstPartyApi {
            app_id: demo::MICROSOFT_GRAPH_APP_ID,
            display_name: "Microsoft Graph",
            identifier_uris: &["https://graph.microsoft.com", "https://graph.microsoft.com/"],
            scopes: scopes(MICROSOFT_GRAPH_SCOPES),
        },
        FirstPartyApi {
            app_id: demo::DEV_CENTER_APP_ID,
            display_name: "Microsoft Dev Center",
            identifier_uris: &[],
            scopes: vec![PermissionScope::new(
                dev_center_scope_id,
                "user_impersonation",
                "User",
                "Access Partner Center",
            )],
        },
    ]
}
