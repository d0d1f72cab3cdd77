"""Client dashboard pages (`/app/`). Thin: forms validate, services act."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts import members, services
from accounts.forms import (
    EmailAuthenticationForm,
    InvitationAcceptForm,
    InviteForm,
    PasswordResetRequestForm,
    RoleForm,
    SignupForm,
)
from accounts.models import AuditEvent, Invitation, User
from prixagent.errors import ApplicationError
from prixagent.tenancy import get_for_account
from prixagent.throttling import login_attempt, password_reset_attempt

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


def _throttled(request: HttpRequest, template: str, form: Any, retry_after: int) -> HttpResponse:
    form.add_error(None, EmailAuthenticationForm.error_messages["throttled"])
    response = render(request, template, {"form": form}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


@sensitive_post_parameters("password")
def signup(request: HttpRequest) -> HttpResponse:
    """The same answer whether or not the email already has a login (see account_signup)."""
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        # Same budget as the API's register endpoint: the per-IP login limit.
        verdict = login_attempt(request=request, email="")
        if not verdict:
            return _throttled(request, "accounts/signup.html", form, verdict.retry_after)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_signup(**form.cleaned_data)
        except ApplicationError as exc:
            exc.add_to_form(form)
        else:
            return redirect("dashboard:signup_done")
    return render(request, "accounts/signup.html", {"form": form})


def signup_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_done.html")


def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """A confirmation link: GET shows a button, the POST confirms (link scanners only GET)."""
    if request.method == "POST":
        try:
            account = services.account_email_confirm(token=token, request=request)
        except ApplicationError as exc:
            return render(request, "accounts/email_confirm.html", {"error": exc.message}, status=400)
        messages.success(request, _("Your email %(email)s is confirmed.") % {"email": account.email})
        return redirect("dashboard:account" if request.user.is_authenticated else "dashboard:login")
    return render(request, "accounts/email_confirm.html", {"token": token})


@require_POST
@account_required
def email_verification_resend(request: HttpRequest) -> HttpResponse:
    if not request.user.can_manage:
        raise PermissionDenied(_("Only the account's owners and admins can manage the team."))
    services.account_verification_resend(account=request.user.account, actor=request.user)
    messages.info(request, _("We sent the confirmation link again. It works for 3 days."))
    return redirect("dashboard:account")


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
            response["Retry-After"] = str(form.verdict.retry_after)
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
            members.member_update(actor=request.user, member=request.user, changes={"language": language})
    return response


def password_reset(request: HttpRequest) -> HttpResponse:
    """Throttled like logins; the request only queues the email (accounts.mail decides whom it
    reaches), so a known and an unknown address get the same answer in the same time."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verdict = password_reset_attempt(request=request, email=form.cleaned_data["email"])
        if not verdict:
            return _throttled(request, "accounts/password_reset_form.html", form, verdict.retry_after)
        services.password_reset_request(email=form.cleaned_data["email"], request=request)
        return redirect("dashboard:password_reset_done")
    return render(request, "accounts/password_reset_form.html", {"form": form})


@require_POST
@login_required
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    services.user_logout_everywhere(user=request.user, request=request)
    messages.info(request, _("You have been logged out on every device."))
    return redirect("dashboard:login")


# --- Team -----------------------------------------------------------------------------------


def _team_page(request: HttpRequest, *, invite_form: InviteForm | None = None, status: int = 200) -> HttpResponse:
    account = request.user.account
    context = {
        "account": account,
        "members": account.users.order_by("email"),
        "invitations": [i for i in account.invitations.select_related("invited_by")[:100] if i.is_pending],
        "invite_form": invite_form or InviteForm(),
        "roles": User.Role.choices,
        "can_manage": request.user.can_manage,
    }
    return render(request, "accounts/team.html", context, status=status)


def _team_action(request: HttpRequest, action: Callable[[], Any], success: str) -> HttpResponse:
    try:
        action()
    except ApplicationError as exc:
        messages.error(
            request, exc.message if not exc.fields else " ".join(m for ms in exc.fields.values() for m in ms)
        )
        return _team_page(request, status=exc.status_code)
    messages.success(request, success)
    return redirect("dashboard:team")


@account_required
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request)


@require_POST
@account_required
def team_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _team_page(request, invite_form=form, status=400)
    try:
        invitation = members.invitation_create(
            account=request.user.account, actor=request.user, request=request, **form.cleaned_data
        )
    except ApplicationError as exc:
        exc.add_to_form(form)
        return _team_page(request, invite_form=form, status=exc.status_code)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("dashboard:team")


@require_POST
@account_required
def member_role(request: HttpRequest, pk: str) -> HttpResponse:
    member = get_for_account(request, User.objects.all(), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, status=400)
    return _team_action(
        request,
        lambda: members.member_update(
            actor=request.user, member=member, changes={"role": form.cleaned_data["role"]}, request=request
        ),
        _("%(email)s is now %(role)s.")
        % {"email": member.email, "role": dict(User.Role.choices)[form.cleaned_data["role"]]},
    )


@require_POST
@account_required
def member_remove(request: HttpRequest, pk: str) -> HttpResponse:
    member = get_for_account(request, User.objects.all(), pk=pk)
    return _team_action(
        request,
        lambda: members.member_remove(actor=request.user, member=member, request=request),
        _("%(email)s was removed from the account.") % {"email": member.email},
    )


@require_POST
@account_required
def invitation_revoke(request: HttpRequest, pk: str) -> HttpResponse:
    invitation = get_for_account(request, Invitation.objects.all(), pk=pk)
    return _team_action(
        request,
        lambda: members.invitation_revoke(actor=request.user, invitation=invitation, request=request),
        _("The invitation to %(email)s was revoked.") % {"email": invitation.email},
    )


@sensitive_post_parameters("password", "password_again")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page (no login): they choose their name and their own password."""
    try:
        invitation = members.invitation_from_token(token)
    except ApplicationError as exc:
        return render(request, "accounts/invitation_accept.html", {"error": exc.message}, status=400)
    form = InvitationAcceptForm(request.POST or None, initial={"name": invitation.name})
    if request.method == "POST" and form.is_valid():
        try:
            user = members.invitation_accept(
                token=token, name=form.cleaned_data["name"], password=form.cleaned_data["password"], request=request
            )
        except ApplicationError as exc:
            exc.add_to_form(form)
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            services.user_record_login(user=user)
            messages.success(request, _("Welcome to %(account)s!") % {"account": invitation.account.name})
            return redirect("dashboard:home")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


# --- Activity (the audit trail) -------------------------------------------------------------

ACTIVITY_PAGE_SIZE = 50


@account_required
def activity(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.filter(account_id=request.user.account_id)
    page = Paginator(events, ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/activity.html", {"page": page, "events": page.object_list})
