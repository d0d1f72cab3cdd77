"""One import's rows: parse a CSV record into a contact (or the reasons it is refused), and write a
batch of them in one go.

Writing is set-based, not one ORM save per row. On PostgreSQL new contacts go in with `COPY`
straight into `contacts_contact` (ids reserved from its sequence first, so tags can be linked
without reading the rows back); elsewhere (the SQLite of `make run`) with `bulk_create`.
Existing contacts are read once per batch and updated with one statement. A unique-constraint
race with another writer (an API create of the same number between our read and our COPY)
rolls the batch back to its savepoint and it is tried again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from contacts.csvfile import MAX_CELL, Record
from contacts.mapping import CUSTOM
from contacts.models import Contact, DoNotCallEntry, ImportJob
from contacts.phones import single_zone, time_zone_for
from contacts.selectors import contact_tag_names
from contacts.services import TAG_SPLIT, is_time_zone, tags_resolve

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
YES = {"yes", "y", "true", "1", "x", "si", "sí", "s", "granted", "opt in", "opt-in", "ok"}
NO = {"no", "n", "false", "0", "revoked", "opt out", "opt-out"}
UNKNOWN = {"unknown", "desconocido", "?"}
LIMITS = {"first_name": 100, "last_name": 100, "company": 200, "reason": 255}
RACE_RETRIES = 3
SMALL_DNC_LIST = 2000  # entries: below this a batch reads the account's whole list at once


@dataclass(slots=True)
class Problem:
    row: int
    column: str
    value: str
    reason: str
    rejects: bool = True  # False: a warning; the row was still imported


@dataclass(slots=True)
class Row:
    number: int
    phone: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    email: str = ""
    zone: str = ""  # a valid zone from the file, else ""
    tags: list[str] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)
    consent: str = ""  # "", granted or revoked
    dnc: bool = False
    reason: str = ""  # do-not-call imports
    line: str = ""  # the row as COPY text for a new contact ("" = build it when writing)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0


def unneutralise(value: str) -> str:
    """Undo our own export's protection: "'=SUM(...)" was written for "=SUM(...)"."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _yes_no(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in YES:
        return True
    if lowered in NO or not lowered:
        return False
    return None


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _text(value: str) -> str:
    return value.translate(COPY_ESCAPES)


class CopyLine:
    """A new contact as one line of COPY text (tab-separated, escaped), built where the row is
    parsed so that the thread writing to the database only sends bytes. Timestamps are the
    literal "now": PostgreSQL reads it as the time of the writing transaction."""

    def __init__(self, account: Account, consent_source: str, push_pending: bool) -> None:
        self.prefix = f"{account.pk}\t"
        self.fallback = _text(account.time_zone)
        self.consent_source = _text(consent_source)
        self.tail = f"\t\t{'t' if push_pending else 'f'}\tnow\tnow\n"

    def __call__(self, row: Row, dnc: tuple[bool, str, str] = (False, "", "")) -> str:
        if row.zone:
            zone, source = _text(row.zone), "record"
        else:
            zone = single_zone(row.phone)
            zone, source = (zone, "number") if zone else (self.fallback, "account")
        custom = _text(json.dumps(row.custom)) if row.custom else "{}"
        consent = f"{row.consent}\t{self.consent_source}\tnow" if row.consent else f"unknown\t\t{NULL}"
        flag, reason, since = dnc
        return (
            f"{self.prefix}{_text(row.first_name)}\t{_text(row.last_name)}\t{_text(row.company)}\t{row.phone}\t"
            f"{_text(row.email)}\t{zone}\t{source}\t{custom}\tcsv\t{consent}\t"
            f"{'t' if flag else 'f'}\t{_text(reason)}\t{since or NULL}{self.tail}"
        )


class RowParser:
    """Turns records into `Row`s with the job's mapping, collecting every problem."""

    def __init__(self, job: ImportJob, account: Account, line: CopyLine | None = None) -> None:
        self.line = line
        self.header = job.header
        self.width = len(job.header)
        self.country = account.default_country or "US"
        self.fields: dict[str, int] = {}
        self.custom: list[tuple[int, str]] = []
        for index, target in enumerate(job.mapping):
            if target.startswith(CUSTOM):
                self.custom.append((index, target[len(CUSTOM) :]))
            elif target:
                self.fields[target] = index
        self.phone_index = self.fields["phone"]
        # One handler per mapped column, chosen once: `parse` runs for every row of the file.
        self.handlers = [(index, self._handler(name)) for name, index in self.fields.items() if name != "phone"]

    def _handler(self, name: str) -> Callable[[Row, str, int, list[Problem]], None]:
        if name in LIMITS:
            limit = LIMITS[name]

            def text(row: Row, value: str, index: int, problems: list[Problem]) -> None:
                if len(value) > limit:
                    message = _("At most %(n)d characters.") % {"n": limit}
                    problems.append(Problem(row.number, self.header[index], value[:200], message))
                else:
                    setattr(row, name, value)

            return text
        return lambda row, value, index, problems: self._apply(row, name, value, index, problems)

    def parse(self, record: Record) -> tuple[Row | None, list[Problem]]:
        """(row, problems). (None, []) for a blank line; (None, [problems]) for a refused row."""
        cells = record.cells
        if cells is None:
            return None, [Problem(record.number, "", "", record.problem)]
        if not any(cells):
            return None, []
        count = len(cells)
        if count > self.width or max(map(len, cells)) > MAX_CELL:
            refused = self._shape_problem(record.number, cells)
            if refused:
                return None, [refused]
        phone_raw = cells[self.phone_index].strip() if self.phone_index < count else ""
        phone, reason = self._phone(unneutralise(phone_raw) if phone_raw[:1] == "'" else phone_raw)
        if not phone:
            return None, [Problem(record.number, self.header[self.phone_index], phone_raw[:200], reason)]
        row = Row(record.number, phone)
        problems: list[Problem] = []
        for index, handler in self.handlers:
            if index < count and (value := cells[index].strip()):
                handler(row, unneutralise(value) if value[0] == "'" else value, index, problems)
        for index, key in self.custom:
            if index < count and (value := cells[index].strip()):
                row.custom[key] = unneutralise(value) if value[0] == "'" else value
        if problems and any(p.rejects for p in problems):
            return None, problems
        if self.line is not None and not row.dnc:
            row.line = self.line(row)
        return row, problems

    def _shape_problem(self, number: int, cells: list[str]) -> Problem | None:
        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            return Problem(
                number,
                "",
                "",
                _("This row has %(n)s columns; the header has %(m)d.") % {"n": f"{len(cells):,}", "m": self.width},
            )
        for index, cell in enumerate(cells[: self.width]):
            if len(cell) > MAX_CELL:
                return Problem(
                    number,
                    self.header[index],
                    cell[:200],
                    _("The value is %(n)s characters long; at most %(max)s are accepted.")
                    % {"n": f"{len(cell):,}", "max": f"{MAX_CELL:,}"},
                )
        return None

    def _phone(self, raw: str) -> tuple[str, str]:
        if not raw:
            return "", _("There is no phone number.")
        if len(raw) > 40:
            return "", _("This is too long to be a phone number.")
        try:
            number = phonenumbers.parse(raw, self.country)
        except phonenumbers.NumberParseException:
            return "", _("This is not a phone number.")
        if not phonenumbers.is_valid_number(number):
            return "", _("This number is not valid for its country.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""

    def _apply(self, row: Row, name: str, value: str, index: int, problems: list[Problem]) -> None:
        column = self.header[index]
        if name in LIMITS and len(value) > LIMITS[name]:
            message = _("At most %(n)d characters.") % {"n": LIMITS[name]}
            problems.append(Problem(row.number, column, value[:200], message))
        elif name == "full_name":
            first, _sep, last = " ".join(value.split()).partition(" ")
            row.first_name, row.last_name = first[:100], last[:100]
        elif name == "email":
            self._email(row, value, column, problems)
        elif name == "time_zone":
            if is_time_zone(value):
                row.zone = value
            else:
                problems.append(Problem(row.number, column, value[:200], _zone_warning(), rejects=False))
        elif name == "tags":
            row.tags = [t for t in (" ".join(p.split())[:64] for p in TAG_SPLIT.split(value)) if t][:50]
        elif name in ("consent", "do_not_call"):
            self._flag(row, name, value, column, problems)

    def _email(self, row: Row, value: str, column: str, problems: list[Problem]) -> None:
        email = value.lower()
        if EMAIL.match(email) and len(email) <= 254:
            row.email = email
        else:
            reason = _("Not an email address; the contact was imported without it.")
            problems.append(Problem(row.number, column, value[:200], reason, rejects=False))

    def _flag(self, row: Row, name: str, value: str, column: str, problems: list[Problem]) -> None:
        if value.lower() in UNKNOWN:
            return
        answer = _yes_no(value)
        if answer is None:
            reason = _("Use yes or no; the value was ignored.")
            problems.append(Problem(row.number, column, value[:200], reason, rejects=False))
        elif name == "consent":
            row.consent = Contact.Consent.GRANTED if answer else Contact.Consent.REVOKED
        else:
            row.dnc = answer


def _zone_warning() -> str:
    return _("Not an IANA time zone (e.g. America/New_York); the zone was derived from the number.")


# --- writing a batch -------------------------------------------------------------------------


def merge_duplicates(rows: list[Row], policy: str) -> tuple[list[Row], dict[str, int], int]:
    """One row per phone. Returns (rows, extra occurrences per phone, rows dropped by "skip").

    Under "update" a later row fills in and overrides an earlier one (tags and custom fields
    add up); under "skip" the first occurrence wins.
    """
    by_phone: dict[str, Row] = {}
    extra: dict[str, int] = {}
    dropped = 0
    for row in rows:
        first = by_phone.get(row.phone)
        if first is None:
            by_phone[row.phone] = row
            continue
        extra[row.phone] = extra.get(row.phone, 0) + 1
        if policy == ImportJob.Policy.SKIP:
            dropped += 1
            continue
        for name in ("first_name", "last_name", "company", "email", "zone", "consent", "reason"):
            if getattr(row, name):
                setattr(first, name, getattr(row, name))
        first.tags = list(dict.fromkeys(first.tags + row.tags))
        first.custom.update(row.custom)
        first.dnc = first.dnc or row.dnc
        first.line = ""  # built again from the merged values
    return list(by_phone.values()), extra, dropped


class BatchWriter:
    """Writes parsed rows of one job. Call `write()` inside the batch's transaction."""

    def __init__(self, job: ImportJob, account: Account) -> None:
        self.job = job
        self.account = account
        self.policy = job.policy
        self.push_pending = bool(account.ghl_configured)
        self.postgres = connection.vendor == "postgresql"
        self.consent_source = _("CSV import: %(file)s") % {"file": job.file_name}
        self.consent_source = self.consent_source[:100]
        self.line = CopyLine(account, self.consent_source, self.push_pending)
        # Insert without looking up existing numbers first, as long as none turns up (PostgreSQL:
        # a failed COPY costs little and rolls back to its savepoint).
        self.optimistic = self.postgres

    def _rows_with(self, table: str, columns: tuple[str, ...], phones: list[str]) -> list[dict[str, Any]]:
        """The account's rows of `table` (contacts or do-not-call entries) with one of `phones`.

        On PostgreSQL one probe of the (account, phone) unique index per number (a LATERAL
        lookup): statistics go stale while an import fills a new account, and a planner that
        believes the account small would scan all of its rows for every batch instead.
        """
        if not self.postgres:
            model = Contact if table == Contact._meta.db_table else DoNotCallEntry
            return list(model.objects.filter(account=self.account, phone__in=phones).values(*columns))
        select = ", ".join(f"t.{c}" for c in columns)
        sql = (
            f"SELECT {select} FROM unnest(%s::text[]) AS x (phone) CROSS JOIN LATERAL "  # noqa: S608 - constant names
            f"(SELECT * FROM {table} WHERE account_id = %s AND phone = x.phone LIMIT 1) AS t"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [phones, self.account.pk])
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def write(self, rows: list[Row]) -> Counts:
        for attempt in range(RACE_RETRIES):
            try:
                with transaction.atomic(), connection.wrap_database_errors:
                    if self.job.kind == ImportJob.Kind.DNC:
                        return self._write_dnc(rows)
                    return self._write_contacts(rows)
            except IntegrityError:
                # Another writer created one of these numbers between our look-up and our insert
                # (or the optimistic insert below met one): the batch is rolled back and done again.
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # --- contacts ----------------------------------------------------------------------------

    def _write_contacts(self, rows: list[Row]) -> Counts:
        unique, extra, dropped = merge_duplicates(rows, self.policy)
        phones = [r.phone for r in unique]
        listed = self._listed(phones)
        now = timezone.now()
        counts = Counts(skipped=dropped)
        # Later occurrences of a phone in the batch count as updates (they changed the row) or skips.
        counts.updated += sum(extra.values()) - dropped
        if self.optimistic:
            # A new list into a new account: every number is new until one is not. Insert without
            # looking first; the unique constraint says otherwise, and from then on this job looks.
            try:
                with transaction.atomic(), connection.wrap_database_errors:
                    created_ids = self._insert(unique, listed, now)
                    self._link_tags(unique, created_ids, {})
            except IntegrityError:
                self.optimistic = False
            else:
                counts.created = len(unique)
                self._add_to_dnc([r for r in unique if r.dnc and r.phone not in listed], now)
                return counts
        existing = {c["phone"]: c for c in self._rows_with(Contact._meta.db_table, EXISTING_COLUMNS, phones)}
        for current in existing.values():
            if isinstance(current["custom_fields"], str):  # raw SQL hands jsonb back as text
                current["custom_fields"] = json.loads(current["custom_fields"])
        new = [r for r in unique if r.phone not in existing]
        counts.created = len(new)
        created_ids = self._insert(new, listed, now)
        updated = self._update([r for r in unique if r.phone in existing], existing, listed, now, counts)
        self._link_tags(new, created_ids, updated)
        self._add_to_dnc([r for r in unique if r.dnc and r.phone not in listed], now)
        return counts

    def _listed(self, phones: list[str]) -> dict[str, DoNotCallEntry]:
        """The batch's numbers that are on the do-not-call list. A short list is read whole (one
        query); a long one is probed number by number."""
        table, columns = DoNotCallEntry._meta.db_table, ("phone", "reason", "created_at")
        entries = DoNotCallEntry.objects.filter(account=self.account).values(*columns)[: SMALL_DNC_LIST + 1]
        rows = list(entries) if self.postgres else []
        if not self.postgres or len(rows) > SMALL_DNC_LIST:
            rows = self._rows_with(table, columns, phones)
        wanted = set(phones)
        return {r["phone"]: DoNotCallEntry(account=self.account, **r) for r in rows if r["phone"] in wanted}

    def _zone(self, row: Row) -> tuple[str, str]:
        if row.zone:
            return row.zone, Contact.TimeZoneSource.RECORD
        guess = time_zone_for(row.phone, self.account.time_zone)
        return guess.time_zone, Contact.TimeZoneSource.NUMBER if guess.derived else Contact.TimeZoneSource.ACCOUNT

    def _dnc_fields(self, row: Row, listed: dict[str, DoNotCallEntry], now: datetime) -> tuple[bool, str, Any]:
        entry = listed.get(row.phone)
        if entry:
            return True, entry.reason, entry.created_at
        if row.dnc:
            return True, self.consent_source, now
        return False, "", None

    def _insert(self, rows: list[Row], listed: dict[str, DoNotCallEntry], now: datetime) -> dict[str, int]:
        if not rows:
            return {}
        if self.postgres:
            return self._copy(rows, listed, now)
        objects = [self._new_contact(row, listed, now) for row in rows]
        Contact.objects.bulk_create(objects, batch_size=500)
        return {c.phone: c.pk for c in objects}

    def _new_contact(self, row: Row, listed: dict[str, DoNotCallEntry], now: datetime) -> Contact:
        zone, zone_source = self._zone(row)
        dnc, dnc_reason, dnc_at = self._dnc_fields(row, listed, now)
        return Contact(
            account=self.account,
            first_name=row.first_name,
            last_name=row.last_name,
            company=row.company,
            phone=row.phone,
            email=row.email,
            time_zone=zone,
            time_zone_source=zone_source,
            custom_fields=row.custom,
            source=Contact.Source.CSV,
            consent_status=row.consent or Contact.Consent.UNKNOWN,
            consent_source=self.consent_source if row.consent else "",
            consent_at=now if row.consent else None,
            do_not_call=dnc,
            do_not_call_reason=dnc_reason,
            do_not_call_at=dnc_at,
            ghl_push_pending=self.push_pending,
            created_at=now,
            updated_at=now,
        )

    def _copy(self, rows: list[Row], listed: dict[str, DoNotCallEntry], now: datetime) -> dict[str, int]:
        """COPY the new contacts into contacts_contact, as one block of text.

        Lines were built by the parsing thread (`CopyLine`); only rows whose do-not-call state
        depends on the list are built here. Ids come from the table's sequence; tags are linked
        afterwards by number (`_link_tags`), so no id needs to come back.
        """
        lines = []
        for row in rows:
            if row.line and row.phone not in listed:
                lines.append(row.line)
            else:
                flag, reason, since = self._dnc_fields(row, listed, now)
                lines.append(self.line(row, (flag, reason, since.isoformat() if since else "")))
        with connection.cursor() as cursor, cursor.cursor.copy(COPY_CONTACTS) as copy:
            copy.write("".join(lines))
        return {}

    def _update(
        self,
        rows: list[Row],
        existing: dict[str, dict[str, Any]],
        listed: dict[str, DoNotCallEntry],
        now: datetime,
        counts: Counts,
    ) -> dict[str, tuple[int, list[str]]]:
        """Apply rows to existing contacts under the job's policy; returns {phone: (id, new tags)}."""
        if self.policy == ImportJob.Policy.SKIP:
            counts.skipped += len(rows)
            return {}
        had = contact_tag_names(existing[r.phone]["id"] for r in rows if r.tags)
        changed: list[Contact] = []
        applied: dict[str, tuple[int, list[str]]] = {}
        for row in rows:
            current = existing[row.phone]
            known = {t.lower() for t in had.get(current["id"], [])}
            new_tags = [t for t in row.tags if t.lower() not in known]
            merged = self._merged(row, current, listed, now)
            if merged is None and not new_tags:
                counts.skipped += 1  # the row says nothing the contact does not already say
                continue
            counts.updated += 1
            applied[row.phone] = (current["id"], new_tags)
            values = merged or self._touched(current, now)
            changed.append((current["id"], *(values[name] for name in UPDATE_FIELDS)))
        if changed:
            self._update_rows(changed)
        return applied

    def _update_rows(self, changed: list[tuple[Any, ...]]) -> None:
        """One statement for the whole batch (Django's bulk_update builds a CASE per row and field,
        which costs seconds per thousand rows)."""
        with connection.cursor() as cursor:
            if not self.postgres:
                assignments = ", ".join(f"{name} = %s" for name in UPDATE_FIELDS)
                params = [(*row[1:], row[0]) for row in changed]
                params = [tuple(json.dumps(v) if isinstance(v, dict) else v for v in row) for row in params]
                sql = f"UPDATE contacts_contact SET {assignments} WHERE id = %s"  # noqa: S608 - constant names
                cursor.executemany(sql, params)
                return
            cursor.execute(UPDATE_TABLE)
            with cursor.cursor.copy(f"COPY {UPDATE_TEMP} FROM STDIN") as copy:
                for row in changed:
                    copy.write_row(tuple(json.dumps(v) if isinstance(v, dict) else v for v in row))
            assignments = ", ".join(f"{name} = u.{name}" for name in UPDATE_FIELDS)
            sql = f"UPDATE contacts_contact c SET {assignments} FROM {UPDATE_TEMP} u WHERE c.id = u.id"  # noqa: S608
            cursor.execute(sql)
            cursor.execute(f"DELETE FROM {UPDATE_TEMP}")  # noqa: S608 - a constant name

    def _touched(self, current: dict[str, Any], now: datetime) -> dict[str, Any]:
        values = {name: current[name] for name in UPDATE_FIELDS}
        values.update(updated_at=now, ghl_push_pending=current["ghl_push_pending"] or self.push_pending)
        return values

    def _merged(
        self, row: Row, current: dict[str, Any], listed: dict[str, DoNotCallEntry], now: datetime
    ) -> dict[str, Any] | None:
        """The contact's fields with the row applied, or None when the row changes none of them."""
        values = {name: current[name] for name in UPDATE_FIELDS}
        for name in ("first_name", "last_name", "company", "email"):
            if getattr(row, name):
                values[name] = getattr(row, name)
        if row.zone and row.zone != current["time_zone"]:
            values["time_zone"], values["time_zone_source"] = row.zone, Contact.TimeZoneSource.RECORD
        if row.custom:
            values["custom_fields"] = {**(current["custom_fields"] or {}), **row.custom}
        if row.consent and row.consent != current["consent_status"]:
            values.update(consent_status=row.consent, consent_source=self.consent_source, consent_at=now)
        if (row.dnc or row.phone in listed) and not current["do_not_call"]:
            dnc, reason, at = self._dnc_fields(row, listed, now)
            values.update(do_not_call=dnc, do_not_call_reason=reason, do_not_call_at=at)
        if all(values[name] == current[name] for name in UPDATE_FIELDS):
            return None
        values.update(updated_at=now, ghl_push_pending=current["ghl_push_pending"] or self.push_pending)
        return values

    def _link_tags(
        self, new: list[Row], created_ids: dict[str, int], updated: dict[str, tuple[int, list[str]]]
    ) -> None:
        fresh = [(r.phone, r.tags) for r in new if r.tags]
        more = [(cid, tags) for cid, tags in updated.values() if tags]
        if not fresh and not more:
            return
        names = list(dict.fromkeys(t for _key, tags in fresh + more for t in tags))
        by_name = {t.name.lower(): t.pk for t in tags_resolve(account=self.account, names=names)}
        through = Contact.tags.through
        if self.postgres:
            # The new contacts' ids are found by number, in the database: one statement.
            pairs = {(phone, by_name[t.lower()]) for phone, tags in fresh for t in tags}
            with connection.cursor() as cursor:
                cursor.execute(
                    LINK_TAGS,
                    [[p for p, _t in pairs], [t for _p, t in pairs], self.account.pk],
                )
            links = {(cid, by_name[t.lower()]) for cid, tags in more for t in tags}
        else:
            pairs_by_id = [(created_ids[phone], tags) for phone, tags in fresh] + more
            links = {(cid, by_name[t.lower()]) for cid, tags in pairs_by_id for t in tags}
        objects = [through(contact_id=cid, tag_id=tid) for cid, tid in links]
        through.objects.bulk_create(objects, batch_size=1000, ignore_conflicts=True)

    def _add_to_dnc(self, rows: list[Row], now: datetime) -> None:
        """Rows marked "do not call": the same act as adding the number to the list."""
        if not rows:
            return
        entries = [
            DoNotCallEntry(
                account=self.account,
                phone=r.phone,
                reason=self.consent_source,
                source=DoNotCallEntry.Source.CSV,
                added_by=self.job.created_by_label,
                created_at=now,
            )
            for r in rows
        ]
        DoNotCallEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)

    # --- the do-not-call list ------------------------------------------------------------------

    def _write_dnc(self, rows: list[Row]) -> Counts:
        unique, extra, _dropped = merge_duplicates(rows, ImportJob.Policy.SKIP)
        phones = [r.phone for r in unique]
        already = {r["phone"] for r in self._rows_with(DoNotCallEntry._meta.db_table, ("phone",), phones)}
        now = timezone.now()
        entries = [
            DoNotCallEntry(
                account=self.account,
                phone=r.phone,
                reason=r.reason or self.consent_source,
                source=DoNotCallEntry.Source.CSV,
                added_by=self.job.created_by_label,
                created_at=now,
            )
            for r in unique
            if r.phone not in already
        ]
        DoNotCallEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)
        by_reason: dict[str, list[str]] = {}
        for entry in entries:
            by_reason.setdefault(entry.reason, []).append(entry.phone)
        for reason, numbers in by_reason.items():
            flagged = Contact.objects.filter(account=self.account, phone__in=numbers, do_not_call=False)
            changes: dict[str, Any] = {"do_not_call_reason": reason, "do_not_call_at": now, "updated_at": now}
            if self.push_pending:
                changes["ghl_push_pending"] = True
            flagged.update(do_not_call=True, **changes)
        return Counts(created=len(entries), skipped=len(already) + sum(extra.values()))


