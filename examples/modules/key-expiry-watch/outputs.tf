output "expiring_keys" {
  description = "The keys that end within rotate_before (expired ones included), the soonest first: key_id, display_name, hint, start_date, end_date, expires_in_days, expired."
  value       = data.partnercenter_web_app_keys.expiring.keys
}
