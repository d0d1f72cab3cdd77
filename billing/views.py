"""Dashboard Billing page (`/app/billing/`): usage against the plan, the plan, renewal, payment
history, and for owners the subscribe / change / cancel / pay buttons. Every action is a POST
form (no JavaScript needed); subscribing and changing plans redirect to PayPal's approval page,
which sends the owner back to `billing_return`.

Roles: everyone in the account sees usage and the plan; owners and admins also see payments;
only owners subscribe, change, cancel or pay (money decisions), others get 403.
A suspended account can open these pages: they are how it pays and comes back.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.views import account_required
from billing import selectors, services
from billing.models import Plan
from prixagent.errors import ApplicationError


def _owner(request: HttpRequest) -> None:
    if request.user.role != User.Role.OWNER:
        raise PermissionDenied(_("Only the account's owners can change its subscription."))


def _urls(request: HttpRequest) -> tuple[str, str]:
    back = request.build_absolute_uri(reverse("dashboard:billing_return"))
    cancelled = request.build_absolute_uri(reverse("dashboard:billing") + "?paypal=cancelled")
    return back, cancelled


def _to_paypal(request: HttpRequest, url: str, plan: Plan) -> HttpResponse:
    """A page that forwards to PayPal's approval page (meta refresh, and a link without it).

    Not a 302 from the form's POST: the CSP's `form-action 'self'` makes browsers block a form
    submission that redirects to another site, and PayPal is another site."""
    if urlsplit(url).scheme not in ("http", "https"):
        message = _("PayPal answered with an unusable link.")
        raise ApplicationError(message, code="provider_unavailable", status_code=503)
    return render(request, "billing/to_paypal.html", {"approve_url": url, "plan": plan})


@require_GET
@account_required
def billing(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    if request.GET.get("paypal") == "cancelled":
        services.subscription_abandon_change(account=account)
        messages.info(request, _("You came back from PayPal without approving: nothing changed."))
        return redirect("dashboard:billing")
    context = selectors.billing_overview(account=account)
    context["payments"] = selectors.payments_for(account=account) if request.user.can_manage else None
    context["is_owner"] = request.user.role == User.Role.OWNER
    return render(request, "billing/billing.html", context)


@require_POST
@account_required
def billing_subscribe(request: HttpRequest) -> HttpResponse:
    _owner(request)
    account = request.user.account
    plan = Plan.objects.filter(code=request.POST.get("plan", ""), is_public=True).first()
    if plan is None:
        messages.error(request, _("Choose one of the listed plans."))
        return redirect("dashboard:billing")
    back, cancelled = _urls(request)
    try:
        if services.current_subscription(account) is None:
            url = services.subscription_start(
                account=account, plan=plan, actor=request.user, return_url=back, cancel_url=cancelled
            )
        else:
            url = services.subscription_change(
                account=account, plan=plan, actor=request.user, return_url=back, cancel_url=cancelled
            )
        return _to_paypal(request, url, plan)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:billing")


@require_GET
@account_required
def billing_return(request: HttpRequest) -> HttpResponse:
    """PayPal's return_url: `?subscription_id=I-…&ba_token=…&token=…`."""
    account = request.user.account
    subscription_id = request.GET.get("subscription_id", "")
    if not subscription_id:
        current = services.current_subscription(account)
        subscription_id = current.paypal_subscription_id if current else ""
    try:
        subscription = services.subscription_confirm(account=account, paypal_subscription_id=subscription_id)
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise Http404 from None
        messages.error(request, exc.message)
        return redirect("dashboard:billing")
    if subscription.status in ("ACTIVE", "APPROVED"):
        messages.success(request, _("Thank you! Your %(plan)s subscription is active.") % {"plan": subscription.plan})
    else:
        messages.info(request, _("PayPal has not confirmed the subscription yet; this page updates when it does."))
    return redirect("dashboard:billing")


@require_POST
@account_required
def billing_cancel(request: HttpRequest) -> HttpResponse:
    _owner(request)
    try:
        reason = request.POST.get("reason", "")
        services.subscription_cancel(account=request.user.account, actor=request.user, reason=reason)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your subscription is cancelled. The plan stays until the end of the paid period."))
    return redirect("dashboard:billing")


@require_POST
@account_required
def billing_pay(request: HttpRequest) -> HttpResponse:
    _owner(request)
    try:
        services.subscription_pay_now(account=request.user.account, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Payment received. Thank you!"))
    return redirect("dashboard:billing")
