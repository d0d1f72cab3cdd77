"""Dashboard Integrations page (`/app/integrations/`). Thin: forms validate, services act.

Every action is a plain POST form that redirects back to the page, so it works without
JavaScript. A failed connect re-renders the page with the errors inside that provider's card.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.services import account_require_verified_email
from accounts.views import account_required
from integrations import selectors, services
from integrations.forms import CONNECT_FORMS, ConnectForm, DefaultEventTypeForm
from integrations.registry import PROVIDERS, ProviderSpec
from prixagent.errors import ApplicationError

EVENTS_SHOWN = 50


def _page_url(provider: str = "") -> str:
    return reverse("dashboard:integrations") + (f"#{provider}" if provider else "")


def _manager_only(request: HttpRequest) -> None:
    if not request.user.can_manage:
        raise PermissionDenied(_("Only the account's owners and admins can change integrations."))


def _spec(provider: str) -> ProviderSpec:
    if provider not in PROVIDERS:
        raise Http404
    return PROVIDERS[provider]


def _render_page(
    request: HttpRequest, *, failed: tuple[str, ConnectForm] | None = None, status: int = 200
) -> HttpResponse:
    account = request.user.account
    cards = []
    for item in selectors.integration_overview(account):
        provider = item["provider"]
        form = failed[1] if failed and failed[0] == provider else CONNECT_FORMS[provider](auto_id=f"id_{provider}_%s")
        card: dict[str, Any] = {**item, "form": form}
        card["hint_rows"] = [(form.fields[name].label, hint) for name, hint in item["hints"].items()]
        if provider == "calcom" and item["configured"]:
            card["default_form"] = DefaultEventTypeForm(
                initial={"default_event_type_id": item["details"].get("default_event_type_id")},
                event_types=item["details"].get("event_types", []),
                auto_id="id_calcom_default_%s",
            )
        cards.append(card)
    context = {
        "cards": cards,
        "events": selectors.integration_events(account)[:EVENTS_SHOWN],
        "can_manage": request.user.can_manage,
    }
    return render(request, "integrations/integrations.html", context, status=status)


@account_required
def integrations(request: HttpRequest) -> HttpResponse:
    return _render_page(request)


@sensitive_post_parameters()
@require_POST
@account_required
def integration_connect(request: HttpRequest, provider: str) -> HttpResponse:
    spec = _spec(provider)
    _manager_only(request)
    form = CONNECT_FORMS[provider](request.POST, auto_id=f"id_{provider}_%s")
    if not form.is_valid():
        return _render_page(request, failed=(provider, form), status=400)
    try:
        account_require_verified_email(request.user.account)  # 403 until the account email is confirmed
        services.integration_connect(
            account=request.user.account, provider=provider, credentials=form.cleaned_data, actor=request.user
        )
    except ApplicationError as exc:
        exc.add_to_form(form)
        return _render_page(request, failed=(provider, form), status=exc.status_code)
    messages.success(request, _("%(provider)s is connected.") % {"provider": spec.name})
    return redirect(_page_url(provider))


def _run(request: HttpRequest, provider: str, success: str, action: Any) -> HttpResponse:
    _manager_only(request)
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(_page_url(provider))


@require_POST
@account_required
def integration_test(request: HttpRequest, provider: str) -> HttpResponse:
    spec = _spec(provider)
    return _run(
        request,
        provider,
        _("%(provider)s credentials are valid.") % {"provider": spec.name},
        lambda: services.integration_test(account=request.user.account, provider=provider, actor=request.user),
    )


@require_POST
@account_required
def integration_disconnect(request: HttpRequest, provider: str) -> HttpResponse:
    spec = _spec(provider)
    return _run(
        request,
        provider,
        _("%(provider)s is disconnected.") % {"provider": spec.name},
        lambda: services.integration_disconnect(account=request.user.account, provider=provider, actor=request.user),
    )


@require_POST
@account_required
def twilio_sync_numbers(request: HttpRequest) -> HttpResponse:
    return _run(
        request,
        "twilio",
        _("Twilio phone numbers are up to date."),
        lambda: services.twilio_sync_numbers(account=request.user.account, actor=request.user),
    )


@require_POST
@account_required
def calcom_default_event_type(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    item = selectors.integration_get(request.user.account, "calcom")
    form = DefaultEventTypeForm(request.POST, event_types=item["details"].get("event_types", []))
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed event types."))
        return redirect(_page_url("calcom"))
    return _run(
        request,
        "calcom",
        _("Default event type saved."),
        lambda: services.calcom_set_default_event_type(
            account=request.user.account,
            event_type_id=form.cleaned_data["default_event_type_id"],
            actor=request.user,
        ),
    )
