# The signed-in partner's MPN ID (Partner ID); needs a refresh token (App+User).
data "partnercenter_mpn_id" "partner" {}

# Another partner's ID, e.g. to check what an indirect reseller gave you.
data "partnercenter_mpn_id" "reseller" {
  mpn_id = "5120394"
}

output "mpn_id" {
  value = data.partnercenter_mpn_id.partner.mpn_id
}

output "reseller_name" {
  value = data.partnercenter_mpn_id.reseller.partner_name
}
