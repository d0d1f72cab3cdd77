"""The admin's second step (`/admin/mfa/`): enter a code, or enrol an authenticator app."""

from __future__ import annotations

import segno
from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import mfa
from prixagent.errors import ApplicationError
from prixagent.throttling import login_attempt


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


def _platform_staff(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_staff and user.account_id is None)


staff_required = user_passes_test(_platform_staff, login_url="admin:login")


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else "/admin/"


def _render(request: HttpRequest, template: str, context: dict[str, object], status: int = 200) -> HttpResponse:
    context = {**admin.site.each_context(request), "next": _next(request), **context}
    return render(request, template, context, status=status)


@never_cache
@sensitive_post_parameters("code")
@staff_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    if mfa.mfa_satisfied(request):
        return redirect(_next(request))
    if mfa.mfa_device(request.user) is None:
        return redirect(f"{request.path}setup/?next={_next(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verdict = login_attempt(request=request, email="")  # the per-IP login budget
        if not verdict:
            form.add_error(None, "Too many attempts. Wait a few minutes and try again.")
            return _render(request, "accounts/mfa/verify.html", {"form": form}, status=429)
        try:
            mfa.mfa_verify(request=request, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            return redirect(_next(request))
    return _render(request, "accounts/mfa/verify.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
@sensitive_post_parameters("code")
@staff_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    if mfa.mfa_device(request.user) is not None and not mfa.mfa_satisfied(request):
        return redirect(f"/admin/mfa/?next={_next(request)}")  # a new device needs the old one first
    device = mfa.mfa_setup_device(user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.mfa_setup_confirm(request=request, device=device, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            return _render(request, "accounts/mfa/recovery_codes.html", {"codes": codes})
    context = {
        "form": form,
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#111"),
        "key": device.config_url.split("secret=")[1].split("&")[0],
    }
    return _render(request, "accounts/mfa/setup.html", context, status=400 if form.errors else 200)
