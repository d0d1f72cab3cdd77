"""`/api/v1/agent-tools/<tool>/`: the server tools ElevenLabs calls during a conversation.

ElevenLabs does not sign tool calls (providers.md §2.3). The only credential is the per-call
token in `X-Prix-Tool-Token`, which ElevenLabs fills from the call's `secret__prix_tool_token`
dynamic variable. So these views:

- authenticate with that token alone: no JWT, no session (a dashboard cookie or another
  tenant's JWT gets the same 401 as no token), hence no CSRF either (`APIView` is
  csrf-exempt and nothing here reads a cookie);
- accept only the token of a live session (open, unexpired, of an active account), looked up
  by its SHA-256, presented by that session's own agent (`agent_id`, bound by ElevenLabs from
  `system__agent_id`), and act only on that session's account, agent and contact, whatever
  else the body says;
- are throttled per session, not per IP (every ElevenLabs call comes from a few egress IPs).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from agents import selectors, tools
from agents.models import Tool, ToolSession
from agents.remote import TOOL_TOKEN_HEADER
from prixagent import ratelimit
from prixagent.parsers import JSONParser
from prixagent.throttling import client_ip

security_log = logging.getLogger("prixagent.security")
# Per session and window; settings.AGENT_TOOL_CALLS_PER_SESSION / _WINDOW_SECONDS override.
TOOL_CALLS_PER_SESSION, TOOL_WINDOW_SECONDS = 120, 60
TOKEN_META = "HTTP_" + TOOL_TOKEN_HEADER.upper().replace("-", "_")


class ToolCaller:
    """The request's user for a tool call: the call itself, not a person."""

    is_authenticated = True
    is_active = True
    is_staff = False

    def __init__(self, session: ToolSession) -> None:
        self.session = session
        self.pk = f"tool-session:{session.pk}"

    def __str__(self) -> str:
        return self.pk


class ToolTokenAuthentication(BaseAuthentication):
    """The per-call token of a live tool session, and nothing else."""

    def authenticate(self, request: Request) -> tuple[ToolCaller, ToolSession]:
        token = request.META.get(TOKEN_META, "").strip()
        session = selectors.live_tool_session(token) if token else None
        if session is None:
            security_log.warning(
                "tool call refused (%s token): path=%s ip=%s",
                "bad" if token else "no",
                request.path,
                client_ip(request),
            )
            raise AuthenticationFailed("A live call's tool token is required.", code="invalid_tool_token")
        return ToolCaller(session), session

    def authenticate_header(self, request: Request) -> str:
        return TOOL_TOKEN_HEADER  # makes the refusal a 401, not a 403


class HasLiveToolSession(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, ToolSession)


class ToolSessionThrottle(BaseThrottle):
    """Per call: a runaway conversation cannot hammer the tenant's Cal.com through us.

    The platform's fixed-window counter (`prixagent.ratelimit`, one Redis round trip)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit = getattr(settings, "AGENT_TOOL_CALLS_PER_SESSION", TOOL_CALLS_PER_SESSION)
        window = getattr(settings, "AGENT_TOOL_WINDOW_SECONDS", TOOL_WINDOW_SECONDS)
        count, self.resets_in = ratelimit.hit(f"throttle_agent-tools_session:{request.auth.pk}", window)
        if count > limit:
            security_log.warning("throttled: tool session %s", request.auth.pk)
            return False
        return True

    def wait(self) -> float:
        return float(self.resets_in)


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "agents.api_tools.ToolTokenAuthentication"
    name = "toolToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": TOOL_TOKEN_HEADER}


ANSWER = inline_serializer(
    "ToolAnswer",
    {
        "status": serializers.CharField(help_text="ok, booked, no_slots, need_email, unavailable, invalid, ..."),
        "message": serializers.CharField(help_text="A sentence the agent can say, in its language"),
    },
)


@extend_schema(tags=["agent tools"], request=None, responses={200: ANSWER, 401: None, 403: None, 404: None})
class AgentToolView(APIView):
    """One in-call tool. Always 200 with a speakable answer once the token is accepted."""

    authentication_classes = [ToolTokenAuthentication]
    permission_classes = [HasLiveToolSession]
    throttle_classes = [ToolSessionThrottle]
    parser_classes = [JSONParser]

    def post(self, request: Request, tool: str) -> Response:
        if tool not in Tool.values:
            raise NotFound()
        session: ToolSession = request.auth  # type: ignore[assignment]
        arguments = request.data if isinstance(request.data, dict) else {}
        agent = session.agent
        if agent is None or not agent.elevenlabs_agent_id or arguments.get("agent_id") != agent.elevenlabs_agent_id:
            # Another agent (of this account or another one) presenting this call's token.
            security_log.warning("tool call refused (token of another agent): session=%s", session.pk)
            raise PermissionDenied("This token belongs to another agent's call.")
        if not agent.has_tool(tool):
            raise PermissionDenied("This agent may not use this tool.")
        return Response(tools.tool_run(session=session, tool=tool, arguments=arguments).body())
