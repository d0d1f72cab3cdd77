"""The emails accounts send. Called from Celery tasks (accounts.tasks), never on the request
path: who the address belongs to is decided here, so a request for a known and an unknown
address does the same work and takes the same time.

Every link starts with APP_URL (the configured public URL), never the request's Host header.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import members, services
from accounts.models import Account, Invitation, User

logger = logging.getLogger(__name__)


def app_link(path: str) -> str:
    return f"{settings.APP_URL}{path}"


def _send(*, to: str, template: str, context: dict[str, object], language: str = "") -> None:
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"accounts/email/{template}.txt", context)
    EmailMessage(" ".join(subject.splitlines()), body, settings.DEFAULT_FROM_EMAIL, [to]).send()
    logger.info("email sent: %s", template)


def password_reset_email_send(*, email: str) -> int:
    """One reset link per active user with a usable password at this address (0 or 1)."""
    users = [u for u in User.objects.filter(email__iexact=email.strip(), is_active=True) if u.has_usable_password()]
    for user in users:
        path = reverse(
            "dashboard:password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        _send(
            to=user.email,
            template="password_reset",
            context={"email": user.email, "reset_url": app_link(path)},
            language=user.language,
        )
    return len(users)


def account_verification_email_send(*, account_id: str, email: str, language: str = "") -> bool:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return False
    if email.lower() not in (account.email.lower(), account.pending_email.lower()):
        return False  # superseded by a later change
    if account.pending_email.lower() == email.lower() and services.email_in_use(email):
        _send(to=email, template="email_taken", context={"account": account, "email": email}, language=language)
        return True
    token = services.email_confirm_token(account=account, email=email)
    url = app_link(reverse("dashboard:email_confirm", kwargs={"token": token}))
    _send(
        to=email,
        template="verify_email",
        context={"account": account, "email": email, "confirm_url": url},
        language=language,
    )
    return True


def signup_reminder_email_send(*, email: str, language: str = "") -> None:
    context = {
        "email": email,
        "login_url": app_link(reverse("dashboard:login")),
        "reset_url": app_link(reverse("dashboard:password_reset")),
    }
    _send(to=email, template="signup_reminder", context=context, language=language)


def invitation_email_send(*, invitation_id: str) -> bool:
    invitation = Invitation.objects.select_related("account", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_pending:
        return False
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "account": invitation.account,
        "inviter": inviter.name or inviter.email if inviter else invitation.account.name,
        "days": members.INVITATION_DAYS,
    }
    language = inviter.language if inviter else ""
    if User.objects.filter(email__iexact=invitation.email).exists():
        # The address already has a login: it learns about the invitation, the inviter does not.
        _send(to=invitation.email, template="invitation_notice", context=context, language=language)
        return True
    context["accept_url"] = app_link(
        reverse("dashboard:invitation_accept", kwargs={"token": members.invitation_token(invitation)})
    )
    _send(to=invitation.email, template="invitation", context=context, language=language)
    return True
