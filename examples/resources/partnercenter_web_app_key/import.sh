# <application_id>/<key_id>; the secret is not returned on import, so `value` stays null.
# Import records the key's end date (an existing key's end is a fact): `terraform plan -generate-config-out`
# writes `end_date = "..."`, which plans no change. A configuration with `validity` instead (like the example
# above) is taken in place by the next apply when it matches the key's lifetime, and Terraform rotates the
# key from then on.
terraform import partnercenter_web_app_key.cost_management 0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f
