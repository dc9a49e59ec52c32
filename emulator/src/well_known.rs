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

/// The catalogue; `dev_center_scope_id` differs per emulator seed so clients must look it up.
pub fn first_party_apis(dev_center_scope_id: &str) -> Vec<FirstPartyApi> {
    vec![
        FirstPartyApi {
            app_id: demo::PARTNER_CENTER_APP_ID,
            display_name: "Microsoft Partner Center",
            identifier_uris: &["https://api.partnercenter.microsoft.com"],
            scopes: vec![PermissionScope::new(
                demo::PARTNER_CENTER_USER_IMPERSONATION_ID,
                "user_impersonation",
                "User",
                "Access Partner Center API",
            )],
        },
        FirstPartyApi {
            app_id: demo::AZURE_AD_GRAPH_APP_ID,
            display_name: "Windows Azure Active Directory",
            identifier_uris: &["https://graph.windows.net"],
            scopes: vec![
                PermissionScope::new(
                    "a42657d6-7f20-40e3-b6f0-cee03008a62a",
                    "Directory.AccessAsUser.All",
                    "Admin",
                    "Access the directory as the signed-in user",
                ),
                PermissionScope::new(
                    "311a71cc-e848-46a1-bdf8-97ff7156d8e6",
                    "User.Read",
                    "User",
                    "Sign in and read user profile",
                ),
                PermissionScope::new(
                    "5778995a-e1bf-45b8-affa-663a9f3f4d04",
                    "Directory.Read.All",
                    "Admin",
                    "Read directory data",
                ),
                PermissionScope::new(
                    "78c8a3c8-a07e-4b9e-af1b-b5ccab50a175",
                    "Directory.ReadWrite.All",
                    "Admin",
                    "Read and write directory data",
                ),
            ],
        },
        FirstPartyApi {
            app_id: demo::MICROSOFT_GRAPH_APP_ID,
            display_name: "Microsoft Graph",
            identifier_uris: &["https://graph.microsoft.com", "https://graph.microsoft.com/"],
            scopes: vec![
                PermissionScope::new(
                    "0e263e50-5827-48a4-b97c-d940288653c7",
                    "Directory.AccessAsUser.All",
                    "Admin",
                    "Access directory as the signed in user",
                ),
                PermissionScope::new(
                    "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
                    "User.Read",
                    "User",
                    "Sign in and read user profile",
                ),
                PermissionScope::new(
                    "bdfbf15f-ee85-4955-8675-146e8e5296b5",
                    "Application.ReadWrite.All",
                    "Admin",
                    "Read and write all applications",
                ),
                PermissionScope::new(
                    "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
                    "DelegatedPermissionGrant.ReadWrite.All",
                    "Admin",
                    "Manage all delegated permission grants",
                ),
                PermissionScope::new(
                    "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
                    "offline_access",
                    "User",
                    "Maintain access to data you have given it access to",
                ),
            ],
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
