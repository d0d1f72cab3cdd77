"""`/app/calls/` (included from accounts.dashboard_urls, "dashboard" namespace)."""

from __future__ import annotations

from django.urls import path

from calls import views

urlpatterns = [
    path("", views.call_list, name="calls"),
    path("new/", views.call_new, name="call_new"),
    path("test/", views.call_test, name="call_test"),
    path("settings/", views.call_settings, name="call_settings"),
    path("webhooks/", views.webhook_list, name="call_webhooks"),
    path("webhooks/<uuid:endpoint_id>/", views.webhook_detail, name="call_webhook"),
    path("webhooks/<uuid:endpoint_id>/test/", views.webhook_test, name="call_webhook_test"),
    path("webhooks/<uuid:endpoint_id>/toggle/", views.webhook_toggle, name="call_webhook_toggle"),
    path("webhooks/<uuid:endpoint_id>/secret/", views.webhook_secret, name="call_webhook_secret"),
    path("webhooks/<uuid:endpoint_id>/delete/", views.webhook_delete, name="call_webhook_delete"),
    path("<uuid:call_id>/", views.call_detail, name="call_detail"),
    path("<uuid:call_id>/recording/", views.call_recording, name="call_recording"),
    path("<uuid:call_id>/hangup/", views.call_hangup, name="call_hangup"),
]
