# The partner tenant's default domain and tenant ID (Partner Center's "Account ID"); needs a refresh token.
data "partnercenter_domain" "partner" {}

output "default_domain" {
  value = data.partnercenter_domain.partner.domain
}

output "tenant_id" {
  value = data.partnercenter_domain.partner.tenant_id
}
