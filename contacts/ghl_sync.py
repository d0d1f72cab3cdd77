"""Two-way GoHighLevel sync of an account's contacts, and the outbox handlers that push changes.

Pull: the location's contacts come from `POST /contacts/search`, paged with `searchAfter` (the
only paging that goes past 10,000), sorted by `dateUpdated`; after one complete pull the next
ones ask only for what changed since. They are matched locally by GoHighLevel id, then by E.164
phone, and written set-wise per page. A contact changed here and not pushed yet keeps the local
version (the push that follows sends it), and GoHighLevel's `dateUpdated` tells whether its
version is newer than the one we last saw.

Push: every local change marks the contact `ghl_push_pending`. Single changes are pushed at once
through the outbox (`ghl.contact_upsert`); changes to many contacts at once (an import, a bulk
tag) are pushed by the sync, in id order, a bounded number per run. A push that succeeds clears
the mark only if the contact did not change meanwhile.

Limits: the client waits for the burst window (read from the response headers). A spent daily
quota stops the tenant's sync until the quota resets (shown in the dashboard), instead of
retrying; a rejected token marks the integration failing (`integration_mark_failing`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Account
from contacts import services
from contacts.models import Contact, DoNotCallEntry, GhlDeletedContact, GhlSyncState
from contacts.phones import InvalidPhoneNumber, phone_normalize, time_zone_for
from integrations.providers.base import ProviderError
from integrations.providers.ghl import GhlContactsClient
from integrations.services import integration_mark_failing
from prixagent.errors import ApplicationError
from prixagent.outbox import OutboxMessage, outbox_handler

logger = logging.getLogger(__name__)

State = GhlSyncState.Status
STALE_RUN = timedelta(minutes=30)  # a sync "running" for longer than this died
PUSH_PER_RUN = 2000
PAGE_LIMIT = 500
NAME_LIMITS = {"first_name": 100, "last_name": 100, "company": 200}


@dataclass
class Counts:
    pulled: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    pushed: int = 0


class QuotaExhausted(ProviderError):
    """The daily quota is spent (known before asking): wait for the reset, do not call."""


# --- state ---------------------------------------------------------------------------------------


def _state(account: Account, *, lock: bool = False) -> GhlSyncState:
    GhlSyncState.objects.get_or_create(account=account)
    queryset = GhlSyncState.objects.select_for_update() if lock else GhlSyncState.objects
    return queryset.get(account=account)


def quota_blocked(state: GhlSyncState) -> bool:
    return bool(state.status == State.QUOTA and state.quota_reset_at and state.quota_reset_at > timezone.now())


def _running(state: GhlSyncState) -> bool:
    return bool(
        state.status == State.RUNNING and state.running_since and state.running_since > timezone.now() - STALE_RUN
    )


def _quota_reset(exc: ProviderError) -> datetime:
    """When a spent daily quota comes back: Retry-After if the API sent it, else the next UTC midnight
    (GoHighLevel documents a daily limit but not when the day starts; UTC is our assumption)."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        return timezone.now() + timedelta(seconds=retry_after)
    tomorrow = timezone.now().astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=UTC)


def quota_message(reset_at: datetime) -> str:
    when = date_format(timezone.localtime(reset_at), "DATETIME_FORMAT")
    return _("GoHighLevel's daily request quota for this location is used up; syncing resumes at %(when)s.") % {
        "when": when
    }


def _record_provider_error(account: Account, exc: ProviderError) -> str:
    """What a provider failure means for the account; returns the status to show."""
    if exc.code == "daily_limit":
        reset_at = _quota_reset(exc)
        GhlSyncState.objects.filter(account=account).update(
            status=State.QUOTA, quota_reset_at=reset_at, message=quota_message(reset_at), running_since=None
        )
        logger.warning("ghl sync: account=%s daily quota spent until %s", account.slug, reset_at.isoformat())
        return State.QUOTA
    if exc.permanent:
        integration_mark_failing(account=account, provider="ghl", error=exc)
    return State.FAILED


