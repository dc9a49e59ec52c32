//! The demo partner's identities: the values ARCHITECTURE.md publishes for the quickstart and the tests.

/// The partner (CSP) tenant id.
pub const TENANT_ID: &str = "6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90";
/// The partner tenant's default domain.
pub const DOMAIN: &str = "contoso-csp.onmicrosoft.com";
/// The partner's company name.
pub const COMPANY_NAME: &str = "Contoso CSP";
/// The partner's MPN (Partner ID) number.
pub const MPN_ID: &str = "4391507";
/// The App ID (client id) of the Partner Center web app registration.
pub const APP_ID: &str = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47";
/// The web app's seeded client secret.
pub const CLIENT_SECRET: &str = "emu~Demo.Secret-0d4e3a1b7c2f4e8a9b5d";
/// The key id of the seeded client secret.
pub const CLIENT_SECRET_KEY_ID: &str = "3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
/// The object id of the web app registration (Graph `id`, not the App ID).
pub const APP_OBJECT_ID: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d";
/// The web app's display name.
pub const APP_DISPLAY_NAME: &str = "Contoso CSP Partner Center Web App";
/// A Secure Application Model refresh token for the demo user (app+user).
pub const REFRESH_TOKEN: &str = "emu-refresh-demo-0123456789abcdef";
/// The demo user (a partner admin agent).
pub const USER: &str = "admin@contoso-csp.onmicrosoft.com";
/// The demo user's object id.
pub const USER_OBJECT_ID: &str = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e";
/// The demo user's display name.
pub const USER_DISPLAY_NAME: &str = "Contoso CSP Admin";

/// The federated credential seeded on the demo app (GitHub Actions OIDC, main branch).
pub const FEDERATED_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Subject of the seeded federated credential.
pub const FEDERATED_SUBJECT: &str = "repo:contoso/onboarding:ref:refs/heads/main";
/// Audience of the seeded federated credential.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The first-party application id of Microsoft Partner Center.
pub const PARTNER_CENTER_APP_ID: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
/// Partner Center's delegated `user_impersonation` scope id.
pub const PARTNER_CENTER_USER_IMPERSONATION_ID: &str = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a";
/// The first-party application id of Azure AD Graph.
pub const AZURE_AD_GRAPH_APP_ID: &str = "00000002-0000-0000-c000-000000000000";
/// The first-party application id of Microsoft Graph.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The first-party application id of the Dev Center API (its scope id is only discoverable at runtime).
pub const DEV_CENTER_APP_ID: &str = "4990cffe-04e8-4e8b-808a-1175604b879f";

/// The audience (resource) of Microsoft Graph tokens.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
/// The audience (resource) of Partner Center tokens.
pub const PARTNER_CENTER_AUDIENCE: &str = "https://api.partnercenter.microsoft.com";
