from functools import update_wrapper

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.urls import reverse


class StaffAdminSite(AdminSite):
    """The admin, answering 403 to a signed-in user who is not staff (Django would ask them to log in again).

    Anonymous visitors are still sent to the login page.
    """

    def admin_view(self, view, cacheable=False):
        admin_only = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if (
                request.user.is_authenticated
                and not self.has_permission(request)
                and request.path != reverse("admin:logout", current_app=self.name)
            ):
                raise PermissionDenied("The admin is for staff only.")
            return admin_only(request, *args, **kwargs)

        return update_wrapper(inner, admin_only)
