"""`/api/v1/calls/`, `/api/v1/call-settings/`, `/api/v1/tenant-webhooks/`. Thin: serializers check
types, `calls.services` and `calls.tenant_webhooks` act. Members read; owners and admins place
calls and change settings and webhooks; another account's call or webhook answers 404."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from calls import selectors, services, tenant_webhooks
from calls.models import Call, TenantWebhook
from calls.recordings import recording_response
from calls.serializers import (
    CallCreateSerializer,
    CallDetailSerializer,
    CallSerializer,
    CallSettingsSerializer,
    DeliverySerializer,
    TenantWebhookCreatedSerializer,
    TenantWebhookSerializer,
)
from contacts.models import Contact
from prixagent.errors import ApplicationError
from prixagent.tenancy import TenantScopedMixin

ERRORS = {400: None, 403: None, 404: None, 409: None}
FILTERS = [
    OpenApiParameter("status", str, description="a status, or `live` / `ended`"),
    OpenApiParameter("outcome", str),
    OpenApiParameter("agent", str, description="agent id"),
    OpenApiParameter("direction", str, enum=["outbound", "inbound"]),
    OpenApiParameter("contact", int),
    OpenApiParameter("since", str, description="YYYY-MM-DD (created on or after)"),
    OpenApiParameter("until", str, description="YYYY-MM-DD (created on or before)"),
]


def _not_found(field: str) -> ApplicationError:
    return ApplicationError("Some fields are invalid.", fields={field: ["Not found."]})


@extend_schema(tags=["calls"])
class CallViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Calls, newest first. Placing one is `POST` (the same `attempt_key` never calls twice)."""

    queryset = Call.objects.select_related("agent", "contact")
    serializer_class = CallSerializer

    def filter_tenant_queryset(self, queryset: QuerySet[Call]) -> QuerySet[Call]:
        if self.action != "list":
            return queryset
        return selectors.calls_filter(queryset, selectors.CallFilters.from_query(self.request.query_params))

    def get_serializer_class(self) -> type:
        return CallDetailSerializer if self.action == "retrieve" else CallSerializer

    @extend_schema(parameters=FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=CallCreateSerializer,
        responses={201: CallDetailSerializer, 200: CallDetailSerializer, 502: None, 503: None, **ERRORS},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Place a call now. 201 with the call; 200 when the attempt key already had one."""
        serializer = CallCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        agent = Agent.objects.filter(account=self.account, pk=data["agent"]).first()
        if agent is None:
            raise _not_found("agent")
        contact = None
        if "contact" in data:
            contact = Contact.objects.filter(account=self.account, pk=data["contact"]).first()
            if contact is None:
                raise _not_found("contact")
        given = data.get("attempt_key") or request.headers.get("Idempotency-Key", "")[:150]
        key = f"api:{given}" if given else f"api:{uuid.uuid4()}"
        existed = Call.objects.filter(account=self.account, attempt_key=key).exists()
        call = services.call_place(
            account=self.account,
            contact=contact,
            to_number=data.get("to_number"),
            agent=agent,
            from_number=data.get("from_number"),
            attempt_key=key,
            source=Call.Source.API,
            created_by=request.user,
        )
        answer = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(CallDetailSerializer(call).data, status=answer)

    @extend_schema(request=None, responses={200: CallDetailSerializer, 409: None, 503: None, 404: None})
    @action(detail=True, methods=["post"])
    def hangup(self, request: Request, pk: str | None = None) -> Response:
        """End a live call (its final status arrives with Twilio's callback)."""
        call = services.call_hang_up(call=self.get_object())
        return Response(CallDetailSerializer(call).data)

    @extend_schema(responses={(200, "audio/mpeg"): bytes, 404: None, 502: None, 503: None})
    @action(detail=True, methods=["get"])
    def recording(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The recording (MP3), streamed through PrixAgent with your Twilio credentials."""
        return recording_response(self.get_object(), range_header=request.headers.get("Range", ""))


@extend_schema(tags=["calls"])
class CallSettingsView(TenantScopedMixin, APIView):
    """Answering-machine detection, recording and the ring timeout of the account's calls."""

    @extend_schema(responses={200: CallSettingsSerializer})
    def get(self, request: Request) -> Response:
        return Response(CallSettingsSerializer(services.call_settings_for(self.account)).data)

    @extend_schema(request=CallSettingsSerializer, responses={200: CallSettingsSerializer, 400: None, 403: None})
    def patch(self, request: Request) -> Response:
        current = services.call_settings_for(self.account)
        serializer = CallSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {**CallSettingsSerializer(current).data, **serializer.validated_data}
        return Response(CallSettingsSerializer(services.call_settings_update(account=self.account, **data)).data)


@extend_schema(tags=["calls"])
class TenantWebhookViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your HTTPS endpoints for `call.started`, `call.ended`, `call.analyzed` (signed, retried)."""

    queryset = TenantWebhook.objects.all()
    serializer_class = TenantWebhookSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=TenantWebhookSerializer, responses={201: TenantWebhookCreatedSerializer, **ERRORS})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register an endpoint. The answer carries its signing `secret`, this once."""
        serializer = TenantWebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = tenant_webhooks.tenant_webhook_create(
            account=self.account, url=data["url"], events=data["events"], description=data.get("description", "")
        )
        answer = TenantWebhookCreatedSerializer(endpoint, context={"secret": secret})
        return Response(answer.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: TenantWebhookSerializer) -> None:
        serializer.instance = tenant_webhooks.tenant_webhook_update(
            endpoint=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: TenantWebhook) -> None:
        tenant_webhooks.tenant_webhook_delete(endpoint=instance)

    @extend_schema(request=None, responses={200: DeliverySerializer, 404: None})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a `ping` event now; the answer is the delivery with its attempt."""
        delivery = tenant_webhooks.tenant_webhook_send_test(endpoint=self.get_object())
        return Response(DeliverySerializer(delivery).data)

    @extend_schema(request=None, responses={200: TenantWebhookCreatedSerializer, 404: None})
    @action(detail=True, methods=["post"], url_path="roll-secret")
    def roll_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret (the old one stops at once), shown this once."""
        endpoint = self.get_object()
        secret = tenant_webhooks.tenant_webhook_roll_secret(endpoint=endpoint)
        return Response(TenantWebhookCreatedSerializer(endpoint, context={"secret": secret}).data)

    @extend_schema(responses={200: DeliverySerializer(many=True), 404: None})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The delivery log, newest first: each event, its attempts and their response codes."""
        page = self.paginate_queryset(selectors.deliveries_for(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
