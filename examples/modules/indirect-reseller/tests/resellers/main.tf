# The indirect provider's resellers, for the test to pick one from (as a root module's for_each would).

terraform {
  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

data "partnercenter_indirect_resellers" "all" {}

output "first" {
  value = data.partnercenter_indirect_resellers.all.resellers[0]
}
