# Warns on every plan and apply while any secret key of an application ends within `rotate_before`: keys
# Terraform manages and keys made in the portal or by scripts alike, each named with its end date. Silent
# when none does. A warning, never an error: nothing is blocked. Needs Terraform 1.5+ (`check` blocks; Terraform 1.0 to 1.4 cannot parse this module). Use it
# beside cost-management-onboarding with the same rotate_before, as examples/onboarding/ does.

terraform {
  required_version = ">= 1.5"

  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

# Read on every plan. Top-level rather than scoped to the check block: Terraform plans a scoped data source
# as a read on every plan, so `terraform plan -detailed-exitcode` would always report changes
# (hashicorp/terraform#36536). The price: a failure to read the keys fails the plan, as the key resource's
# own refresh would.
data "partnercenter_web_app_keys" "expiring" {
  application_id      = var.application_id
  display_name_prefix = var.display_name_prefix
  expiring_within     = var.rotate_before
}

check "web_app_keys_expiry" {
  assert {
    condition = length(data.partnercenter_web_app_keys.expiring.keys) == 0
    error_message = format(
      "%d key(s) of application %s end within %s (rotate_before): %s. A key that partnercenter_web_app_key manages with a validity is replaced by the plan once inside its own rotate_before; rotate the others (a new key, the tools updated, then the old key deleted): see docs/guides/key-expiry-and-rotation.md.",
      length(data.partnercenter_web_app_keys.expiring.keys),
      var.application_id,
      var.rotate_before,
      # One part per key, e.g. `key 3c5d… ("octo-2025") ends 2026-12-12T08:00:00Z, in 10 days`.
      join("; ", [
        for k in data.partnercenter_web_app_keys.expiring.keys : format(
          "key %s (%s) %s",
          k.key_id,
          k.display_name == null ? "no description" : jsonencode(k.display_name),
          k.expired ? "expired on ${k.end_date}" : "ends ${k.end_date}, in ${k.expires_in_days} days",
        )
      ]),
    )
  }
}
