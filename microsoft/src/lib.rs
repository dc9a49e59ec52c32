//! Clients for Microsoft Entra login, Microsoft Graph and Partner Center.
