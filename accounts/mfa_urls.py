"""`/admin/mfa/`: the admin's second factor (served on the admin surface)."""

from django.urls import path

from accounts import mfa_views

urlpatterns = [
    path("", mfa_views.mfa_verify, name="admin_mfa_verify"),
    path("setup/", mfa_views.mfa_setup, name="admin_mfa_setup"),
]
