"""`/api/v1/agents/`: the caller's account's voice agents. `/api/v1/agent-settings/`: booking policy.

Thin: serializers check types, `agents.services` and `agents.sync` do the work. Saving answers
with the agent and its `sync` state: a push that failed is reported there (the edit is kept),
not as an error. Members read; owners and admins change.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services, sync
from agents.models import Agent
from agents.presets import PRESETS, TEMPLATE_LANGUAGES
from agents.serializers import (
    AgentCreateSerializer,
    AgentSerializer,
    AgentSettingsSerializer,
    TemplateSerializer,
    ToolInvocationSerializer,
    VariableSerializer,
    VoiceSerializer,
)
from integrations.providers.base import ProviderError
from prixagent.errors import ApplicationError
from prixagent.tenancy import TenantScopedMixin

ERRORS = {400: None, 403: None, 404: None}


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    fields = dict(data)
    return fields, fields.pop("inbound_numbers", None)


@extend_schema(tags=["agents"])
class AgentViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Voice agents. Saving pushes the agent to ElevenLabs (see `sync` in the answer)."""

    queryset = Agent.objects.select_related("workspace").prefetch_related("inbound_numbers")
    serializer_class = AgentSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=AgentCreateSerializer, responses={201: AgentSerializer, **ERRORS})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create an agent (optionally from a `template`, in `language`) and push it."""
        serializer = AgentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields, inbound = _split(serializer.validated_data)
        template = fields.pop("template", "")
        if template:
            fields = {**PRESETS[template].initial(fields.get("language") or "en"), **fields}
            fields.pop("template", None)
        agent = services.agent_create(account=self.account, data=fields, inbound_numbers=inbound, template=template)
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AgentSerializer, responses={200: AgentSerializer, **ERRORS})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change some fields (all checked together) and push the agent."""
        agent = self.get_object()
        serializer = AgentSerializer(agent, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields, inbound = _split(serializer.validated_data)
        agent = services.agent_update(agent=agent, data=fields, inbound_numbers=inbound)
        return Response(AgentSerializer(agent).data)

    def perform_destroy(self, instance: Agent) -> None:
        services.agent_delete(agent=instance)

    def _answer(self, agent: Agent) -> Response:
        agent = self.get_queryset().get(pk=agent.pk)  # fresh, with its inbound numbers
        return Response(AgentSerializer(agent).data)

    @extend_schema(request=None, responses={200: AgentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        """Push the agent again (after a failed push). A version edited at ElevenLabs is kept."""
        return self._answer(sync.agent_sync(agent=self.get_object()))

    @extend_schema(request=None, responses={200: AgentSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="check-drift")
    def check_drift(self, request: Request, pk: str | None = None) -> Response:
        """Read the agent back from ElevenLabs: was it edited there?"""
        return self._answer(sync.agent_check_drift(agent=self.get_object()))

    @extend_schema(request=None, responses={200: AgentSerializer, 409: None, 503: None, **ERRORS})
    @action(detail=True, methods=["post"], url_path="take-theirs")
    def take_theirs(self, request: Request, pk: str | None = None) -> Response:
        """Keep the version edited at ElevenLabs: copy it here, then push."""
        return self._answer(services.agent_take_theirs(agent=self.get_object()))

    @extend_schema(request=None, responses={200: AgentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def overwrite(self, request: Request, pk: str | None = None) -> Response:
        """Replace the version edited at ElevenLabs with PrixAgent's."""
        return self._answer(services.agent_overwrite(agent=self.get_object()))

    @extend_schema(request=None, responses={200: ToolInvocationSerializer(many=True), 404: None})
    @action(detail=True, methods=["get"], url_path="tool-invocations")
    def tool_invocations(self, request: Request, pk: str | None = None) -> Response:
        """The agent's tool log, newest first: what each tool was asked, answered, and how fast."""
        invocations = selectors.tool_invocations_for_agent(self.get_object())  # scoped: get_object is the account's
        page = self.paginate_queryset(invocations)
        return self.get_paginated_response(ToolInvocationSerializer(page, many=True).data)

    @extend_schema(responses={200: TemplateSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def templates(self, request: Request) -> Response:
        """Templates to start from (`template` on create)."""
        items = [
            {
                "slug": slug,
                "title": str(p.title),
                "description": str(p.description),
                "languages": [str(lang) for lang in TEMPLATE_LANGUAGES],
                "tools": list(p.tools),
            }
            for slug, p in PRESETS.items()
        ]
        return Response(TemplateSerializer(items, many=True).data)

    @extend_schema(responses={200: VoiceSerializer(many=True), 503: None})
    @action(detail=False, methods=["get"])
    def voices(self, request: Request) -> Response:
        """The voices the account's ElevenLabs key (or the platform's) can use."""
        try:
            voices = selectors.voices_for(self.account)
        except sync.NoKey as exc:
            raise ApplicationError(str(exc), code="no_elevenlabs_key", status_code=409) from None
        except ProviderError as exc:
            raise ApplicationError(exc.message, code="provider_unavailable", status_code=503) from None
        return Response(VoiceSerializer(voices, many=True).data)

    @extend_schema(responses={200: VariableSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def variables(self, request: Request) -> Response:
        """The `{{variables}}` an agent's texts may use (contact fields, custom fields, account)."""
        known = selectors.known_variables(self.account)
        return Response(VariableSerializer([{"name": n, "description": d} for n, d in known.items()], many=True).data)


@extend_schema(tags=["agents"])
class AgentSettingsView(TenantScopedMixin, APIView):
    """What `book_appointment` does when the contact has no email: ask, or book with a placeholder."""

    @extend_schema(responses={200: AgentSettingsSerializer})
    def get(self, request: Request) -> Response:
        return Response(AgentSettingsSerializer(selectors.agent_settings_for(self.account)).data)

    @extend_schema(request=AgentSettingsSerializer, responses={200: AgentSettingsSerializer, 400: None, 403: None})
    def patch(self, request: Request) -> Response:
        current = selectors.agent_settings_for(self.account)
        serializer = AgentSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {**AgentSettingsSerializer(current).data, **serializer.validated_data}
        saved = services.agent_settings_update(account=self.account, **data)
        return Response(AgentSettingsSerializer(saved).data)