# --- entry points ----------------------------------------------------------------------------------


def ghl_sync_enqueue(*, account: Account, reason: str = "manual") -> GhlSyncState:
    """Ask for a sync now (dashboard, API, after an import). A spent quota answers 409 with the time."""
    if not account.ghl_configured:
        raise ApplicationError(_("GoHighLevel is not connected."), code="not_connected", status_code=409)
    state = _state(account)
    if quota_blocked(state):
        raise ApplicationError(quota_message(state.quota_reset_at), code="quota_exhausted", status_code=409)
    if _running(state):
        return state
    from contacts import tasks  # tasks imports this module

    account_id = str(account.pk)
    transaction.on_commit(lambda: tasks.run_in_background(tasks.ghl_sync, account_id))
    logger.info("ghl sync requested: account=%s (%s)", account.slug, reason)
    return state


def ghl_sync_run(*, account_id: Any, push_limit: int = PUSH_PER_RUN) -> GhlSyncState | None:
    """Pull then push one account. Returns None when another sync of the account is running."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    state = _claim(account)
    if state is None or state.status != State.RUNNING:
        return state
    counts = Counts()
    status, message, requests_made = State.OK, "", 0
    try:
        with ghl_client(account) as client:
            try:
                _pull(account, client, state, counts)
                _push_pending(account, client, counts, push_limit)
            finally:
                requests_made = client.requests_made
    except ProviderError as exc:
        status, message = _record_provider_error(account, exc), exc.message
    return _close(account, status, message, counts, requests_made)


def _claim(account: Account) -> GhlSyncState | None:
    with transaction.atomic():
        state = _state(account, lock=True)
        if _running(state):
            return None
        if quota_blocked(state):
            return state
        if not account.ghl_configured:
            state.status, state.message = State.FAILED, _("GoHighLevel is not connected.")
            state.save()
            return state
        now = timezone.now()
        state.status, state.running_since, state.last_started_at, state.message = State.RUNNING, now, now, ""
        state.save()
        return state


def _close(account: Account, status: str, message: str, counts: Counts, requests_made: int) -> GhlSyncState:
    with transaction.atomic():
        state = _state(account, lock=True)
        now = timezone.now()
        if state.status != State.QUOTA:
            state.status = status
            state.message = message[:500]
        state.running_since, state.last_finished_at = None, now
        if status == State.OK:
            state.last_success_at, state.quota_reset_at = now, None
        for name in ("pulled", "created", "updated", "skipped", "pushed"):
            setattr(state, name, getattr(counts, name))
        state.requests = requests_made
        state.save()
    logger.info(
        "ghl sync %s: account=%s pulled=%d created=%d updated=%d skipped=%d pushed=%d requests=%d",
        state.status,
        account.slug,
        counts.pulled,
        counts.created,
        counts.updated,
        counts.skipped,
        counts.pushed,
        requests_made,
    )
    return state


@contextmanager
def ghl_client(account: Account) -> Iterator[GhlContactsClient]:
    """A rate-limited client with the account's own token; refuses to call while the quota is spent."""
    state = GhlSyncState.objects.filter(account=account).first()
    if state and quota_blocked(state):
        raise QuotaExhausted(quota_message(state.quota_reset_at), permanent=False, code="daily_limit")
    client = GhlContactsClient(account.ghl_api_key or "", account.ghl_location_id)
    try:
        yield client
    finally:
        client.close()


# --- pull ----------------------------------------------------------------------------------------


