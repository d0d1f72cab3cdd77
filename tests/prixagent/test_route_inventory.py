"""Route inventory gate: every API and dashboard route is classified here, and checked.

A new route that is not in ROUTES (API) or DASHBOARD_ROUTES (`/app/`) fails this test until
someone decides what it is. A route classified "tenant" must go through `TenantScopedMixin`
(queryset scoped to the caller's account, tenant permissions), so forgetting tenant scoping
cannot reach main. A dashboard route classified "account" must send anonymous visitors to the
login page and platform staff to the admin (`account_required`); "login" ones need any login;
"public" ones are open (log in, sign up, password reset).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny, IsAuthenticated

from accounts.models import User
from agents.api_tools import HasLiveToolSession, ToolTokenAuthentication
from prixagent.tenancy import TENANT_PERMISSIONS, TenantScopedMixin

PUBLIC, SELF, TENANT, DOCS = "public", "self", "tenant", "docs"
# In-call tools: authenticated by a live call's token only (no JWT, no session, so no CSRF).
TOOL = "tool"
# A provider webhook: no login; the signature (checked by webhooks.pipeline) is the authentication.
WEBHOOK = "webhook"
# A URL Twilio fetches without any login (a voicemail's audio): the signed, expiring token in the
# URL is the permission.
SIGNED = "signed"
ROUTES = {
    "api/v1/auth/register/": PUBLIC,
    "api/v1/auth/token/": PUBLIC,
    "api/v1/auth/token/refresh/": PUBLIC,
    "api/v1/auth/logout/": PUBLIC,
    "api/v1/config/": PUBLIC,
    "api/v1/me/": SELF,
    "api/v1/me/logout-everywhere/": SELF,
    "api/v1/account/": TENANT,
    "api/v1/^account/users/$": TENANT,
    "api/v1/^account/users/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/^account/invitations/$": TENANT,
    "api/v1/^account/invitations/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/^account/audit-events/$": TENANT,
    "api/v1/^account/audit-events/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/integrations/": TENANT,
    "api/v1/integrations/events/": TENANT,
    "api/v1/integrations/events/<int:pk>/": TENANT,
    "api/v1/integrations/twilio/sync-numbers/": TENANT,
    "api/v1/integrations/calcom/default-event-type/": TENANT,
    "api/v1/integrations/<str:provider>/": TENANT,
    "api/v1/integrations/<str:provider>/test/": TENANT,
    "api/v1/contacts/": TENANT,
    "api/v1/contacts/<int:pk>/": TENANT,
    "api/v1/contacts/<int:pk>/do-not-call/": TENANT,
    "api/v1/contacts/bulk/": TENANT,
    "api/v1/contacts/export/": TENANT,
    "api/v1/contacts/tags/": TENANT,
    "api/v1/contacts/tags/<int:pk>/": TENANT,
    "api/v1/contacts/imports/": TENANT,
    "api/v1/contacts/imports/<uuid:pk>/": TENANT,
    "api/v1/contacts/imports/<uuid:pk>/start/": TENANT,
    "api/v1/contacts/imports/<uuid:pk>/resume/": TENANT,
    "api/v1/contacts/imports/<uuid:pk>/cancel/": TENANT,
    "api/v1/contacts/imports/<uuid:pk>/errors/": TENANT,
    "api/v1/contacts/do-not-call/": TENANT,
    "api/v1/contacts/do-not-call/<int:pk>/": TENANT,
    "api/v1/contacts/ghl-sync/": TENANT,
    "api/v1/agent-settings/": TENANT,
    "api/v1/agent-tools/<str:tool>/": TOOL,
    "api/v1/^agents/$": TENANT,
    "api/v1/^agents/templates/$": TENANT,
    "api/v1/^agents/variables/$": TENANT,
    "api/v1/^agents/voices/$": TENANT,
    "api/v1/^agents/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/^agents/(?P<pk>[^/.]+)/check-drift/$": TENANT,
    "api/v1/^agents/(?P<pk>[^/.]+)/overwrite/$": TENANT,
    "api/v1/^agents/(?P<pk>[^/.]+)/sync/$": TENANT,
    "api/v1/^agents/(?P<pk>[^/.]+)/take-theirs/$": TENANT,
    "api/v1/^agents/(?P<pk>[^/.]+)/tool-invocations/$": TENANT,
    "api/v1/schema/": DOCS,
    "api/v1/docs/": DOCS,
    "webhooks/paypal/": WEBHOOK,
    "api/v1/call-settings/": TENANT,
    "api/v1/^calls/$": TENANT,
    "api/v1/^calls/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/^calls/(?P<pk>[^/.]+)/hangup/$": TENANT,
    "api/v1/^calls/(?P<pk>[^/.]+)/recording/$": TENANT,
    "api/v1/^tenant-webhooks/$": TENANT,
    "api/v1/^tenant-webhooks/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/^tenant-webhooks/(?P<pk>[^/.]+)/deliveries/$": TENANT,
    "api/v1/^tenant-webhooks/(?P<pk>[^/.]+)/roll-secret/$": TENANT,
    "api/v1/^tenant-webhooks/(?P<pk>[^/.]+)/test/$": TENANT,
    "api/v1/^campaigns/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/cancel/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/contacts/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/pause/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/preview/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/resume/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/start/$": TENANT,
    "api/v1/^campaigns/(?P<pk>[^/.]+)/stats/$": TENANT,
    "webhooks/twilio/calls/<uuid:call_id>/voice/": WEBHOOK,
    "webhooks/twilio/calls/<uuid:call_id>/status/": WEBHOOK,
    "webhooks/twilio/calls/<uuid:call_id>/amd/": WEBHOOK,
    "webhooks/twilio/inbound/<str:inbound_id>/voice/": WEBHOOK,
    "webhooks/twilio/inbound/<str:inbound_id>/status/": WEBHOOK,
    "webhooks/elevenlabs/<str:public_id>/": WEBHOOK,
    "webhooks/audio/<str:token>/": SIGNED,
}


ACCOUNT, LOGIN = "account", "login"
DASHBOARD_ROUTES = {
    "app/": ACCOUNT,
    "app/signup/": PUBLIC,
    "app/signup/sent/": PUBLIC,
    "app/email/confirm/<str:token>/": PUBLIC,
    "app/account/email/resend/": ACCOUNT,
    "app/logout/everywhere/": LOGIN,
    "app/team/": ACCOUNT,
    "app/team/invite/": ACCOUNT,
    "app/team/<uuid:pk>/role/": ACCOUNT,
    "app/team/<uuid:pk>/remove/": ACCOUNT,
    "app/team/invitations/<uuid:pk>/revoke/": ACCOUNT,
    "app/invitations/<str:token>/": PUBLIC,
    "app/activity/": ACCOUNT,
    "app/login/": PUBLIC,
    "app/logout/": PUBLIC,
    "app/account/": ACCOUNT,
    "app/integrations/": ACCOUNT,
    "app/integrations/twilio/sync-numbers/": ACCOUNT,
    "app/integrations/calcom/default-event-type/": ACCOUNT,
    "app/integrations/<str:provider>/connect/": ACCOUNT,
    "app/integrations/<str:provider>/test/": ACCOUNT,
    "app/integrations/<str:provider>/disconnect/": ACCOUNT,
    "app/agents/": ACCOUNT,
    "app/agents/new/": ACCOUNT,
    "app/agents/settings/": ACCOUNT,
    "app/agents/<uuid:agent_id>/": ACCOUNT,
    "app/agents/<uuid:agent_id>/sync/": ACCOUNT,
    "app/agents/<uuid:agent_id>/check/": ACCOUNT,
    "app/agents/<uuid:agent_id>/take-theirs/": ACCOUNT,
    "app/agents/<uuid:agent_id>/overwrite/": ACCOUNT,
    "app/agents/<uuid:agent_id>/delete/": ACCOUNT,
    "app/agents/<uuid:agent_id>/tools/": ACCOUNT,
    "app/contacts/": ACCOUNT,
    "app/contacts/new/": ACCOUNT,
    "app/contacts/bulk/": ACCOUNT,
    "app/contacts/export.csv": ACCOUNT,
    "app/contacts/<int:pk>/": ACCOUNT,
    "app/contacts/<int:pk>/edit/": ACCOUNT,
    "app/contacts/<int:pk>/delete/": ACCOUNT,
    "app/contacts/<int:pk>/do-not-call/": ACCOUNT,
    "app/contacts/<int:pk>/tags/": ACCOUNT,
    "app/contacts/imports/": ACCOUNT,
    "app/contacts/imports/<uuid:pk>/": ACCOUNT,
    "app/contacts/imports/<uuid:pk>/status.json": ACCOUNT,
    "app/contacts/imports/<uuid:pk>/errors.csv": ACCOUNT,
    "app/contacts/imports/<uuid:pk>/cancel/": ACCOUNT,
    "app/contacts/imports/<uuid:pk>/resume/": ACCOUNT,
    "app/contacts/do-not-call/": ACCOUNT,
    "app/contacts/do-not-call/<int:pk>/remove/": ACCOUNT,
    "app/contacts/ghl-sync/": ACCOUNT,
    "app/billing/": ACCOUNT,
    "app/billing/subscribe/": ACCOUNT,
    "app/billing/return/": ACCOUNT,
    "app/billing/cancel/": ACCOUNT,
    "app/billing/pay/": ACCOUNT,
    "app/calls/": ACCOUNT,
    "app/calls/new/": ACCOUNT,
    "app/calls/test/": ACCOUNT,
    "app/calls/settings/": ACCOUNT,
    "app/calls/webhooks/": ACCOUNT,
    "app/calls/webhooks/<uuid:endpoint_id>/": ACCOUNT,
    "app/calls/webhooks/<uuid:endpoint_id>/test/": ACCOUNT,
    "app/calls/webhooks/<uuid:endpoint_id>/toggle/": ACCOUNT,
    "app/calls/webhooks/<uuid:endpoint_id>/secret/": ACCOUNT,
    "app/calls/webhooks/<uuid:endpoint_id>/delete/": ACCOUNT,
    "app/calls/<uuid:call_id>/": ACCOUNT,
    "app/calls/<uuid:call_id>/recording/": ACCOUNT,
    "app/calls/<uuid:call_id>/hangup/": ACCOUNT,
    "app/campaigns/": ACCOUNT,
    "app/campaigns/new/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/edit/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/start/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/pause/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/resume/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/cancel/": ACCOUNT,
    "app/campaigns/<uuid:campaign_id>/delete/": ACCOUNT,
    "app/overview/": ACCOUNT,
    "app/password/change/": LOGIN,
    "app/password/change/done/": LOGIN,
    "app/password/reset/": PUBLIC,
    "app/password/reset/sent/": PUBLIC,
    "app/password/reset/<uidb64>/<token>/": PUBLIC,
    "app/password/reset/done/": PUBLIC,
}
# Values for the path converters when a test has to request a route.
SAMPLE_ARGS = {
    "<str:provider>": "twilio",
    "<uidb64>": "MQ",
    "<token>": "set-password",
    "<str:token>": "not-a-real-token",
    "<int:pk>": "1",
    "<uuid:pk>": "00000000-0000-4000-8000-000000000001",
    "<uuid:agent_id>": "00000000-0000-0000-0000-000000000000",
    "<uuid:call_id>": "00000000-0000-4000-8000-000000000002",
    "<uuid:endpoint_id>": "00000000-0000-4000-8000-000000000003",
    "<uuid:campaign_id>": "00000000-0000-4000-8000-000000000004",
}


def all_routes(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, route)
        else:
            yield route, pattern.callback


def api_routes() -> Iterator[tuple[str, type]]:
    for route, callback in all_routes():
        if route.startswith(("api/", "webhooks/")):
            yield route, getattr(callback, "cls", None) or callback.view_class


def dashboard_routes() -> list[str]:
    return [route for route, _callback in all_routes() if route.startswith("app/")]


def sample_url(route: str) -> str:
    for converter, value in SAMPLE_ARGS.items():
        route = route.replace(converter, value)
    assert "<" not in route, f"add a sample value for the converter in {route} to SAMPLE_ARGS"
    return "/" + route


def test_every_api_route_is_classified() -> None:
    found = {route for route, _view in api_routes()}
    assert found - set(ROUTES) == set(), "classify the new routes in ROUTES"
    assert set(ROUTES) - found == set(), "remove routes that no longer exist"


def test_tenant_routes_are_scoped_to_the_callers_account() -> None:
    for route, view in api_routes():
        if ROUTES[route] == TENANT:
            assert issubclass(view, TenantScopedMixin), route
            assert list(view.permission_classes) == TENANT_PERMISSIONS, route


def test_webhook_routes_go_through_the_pipeline() -> None:
    from webhooks.pipeline import WebhookEndpoint

    for route, view in api_routes():
        if ROUTES[route] == WEBHOOK:
            assert issubclass(view, WebhookEndpoint), route


def test_signed_routes_take_only_a_signed_token(db: None) -> None:
    from calls.media import SignedAudioView

    for route, view in api_routes():
        if ROUTES[route] == SIGNED:
            assert issubclass(view, SignedAudioView), route
            assert Client().get("/" + route.replace("<str:token>", "forged-token")).status_code == 404


def test_public_and_self_routes_say_so() -> None:
    for route, view in api_routes():
        if ROUTES[route] == PUBLIC:
            assert set(view.permission_classes) <= {AllowAny}, route  # simplejwt's views use ()
        if ROUTES[route] == SELF:
            assert list(view.permission_classes) == [IsAuthenticated], route


# --- the dashboard (/app/) ------------------------------------------------------------------


def test_every_dashboard_route_is_classified() -> None:
    found = set(dashboard_routes())
    assert found - set(DASHBOARD_ROUTES) == set(), "classify the new dashboard routes in DASHBOARD_ROUTES"
    assert set(DASHBOARD_ROUTES) - found == set(), "remove dashboard routes that no longer exist"


def _visit(client: Client, url: str) -> object:
    """GET, or POST for the POST-only actions (CSRF checks off: this is about who gets in)."""
    response = client.get(url)
    return client.post(url) if response.status_code == 405 else response


@pytest.mark.parametrize("route", [r for r, kind in DASHBOARD_ROUTES.items() if kind in (ACCOUNT, LOGIN)])
def test_private_dashboard_routes_send_anonymous_visitors_to_log_in(db: None, route: str) -> None:
    response = _visit(Client(), sample_url(route))
    assert response.status_code == 302, route
    assert response["Location"].startswith("/app/login/?next="), route


@pytest.mark.parametrize("route", [r for r, kind in DASHBOARD_ROUTES.items() if kind == ACCOUNT])
def test_account_routes_send_platform_staff_to_the_admin(db: None, route: str) -> None:
    staff = User.objects.create_superuser("ops@example.com", "operator password 123")
    client = Client()
    client.force_login(staff)
    response = _visit(client, sample_url(route))
    assert (response.status_code, response["Location"]) == (302, "/admin/"), route


@pytest.mark.parametrize("route", [r for r, kind in DASHBOARD_ROUTES.items() if kind == PUBLIC])
def test_public_dashboard_routes_answer_anonymous_visitors(db: None, route: str) -> None:
    response = _visit(Client(), sample_url(route))
    # 400: a link route (invitation, email confirmation) shown a made-up token says so.
    assert response.status_code in (200, 302, 400), route
    assert not response.get("Location", "").startswith("/app/login/?next="), route


def test_tool_routes_take_only_a_call_token() -> None:
    for route, view in api_routes():
        if ROUTES[route] == TOOL:
            assert list(view.authentication_classes) == [ToolTokenAuthentication], route
            assert list(view.permission_classes) == [HasLiveToolSession], route
            assert not issubclass(view, TenantScopedMixin), route
