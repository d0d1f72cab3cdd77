"""Contact and do-not-call business logic. API, dashboard, commands, imports and in-call tools
all call these; nothing else writes contacts or the do-not-call list.

The do-not-call list is the source of truth. Marking a contact do-not-call and adding its
number to the list are the same act (`dnc_add`), done in one transaction, so the dialer can
rely on the list alone.

Every local change a GoHighLevel location should see is pushed through the outbox
(`ghl_contact_push`), enqueued in the transaction that makes the change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, User
from billing.usage import limit_check, limit_value
from contacts.models import Contact, DoNotCallEntry, GhlDeletedContact, Tag
from contacts.phones import InvalidPhoneNumber, phone_normalize, time_zone_for
from prixagent.errors import ApplicationError
from prixagent.outbox import outbox_enqueue

logger = logging.getLogger(__name__)

Actor = User | str | None  # a user, or a label ("system", "operator", "agent", ...)
MAX_TAGS_PER_CONTACT = 50
MAX_TAG_LENGTH = 64
MAX_CUSTOM_FIELDS = 100
MAX_CUSTOM_KEY = 100
MAX_CUSTOM_VALUE = 1000
TEXT_FIELDS = {"first_name": 100, "last_name": 100, "company": 200}
EDITABLE = (
    "first_name",
    "last_name",
    "company",
    "phone",
    "email",
    "time_zone",
    "tags",
    "custom_fields",
    "consent_status",
    "consent_source",
    "do_not_call",
    "do_not_call_reason",
)
TAG_SPLIT = re.compile(r"[,;|]")


def _invalid(fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError(_("Some fields are invalid."), fields=fields)


def actor_label(actor: Actor) -> str:
    if isinstance(actor, User):
        return actor.email
    return actor or "system"


def phone_for_account(*, account: Account, raw: str, field: str = "phone") -> str:
    """`raw` in E.164, read in the account's default country; a 400 on the field otherwise."""
    try:
        return phone_normalize(raw, account.default_country)
    except InvalidPhoneNumber as exc:
        raise _invalid({field: [_(str(exc))]}) from None


_ZONES: frozenset[str] = frozenset()


def is_time_zone(name: str) -> bool:
    global _ZONES
    if not _ZONES:
        _ZONES = frozenset(available_timezones())
    return name in _ZONES


# --- cleaning input (shared by create and update) ------------------------------------------


def tag_names_clean(raw: Iterable[str] | str) -> list[str]:
    """Tag names as typed ("vip, lead" or a list): trimmed, de-duplicated ignoring case, in order."""
    items = TAG_SPLIT.split(raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, str] = {}
    for item in items:
        name = " ".join(str(item).split())
        if not name:
            continue
        if len(name) > MAX_TAG_LENGTH:
            raise _invalid({"tags": [_("A tag has at most %(n)d characters.") % {"n": MAX_TAG_LENGTH}]})
        seen.setdefault(name.lower(), name)
    if len(seen) > MAX_TAGS_PER_CONTACT:
        raise _invalid({"tags": [_("At most %(n)d tags per contact.") % {"n": MAX_TAGS_PER_CONTACT}]})
    return list(seen.values())


