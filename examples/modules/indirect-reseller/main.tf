# One indirect reseller of an indirect provider: its customers and its verified MPN ID, ready for a
# per-reseller entity group in a cost-management tool. Use it with for_each over the resellers:
#
#   data "partnercenter_indirect_resellers" "all" {}
#
#   module "reseller" {
#     source   = "./modules/indirect-reseller"
#     for_each = { for r in data.partnercenter_indirect_resellers.all.resellers : r.id => r }
#     reseller = each.value
#   }

terraform {
  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

# The reseller's customers (Partner Center serves this filter to App+User credentials only).
data "partnercenter_customers" "this" {
  indirect_reseller_id = var.reseller.id
}

# Looks the reseller's MPN ID up in Partner Center: an unknown ID fails the plan instead of onboarding it.
data "partnercenter_mpn_id" "this" {
  count  = coalesce(var.reseller.mpn_id, "") != "" ? 1 : 0
  mpn_id = var.reseller.mpn_id
}
