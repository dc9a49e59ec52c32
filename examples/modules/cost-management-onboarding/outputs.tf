# One object per tool, holding exactly the fields its registration form asks for (null when the tool is not
# selected). Each holds the secret key, so each is sensitive: read one with `terraform output -json <tool>`.
# With `key_vault`, the secret's field is replaced by `key_vault_secret_id`: the Key Vault version that holds
# the secret (read it from there; Terraform never has it).

locals {
  key = partnercenter_web_app_key.this

  # The secret's field, under the name each tool gives it; or its Key Vault id.
  secret = {
    for tool, field in { cloudyn = "application_secret_key", optima = "application_secret", octo = "key" } :
    tool => var.key_vault == null ? { (field) = local.key.value } : { key_vault_secret_id = local.key.key_vault_secret_id }
  }

  tenant_id = one(data.partnercenter_domain.partner[*].tenant_id)
  domain    = one(data.partnercenter_domain.partner[*].domain)
  mpn_id    = one(data.partnercenter_mpn_id.partner[*].mpn_id)
}

output "cloudyn" {
  description = "Azure Cost Management (Cloudyn) CSP registration: Application ID, Commerce ID, Application Secret key (or key_vault_secret_id)."
  sensitive   = true
  value = contains(var.tools, "cloudyn") ? merge({
    application_id = local.key.application_id
    commerce_id    = local.tenant_id
  }, local.secret.cloudyn) : null
}

output "optima" {
  description = "Flexera Optima CSP partner registration, by Optima's field names, plus the partner's default domain."
  sensitive   = true
  value = contains(var.tools, "optima") ? merge({
    application_id           = local.key.application_id
    application_directory_id = local.tenant_id
    billing_account_id       = var.optima_billing_account_id
    mpn_id                   = local.mpn_id
    domain                   = local.domain
  }, local.secret.optima) : null
}

output "octo" {
  description = "Octo Azure CSP account registration: App ID / Client ID, Key (or key_vault_secret_id), Domain, MPN ID, Tenant ID."
  sensitive   = true
  value = contains(var.tools, "octo") ? merge({
    client_id = local.key.application_id
    domain    = local.domain
    mpn_id    = local.mpn_id
    tenant_id = local.tenant_id
  }, local.secret.octo) : null
}

output "key_id" {
  description = "The key's id, as Entra ID and Partner Center's App management list it."
  value       = partnercenter_web_app_key.this.key_id
}

output "key_end_date" {
  description = "When the key expires; the tools need the new key before then (Terraform replaces it `rotate_before` ahead)."
  value       = partnercenter_web_app_key.this.end_date
}

output "key_vault_secret_id" {
  description = "With `key_vault`: the Key Vault secret version holding the key's secret (`https://<vault>/secrets/<name>/<version>`); a new version on each rotation. Null without `key_vault`."
  value       = partnercenter_web_app_key.this.key_vault_secret_id
}

output "grants" {
  description = "API -> the delegated scopes granted, with admin consent, for the selected tools."
  value       = { for api, g in partnercenter_permission_grant.this : api => sort(tolist(g.scopes)) }
}