def _pull(account: Account, client: GhlContactsClient, state: GhlSyncState, counts: Counts) -> None:
    since = state.pulled_until
    filters = [{"field": "dateUpdated", "operator": "range", "value": {"gte": _iso(since)}}] if since else None
    sort = [{"field": "dateUpdated", "direction": "asc"}]
    newest, after = since, None
    while True:
        page = client.search_page(search_after=after, filters=filters, sort=sort, page_limit=PAGE_LIMIT)
        items = [c for c in page.get("contacts") or [] if isinstance(c, dict) and c.get("id")]
        if not items:
            break
        _apply_page(account, items, counts)
        counts.pulled += len(items)
        stamps = [s for s in (_parse(c.get("dateUpdated")) for c in items) if s]
        newest = max([*stamps, *([newest] if newest else [])], default=newest)
        after = items[-1].get("searchAfter")
        if len(items) < PAGE_LIMIT or not after:
            break
    # Only a complete pull moves the mark: an interrupted one starts over from the same place.
    GhlSyncState.objects.filter(account=account).update(pulled_until=newest)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: Any) -> datetime | None:
    return parse_datetime(str(value)) if value else None


@dataclass
class Pulled:
    item: dict[str, Any]
    phone: str
    updated: datetime | None


def _apply_page(account: Account, items: list[dict[str, Any]], counts: Counts) -> None:
    pulled: list[Pulled] = []
    for item in items:
        try:
            phone = phone_normalize(str(item.get("phone") or ""), account.default_country)
        except InvalidPhoneNumber:
            counts.skipped += 1  # we can only call people with a valid number
            continue
        pulled.append(Pulled(item, phone, _parse(item.get("dateUpdated"))))
    for attempt in range(2):
        try:
            with transaction.atomic():
                _write_page(account, pulled, counts)
            return
        except IntegrityError:
            if attempt:
                raise  # the same number created twice in a row by someone else: give up this run


def _write_page(account: Account, pulled: list[Pulled], counts: Counts) -> None:
    ids = [p.item["id"] for p in pulled]
    deleted = set(
        GhlDeletedContact.objects.filter(account=account, ghl_contact_id__in=ids).values_list(
            "ghl_contact_id", flat=True
        )
    )
    if deleted:
        counts.skipped += sum(1 for p in pulled if p.item["id"] in deleted)  # deleted here on purpose
        pulled = [p for p in pulled if p.item["id"] not in deleted]
        ids = [p.item["id"] for p in pulled]
    linked = Contact.objects.filter(account=account, ghl_contact_id__in=ids).exclude(ghl_contact_id="")
    by_id = {c.ghl_contact_id: c for c in linked}  # the exclude lets the partial index serve
    by_phone = {c.phone: c for c in Contact.objects.filter(account=account, phone__in=[p.phone for p in pulled])}
    new: dict[str, tuple[Contact, list[str]]] = {}
    tags_for: list[tuple[Contact, list[str]]] = []
    for p in pulled:
        local = by_id.get(p.item["id"]) or by_phone.get(p.phone)
        if local is None:
            if p.phone in new:
                counts.skipped += 1  # two GoHighLevel contacts with one number: the first wins
                continue
            new[p.phone] = (_new_contact(account, p), _tags_of(p.item))
        elif _update_from_ghl(local, p):
            counts.updated += 1
            tags_for.append((local, _tags_of(p.item)))
        else:
            counts.skipped += 1
    created = Contact.objects.bulk_create([c for c, _t in new.values()], batch_size=500)
    counts.created += len(created)
    _link_tags(account, [*new.values(), *tags_for])
    listed = set(
        DoNotCallEntry.objects.filter(account=account, phone__in=[p.phone for p in pulled]).values_list(
            "phone", flat=True
        )
    )
    for p in pulled:
        if p.item.get("dnd") and p.phone not in listed:
            # Do-not-disturb in GoHighLevel is an opt-out recorded there: it lands on our list.
            services.dnc_add(
                account=account,
                phone=p.phone,
                reason=_("Do not disturb in GoHighLevel"),
                source=DoNotCallEntry.Source.GHL,
                added_by="ghl",
            )


