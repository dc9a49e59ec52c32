variable "reseller" {
  description = "One element of `data.partnercenter_indirect_resellers.<name>.resellers`."
  type = object({
    id       = string
    name     = string
    mpn_id   = string
    state    = string
    location = string
  })
}
