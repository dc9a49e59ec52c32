# Onboards the partner's Partner Center web app to cost-management tools: one secret key (replaced with
# overlap) and the delegated permissions, with admin consent, that the selected tools' setups ask for; the
# outputs hold exactly the fields of each tool's registration form. See docs/guides/{cloudyn,optima,octo}.md.
#
# Works with Terraform 1.0 and later. On Terraform 1.5+, add the key-expiry-watch module beside it (see
# examples/onboarding/): a `check` block that warns on every plan while any key of the app nears its end.
# It is a module of its own because Terraform before 1.5 cannot parse `check` blocks.

terraform {
  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

locals {
  # Which delegated permission each tool's setup asks for, one row per (tool, API, scope). The sources and
  # the inferences are in the guides.
  permissions = [
    { tool = "cloudyn", api = "partner_center", scope = "user_impersonation" },
    { tool = "cloudyn", api = "azure_ad_graph", scope = "Directory.AccessAsUser.All" },
    { tool = "cloudyn", api = "azure_ad_graph", scope = "User.Read" },
    { tool = "optima", api = "partner_center", scope = "user_impersonation" },
    { tool = "optima", api = "azure_ad_graph", scope = "Directory.AccessAsUser.All" },
    { tool = "optima", api = "azure_ad_graph", scope = "User.Read" },
    { tool = "octo", api = "partner_center", scope = "user_impersonation" },
    { tool = "octo", api = "azure_ad_graph", scope = "Directory.AccessAsUser.All" },
    { tool = "octo", api = "azure_ad_graph", scope = "User.Read" },
    { tool = "octo", api = "dev_center", scope = "user_impersonation" },
  ]

  # API -> the scopes the selected tools need on it: one grant per API.
  grants = {
    for api, scopes in { for p in local.permissions : p.api => p.scope... if contains(var.tools, p.tool) } :
    api => sort(distinct(scopes))
  }

  # The partner's tenant ID and domain serve every tool; the MPN ID Optima and Octo.
  needs_domain = length(var.tools) > 0
  needs_mpn_id = contains(var.tools, "optima") || contains(var.tools, "octo")
}

resource "partnercenter_web_app_key" "this" {
  application_id = var.application_id
  display_name   = var.key_display_name
  validity       = var.key_validity
  rotate_before  = var.rotate_before

  # With key_vault, the secret is written to Key Vault and never stored in Terraform state; the outputs then
  # carry its Key Vault id instead (docs/guides/secret-out-of-state.md).
  dynamic "key_vault_secret" {
    for_each = var.key_vault == null ? [] : [var.key_vault]
    content {
      vault_uri = key_vault_secret.value.vault_uri
      name      = key_vault_secret.value.secret_name
    }
  }

  # A replacement key exists before the old one is removed, so the tools can be updated without a gap.
  lifecycle {
    create_before_destroy = true
  }
}

resource "partnercenter_permission_grant" "this" {
  for_each = local.grants

  application_id = var.application_id
  api            = each.key
  scopes         = each.value
}

data "partnercenter_domain" "partner" {
  count = local.needs_domain ? 1 : 0
}

data "partnercenter_mpn_id" "partner" {
  count = local.needs_mpn_id ? 1 : 0
}