def _tags_of(item: dict[str, Any]) -> list[str]:
    tags = item.get("tags") or []
    return [" ".join(str(t).split())[:64] for t in tags if str(t).strip()][:50] if isinstance(tags, list) else []


def _fields_of(account: Account, item: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "first_name": str(item.get("firstName") or "").strip()[:100],
        "last_name": str(item.get("lastName") or "").strip()[:100],
        "company": str(item.get("companyName") or "").strip()[:200],
        "email": str(item.get("email") or "").strip().lower()[:254],
    }
    zone = str(item.get("timezone") or "")
    if zone and services.is_time_zone(zone):
        fields["time_zone"] = zone
    return {k: v for k, v in fields.items() if v}


def _new_contact(account: Account, p: Pulled) -> Contact:
    fields = _fields_of(account, p.item)
    contact = Contact(
        account=account,
        phone=p.phone,
        source=Contact.Source.GHL,
        ghl_contact_id=str(p.item["id"])[:64],
        ghl_updated_at=p.updated,
        **fields,
    )
    if "time_zone" in fields:
        contact.time_zone_source = Contact.TimeZoneSource.RECORD
    else:
        guess = time_zone_for(p.phone, account.time_zone)
        contact.time_zone = guess.time_zone
        contact.time_zone_source = Contact.TimeZoneSource.NUMBER if guess.derived else Contact.TimeZoneSource.ACCOUNT
    return contact


def _update_from_ghl(local: Contact, p: Pulled) -> bool:
    """Apply GoHighLevel's version when it is newer and we have nothing unsent; True if applied."""
    link: dict[str, Any] = {}
    if local.ghl_contact_id != p.item["id"]:
        link["ghl_contact_id"] = str(p.item["id"])[:64]
    newer = p.updated is not None and (local.ghl_updated_at is None or p.updated > local.ghl_updated_at)
    if local.ghl_push_pending or not newer:
        if link:
            Contact.objects.filter(pk=local.pk).update(**link)
        return False
    fields = _fields_of(local.account, p.item)
    if "time_zone" in fields:
        fields["time_zone_source"] = Contact.TimeZoneSource.RECORD
    changed = {k: v for k, v in fields.items() if getattr(local, k) != v}
    # A plain update: a change that came from GoHighLevel must not be pushed back to it.
    Contact.objects.filter(pk=local.pk).update(
        ghl_updated_at=p.updated, updated_at=timezone.now() if changed else local.updated_at, **link, **changed
    )
    return bool(changed) or bool(set(_tags_of(p.item)) - set(local.tags.values_list("name", flat=True)))


def _link_tags(account: Account, pairs: list[tuple[Contact, list[str]]]) -> None:
    pairs = [(c, tags) for c, tags in pairs if tags]
    if not pairs:
        return
    names = list(dict.fromkeys(t for _c, tags in pairs for t in tags))
    by_name = {t.name.lower(): t.pk for t in services.tags_resolve(account=account, names=names)}
    through = Contact.tags.through
    links = {(c.pk, by_name[t.lower()]) for c, tags in pairs for t in tags}
    through.objects.bulk_create([through(contact_id=c, tag_id=t) for c, t in links], ignore_conflicts=True)


# --- push ----------------------------------------------------------------------------------------


