"""`/api/v1/campaigns/`: campaigns CRUD, start / pause / resume / cancel, the preview, the figures
and the campaign's contacts.

Thin: serializers check types, `campaigns.services` decides (validation, state transitions, plan
limits) and `campaigns.selectors` reads. Like every tenant view it is a `TenantScopedMixin`: the
account is the caller's, another account's campaign answers 404 like a missing one, members
read (list, retrieve, preview, stats, contacts) and owners and admins change.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import preview, selectors, services
from campaigns.models import Campaign, MemberState
from campaigns.serializers import (
    CampaignMemberSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    PreviewSerializer,
    StatsSerializer,
)
from prixagent.tenancy import TenantScopedMixin

ERRORS = {400: OpenApiResponse(description="Invalid input (field messages)"), 403: None, 404: None}
STATE_ERRORS = {403: None, 404: None, 409: OpenApiResponse(description="Not allowed in the campaign's state")}
FILTERS = [
    OpenApiParameter("state", str, enum=[*Campaign.State.values, "active"], description="`active`: started, not over"),
    OpenApiParameter("agent", str, description="agent id"),
    OpenApiParameter("q", str, description="in the name"),
]


@extend_schema(tags=["campaigns"])
class CampaignViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Outbound calling campaigns, newest first."""

    queryset = Campaign.objects.select_related("agent").prefetch_related("target_tags")
    serializer_class = CampaignSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def filter_tenant_queryset(self, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        if self.action != "list":
            return queryset
        return selectors.campaigns_filter(queryset, selectors.CampaignFilters.from_query(self.request.query_params))

    def _answer(self, campaign: Campaign, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=campaign.pk)  # with its agent and tags, as the list shows it
        return Response(CampaignSerializer(fresh).data, status=code)

    @extend_schema(parameters=FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CampaignWriteSerializer, responses={201: CampaignSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        """A draft campaign. Nothing is called until `start`."""
        serializer = CampaignWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(
            account=self.account, data=serializer.service_data(), created_by=request.user
        )
        return self._answer(campaign, status.HTTP_201_CREATED)

    @extend_schema(request=CampaignWriteSerializer, responses={200: CampaignSerializer, 409: None, **ERRORS})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change the fields sent. Schedule, window, caps and retry delays apply at once, also to a
        running campaign; the agent and the targeting only while it is a draft."""
        campaign = self.get_object()
        serializer = CampaignWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign=campaign, data=serializer.service_data())
        return self._answer(campaign)

    @extend_schema(responses={204: None, **STATE_ERRORS})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete a draft, completed or cancelled campaign (its calls stay in the calls list)."""
        services.campaign_delete(campaign=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: CampaignSerializer, **STATE_ERRORS, 400: None})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """Start a draft: running now, or scheduled until its first day."""
        return self._answer(services.campaign_start(campaign=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: CampaignSerializer, **STATE_ERRORS})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Stop placing calls now (calls in progress finish)."""
        return self._answer(services.campaign_pause(campaign=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: CampaignSerializer, **STATE_ERRORS})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(services.campaign_resume(campaign=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: CampaignSerializer, **STATE_ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """End the campaign: queued contacts are not called (calls in progress finish)."""
        return self._answer(services.campaign_cancel(campaign=self.get_object(), actor=request.user))

    @extend_schema(responses={200: PreviewSerializer, 404: None})
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """How many contacts can be called now, how many cannot and why, and the time to finish."""
        return Response(PreviewSerializer(preview.campaign_preview(campaign=self.get_object())).data)

    @extend_schema(responses={200: StatsSerializer, 404: None})
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str | None = None) -> Response:
        """Contacts by state and outcome, attempts, answer rate, bookings, minutes and cost."""
        return Response(StatsSerializer(selectors.campaign_stats(self.get_object())).data)

    @extend_schema(
        responses={200: CampaignMemberSerializer(many=True), 404: None},
        parameters=[OpenApiParameter("state", str, enum=MemberState.values)],
    )
    @action(detail=True, methods=["get"])
    def contacts(self, request: Request, pk: str | None = None) -> Response:
        """The campaign's contacts with their state, in the order they joined (paginated)."""
        members = selectors.campaign_members(self.get_object(), str(request.query_params.get("state") or ""))
        page = self.paginate_queryset(members)
        return self.get_paginated_response(CampaignMemberSerializer(page, many=True).data)
