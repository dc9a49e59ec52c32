# Onboarding to the cost-management tools with the module, plus the expiry watch: every plan warns while any
# key of the web app (the module's own, or one made in the portal or by a script) ends within rotate_before.
# Needs Terraform 1.5+ for the watch's `check` block; on Terraform 1.0 to 1.4 drop the key_expiry_watch
# module and use cost-management-onboarding alone.

terraform {
  required_version = ">= 1.5"

  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

# Credentials from the environment (docs/guides/authentication.md).
provider "partnercenter" {}

variable "application_id" {
  description = "The App ID of the Partner Center web app (Account settings > App management)."
  type        = string
  default     = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
}

variable "rotate_before" {
  description = "Replace the module's key, and warn of any key of the app, this long before its end."
  type        = string
  default     = "720h"
}

module "onboarding" {
  source         = "../modules/cost-management-onboarding"
  application_id = var.application_id
  key_validity   = "1y"
  rotate_before  = var.rotate_before
  tools          = ["cloudyn", "optima", "octo"]
}

module "key_expiry_watch" {
  source         = "../modules/key-expiry-watch"
  application_id = var.application_id
  rotate_before  = var.rotate_before
}

output "cloudyn" {
  value     = module.onboarding.cloudyn
  sensitive = true
}

output "optima" {
  value     = module.onboarding.optima
  sensitive = true
}

output "octo" {
  value     = module.onboarding.octo
  sensitive = true
}

output "key_end_date" {
  value = module.onboarding.key_end_date
}