def _push_pending(account: Account, client: GhlContactsClient, counts: Counts, limit: int) -> None:
    ids = list(
        Contact.objects.filter(account=account, ghl_push_pending=True)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for contact in Contact.objects.filter(account=account, id__in=ids).order_by("id").prefetch_related("tags"):
        ghl_push_one(client, contact)
        counts.pushed += 1


def ghl_payload(contact: Contact) -> dict[str, Any]:
    """The upsert body: what GoHighLevel should know of this contact (custom fields stay local:
    GoHighLevel's need ids defined in the location first)."""
    body: dict[str, Any] = {
        "phone": contact.phone,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "name": contact.full_name,
        "companyName": contact.company,
        "timezone": contact.time_zone,
        "tags": sorted(t.name for t in contact.tags.all()),
        "dnd": contact.do_not_call,
        "source": "PrixAgent",
    }
    if contact.email:
        body["email"] = contact.email
    return body


def ghl_push_one(client: GhlContactsClient, contact: Contact) -> str:
    """Upsert one contact; keep its GoHighLevel id; clear the pending mark unless it changed since."""
    result = client.upsert_contact(**ghl_payload(contact))
    ghl = result.get("contact") or {}
    ghl_id = str(ghl.get("id") or "")[:64]
    seen = _parse(ghl.get("dateUpdated"))
    done = Contact.objects.filter(pk=contact.pk, updated_at=contact.updated_at).update(
        ghl_contact_id=ghl_id, ghl_updated_at=seen, ghl_push_pending=False
    )
    if not done:  # changed while we were pushing: keep it pending for the next push
        Contact.objects.filter(pk=contact.pk).update(ghl_contact_id=ghl_id, ghl_updated_at=seen)
    return ghl_id


# --- outbox handlers (GoHighLevel writes enqueued by contacts.services) ----------------------------


def _contact_of(message: OutboxMessage) -> Contact | None:
    # The message names its account; the contact is looked up inside it, never by id alone.
    return (
        Contact.objects.select_related("account")
        .filter(account_id=message.account_id, pk=message.payload.get("contact_id"))
        .first()
    )


def _deliver(message: OutboxMessage, action: Any) -> dict[str, Any] | None:
    contact = _contact_of(message)
    if contact is None or not contact.account.ghl_configured:
        return None  # deleted, or GoHighLevel disconnected since: nothing to send
    try:
        with ghl_client(contact.account) as client:
            return action(client, contact)
    except QuotaExhausted:
        raise
    except ProviderError as exc:
        _record_provider_error(contact.account, exc)
        raise


def _ensure_ghl_id(client: GhlContactsClient, contact: Contact) -> str:
    return contact.ghl_contact_id or ghl_push_one(client, contact)


@outbox_handler(services.GHL_CONTACT_UPSERT)
def deliver_contact_upsert(message: OutboxMessage) -> dict[str, Any] | None:
    def push(client: GhlContactsClient, contact: Contact) -> dict[str, Any] | None:
        if not contact.ghl_push_pending:
            return {"skipped": "already pushed"}
        return {"ghl_contact_id": ghl_push_one(client, contact)}

    return _deliver(message, push)


@outbox_handler(services.GHL_NOTE)
def deliver_note(message: OutboxMessage) -> dict[str, Any] | None:
    def note(client: GhlContactsClient, contact: Contact) -> dict[str, Any]:
        created = client.add_note(_ensure_ghl_id(client, contact), message.payload["body"])
        return {"note_id": created.get("id")}

    return _deliver(message, note)


@outbox_handler(services.GHL_TAGS)
def deliver_tags(message: OutboxMessage) -> dict[str, Any] | None:
    def tags(client: GhlContactsClient, contact: Contact) -> dict[str, Any]:
        return {"tags": client.add_tags(_ensure_ghl_id(client, contact), list(message.payload["tags"]))}

    return _deliver(message, tags)


# --- periodic ----------------------------------------------------------------------------------


def ghl_sync_due_accounts() -> list[str]:
    """Accounts the periodic sync should run now: GoHighLevel connected and working, quota left."""
    accounts = Account.objects.filter(status=Account.Status.ACTIVE, ghl_configured=True).exclude(
        integration_statuses__provider="ghl", integration_statuses__failing=True
    )
    now = timezone.now()
    blocked = set(
        GhlSyncState.objects.filter(status=State.QUOTA, quota_reset_at__gt=now).values_list("account_id", flat=True)
    )
    return [str(pk) for pk in accounts.values_list("pk", flat=True) if pk not in blocked]
