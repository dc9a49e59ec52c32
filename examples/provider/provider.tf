terraform {
  required_providers {
    partnercenter = {
      source  = "cspkit/partnercenter"
      version = "~> 0.1"
    }
  }
}

# The partner tenant and its Partner Center web app. Secrets stay out of the configuration: set
# PARTNERCENTER_CLIENT_SECRET and PARTNERCENTER_REFRESH_TOKEN (or the *_FILE_PATH variants), or use OIDC.
provider "partnercenter" {
  tenant_id = "6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90"
  client_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"

  # App+User calls (MPN ID, domain, indirect resellers) need a Secure Application Model refresh token:
  # `terraform-provider-partnercenter login --tenant-id ... --client-id ... --out ~/.partnercenter/refresh_token`
  # refresh_token_file_path = pathexpand("~/.partnercenter/refresh_token")
}