UPDATE_FIELDS = [
    "first_name",
    "last_name",
    "company",
    "email",
    "time_zone",
    "time_zone_source",
    "custom_fields",
    "consent_status",
    "consent_source",
    "consent_at",
    "do_not_call",
    "do_not_call_reason",
    "do_not_call_at",
    "ghl_push_pending",
    "updated_at",
]

EXISTING_COLUMNS = ("id", "phone", *UPDATE_FIELDS)

COPY_CONTACTS = (
    "COPY contacts_contact (account_id, first_name, last_name, company, phone, email, time_zone,"
    " time_zone_source, custom_fields, source, consent_status, consent_source, consent_at, do_not_call,"
    " do_not_call_reason, do_not_call_at, ghl_contact_id, ghl_push_pending, created_at, updated_at) FROM STDIN"
)
LINK_TAGS = """
INSERT INTO contacts_contact_tags (contact_id, tag_id)
SELECT c.id, x.tag_id FROM unnest(%s::text[], %s::bigint[]) AS x (phone, tag_id)
JOIN contacts_contact c ON c.account_id = %s AND c.phone = x.phone
ON CONFLICT DO NOTHING
"""
UPDATE_TEMP = "contacts_import_update"
# Session-local, emptied on commit; created once per database connection.
UPDATE_TABLE = f"""
CREATE TEMP TABLE IF NOT EXISTS {UPDATE_TEMP} (
    id bigint, first_name text, last_name text, company text, email text, time_zone text,
    time_zone_source text, custom_fields jsonb, consent_status text, consent_source text,
    consent_at timestamptz, do_not_call boolean, do_not_call_reason text, do_not_call_at timestamptz,
    ghl_push_pending boolean, updated_at timestamptz
) ON COMMIT DELETE ROWS
"""
