# Every secret key of the Partner Center web app, whoever made it (portal, script or Terraform).
data "partnercenter_web_app_keys" "all" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
}

# Only the keys that end within 30 days by Microsoft's clock, expired ones included.
data "partnercenter_web_app_keys" "expiring" {
  application_id  = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  expiring_within = "720h"
}

output "keys" {
  description = "Key id -> description, end date and days left."
  value = {
    for k in data.partnercenter_web_app_keys.all.keys :
    k.key_id => "${coalesce(k.display_name, "(no description)")}: ends ${k.end_date} (${k.expires_in_days} days left)"
  }
}

output "expiring_key_ids" {
  value = data.partnercenter_web_app_keys.expiring.ids
}

# On Terraform 1.5+, a check block warns on every plan while any key is about to expire:
#
# check "web_app_keys_expiry" {
#   data "partnercenter_web_app_keys" "expiring" {
#     application_id  = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
#     expiring_within = "720h"
#   }
#   assert {
#     condition     = length(data.partnercenter_web_app_keys.expiring.keys) == 0
#     error_message = join("; ", [for k in data.partnercenter_web_app_keys.expiring.keys : "key ${k.key_id} ends ${k.end_date}"])
#   }
# }
