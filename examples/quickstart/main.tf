# The quickstart: what a CSP partner gathers by hand for a cost-management tool, as code.
# `make quickstart` applies this against the local emulator; point the provider at your partner tenant
# (remove the endpoint variables, set your own tenant and app) to run it for real.

terraform {
  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

# Credentials come from the environment: PARTNERCENTER_TENANT_ID, PARTNERCENTER_CLIENT_ID,
# PARTNERCENTER_CLIENT_SECRET and PARTNERCENTER_REFRESH_TOKEN (see docs/guides/authentication.md).
provider "partnercenter" {}

variable "application_id" {
  description = "The App ID of the Partner Center web app (Account settings > App management)."
  type        = string
  default     = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
}

variable "key_validity" {
  description = "How long the key is valid: \"1y\" or \"2y\", the choices Partner Center offers."
  type        = string
  default     = "2y"
}

variable "key_vault_uri" {
  description = "An Azure Key Vault to keep the key's secret in, instead of Terraform state (`make quickstart KEY_VAULT=1` makes one in the emulator). Null: the secret is in state and in the outputs."
  type        = string
  default     = null
}

# The "Application Secret key" every tool asks for. create_before_destroy: when the key is replaced (deleted,
# expired, or inside its rotation window), the new one exists before the old one goes.
resource "partnercenter_web_app_key" "cost_management" {
  application_id = var.application_id
  display_name   = "cost-management"
  validity       = var.key_validity

  # With key_vault_uri, the secret goes to Key Vault (a new version of the secret "cost-management-key") and
  # stays out of state and outputs: the tools' objects carry its Key Vault id instead.
  dynamic "key_vault_secret" {
    for_each = var.key_vault_uri == null ? [] : [var.key_vault_uri]
    content {
      vault_uri = key_vault_secret.value
      name      = "cost-management-key"
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The delegated permissions of the Partner Center API setup, with admin consent.
resource "partnercenter_permission_grant" "partner_center" {
  application_id = var.application_id
  api            = "partner_center"
  scopes         = ["user_impersonation"]
}

resource "partnercenter_permission_grant" "azure_ad_graph" {
  application_id = var.application_id
  api            = "azure_ad_graph"
  scopes         = ["Directory.AccessAsUser.All", "User.Read"]
}

# Octo also asks for the Dev Center API ("Partner Center" in the portal).
resource "partnercenter_permission_grant" "dev_center" {
  application_id = var.application_id
  api            = "dev_center"
  scopes         = ["user_impersonation"]
}

# MPN ID, default domain and tenant ID: Partner Center serves them to App+User credentials (refresh token).
data "partnercenter_mpn_id" "partner" {}

data "partnercenter_domain" "partner" {}

data "partnercenter_customers" "all" {}

# The sign-in link that grants consent and returns the refresh token the tools ask for.
data "partnercenter_consent_url" "consent" {
  client_id    = var.application_id
  redirect_uri = "http://localhost:8400"
}

output "consent_url" {
  description = "Open in a private window and sign in as a partner admin to consent."
  value       = data.partnercenter_consent_url.consent.url
}

output "application_id" {
  value = partnercenter_web_app_key.cost_management.application_id
}

output "key_id" {
  value = partnercenter_web_app_key.cost_management.key_id
}

output "key_end_date" {
  value = partnercenter_web_app_key.cost_management.end_date
}

output "customers" {
  description = "Company name -> customer tenant ID."
  value       = { for c in data.partnercenter_customers.all.customers : c.company_name => c.tenant_id }
}

locals {
  key = partnercenter_web_app_key.cost_management

  # The secret under the name each tool gives it; with key_vault_uri, its Key Vault id instead.
  secret = {
    for tool, field in { cloudyn = "application_secret_key", optima = "application_secret", octo = "key" } :
    tool => var.key_vault_uri == null ? { (field) = local.key.value } : { key_vault_secret_id = local.key.key_vault_secret_id }
  }
}

# One object per tool with exactly its registration form's fields (docs/guides/<tool>.md).
output "cloudyn" {
  description = "Azure Cost Management (Cloudyn): Application ID, Commerce ID, Application Secret key."
  sensitive   = true
  value = merge({
    application_id = local.key.application_id
    commerce_id    = data.partnercenter_domain.partner.tenant_id
  }, local.secret.cloudyn)
}

output "optima" {
  description = "Flexera Optima, by its field names (billing_account_id comes from the Azure portal, not Partner Center), and the default domain."
  sensitive   = true
  value = merge({
    application_id           = local.key.application_id
    application_directory_id = data.partnercenter_domain.partner.tenant_id
    mpn_id                   = data.partnercenter_mpn_id.partner.mpn_id
    domain                   = data.partnercenter_domain.partner.domain
  }, local.secret.optima)
}

output "octo" {
  description = "Octo: App ID / Client ID, Key, Domain, MPN ID, Tenant ID."
  sensitive   = true
  value = merge({
    client_id = local.key.application_id
    domain    = data.partnercenter_domain.partner.domain
    mpn_id    = data.partnercenter_mpn_id.partner.mpn_id
    tenant_id = data.partnercenter_domain.partner.tenant_id
  }, local.secret.octo)
}
