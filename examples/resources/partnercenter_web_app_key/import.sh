# <application_id>/<key_id>; the secret is not returned on import, so `value` stays null.
terraform import partnercenter_web_app_key.cost_management 0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f
