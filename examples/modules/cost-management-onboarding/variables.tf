variable "application_id" {
  description = "The App ID of the Partner Center web app (Partner Center > Account settings > App management)."
  type        = string
}

variable "key_validity" {
  description = "How long the secret key is valid: \"1y\" or \"2y\" (Partner Center's choices), or hours like \"4320h\"."
  type        = string
  default     = "2y"
}

variable "key_display_name" {
  description = "The key's description in Entra ID."
  type        = string
  default     = "cost-management"
}

variable "tools" {
  description = "The tools to onboard: any of \"cloudyn\", \"optima\", \"octo\"."
  type        = list(string)
  default     = ["cloudyn", "optima", "octo"]

  validation {
    condition     = length(setsubtract(var.tools, ["cloudyn", "optima", "octo"])) == 0
    error_message = "The tools must be among \"cloudyn\", \"optima\" and \"octo\"."
  }
}

variable "optima_billing_account_id" {
  description = "Optima's \"Billing Account ID\" (Azure portal > Cost Management + Billing; not a Partner Center value), passed through to the optima output."
  type        = string
  default     = null
}

variable "rotate_before" {
  description = "How long before the key's end plans replace it (Go duration); the key-expiry-watch module warns of every key of the app inside the same window."
  type        = string
  default     = "720h"
}

variable "key_vault" {
  description = "Where to keep the secret instead of Terraform state: an Azure Key Vault (`vault_uri`, e.g. https://contoso-kv.vault.azure.net/) and the name of the secret to write each key's value to as a new version. The tools' outputs then carry `key_vault_secret_id` instead of the secret. Null (the default): the secret is in state and in the outputs."
  type = object({
    vault_uri   = string
    secret_name = string
  })
  default = null
}
