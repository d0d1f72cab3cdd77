"""Dashboard pages for calls (`/app/calls/`). Thin: forms check shapes, services act.

Every action is a plain POST form that redirects (or renders), so the pages work without
JavaScript; `static/js/calls.js` only refreshes the live parts when a `call.updated` event
arrives. Members read; owners and admins place calls and change settings and webhooks. Another
account's call, recording or webhook answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.views import account_required
from calls import selectors, services, tenant_webhooks
from calls.forms import CallFilterForm, CallNowForm, CallSettingsForm, TenantWebhookForm, TestCallForm
from calls.models import Call, TenantEvent
from calls.recordings import recording_response
from prixagent.errors import ApplicationError

PAGE = 50


def _manager_only(request: HttpRequest) -> None:
    if not request.user.can_manage:
        raise PermissionDenied(_("Only the account's owners and admins can do this."))


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Back to the page the form was on (a local path only), else `fallback`."""
    target = str(request.POST.get("next") or "")
    return redirect(target if target.startswith("/app/") and "//" not in target else fallback)


# --- the list ----------------------------------------------------------------------------------


@account_required
def call_list(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    filters = selectors.CallFilters.from_query(request.GET)
    page = Paginator(selectors.calls_filtered(account, filters), PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filter_form": CallFilterForm(request.GET or None, account=account),
        "call_form": CallNowForm(account=account) if request.user.can_manage else None,
        "can_manage": request.user.can_manage,
        "query": query.urlencode(),
        "filtered": any(request.GET.get(k) for k in ("status", "outcome", "agent", "direction", "since", "until")),
    }
    return render(request, "calls/list.html", context)


# --- placing calls -------------------------------------------------------------------------------


def _placed(request: HttpRequest, call: Call) -> HttpResponse:
    if call.status == "unknown":
        messages.warning(request, _("Twilio did not confirm the call; we are checking with Twilio."))
    else:
        messages.success(request, _("Calling %(number)s…") % {"number": call.to_number})
    return redirect("dashboard:call_detail", call_id=call.pk)


def _not_placed(request: HttpRequest, exc: ApplicationError, fallback: str) -> HttpResponse:
    call = getattr(exc, "call", None)
    messages.error(request, exc.message)
    if call is not None:
        return redirect("dashboard:call_detail", call_id=call.pk)
    return _back(request, fallback)


@require_POST
@account_required
def call_new(request: HttpRequest) -> HttpResponse:
    """ "Call now": the list's form, and the contact page's button."""
    _manager_only(request)
    account = request.user.account
    form = CallNowForm(request.POST, account=account)
    if not form.is_valid():
        messages.error(request, _("Choose a contact that may be called and an agent that is live."))
        return _back(request, reverse("dashboard:calls"))
    try:
        call = services.call_place(
            account=account,
            contact=form.cleaned_data["contact"],
            agent=form.cleaned_data["agent"],
            from_number=form.cleaned_data["from_number"] or None,
            attempt_key=f"dashboard:{form.cleaned_data['attempt']}",
            source=Call.Source.DASHBOARD,
            created_by=request.user,
        )
    except ApplicationError as exc:
        return _not_placed(request, exc, reverse("dashboard:calls"))
    return _placed(request, call)


@require_POST
@account_required
def call_test(request: HttpRequest) -> HttpResponse:
    """A test call from the agent page to the user's own phone."""
    _manager_only(request)
    account = request.user.account
    form = TestCallForm(request.POST, account=account)
    if not form.is_valid():
        messages.error(request, _("Enter your phone number; the agent must be live at ElevenLabs."))
        return _back(request, reverse("dashboard:agents"))
    try:
        call = services.call_place(
            account=account,
            contact=None,
            to_number=form.cleaned_data["to_number"],
            agent=form.cleaned_data["agent"],
            attempt_key=f"test:{form.cleaned_data['attempt']}",
            source=Call.Source.TEST,
            created_by=request.user,
        )
    except ApplicationError as exc:
        return _not_placed(request, exc, reverse("dashboard:agents"))
    return _placed(request, call)


@require_POST
@account_required
def call_hangup(request: HttpRequest, call_id: str) -> HttpResponse:
    _manager_only(request)
    call = selectors.get_call_for_user(request.user, call_id)
    try:
        services.call_hang_up(call=call)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Hanging up…"))
    return redirect("dashboard:call_detail", call_id=call.pk)


# --- one call ----------------------------------------------------------------------------------


@account_required
def call_detail(request: HttpRequest, call_id: str) -> HttpResponse:
    call = selectors.get_call_for_user(request.user, call_id)
    context = {
        "call": call,
        "tool_calls": selectors.call_tool_invocations(call),
        "bookings": selectors.call_bookings(call),
        "can_manage": request.user.can_manage,
    }
    return render(request, "calls/detail.html", context)


@account_required
def call_recording(request: HttpRequest, call_id: str) -> HttpResponse:
    call = selectors.get_call_for_user(request.user, call_id)
    return recording_response(call, range_header=request.headers.get("Range", ""))


# --- settings ----------------------------------------------------------------------------------


@account_required
def call_settings(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    current = services.call_settings_for(account)
    initial = {f: getattr(current, f) for f in ("machine_detection", "record_calls", "ring_timeout")}
    form = CallSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        _manager_only(request)
        if form.is_valid():
            try:
                services.call_settings_update(account=account, **form.cleaned_data)
            except ApplicationError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Call settings saved."))
                return redirect("dashboard:call_settings")
    context = {"form": form, "can_manage": request.user.can_manage, "settings": current}
    return render(request, "calls/settings.html", context, status=400 if form.errors else 200)


# --- tenant webhooks ---------------------------------------------------------------------------


@account_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    form = TenantWebhookForm(request.POST or None, initial={"events": TenantEvent.values})
    secret = None
    created = None
    if request.method == "POST":
        _manager_only(request)
        if form.is_valid():
            try:
                created, secret = tenant_webhooks.tenant_webhook_create(account=account, **form.cleaned_data)
            except ApplicationError as exc:
                exc.add_to_form(form)
            else:
                form = TenantWebhookForm(initial={"events": TenantEvent.values})
    context = {
        "endpoints": selectors.tenant_webhooks_for_account(account),
        "form": form,
        "secret": secret,  # shown on this answer only, never again
        "created": created,
        "can_manage": request.user.can_manage,
    }
    status = 400 if form.errors else (201 if secret else 200)
    return render(request, "calls/webhooks.html", context, status=status)


@account_required
def webhook_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = selectors.get_tenant_webhook_for_user(request.user, endpoint_id)
    page = Paginator(selectors.deliveries_for(endpoint), PAGE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "page": page, "can_manage": request.user.can_manage}
    return render(request, "calls/webhook_detail.html", context)


def _endpoint_action(request: HttpRequest, endpoint_id: str) -> Any:
    _manager_only(request)
    return selectors.get_tenant_webhook_for_user(request.user, endpoint_id)


@require_POST
@account_required
def webhook_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_action(request, endpoint_id)
    delivery = tenant_webhooks.tenant_webhook_send_test(endpoint=endpoint)
    if delivery.state == delivery.State.DELIVERED:
        messages.success(request, _("Test event delivered (HTTP %(code)s).") % {"code": delivery.last_status_code})
    else:
        messages.error(request, _("The test event was not delivered: %(reason)s") % {"reason": delivery.last_error})
    return redirect("dashboard:call_webhook", endpoint_id=endpoint.pk)


@require_POST
@account_required
def webhook_toggle(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_action(request, endpoint_id)
    tenant_webhooks.tenant_webhook_update(endpoint=endpoint, is_active=not endpoint.is_active)
    messages.success(request, _("Webhook enabled.") if endpoint.is_active else _("Webhook paused."))
    return redirect("dashboard:call_webhook", endpoint_id=endpoint.pk)


@require_POST
@account_required
def webhook_secret(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_action(request, endpoint_id)
    secret = tenant_webhooks.tenant_webhook_roll_secret(endpoint=endpoint)
    page = Paginator(selectors.deliveries_for(endpoint), PAGE).get_page(1)
    context = {"endpoint": endpoint, "page": page, "can_manage": True, "secret": secret}
    return render(request, "calls/webhook_detail.html", context)


@require_POST
@account_required
def webhook_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_action(request, endpoint_id)
    tenant_webhooks.tenant_webhook_delete(endpoint=endpoint)
    messages.success(request, _("Webhook deleted."))
    return redirect("dashboard:call_webhooks")
