# `terraform test` for the expiry watch, against the local emulator's demo partner (the Rust test
# tests/terraform_module_tests.rs starts the emulator and points the provider at it; `make module-test`).
# Terraform 1.6+.

variables {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
}

run "silent_while_no_key_nears_its_end" {
  command = plan

  assert {
    condition     = length(output.expiring_keys) == 0
    error_message = "The demo app's only key ends in about 23 months: nothing should be inside 720h."
  }
}

run "make_a_key_ending_in_ten_days" {
  module {
    source = "./tests/setup"
  }
}

run "warns_naming_the_key_inside_rotate_before" {
  command = plan

  # The check's assertion fails: a warning in a plan, an expected failure here.
  expect_failures = [check.web_app_keys_expiry]

  assert {
    condition     = [for k in output.expiring_keys : k.key_id] == [run.make_a_key_ending_in_ten_days.key_id]
    error_message = "Exactly the key made by the setup run is inside the window."
  }

  assert {
    condition     = output.expiring_keys[0].expires_in_days == 10 && !output.expiring_keys[0].expired
    error_message = "The key ends in 10 days by the emulator's (Microsoft's) clock."
  }

  assert {
    condition     = output.expiring_keys[0].display_name == "tftest-ending-soon"
    error_message = "The key keeps its description."
  }
}

run "silent_with_a_shorter_window" {
  command = plan

  variables {
    rotate_before = "240h"
  }

  assert {
    condition     = length(output.expiring_keys) == 0
    error_message = "A key ending in ten days and an hour is outside 240h."
  }
}
