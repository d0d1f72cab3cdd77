"""Dashboard pages for campaigns (`/app/campaigns/`) and the account's overview (`/app/overview/`).

Thin: the form checks shapes, `campaigns.services` acts, `campaigns.selectors` reads. Every
control is a plain POST form with its CSRF token that redirects back, so the pages work without
JavaScript; `static/js/campaigns.js` only re-fetches the live region when a `campaign.progress`
or `call.updated` event arrives. Members read; owners and admins create, edit and control.
Another account's campaign answers 404.
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.views import account_required
from campaigns import charts, preview, selectors, services
from campaigns.forms import WEEKDAYS, CampaignForm
from campaigns.models import Campaign, MemberState
from prixagent.errors import ApplicationError

PAGE = 50
CALLS_SHOWN = 20


def percent(share: float | None) -> str:
    """0.4167 → "41.7" (None: "—"); a string, so the locale's decimal mark is not guessed twice."""
    return "—" if share is None else f"{share * 100:.1f}".removesuffix(".0")


def _manager_only(request: HttpRequest) -> None:
    if not request.user.can_manage:
        raise PermissionDenied(_("Only the account's owners and admins can do this."))


@account_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.CampaignFilters.from_query(request.GET)
    campaigns = selectors.campaigns_for(request.user.account, filters)
    page = Paginator(campaigns, PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()  # every filter (state, agent, name) carried to the other pages
    query.pop("page", None)
    context = {
        "page": page,
        "query": query.urlencode(),
        "filters": filters,
        "states": Campaign.State.choices,
        "can_manage": request.user.can_manage,
    }
    return render(request, "campaigns/list.html", context)


def _form_page(request: HttpRequest, form: CampaignForm, campaign: Campaign | None, status: int = 200) -> HttpResponse:
    context = {"form": form, "campaign": campaign, "retry_fields": [f for f in form if f.name.startswith("retry_")]}
    return render(request, "campaigns/form.html", context, status=status)


@account_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    account = request.user.account
    if request.method != "POST":
        initial = CampaignForm.initial_for(None, filter_query=str(request.GET.get("filter") or "")[:1000])
        return _form_page(request, CampaignForm(account=account, initial=initial), None)
    form = CampaignForm(request.POST, account=account)
    if form.is_valid():
        try:
            campaign = services.campaign_create(account=account, data=form.service_data(), created_by=request.user)
        except ApplicationError as exc:
            form.add_service_errors(exc.fields, exc.message)
        else:
            messages.success(request, _("Campaign created. Check the preview, then start it."))
            return redirect("dashboard:campaign", campaign_id=campaign.pk)
    return _form_page(request, form, None, status=400)


@account_required
def campaign_edit(request: HttpRequest, campaign_id: str) -> HttpResponse:
    _manager_only(request)
    account = request.user.account
    campaign = selectors.campaign_get(account, campaign_id)
    if campaign.is_over:
        messages.error(request, _("A finished campaign cannot be changed."))
        return redirect("dashboard:campaign", campaign_id=campaign.pk)
    if request.method != "POST":
        form = CampaignForm(account=account, campaign=campaign, initial=CampaignForm.initial_for(campaign))
        return _form_page(request, form, campaign)
    form = CampaignForm(request.POST, account=account, campaign=campaign)
    if form.is_valid():
        try:
            services.campaign_update(campaign=campaign, data=form.service_data())
        except ApplicationError as exc:
            form.add_service_errors(exc.fields, exc.message)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("dashboard:campaign", campaign_id=campaign.pk)
    return _form_page(request, form, campaign, status=400)


@account_required
def campaign_detail(request: HttpRequest, campaign_id: str) -> HttpResponse:
    campaign = selectors.campaign_get(request.user.account, campaign_id)
    state = str(request.GET.get("state") or "")
    members = Paginator(selectors.campaign_members(campaign, state), PAGE).get_page(request.GET.get("page"))
    stats = selectors.campaign_stats(campaign)
    # The preview answers "what happens if I start now": only worth its queries before start.
    before = preview.campaign_preview(campaign=campaign) if campaign.state == Campaign.State.DRAFT else None
    seconds = (before or {}).get("estimated_seconds")
    context = {
        "campaign": campaign,
        "stats": stats,
        "answer_rate_percent": percent(stats["answer_rate"]),
        "preview": before,
        "estimated_minutes": math.ceil(seconds / 60) if seconds is not None else None,
        "weekday_names": [str(label) for day, label in WEEKDAYS if day in (campaign.weekdays or [])],
        "calls": list(selectors.campaign_calls(campaign)[:CALLS_SHOWN]),
        "members": members,
        "member_state": state if state in MemberState.values else "",
        "member_states": MemberState.choices,
        "can_manage": request.user.can_manage,
    }
    return render(request, "campaigns/detail.html", context)


# Lazy: built once at import, translated in the language of each request.
CONTROLS = {
    "start": (services.campaign_start, gettext_lazy("Campaign started.")),
    "pause": (services.campaign_pause, gettext_lazy("Campaign paused: no new calls are placed.")),
    "resume": (services.campaign_resume, gettext_lazy("Campaign resumed.")),
    "cancel": (services.campaign_cancel, gettext_lazy("Campaign cancelled.")),
}


@require_POST
@account_required
def campaign_control(request: HttpRequest, campaign_id: str, verb: str) -> HttpResponse:
    """Start, pause, resume or cancel (the URL names the verb; each has its own route)."""
    _manager_only(request)
    campaign = selectors.campaign_get(request.user.account, campaign_id)
    action, done = CONTROLS[verb]
    try:
        action(campaign=campaign, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, str(done))
    return redirect("dashboard:campaign", campaign_id=campaign.pk)


@require_POST
@account_required
def campaign_delete(request: HttpRequest, campaign_id: str) -> HttpResponse:
    _manager_only(request)
    campaign = selectors.campaign_get(request.user.account, campaign_id)
    try:
        services.campaign_delete(campaign=campaign)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:campaign", campaign_id=campaign.pk)
    messages.success(request, _("Campaign deleted."))
    return redirect("dashboard:campaigns")


OVERVIEW_PERIODS = (14, 30)


@account_required
def overview(request: HttpRequest) -> HttpResponse:
    """Today's calls, answer rate and bookings, this month's minutes against the plan, and a chart
    of calls and outcomes per day."""
    days = 30 if request.GET.get("days") == "30" else 14
    figures = selectors.account_overview(request.user.account, days=days)
    context = {
        "figures": figures,
        "answer_rate_percent": percent(figures["answer_rate_today"]),
        "minutes_percent": percent(figures["minutes_share"]),
        "chart": charts.calls_chart(figures["per_day"]),
        "days": days,
        "periods": OVERVIEW_PERIODS,
    }
    return render(request, "campaigns/overview.html", context)
