# Adopts every existing secret key of an application (or those whose description starts with
# display_name_prefix) into partnercenter_web_app_key resources, keyed by key id, in one `terraform apply`:
# the data source lists the keys, `import` blocks with for_each (Terraform 1.7+) import them, and the
# resource's for_each configures each as import leaves it (its end_date, its description, no validity), so
# the plan after the import is empty. See README.md, and generate-config/ for Terraform 1.5 and 1.6.

terraform {
  required_version = ">= 1.7"

  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

# Credentials from the environment (docs/guides/authentication.md).
provider "partnercenter" {}

variable "application_id" {
  description = "The App ID of the application whose keys to adopt."
  type        = string
}

variable "display_name_prefix" {
  description = "Only adopt keys whose description starts with this (ignoring case). Null: every key."
  type        = string
  default     = null
}

data "partnercenter_web_app_keys" "existing" {
  application_id      = var.application_id
  display_name_prefix = var.display_name_prefix
}

locals {
  # Key id -> the key as Entra ID lists it.
  existing = { for k in data.partnercenter_web_app_keys.existing.keys : k.key_id => k }
}

import {
  for_each = local.existing
  to       = partnercenter_web_app_key.adopted[each.key]
  id       = "${var.application_id}/${each.key}"
}

resource "partnercenter_web_app_key" "adopted" {
  for_each = local.existing

  application_id = var.application_id
  display_name   = each.value.display_name # null (a key without description) reads as the default "terraform", as import does
  # An adopted key keeps its end: pinned, it is never rotated by Terraform; inside rotate_before the plan
  # warns instead (see README.md for rotating it).
  end_date = each.value.end_date
}

output "adopted" {
  description = "Key id -> description, end date and days left."
  value = {
    for id, k in partnercenter_web_app_key.adopted : id => {
      display_name    = k.display_name
      end_date        = k.end_date
      expires_in_days = k.expires_in_days
    }
  }
}
