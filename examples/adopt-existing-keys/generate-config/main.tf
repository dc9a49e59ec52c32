# The generated-configuration path (Terraform 1.5+): this configuration only lists the keys and renders
# one `import` block per key; Terraform then writes the resource blocks itself. See ../README.md:
#
#   terraform apply -var application_id=<app id>                        # reads the keys
#   terraform output -raw import_blocks > imports.tf                     # one import block per key
#   terraform plan -var application_id=<app id> -generate-config-out=generated.tf
#   terraform apply -var application_id=<app id>                        # imports them

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
  description = "The App ID of the application whose keys to adopt."
  type        = string
}

variable "display_name_prefix" {
  description = "Only keys whose description starts with this (ignoring case). Null: every key."
  type        = string
  default     = null
}

data "partnercenter_web_app_keys" "existing" {
  application_id      = var.application_id
  display_name_prefix = var.display_name_prefix
}

output "import_blocks" {
  description = "An import block per key, for imports.tf; each resource is named key_<key id>."
  value = join("", [
    for k in data.partnercenter_web_app_keys.existing.keys : <<-EOT
      import {
        to = partnercenter_web_app_key.key_${replace(k.key_id, "-", "_")}
        id = "${var.application_id}/${k.key_id}"
      }

    EOT
  ])
}
