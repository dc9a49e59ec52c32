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

provider "partnercenter" {}

variable "application_id" {
  description = "The App ID of the Partner Center web app (Account settings > App management)."
  type        = string
  default     = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
}

# The sign-in link that grants consent and returns the refresh token the tools ask for.
data "partnercenter_consent_url" "consent" {
  client_id    = var.application_id
  redirect_uri = "http://localhost:8400"
}

output "consent_url" {
  description = "Open in a private window and sign in as a partner admin to consent."
  value       = data.partnercenter_consent_url.consent.url
}
