# A key of the watched application that ends in ten days (and an hour), made for the test. Its own
# rotate_before is short, so the key resource accepts the near end_date; the watch's 720h window sees it.

terraform {
  required_providers {
    partnercenter = {
      source = "cspkit/partnercenter"
    }
  }
}

variable "application_id" {
  type = string
}

resource "partnercenter_web_app_key" "ending_soon" {
  application_id = var.application_id
  display_name   = "tftest-ending-soon"
  end_date       = timeadd(plantimestamp(), "241h")
  rotate_before  = "1h"
}

output "key_id" {
  value = partnercenter_web_app_key.ending_soon.key_id
}
