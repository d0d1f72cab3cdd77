"""Contact and do-not-call business logic. API, dashboard, commands, imports and in-call tools
all call these; nothing else writes contacts or the do-not-call list.

The do-not-call list is the source of truth. Marking a contact do-not-call and adding its
number to the list are the same act (`dnc_add`), done in one transaction, so the dialer can
rely on the list alone.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from contacts.models import Contact, DoNotCallEntry
from contacts.phones import InvalidPhoneNumber, phone_normalize
from prixagent.errors import ApplicationError


def phone_for_account(*, account: Account, raw: str, field: str = "phone") -> str:
    """`raw` in E.164, read in the account's default country; a 400 on the field otherwise."""
    try:
        return phone_normalize(raw, account.default_country)
    except InvalidPhoneNumber as exc:
        raise ApplicationError(_("Some fields are invalid."), fields={field: [_(str(exc))]}) from None


@transaction.atomic
def dnc_add(
    *, account: Account, phone: str, reason: str = "", source: str = DoNotCallEntry.Source.MANUAL, added_by: str = ""
) -> DoNotCallEntry:
    """Put `phone` (any format) on the account's do-not-call list and flag its contact.

    Idempotent: a number already on the list keeps its first entry (reason, source, date).
    """
    e164 = phone_for_account(account=account, raw=phone)
    entry, _created = DoNotCallEntry.objects.get_or_create(
        account=account,
        phone=e164,
        defaults={"reason": reason[:255], "source": source, "added_by": added_by[:255]},
    )
    Contact.objects.filter(account=account, phone=e164, do_not_call=False).update(
        do_not_call=True,
        do_not_call_reason=entry.reason,
        do_not_call_at=entry.created_at,
        updated_at=timezone.now(),
    )
    return entry


@transaction.atomic
def dnc_remove(*, account: Account, phone: str) -> bool:
    """Take `phone` off the list and clear its contact's flag; False when it was not listed."""
    e164 = phone_for_account(account=account, raw=phone)
    deleted, _rows = DoNotCallEntry.objects.filter(account=account, phone=e164).delete()
    Contact.objects.filter(account=account, phone=e164, do_not_call=True).update(
        do_not_call=False, do_not_call_reason="", do_not_call_at=None, updated_at=timezone.now()
    )
    return bool(deleted)


def dnc_contains(*, account: Account, phone: str) -> bool:
    """Is this E.164 number on the account's do-not-call list? (The dialer's check.)"""
    return DoNotCallEntry.objects.filter(account=account, phone=phone).exists()
