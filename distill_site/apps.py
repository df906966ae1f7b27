from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "distill_site.admin_site.StaffAdminSite"
