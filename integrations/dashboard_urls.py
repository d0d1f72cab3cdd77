"""`/app/integrations/` (included from accounts.dashboard_urls, "dashboard" namespace)."""

from __future__ import annotations

from django.urls import path

from integrations import views

urlpatterns = [
    path("", views.integrations, name="integrations"),
    path("twilio/sync-numbers/", views.twilio_sync_numbers, name="integration_twilio_sync"),
    path("calcom/default-event-type/", views.calcom_default_event_type, name="integration_calcom_default"),
    path("<str:provider>/connect/", views.integration_connect, name="integration_connect"),
    path("<str:provider>/test/", views.integration_test, name="integration_test"),
    path("<str:provider>/disconnect/", views.integration_disconnect, name="integration_disconnect"),
]
