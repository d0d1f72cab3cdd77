"""`/api/v1/integrations/`: the caller's account's Twilio, GoHighLevel, ElevenLabs and Cal.com.

Thin: serializers check the shape, `integrations.services` does the work. The account is
always the caller's (`TenantScopedMixin`); members read, owners and admins change.
"""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import account_require_verified_email
from integrations import selectors, services
from integrations.models import IntegrationEvent, Provider
from integrations.registry import PROVIDERS
from integrations.serializers import (
    CREDENTIAL_SERIALIZERS,
    DefaultEventTypeSerializer,
    IntegrationEventSerializer,
    IntegrationSerializer,
    TwilioNumbersSerializer,
)
from prixagent.tenancy import TenantScopedMixin

PROVIDER_PARAM = OpenApiParameter(
    "provider", str, OpenApiParameter.PATH, enum=list(PROVIDERS), description="twilio, ghl, elevenlabs or calcom"
)
ANY_CREDENTIALS = PolymorphicProxySerializer(
    component_name="IntegrationCredentials",
    serializers=list(CREDENTIAL_SERIALIZERS.values()),
    resource_type_field_name=None,
)
ERRORS = {400: None, 403: None, 404: None, 503: None}


def _provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise NotFound()
    return provider


class IntegrationListView(TenantScopedMixin, APIView):
    @extend_schema(tags=["integrations"], responses={200: IntegrationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """All four integrations: configured, last validated, masked hints, non-secret details."""
        return Response(IntegrationSerializer(selectors.integration_overview(self.account), many=True).data)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class IntegrationDetailView(TenantScopedMixin, APIView):
    @extend_schema(
        tags=["integrations"], parameters=[PROVIDER_PARAM], responses={200: IntegrationSerializer, 404: None}
    )
    def get(self, request: Request, provider: str) -> Response:
        """One integration."""
        return Response(IntegrationSerializer(selectors.integration_get(self.account, _provider(provider))).data)

    @extend_schema(
        tags=["integrations"],
        parameters=[PROVIDER_PARAM],
        request=ANY_CREDENTIALS,
        responses={200: IntegrationSerializer, **ERRORS},
        description=(
            "Validate the credentials with the provider, then store them encrypted. "
            "Invalid credentials: 400 with the provider's reason; provider unreachable: 503. "
            "Nothing is stored on failure."
        ),
    )
    def put(self, request: Request, provider: str) -> Response:
        account_require_verified_email(self.account)  # 403 until the account email is confirmed
        serializer = CREDENTIAL_SERIALIZERS[_provider(provider)](data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        default_event_type_id = data.pop("default_event_type_id", None)
        services.integration_connect(
            account=self.account,
            provider=provider,
            credentials=data,
            actor=request.user,
            default_event_type_id=default_event_type_id,
        )
        return Response(IntegrationSerializer(selectors.integration_get(self.account, provider)).data)

    @extend_schema(tags=["integrations"], parameters=[PROVIDER_PARAM], responses={204: None, 403: None, 404: None})
    def delete(self, request: Request, provider: str) -> Response:
        """Disconnect: the stored ciphertext is wiped and the configured flag cleared."""
        services.integration_disconnect(account=self.account, provider=_provider(provider), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IntegrationTestView(TenantScopedMixin, APIView):
    @extend_schema(
        tags=["integrations"],
        parameters=[PROVIDER_PARAM],
        request=None,
        responses={200: IntegrationSerializer, 409: None, **ERRORS},
        description="Validate the stored credentials again. A rejection marks the integration failing.",
    )
    def post(self, request: Request, provider: str) -> Response:
        services.integration_test(account=self.account, provider=_provider(provider), actor=request.user)
        return Response(IntegrationSerializer(selectors.integration_get(self.account, provider)).data)


class TwilioSyncNumbersView(TenantScopedMixin, APIView):
    @extend_schema(tags=["integrations"], request=None, responses={200: TwilioNumbersSerializer, 409: None, **ERRORS})
    def post(self, request: Request) -> Response:
        """Re-read the account's Twilio phone numbers (with capabilities)."""
        numbers = services.twilio_sync_numbers(account=self.account, actor=request.user)
        return Response({"numbers": numbers})


class CalcomDefaultEventTypeView(TenantScopedMixin, APIView):
    @extend_schema(
        tags=["integrations"],
        request=DefaultEventTypeSerializer,
        responses={200: IntegrationSerializer, 400: None, 403: None, 409: None},
    )
    def post(self, request: Request) -> Response:
        """Choose the Cal.com event type the agent books by default (one of the listed ones)."""
        serializer = DefaultEventTypeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.calcom_set_default_event_type(
            account=self.account, event_type_id=serializer.validated_data["default_event_type_id"], actor=request.user
        )
        return Response(IntegrationSerializer(selectors.integration_get(self.account, "calcom")).data)


@extend_schema(
    tags=["integrations"],
    parameters=[OpenApiParameter("provider", str, enum=Provider.values, description="only this provider")],
)
class IntegrationEventListView(TenantScopedMixin, generics.ListAPIView):
    """The account's integration audit trail, newest first."""

    queryset = IntegrationEvent.objects.all()
    serializer_class = IntegrationEventSerializer

    def filter_tenant_queryset(self, queryset: Any) -> Any:
        provider = self.request.query_params.get("provider")
        return queryset.filter(provider=provider) if provider else queryset


@extend_schema(tags=["integrations"])
class IntegrationEventDetailView(TenantScopedMixin, generics.RetrieveAPIView):
    """One audit event of the caller's account (another account's answers 404)."""

    queryset = IntegrationEvent.objects.all()
    serializer_class = IntegrationEventSerializer
