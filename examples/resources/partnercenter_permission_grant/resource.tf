# Delegated "Access Partner Center API" with tenant-wide admin consent.
resource "partnercenter_permission_grant" "partner_center" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  api            = "partner_center"
  scopes         = ["user_impersonation"]
}

# "Access the directory as the signed-in user" and "Sign in and read user profile" (Windows Azure Active
# Directory), as the Partner Center API setup asks for.
resource "partnercenter_permission_grant" "azure_ad_graph" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  api            = "azure_ad_graph"
  scopes         = ["Directory.AccessAsUser.All", "User.Read"]
}

# The Dev Center API ("Microsoft Dev Center"), shown as "Partner Center" in the portal.
resource "partnercenter_permission_grant" "dev_center" {
  application_id = "0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47"
  api            = "dev_center"
  scopes         = ["user_impersonation"]
  admin_consent  = true
}
