"""Client dashboard pages (`/app/`). Thin: forms validate, services act."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.i18n import set_language

from accounts import services
from accounts.forms import EmailAuthenticationForm, SignupForm
from accounts.models import User
from prixagent.errors import ApplicationError
from prixagent.throttling import login_attempt

View = Callable[..., HttpResponse]


def account_required(view: View) -> View:
    """Logged in as a tenant user. Platform staff have no account: their home is the admin."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.account_id is None:
            return redirect("admin:index")
        return view(request, *args, **kwargs)

    return wrapper


def remember_language(response: HttpResponse, language: str) -> None:
    """Make `language` the active one from the next request on (LocaleMiddleware reads the cookie)."""
    if language and translation.check_for_language(language):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )


@account_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html", {"account": request.user.account})


@account_required
def account(request: HttpRequest) -> HttpResponse:
    # Only the caller's own account: it comes from the session, never from the URL.
    account = request.user.account
    context = {
        "account": account,
        "members": account.users.order_by("email"),
        "language_name": dict(settings.LANGUAGES).get(request.user.language),
    }
    return render(request, "accounts/account.html", context)


@sensitive_post_parameters("password")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and not login_attempt(request=request, email=""):
        # Same budget as the API's register endpoint: the per-IP login limit.
        form.add_error(None, EmailAuthenticationForm.error_messages["throttled"])
        return render(request, "accounts/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            _account, user = services.account_signup(**form.cleaned_data)
        except ApplicationError as exc:
            exc.add_to_form(form)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            services.user_record_login(user=user)
            messages.success(request, _("Welcome to PrixAgent! Your account is ready."))
            return redirect("dashboard:home")
    return render(request, "accounts/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: EmailAuthenticationForm) -> HttpResponse:
        user: User = form.get_user()
        response = super().form_valid(form)
        services.user_record_login(user=user)
        remember_language(response, user.language)
        return response

    def form_invalid(self, form: EmailAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.is_throttled:
            response.status_code = 429
        return response

    def get_success_url(self) -> str:
        if self.request.user.is_staff and self.request.user.account_id is None:
            return reverse("admin:index")
        return super().get_success_url()


class LogoutView(auth_views.LogoutView):
    def get_success_url(self) -> str:
        # Served on its own port (manage.py serve client) the dashboard has no landing page.
        if settings.SURFACE not in ("all", "landing") and not self.get_redirect_url():
            return reverse("dashboard:login")
        return super().get_success_url()

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if isinstance(response, HttpResponseRedirect):
            messages.info(request, _("You have been logged out."))
        return response


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie + redirect), and for a logged-in user also `user.language`,
    so the choice follows them to the next login on another device."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and check_for_language(language):
        if request.user.language != language:
            services.member_update(actor=request.user, member=request.user, changes={"language": language})
    return response
