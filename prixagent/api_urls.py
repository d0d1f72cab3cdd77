"""`/api/v1/`: every REST endpoint. Later apps add their routers here."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api

router = SimpleRouter(trailing_slash=True)
router.register("account/users", accounts_api.AccountUserViewSet, basename="account-user")
router.register("account/invitations", accounts_api.InvitationViewSet, basename="account-invitation")
router.register("account/audit-events", accounts_api.AuditEventViewSet, basename="account-audit-event")

urlpatterns = [
    path("auth/register/", accounts_api.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", accounts_api.TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh/", accounts_api.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", accounts_api.LogoutView.as_view(), name="auth-logout"),
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("me/logout-everywhere/", accounts_api.LogoutEverywhereView.as_view(), name="me-logout-everywhere"),
    path("account/", accounts_api.AccountView.as_view(), name="account"),
    path("config/", accounts_api.PublicConfigView.as_view(), name="public-config"),
    path("integrations/", include("integrations.api_urls")),
    path("contacts/", include("contacts.api_urls")),
    path("", include("agents.api_urls")),
    path("", include("calls.api_urls")),
    path("", include("campaigns.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script from a URL (no inline script: CSP).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="prixagent/swagger_ui.html"),
        name="docs",
    ),
    path("", include(router.urls)),
]
