"""Agent routes of `/api/v1/` (included from prixagent.api_urls)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from agents import api, api_tools

router = SimpleRouter(trailing_slash=True)
router.register("agents", api.AgentViewSet, basename="agent")

urlpatterns = [
    path("agent-settings/", api.AgentSettingsView.as_view(), name="agent-settings"),
    path("agent-tools/<str:tool>/", api_tools.AgentToolView.as_view(), name="agent-tool"),
    path("", include(router.urls)),
]
