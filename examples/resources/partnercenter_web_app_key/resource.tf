# A secret key of the Partner Center web app, valid for two years and replaced 30 days before it expires.
resource "partnercenter_web_app_key" "cost_management" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  display_name   = "cost-management"
  validity       = "2y"
  rotate_before  = "720h"

  # The new key exists before the old one is removed: hand it to the tools, then the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

output "application_secret" {
  value     = partnercenter_web_app_key.cost_management.value
  sensitive = true
}
