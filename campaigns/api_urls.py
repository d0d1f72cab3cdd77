"""Campaign routes of `/api/v1/` (included from prixagent.api_urls)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from campaigns import api

router = SimpleRouter(trailing_slash=True)
router.register("campaigns", api.CampaignViewSet, basename="campaign")

urlpatterns = [
    path("", include(router.urls)),
]
