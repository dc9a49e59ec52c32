variable "application_id" {
  description = "The App ID of the application whose keys to watch (the Partner Center web app)."
  type        = string
}

variable "rotate_before" {
  description = "Warn of keys that end within this duration of now (Go duration), expired keys included. Use the rotate_before of the keys you manage."
  type        = string
  default     = "720h"
}

variable "display_name_prefix" {
  description = "Only watch keys whose description starts with this (ignoring case). Null: every key."
  type        = string
  default     = null
}
