output "reseller" {
  description = "The reseller as Partner Center lists it: id (tenant ID), name, mpn_id, state, location."
  value       = var.reseller
}

output "customers" {
  description = "The reseller's customers: id, tenant_id, commerce_id, domain, company_name, relationship_to_partner, associated_partner_id."
  value       = data.partnercenter_customers.this.customers
}

output "customer_ids" {
  description = "The tenant IDs of the reseller's customers."
  value       = data.partnercenter_customers.this.ids
}

output "mpn_id" {
  description = "The reseller's MPN ID, as Partner Center confirms it (null when the reseller has none)."
  value       = one(data.partnercenter_mpn_id.this[*].mpn_id)
}

output "partner_name" {
  description = "The name registered for the reseller's MPN ID."
  value       = one(data.partnercenter_mpn_id.this[*].partner_name)
}

output "entity_group" {
  description = "What a per-reseller entity group needs: its name, the reseller's MPN ID and its customers' tenant IDs."
  value = {
    name                = var.reseller.name
    mpn_id              = one(data.partnercenter_mpn_id.this[*].mpn_id)
    customer_tenant_ids = data.partnercenter_customers.this.ids
  }
}
