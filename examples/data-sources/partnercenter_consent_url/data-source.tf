# The sign-in link a partner admin opens in a private window to consent; the redirect carries the
# authorization code that `terraform-provider-partnercenter login` turns into a refresh token.
data "partnercenter_consent_url" "consent" {
  client_id    = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  redirect_uri = "http://localhost:8400"
}

output "consent_url" {
  value = data.partnercenter_consent_url.consent.url
}
