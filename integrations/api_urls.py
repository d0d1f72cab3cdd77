"""`/api/v1/integrations/` routes (included from prixagent.api_urls)."""

from __future__ import annotations

from django.urls import path

from integrations import api

urlpatterns = [
    path("", api.IntegrationListView.as_view(), name="integration-list"),
    path("events/", api.IntegrationEventListView.as_view(), name="integration-event-list"),
    path("events/<int:pk>/", api.IntegrationEventDetailView.as_view(), name="integration-event-detail"),
    path("twilio/sync-numbers/", api.TwilioSyncNumbersView.as_view(), name="integration-twilio-sync"),
    path(
        "calcom/default-event-type/",
        api.CalcomDefaultEventTypeView.as_view(),
        name="integration-calcom-default-event-type",
    ),
    path("<str:provider>/", api.IntegrationDetailView.as_view(), name="integration-detail"),
    path("<str:provider>/test/", api.IntegrationTestView.as_view(), name="integration-test"),
]
