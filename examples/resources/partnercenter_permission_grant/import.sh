# <application_id>/<api>, where <api> is an alias (partner_center, dev_center, azure_ad_graph,
# microsoft_graph) or the API's App ID.
terraform import partnercenter_permission_grant.partner_center 0d4e3a1b-7c2f-4e8a-9b5d-3f6a1c8e2b47/partner_center
