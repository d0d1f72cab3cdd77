"""Route inventory gate: every API route is classified here, and tenant routes are scoped.

A new route that is not in ROUTES fails this test until someone decides what it is. A route
classified "tenant" must go through `TenantScopedMixin` (queryset scoped to the caller's
account, tenant permissions), so forgetting tenant scoping cannot reach main.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny, IsAuthenticated

from prixagent.tenancy import TENANT_PERMISSIONS, TenantScopedMixin

PUBLIC, SELF, TENANT, DOCS = "public", "self", "tenant", "docs"
ROUTES = {
    "api/v1/auth/register/": PUBLIC,
    "api/v1/auth/token/": PUBLIC,
    "api/v1/auth/token/refresh/": PUBLIC,
    "api/v1/auth/logout/": PUBLIC,
    "api/v1/config/": PUBLIC,
    "api/v1/me/": SELF,
    "api/v1/account/": TENANT,
    "api/v1/^account/users/$": TENANT,
    "api/v1/^account/users/(?P<pk>[^/.]+)/$": TENANT,
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
    "api/v1/schema/": DOCS,
    "api/v1/docs/": DOCS,
}


def api_routes(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "") -> Iterator[tuple[str, type]]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif route.startswith(("api/", "webhooks/")):
            callback = pattern.callback
            yield route, getattr(callback, "cls", None) or callback.view_class


def test_every_api_route_is_classified() -> None:
    found = {route for route, _view in api_routes()}
    assert found - set(ROUTES) == set(), "classify the new routes in ROUTES"
    assert set(ROUTES) - found == set(), "remove routes that no longer exist"


def test_tenant_routes_are_scoped_to_the_callers_account() -> None:
    for route, view in api_routes():
        if ROUTES[route] == TENANT:
            assert issubclass(view, TenantScopedMixin), route
            assert list(view.permission_classes) == TENANT_PERMISSIONS, route


def test_public_and_self_routes_say_so() -> None:
    for route, view in api_routes():
        if ROUTES[route] == PUBLIC:
            assert set(view.permission_classes) <= {AllowAny}, route  # simplejwt's views use ()
        if ROUTES[route] == SELF:
            assert list(view.permission_classes) == [IsAuthenticated], route
