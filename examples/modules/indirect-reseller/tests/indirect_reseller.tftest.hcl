# `terraform test` for the indirect-reseller module, against the local emulator's demo partner (an
# indirect provider with three resellers): `make module-test` (tests/terraform_module_tests.rs) starts the
# emulator and points the provider at it. Terraform 1.6+.

run "list_the_resellers" {
  command = plan

  module {
    source = "./tests/resellers"
  }
}

run "one_reseller_with_its_customers_and_mpn_id" {
  command = plan

  variables {
    reseller = run.list_the_resellers.first
  }

  assert {
    condition     = output.reseller.id == run.list_the_resellers.first.id
    error_message = "The module passes the reseller through."
  }

  assert {
    condition     = length(output.customers) > 0 && alltrue([for c in output.customers : c.associated_partner_id == output.reseller.id])
    error_message = "Only this reseller's customers, and at least one."
  }

  assert {
    condition     = output.customer_ids == tolist([for c in output.customers : c.id])
    error_message = "customer_ids lists the customers' tenant IDs in order."
  }

  assert {
    condition     = output.mpn_id == output.reseller.mpn_id && output.partner_name == output.reseller.name
    error_message = "Partner Center confirms the reseller's MPN ID under its name."
  }

  assert {
    condition     = output.entity_group.name == output.reseller.name && output.entity_group.customer_tenant_ids == output.customer_ids
    error_message = "The entity group holds the reseller's name, MPN ID and customers."
  }
}
