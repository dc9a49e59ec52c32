# The indirect resellers of the signed-in indirect provider; needs a refresh token (App+User).
data "partnercenter_indirect_resellers" "all" {}

output "resellers" {
  value = { for r in data.partnercenter_indirect_resellers.all.resellers : r.name => r.mpn_id }
}
