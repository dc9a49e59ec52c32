# Every customer, following every page.
data "partnercenter_customers" "all" {}

# Customers whose company name starts with "Fabrikam".
data "partnercenter_customers" "fabrikam" {
  company_name_prefix = "Fabrikam"
}

output "customer_count" {
  value = data.partnercenter_customers.all.total_count
}

output "customer_domains" {
  value = [for c in data.partnercenter_customers.all.customers : c.domain]
}