def custom_fields_clean(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid({"custom_fields": [_("Custom fields must be a JSON object.")]})
    if len(value) > MAX_CUSTOM_FIELDS:
        raise _invalid({"custom_fields": [_("At most %(n)d custom fields.") % {"n": MAX_CUSTOM_FIELDS}]})
    clean: dict[str, Any] = {}
    for key, item in value.items():
        key = str(key).strip()
        if not key or len(key) > MAX_CUSTOM_KEY:
            raise _invalid({"custom_fields": [_("Field names have 1 to %(n)d characters.") % {"n": MAX_CUSTOM_KEY}]})
        if not (item is None or isinstance(item, str | int | float | bool)):
            raise _invalid({"custom_fields": [_("Values must be text, numbers, true/false or null.")]})
        if isinstance(item, str) and len(item) > MAX_CUSTOM_VALUE:
            raise _invalid({"custom_fields": [_("Values have at most %(n)d characters.") % {"n": MAX_CUSTOM_VALUE}]})
        clean[key] = item
    return clean


def _clean(account: Account, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the editable fields present in `data`; unknown keys are refused."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise _invalid({key: [_("This field cannot be set.")] for key in sorted(unknown)})
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        try:
            clean[key] = _clean_one(account, key, value)
        except ApplicationError as exc:
            errors.update(exc.fields or {key: [exc.message]})
    if errors:
        raise _invalid(errors)
    return clean


def _clean_one(account: Account, key: str, value: Any) -> Any:
    if key == "phone":
        return phone_for_account(account=account, raw=str(value or ""))
    if key in TEXT_FIELDS:
        text = " ".join(str(value or "").split())
        if len(text) > TEXT_FIELDS[key]:
            raise _invalid({key: [_("At most %(n)d characters.") % {"n": TEXT_FIELDS[key]}]})
        return text
    if key == "email":
        email = str(value or "").strip().lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise _invalid({key: [_("Enter a valid email address.")]}) from None
        return email
    if key == "time_zone":
        zone = str(value or "").strip()
        if zone and not is_time_zone(zone):
            raise _invalid({key: [_("Use an IANA time zone, e.g. America/New_York.")]})
        return zone
    if key == "tags":
        return tag_names_clean(value or [])
    if key == "custom_fields":
        return custom_fields_clean(value if value is not None else {})
    if key == "consent_status":
        if value not in Contact.Consent.values:
            raise _invalid({key: [_("Use unknown, granted or revoked.")]})
        return value
    if key in ("consent_source", "do_not_call_reason"):
        return str(value or "").strip()[: 100 if key == "consent_source" else 255]
    if key == "do_not_call":
        return bool(value)
    raise AssertionError(key)


def _apply_time_zone(contact: Contact, account: Account, zone: str | None, phone_changed: bool) -> None:
    """A zone typed in wins; otherwise derive it from the number (again when the number changes)."""
    if zone:
        contact.time_zone, contact.time_zone_source = zone, Contact.TimeZoneSource.RECORD
        return
    if zone == "" or phone_changed or not contact.time_zone:
        if zone is None and contact.time_zone_source == Contact.TimeZoneSource.RECORD and contact.time_zone:
            return  # a zone the user gave survives a change of number
        guess = time_zone_for(contact.phone, account.time_zone)
        contact.time_zone = guess.time_zone
        contact.time_zone_source = Contact.TimeZoneSource.NUMBER if guess.derived else Contact.TimeZoneSource.ACCOUNT


def _apply_consent(contact: Contact, clean: dict[str, Any], actor: Actor) -> None:
    status = clean.get("consent_status")
    if status is None or status == contact.consent_status:
        if "consent_source" in clean:
            contact.consent_source = clean["consent_source"]
        return
    contact.consent_status = status
    contact.consent_source = clean.get("consent_source") or actor_label(actor)
    contact.consent_at = timezone.now()


# --- tags ------------------------------------------------------------------------------------


def _tags_named(account: Account, lowered: Iterable[str]) -> QuerySet[Tag]:
    return Tag.objects.annotate(lname=Lower("name")).filter(account=account, lname__in=list(lowered))


def tags_resolve(*, account: Account, names: Iterable[str]) -> list[Tag]:
    """The account's tags with these names (case-insensitive), creating the missing ones."""
    wanted = {name.lower(): name for name in names}
    if not wanted:
        return []
    found = {t.name.lower(): t for t in _tags_named(account, wanted)}
    missing = [Tag(account=account, name=name) for key, name in wanted.items() if key not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent creator may win
        found = {t.name.lower(): t for t in _tags_named(account, wanted)}
    return [found[key] for key in wanted]


def _one_tag_name(name: str) -> str:
    names = tag_names_clean([name])
    if not names:
        raise _invalid({"name": [_("Enter a tag name.")]})
    return names[0]


def tag_create(*, account: Account, name: str) -> Tag:
    return tags_resolve(account=account, names=[_one_tag_name(name)])[0]


def tag_rename(*, tag: Tag, name: str) -> Tag:
    clean = _one_tag_name(name)
    clash = Tag.objects.filter(account_id=tag.account_id, name__iexact=clean).exclude(pk=tag.pk).exists()
    if clash:
        raise _invalid({"name": [_("Another tag has this name.")]})
    tag.name = clean
    tag.save(update_fields=["name"])
    return tag


def tag_delete(*, tag: Tag) -> None:
    tag.delete()


def _set_tags(contact: Contact, names: list[str]) -> None:
    contact.tags.set(tags_resolve(account=contact.account, names=names))


# --- contacts --------------------------------------------------------------------------------


def _phone_taken(account: Account, phone: str, exclude: int | None = None) -> bool:
    queryset = Contact.objects.filter(account=account, phone=phone)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    return queryset.exists()


def _taken_error() -> ApplicationError:
    return _invalid({"phone": [_("Another contact already has this number.")]})


def contacts_limit_check(*, account: Account, adding: int = 1) -> None:
    """Refuse (403 `plan_limit`) when the plan has no room for `adding` more contacts. Inside the
    caller's transaction the account row is locked, so two creates cannot both take the last place."""
    if limit_value(account, "contacts") is not None:
        Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).first()
        limit_check(
            account=account, key="contacts", current=Contact.objects.filter(account=account).count(), adding=adding
        )


@transaction.atomic
def contact_create(
    *, account: Account, data: Mapping[str, Any], source: str = Contact.Source.MANUAL, actor: Actor = None
) -> Contact:
    """Create a contact from the editable fields (a phone is required)."""
    clean = _clean(account, data)
    if not clean.get("phone"):
        raise _invalid({"phone": [_("Enter a phone number.")]})
    if _phone_taken(account, clean["phone"]):
        raise _taken_error()
    contacts_limit_check(account=account)
    contact = Contact(account=account, source=source, phone=clean["phone"])
    for key in ("first_name", "last_name", "company", "email", "custom_fields"):
        if key in clean:
            setattr(contact, key, clean[key])
    _apply_time_zone(contact, account, clean.get("time_zone"), phone_changed=True)
    _apply_consent(contact, clean, actor)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise _taken_error() from None  # lost a race with another create of the same number
    if clean.get("tags"):
        _set_tags(contact, clean["tags"])
    _sync_dnc(contact, clean, actor, created=True)
    ghl_contact_push(contact)
    return contact


@transaction.atomic
def contact_update(
    *, contact: Contact, data: Mapping[str, Any], actor: Actor = None, push_to_ghl: bool = True
) -> Contact:
    """Change the fields present in `data` (a PATCH). `push_to_ghl=False` for changes that came
    from GoHighLevel itself, so a pull does not echo back."""
    account = contact.account
    clean = _clean(account, data)
    phone_changed = "phone" in clean and clean["phone"] != contact.phone
    if phone_changed and _phone_taken(account, clean["phone"], exclude=contact.pk):
        raise _taken_error()
    if phone_changed:
        contact.phone = clean["phone"]
    for key in ("first_name", "last_name", "company", "email", "custom_fields"):
        if key in clean:
            setattr(contact, key, clean[key])
    _apply_time_zone(contact, account, clean.get("time_zone"), phone_changed=phone_changed)
    _apply_consent(contact, clean, actor)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise _taken_error() from None
    if "tags" in clean:
        _set_tags(contact, clean["tags"])
    if phone_changed:
        # The flag mirrors the list: the new number may be listed, the old one no longer applies.
        listed = DoNotCallEntry.objects.filter(account=account, phone=contact.phone).first()
        _mirror_dnc(contact, listed)
    _sync_dnc(contact, clean, actor, created=False)
    if push_to_ghl:
        ghl_contact_push(contact)
    return contact


def _mirror_dnc(contact: Contact, entry: DoNotCallEntry | None) -> None:
    contact.do_not_call = entry is not None
    contact.do_not_call_reason = entry.reason if entry else ""
    contact.do_not_call_at = entry.created_at if entry else None
    contact.save(update_fields=["do_not_call", "do_not_call_reason", "do_not_call_at", "updated_at"])


def _sync_dnc(contact: Contact, clean: dict[str, Any], actor: Actor, *, created: bool) -> None:
    """`do_not_call` in the input is the same act as adding/removing the number on the list."""
    listed = DoNotCallEntry.objects.filter(account=contact.account, phone=contact.phone).first()
    if created and listed and not contact.do_not_call:
        _mirror_dnc(contact, listed)
    if "do_not_call" not in clean:
        return
    if clean["do_not_call"] and not listed:
        reason = clean.get("do_not_call_reason", "")
        dnc_add(account=contact.account, phone=contact.phone, reason=reason, added_by=actor_label(actor))
    elif not clean["do_not_call"] and listed:
        dnc_remove(account=contact.account, phone=contact.phone)
    contact.refresh_from_db(fields=["do_not_call", "do_not_call_reason", "do_not_call_at", "updated_at"])


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    """Delete the contact. Its number stays on the do-not-call list if it was there; a contact
    that came from GoHighLevel is not pulled back (it stays in GoHighLevel)."""
    _remember_ghl_deletions(contact.account, Contact.objects.filter(pk=contact.pk))
    contact.delete()


def _remember_ghl_deletions(account: Account, contacts: QuerySet[Contact]) -> None:
    ids = [i for i in contacts.exclude(ghl_contact_id="").values_list("ghl_contact_id", flat=True)]
    GhlDeletedContact.objects.bulk_create(
        [GhlDeletedContact(account=account, ghl_contact_id=i) for i in ids], batch_size=1000, ignore_conflicts=True
    )


@transaction.atomic
def contact_get_or_create_inbound(*, account: Account, phone: str) -> Contact:
    """The contact calling in from `phone`; an unknown caller becomes a contact (source inbound)."""
    e164 = phone_for_account(account=account, raw=phone)
    existing = Contact.objects.filter(account=account, phone=e164).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return contact_create(account=account, data={"phone": e164}, source=Contact.Source.INBOUND, actor="inbound")
    except ApplicationError:
        # Two calls from the same new number at once: the other one created it.
        return Contact.objects.get(account=account, phone=e164)


# --- bulk actions ----------------------------------------------------------------------------

BULK_ACTIONS = ("tag", "untag", "delete")


@transaction.atomic
def contacts_bulk(*, account: Account, action: str, contacts: QuerySet[Contact], tags: Iterable[str] = ()) -> int:
    """Tag, untag or delete `contacts` (ids or the current filter); returns how many were affected.

    The queryset is narrowed to `account` again here, whatever the caller built: ids of another
    account change nothing.
    """
    scoped = contacts.filter(account=account).order_by()
    ids = list(scoped.values_list("id", flat=True))
    if action == "delete":
        _remember_ghl_deletions(account, Contact.objects.filter(account=account, id__in=ids))
        deleted, _per_model = Contact.objects.filter(account=account, id__in=ids).delete()
        return len(ids) if deleted else 0
    names = tag_names_clean(tags)
    if not names:
        raise _invalid({"tags": [_("Name at least one tag.")]})
    through = Contact.tags.through
    if action == "tag":
        tag_objects = tags_resolve(account=account, names=names)
        links = [through(contact_id=cid, tag_id=t.pk) for cid in ids for t in tag_objects]
        through.objects.bulk_create(links, batch_size=2000, ignore_conflicts=True)
    elif action == "untag":
        tag_ids = _tags_named(account, (n.lower() for n in names)).values("id")
        through.objects.filter(contact_id__in=ids, tag_id__in=tag_ids).delete()
    else:
        raise _invalid({"action": [_("Use tag, untag or delete.")]})
    Contact.objects.filter(account=account, id__in=ids).update(updated_at=timezone.now())
    _ghl_mark_pending(account, ids)
    return len(ids)


# --- do-not-call -----------------------------------------------------------------------------


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
    flagged = list(Contact.objects.filter(account=account, phone=e164, do_not_call=False).values_list("id", flat=True))
    Contact.objects.filter(id__in=flagged).update(
        do_not_call=True,
        do_not_call_reason=entry.reason,
        do_not_call_at=entry.created_at,
        updated_at=timezone.now(),
    )
    _ghl_mark_pending(account, flagged)
    if _created:
        logger.info("do-not-call: account=%s added %s (%s)", account.slug, _masked(e164), source)
    return entry


@transaction.atomic
def dnc_remove(*, account: Account, phone: str) -> bool:
    """Take `phone` off the list and clear its contact's flag; False when it was not listed."""
    e164 = phone_for_account(account=account, raw=phone)
    deleted, _rows = DoNotCallEntry.objects.filter(account=account, phone=e164).delete()
    cleared = list(Contact.objects.filter(account=account, phone=e164, do_not_call=True).values_list("id", flat=True))
    Contact.objects.filter(id__in=cleared).update(
        do_not_call=False, do_not_call_reason="", do_not_call_at=None, updated_at=timezone.now()
    )
    _ghl_mark_pending(account, cleared)
    if deleted:
        logger.info("do-not-call: account=%s removed %s", account.slug, _masked(e164))
    return bool(deleted)


def dnc_contains(*, account: Account, phone: str) -> bool:
    """Is this E.164 number on the account's do-not-call list? (The dialer's check.)"""
    return DoNotCallEntry.objects.filter(account=account, phone=phone).exists()


def _masked(e164: str) -> str:
    return e164[:-4] + "••••" if len(e164) > 6 else "••••"


# --- GoHighLevel writes, through the outbox ----------------------------------------------------

GHL_CONTACT_UPSERT = "ghl.contact_upsert"
GHL_NOTE = "ghl.note"
GHL_TAGS = "ghl.tags"


def _ghl_connected(account: Account) -> bool:
    return bool(account.ghl_configured)


def _ghl_mark_pending(account: Account, contact_ids: list[int]) -> None:
    """Many contacts changed at once: flag them; the next sync pushes them within the rate limit."""
    if contact_ids and _ghl_connected(account):
        Contact.objects.filter(account=account, id__in=contact_ids).update(ghl_push_pending=True)


def ghl_contact_push(contact: Contact) -> None:
    """Send this contact's current state to the account's GoHighLevel location (after commit).

    Called inside the transaction of the change. The message carries only the id: the handler
    reads the contact as it is when delivered, so a burst of edits pushes the latest state.
    """
    if not _ghl_connected(contact.account):
        return
    Contact.objects.filter(pk=contact.pk).update(ghl_push_pending=True)
    stamp = int(timezone.now().timestamp() * 1_000_000)
    outbox_enqueue(
        account=contact.account,
        kind=GHL_CONTACT_UPSERT,
        key=f"contact:{contact.pk}:{stamp}",
        payload={"contact_id": contact.pk},
    )


def ghl_note_enqueue(*, account: Account, contact: Contact, body: str, key: str) -> None:
    """Add a note to the contact in GoHighLevel (call outcomes). `key` makes it idempotent."""
    if contact.account_id != account.pk:
        raise ApplicationError(_("Not found."), code="not_found", status_code=404)
    if not _ghl_connected(account):
        return
    text = (body or "").strip()
    if not text:
        raise _invalid({"body": [_("A note needs a body.")]})
    outbox_enqueue(
        account=account, kind=GHL_NOTE, key=f"note:{key}", payload={"contact_id": contact.pk, "body": text[:5000]}
    )


def ghl_tags_enqueue(*, account: Account, contact: Contact, tags: Iterable[str], key: str) -> None:
    """Add tags to the contact in GoHighLevel (e.g. "prix:booked"). `key` makes it idempotent."""
    if contact.account_id != account.pk:
        raise ApplicationError(_("Not found."), code="not_found", status_code=404)
    names = tag_names_clean(tags)
    if not names or not _ghl_connected(account):
        return
    outbox_enqueue(account=account, kind=GHL_TAGS, key=f"tags:{key}", payload={"contact_id": contact.pk, "tags": names})
