"""Call routes of `/api/v1/` (included from prixagent.api_urls)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from calls import api

router = SimpleRouter(trailing_slash=True)
router.register("calls", api.CallViewSet, basename="call")
router.register("tenant-webhooks", api.TenantWebhookViewSet, basename="tenant-webhook")

urlpatterns = [
    path("call-settings/", api.CallSettingsView.as_view(), name="call-settings"),
    path("", include(router.urls)),
]
