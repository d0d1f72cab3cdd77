"""Reads of contacts: the one filter every surface shares (API list, bulk "by the current
filter", export, dashboard), tags, imports and the do-not-call list.

Every function takes the account and starts from `<Model>.objects.filter(account=account)`, so
nothing here can return another tenant's rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Account
from contacts.models import Contact, DoNotCallEntry, GhlSyncState, ImportJob, Tag
from prixagent.errors import ApplicationError

FILTER_PARAMS = ("q", "tag", "do_not_call", "time_zone", "source", "consent", "created_after", "created_before")
PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")
MAX_QUERY = 100
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class ContactFilter:
    """The current filter of a contacts list, parsed and validated once."""

    q: str = ""
    tags: tuple[str, ...] = ()
    do_not_call: bool | None = None
    time_zone: str = ""
    source: str = ""
    consent: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    errors: dict[str, list[str]] = field(default_factory=dict, compare=False)

    @property
    def is_empty(self) -> bool:
        return self == ContactFilter()

    def as_params(self) -> dict[str, Any]:
        """Back to query parameters (for links: export, pagination, bulk forms)."""
        params: dict[str, Any] = {}
        for name in ("q", "time_zone", "source", "consent"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.tags:
            params["tag"] = list(self.tags)
        if self.do_not_call is not None:
            params["do_not_call"] = "true" if self.do_not_call else "false"
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value.isoformat()
        return params


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist else params.get(name)
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [str(v).strip() for v in items if str(v).strip()]


def _one(params: Mapping[str, Any], name: str) -> str:
    values = _values(params, name)
    return values[0] if values else ""


def _parse_bool(value: str) -> bool | None:
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(value)


def _parse_moment(value: str, *, end_of_day: bool) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day: date | None = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.combine(day, time.max if end_of_day else time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def contact_filter_parse(params: Mapping[str, Any]) -> ContactFilter:
    """Query parameters (or a JSON object) to a ContactFilter; bad values are a 400 on that field."""
    errors: dict[str, list[str]] = {}
    q = _one(params, "q")
    if len(q) > MAX_QUERY:
        errors["q"] = [_("Search for at most %(n)d characters.") % {"n": MAX_QUERY}]
    do_not_call = None
    if raw := _one(params, "do_not_call"):
        try:
            do_not_call = _parse_bool(raw)
        except ValueError:
            errors["do_not_call"] = [_("Use true or false.")]
    source = _one(params, "source")
    if source and source not in Contact.Source.values:
        errors["source"] = [_("Unknown source. Use one of: %(list)s.") % {"list": ", ".join(Contact.Source.values)}]
    consent = _one(params, "consent")
    if consent and consent not in Contact.Consent.values:
        errors["consent"] = [_("Unknown consent status.")]
    moments: dict[str, datetime | None] = {}
    for name in ("created_after", "created_before"):
        raw = _one(params, name)
        try:
            moments[name] = _parse_moment(raw, end_of_day=name == "created_before") if raw else None
        except ValueError:
            errors[name] = [_("Use a date (2026-01-31) or an ISO 8601 date and time.")]
    if errors:
        raise ApplicationError(_("Some filters are invalid."), fields=errors)
    return ContactFilter(
        q=q,
        tags=tuple(dict.fromkeys(_values(params, "tag")))[:10],
        do_not_call=do_not_call,
        time_zone=_one(params, "time_zone")[:64],
        source=source,
        consent=consent,
        created_after=moments["created_after"],
        created_before=moments["created_before"],
    )


def _search(queryset: QuerySet[Contact], q: str) -> QuerySet[Contact]:
    text = q.strip().lower()
    digits = re.sub(r"\D", "", text)
    if PHONE_LIKE.match(text) and len(digits) >= 3:
        # "(415) 555-01" finds +14155550123: the digits appear in search_text's phone part.
        return queryset.filter(search_text__contains=digits)
    return queryset.filter(search_text__contains=" ".join(text.split()))


def contacts_filtered(*, account: Account, flt: ContactFilter) -> QuerySet[Contact]:
    """The account's contacts matching `flt` (unordered: callers pick the order they page by)."""
    return contacts_apply_filter(Contact.objects.filter(account=account), flt)


