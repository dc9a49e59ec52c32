# `terraform test` for the onboarding module, against the local emulator's demo partner: `make module-test`
# (tests/terraform_module_tests.rs) starts the emulator, points the provider at it, makes a Key Vault vault
# there and runs `terraform test -var 'vault_uri="<the vault's URI>"'` (quoted: the value is an HCL
# expression, since the module declares no such variable). Terraform 1.6+.

variables {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  key_validity   = "1y"
  tools          = ["cloudyn", "optima", "octo"]
}

run "every_tool_gets_exactly_its_forms_fields" {
  assert {
    condition     = keys(output.cloudyn) == ["application_id", "application_secret_key", "commerce_id"]
    error_message = "Cloudyn's form: Application ID, Commerce ID, Application Secret key."
  }

  assert {
    condition     = keys(output.optima) == ["application_directory_id", "application_id", "application_secret", "billing_account_id", "domain", "mpn_id"]
    error_message = "Optima's data fields, and the partner's domain."
  }

  assert {
    condition     = keys(output.octo) == ["client_id", "domain", "key", "mpn_id", "tenant_id"]
    error_message = "Octo's form: App ID / Client ID, Key, Domain, MPN ID, Tenant ID."
  }

  assert {
    condition     = output.octo.mpn_id == "4391507" && output.optima.domain == "contoso-csp.onmicrosoft.com"
    error_message = "The demo partner's MPN ID and default domain."
  }

  assert {
    condition     = output.octo.tenant_id == "6f1c4b2e-0d3a-4c59-9e7b-2a8d5f3c1e90" && output.cloudyn.commerce_id == output.octo.tenant_id
    error_message = "The partner tenant's ID, as Cloudyn's Commerce ID and Octo's Tenant ID."
  }

  assert {
    condition     = output.octo.key == output.cloudyn.application_secret_key && output.optima.application_secret == output.octo.key && length(output.octo.key) > 0
    error_message = "One secret serves every tool."
  }

  assert {
    condition     = output.key_vault_secret_id == null
    error_message = "Without key_vault, no Key Vault version."
  }

  assert {
    condition = jsonencode(output.grants) == jsonencode({
      azure_ad_graph = ["Directory.AccessAsUser.All", "User.Read"]
      dev_center     = ["user_impersonation"]
      partner_center = ["user_impersonation"]
    })
    error_message = "The grants every tool's setup asks for."
  }
}

run "the_key_vault_path_keeps_the_secret_out_of_the_outputs" {
  variables {
    key_vault = {
      vault_uri   = var.vault_uri
      secret_name = "tftest-onboarding"
    }
  }

  assert {
    condition     = keys(output.cloudyn) == ["application_id", "commerce_id", "key_vault_secret_id"]
    error_message = "With key_vault, Cloudyn's secret field is replaced by the secret's Key Vault id."
  }

  assert {
    condition     = keys(output.octo) == ["client_id", "domain", "key_vault_secret_id", "mpn_id", "tenant_id"]
    error_message = "With key_vault, Octo's key is replaced by the secret's Key Vault id."
  }

  assert {
    condition     = !contains(keys(output.optima), "application_secret") && output.optima.key_vault_secret_id == output.key_vault_secret_id
    error_message = "With key_vault, Optima's application_secret is replaced by the secret's Key Vault id."
  }

  assert {
    condition     = startswith(output.key_vault_secret_id, "${trimsuffix(var.vault_uri, "/")}/secrets/tftest-onboarding/")
    error_message = "The id names a version of the configured secret."
  }

  assert {
    condition     = partnercenter_web_app_key.this.value == null
    error_message = "The secret is not in state."
  }
}

run "only_the_selected_tools" {
  variables {
    tools = ["optima"]
  }

  assert {
    condition     = output.cloudyn == null && output.octo == null && output.optima != null
    error_message = "Tools not selected have no output."
  }

  assert {
    condition     = keys(output.grants) == ["azure_ad_graph", "partner_center"]
    error_message = "Optima needs no Dev Center grant."
  }
}
