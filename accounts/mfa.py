"""Two-factor authentication (TOTP, django-otp) for platform staff in the admin.

Required for every staff login when ADMIN_MFA_REQUIRED (production); elsewhere required only
for staff who enrolled a device, so `make run` lets the generated admin in at once. Enrolment
shows a TOTP key (and its QR code) and, once a first code is confirmed, ten single-use
recovery codes. `manage.py reset_admin_mfa EMAIL` removes a lost device.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import django_otp
from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from prixagent.errors import ApplicationError
from prixagent.security_log import security_event

RECOVERY_CODES = 10
_TOTP_CODE = re.compile(r"\d{6}")


def mfa_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first() if user.is_authenticated else None


def mfa_required(user: Any) -> bool:
    return bool(settings.ADMIN_MFA_REQUIRED or mfa_device(user))


def mfa_satisfied(request: Any) -> bool:
    """The staff member passed the second factor in this session, or needs none."""
    user = request.user
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified()) or not mfa_required(user)


def mfa_setup_device(*, user: User) -> TOTPDevice:
    """The device being enrolled (created once, confirmed by the first good code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def mfa_setup_confirm(*, request: Any, device: TOTPDevice, code: str) -> list[str]:
    """Confirm enrolment with a first code; returns the recovery codes (shown once)."""
    if not device.verify_token(code.strip()):
        security_event("mfa failed", request=request, level=logging.WARNING, user=device.user_id, step="setup")
        raise ApplicationError("That code is not right. Check the time on your phone and try again.", code="mfa_failed")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=device.user).delete()
        static = StaticDevice.objects.create(user=device.user, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    django_otp.login(request, device)
    security_event("mfa enrolled", request=request, user=device.user_id)
    return codes


def mfa_verify(*, request: Any, code: str) -> None:
    """Check a TOTP code or a recovery code (used up) and mark this session verified."""
    code = code.strip().replace(" ", "").lower()
    devices = TOTPDevice if _TOTP_CODE.fullmatch(code) else StaticDevice
    with transaction.atomic():
        device = devices.objects.select_for_update().filter(user=request.user, confirmed=True).first()
        # The device's own throttle doubles the wait after each failure (django-otp).
        verified = device is not None and device.verify_token(code)
    if not verified:
        security_event("mfa failed", request=request, level=logging.WARNING, user=request.user.pk, step="login")
        raise ApplicationError("That code is not right. Try again, or use a recovery code.", code="mfa_failed")
    django_otp.login(request, device)
    if devices is StaticDevice:
        security_event("mfa recovery code used", request=request, user=request.user.pk)


def mfa_reset(*, email: str) -> int:
    """Remove every device of a staff member (a lost phone); they enrol again at next login."""
    user = User.objects.filter(email__iexact=email.strip(), is_staff=True).first()
    if user is None:
        raise ApplicationError(f"no platform staff user with email {email.strip()!r}", code="not_found")
    totp, static = TOTPDevice.objects.filter(user=user), StaticDevice.objects.filter(user=user)
    removed = totp.count() + static.count()
    totp.delete()
    static.delete()
    security_event("mfa reset", user=user.pk)
    return removed
