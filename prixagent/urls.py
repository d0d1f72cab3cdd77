"""URL map, grouped by surface (see prixagent.surfaces for which process serves what)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from billing.webhooks import PaypalWebhook
from prixagent import views
from prixagent.health import healthz

handler404 = "prixagent.errors.not_found"
handler500 = "prixagent.errors.server_error"

urlpatterns = [
    # landing
    path("", views.landing, name="landing"),
    path("i18n/setlang/", account_views.language_set, name="set_language"),  # also stores user.language
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    # client dashboard
    path("app/", include("accounts.dashboard_urls")),
    # platform admin (its second factor first: admin.site.urls would claim the path)
    path("admin/mfa/", include("accounts.mfa_urls")),
    path("admin/", admin.site.urls),
    # REST API (+ provider webhooks, added by the apps that receive them)
    path("api/v1/", include(("prixagent.api_urls", "api"))),
    # provider webhooks
    path("webhooks/paypal/", PaypalWebhook.as_view(), name="paypal-webhook"),
    path("webhooks/", include("calls.webhook_urls")),
]
