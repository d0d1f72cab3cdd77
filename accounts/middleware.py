"""Dashboard side of account status: users of a suspended or cancelled account can log in,
but every dashboard page except the account page shows why and does nothing else."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

# Pages a user of an inactive account may still open.
_ALLOWED_NAMES = {
    "account",
    "logout",
    "login",
    "password_change",
    "password_change_done",
    "logout_everywhere",
    "email_confirm",
    "email_verification_resend",
    "invitation_accept",
    "signup_done",
}
# Billing: a suspended account must be able to see why and pay (billing/views.py).
_ALLOWED_NAMES |= {"billing", "billing_subscribe", "billing_return", "billing_cancel", "billing_pay"}


class AccountStatusMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: object, args: object, kwargs: object
    ) -> HttpResponse | None:
        match = request.resolver_match
        if not match or match.namespace != "dashboard" or match.url_name in _ALLOWED_NAMES:
            return None
        account = getattr(request.user, "account", None) if request.user.is_authenticated else None
        if account is not None and not account.is_active:
            return redirect("dashboard:account")
        return None
