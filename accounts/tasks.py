"""Background work of accounts: every email is sent here, off the request path. Tasks take
ids and plain values and load what they need again (accounts.mail)."""

from __future__ import annotations

from celery import shared_task

from accounts import mail


@shared_task
def password_reset_email_send(*, email: str) -> int:
    return mail.password_reset_email_send(email=email)


@shared_task
def account_verification_email_send(*, account_id: str, email: str, language: str = "") -> bool:
    return mail.account_verification_email_send(account_id=account_id, email=email, language=language)


@shared_task
def signup_reminder_email_send(*, email: str, language: str = "") -> None:
    mail.signup_reminder_email_send(email=email, language=language)


@shared_task
def invitation_email_send(*, invitation_id: str) -> bool:
    return mail.invitation_email_send(invitation_id=invitation_id)
