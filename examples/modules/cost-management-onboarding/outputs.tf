# One object per tool, holding exactly the fields its registration form asks for (null when the tool is not
# selected). Each holds the secret key, so each is sensitive: read one with `terraform output -json <tool>`.

output "cloudyn" {
  description = "Azure Cost Management (Cloudyn) CSP registration: Application ID, Commerce ID, Application Secret key."
  sensitive   = true
  value = contains(var.tools, "cloudyn") ? {
    application_id         = partnercenter_web_app_key.this.application_id
    commerce_id            = one(data.partnercenter_domain.partner[*].tenant_id)
    application_secret_key = partnercenter_web_app_key.this.value
  } : null
}

output "optima" {
  description = "Flexera Optima CSP partner registration, by Optima's field names."
  sensitive   = true
  value = contains(var.tools, "optima") ? {
    application_id           = partnercenter_web_app_key.this.application_id
    application_directory_id = one(data.partnercenter_domain.partner[*].tenant_id)
    application_secret       = partnercenter_web_app_key.this.value
    billing_account_id       = var.optima_billing_account_id
    mpn_id                   = one(data.partnercenter_mpn_id.partner[*].mpn_id)
  } : null
}

output "octo" {
  description = "Octo Azure CSP account registration: App ID / Client ID, Key, Domain."
  sensitive   = true
  value = contains(var.tools, "octo") ? {
    client_id = partnercenter_web_app_key.this.application_id
    key       = partnercenter_web_app_key.this.value
    domain    = one(data.partnercenter_domain.partner[*].domain)
  } : null
}

output "key_id" {
  description = "The key's id, as Entra ID and Partner Center's App management list it."
  value       = partnercenter_web_app_key.this.key_id
}

output "key_end_date" {
  description = "When the key expires; the tools need the new key before then (Terraform replaces it `rotate_before` ahead)."
  value       = partnercenter_web_app_key.this.end_date
}

output "grants" {
  description = "API -> the delegated scopes granted, with admin consent, for the selected tools."
  value       = { for api, g in partnercenter_permission_grant.this : api => sort(tolist(g.scopes)) }
}