def contacts_apply_filter(queryset: QuerySet[Contact], flt: ContactFilter) -> QuerySet[Contact]:
    """Narrow an already account-scoped queryset (the API's) by `flt`."""
    if flt.q:
        queryset = _search(queryset, flt.q)
    for tag in flt.tags:
        # Every tag must match (AND); a numeric value is a tag id, anything else a tag name. The tag
        # is looked up in the contacts' own account (a subquery on its unique index): a join on the
        # name alone would walk every account's tag of that name.
        links = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag__account_id=OuterRef("account_id"))
        if tag.isdigit():
            links = links.filter(tag_id=int(tag))
        else:
            links = links.annotate(tag_lname=Lower("tag__name")).filter(tag_lname=tag.lower())
        queryset = queryset.filter(Exists(links))
    if flt.do_not_call is not None:
        queryset = queryset.filter(do_not_call=flt.do_not_call)
    if flt.time_zone:
        queryset = queryset.filter(time_zone=flt.time_zone)
    if flt.source:
        queryset = queryset.filter(source=flt.source)
    if flt.consent:
        queryset = queryset.filter(consent_status=flt.consent)
    if flt.created_after:
        queryset = queryset.filter(created_at__gte=flt.created_after)
    if flt.created_before:
        queryset = queryset.filter(created_at__lte=flt.created_before)
    return queryset


def contact_values_with_tags(queryset: QuerySet[Contact], fields: Iterable[str]) -> QuerySet[Contact]:
    """`.values(*fields)` rows; `contact_rows_tagged` adds their tag names with one more query.

    (A per-row ARRAY subquery looked cheaper but is not: with few tags in the table PostgreSQL
    plans it as a scan of every account's tags for each contact of the page.)
    """
    return queryset.values(*fields)


def contact_rows_tagged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of `contact_values_with_tags`, each with "tag_names" (sorted), in one query."""
    missing = [row["id"] for row in rows if "tag_names" not in row]
    if missing:
        names = contact_tag_names(missing)
        for row in rows:
            row.setdefault("tag_names", names.get(row["id"], []))
    return rows


def contact_tag_names(contact_ids: Iterable[int]) -> dict[int, list[str]]:
    """Tag names per contact, in one query (cheaper than prefetching Tag objects)."""
    names: dict[int, list[str]] = {}
    rows = (
        Contact.tags.through.objects.filter(contact_id__in=list(contact_ids))
        .order_by("tag__name")
        .values_list("contact_id", "tag__name")
    )
    for contact_id, name in rows:
        names.setdefault(contact_id, []).append(name)
    return names


def tags_with_counts(*, account: Account) -> QuerySet[Tag]:
    return Tag.objects.filter(account=account).annotate(contact_count=Count("contacts")).order_by("name")


def contact_time_zones(*, account: Account) -> list[str]:
    """The zones the account's contacts are in (for the filter's choices)."""
    return list(
        Contact.objects.filter(account=account).order_by("time_zone").values_list("time_zone", flat=True).distinct()
    )


def import_jobs(*, account: Account) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(account=account).order_by("-created_at")


def dnc_entries(*, account: Account, q: str = "") -> QuerySet[DoNotCallEntry]:
    queryset = DoNotCallEntry.objects.filter(account=account)
    digits = re.sub(r"\D", "", q)
    if digits:
        queryset = queryset.filter(phone__contains=digits)
    return queryset


def ghl_sync_state(*, account: Account) -> GhlSyncState:
    """The account's sync record (an unsaved, "never synced" one before the first sync)."""
    return GhlSyncState.objects.filter(account=account).first() or GhlSyncState(account=account)
