"""CSV out: the contacts of the current filter, streamed, and any report built from a tenant's data.

Every cell goes through `neutralise`: a value a spreadsheet would run as a formula (starting with
=, +, -, @, a tab or a carriage return) is written with a leading apostrophe, so a contact named
`=HYPERLINK("http://evil", "Click")` stays text in Excel and LibreOffice (OWASP "CSV injection").
A strict E.164 number is the one exception: "+14155550123" cannot run anything, and the importer
reads it back as is. The importer also strips the apostrophe this adds, so an export imports
back to the same values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from contacts.models import Contact
from contacts.phones import E164
from contacts.selectors import contact_tag_names

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000
MAX_CUSTOM_COLUMNS = 100
HEADER = (
    "First name",
    "Last name",
    "Phone",
    "Email",
    "Company",
    "Time zone",
    "Tags",
    "Consent",
    "Do not call",
    "Do not call reason",
    "Source",
    "Created",
)
VALUES = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company",
    "time_zone",
    "consent_status",
    "do_not_call",
    "do_not_call_reason",
    "source",
    "created_at",
    "custom_fields",
)


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not E164.match(text):
        return "'" + text
    return text


class _Line:
    """csv.writer target that hands back what it was given (one row at a time)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Rows to CSV text, every cell neutralised; starts with a BOM so Excel reads UTF-8."""
    writer = csv.writer(_Line())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


def csv_response(rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def custom_keys(queryset: QuerySet[Contact]) -> list[str]:
    """The custom field names used by the matching contacts (one column each)."""
    ids = queryset.order_by().values("id")
    if connection.vendor == "postgresql":
        sql, params = ids.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT jsonb_object_keys(custom_fields) AS k FROM contacts_contact "  # noqa: S608 - Django's own SQL
                f"WHERE id IN ({sql}) ORDER BY k LIMIT %s",
                [*params, MAX_CUSTOM_COLUMNS],
            )
            return [row[0] for row in cursor.fetchall()]
    keys: set[str] = set()
    for fields in queryset.order_by().values_list("custom_fields", flat=True).iterator(chunk_size=CHUNK):
        keys.update(fields or {})
    return sorted(keys)[:MAX_CUSTOM_COLUMNS]


def contact_rows(queryset: QuerySet[Contact]) -> Iterator[list[Any]]:
    """Header, then one row per contact, read in id order in chunks (memory stays flat)."""
    keys = custom_keys(queryset)
    yield [*HEADER, *keys]
    last = 0
    base = queryset.order_by("id")
    while True:
        chunk = list(base.filter(id__gt=last).values(*VALUES)[:CHUNK])
        if not chunk:
            return
        tags = contact_tag_names(c["id"] for c in chunk)
        for c in chunk:
            custom = c["custom_fields"] or {}
            yield [
                c["first_name"],
                c["last_name"],
                c["phone"],
                c["email"],
                c["company"],
                c["time_zone"],
                ", ".join(tags.get(c["id"], [])),
                c["consent_status"],
                "yes" if c["do_not_call"] else "no",
                c["do_not_call_reason"],
                c["source"],
                timezone.localtime(c["created_at"]).isoformat(timespec="seconds"),
                *(custom.get(k, "") for k in keys),
            ]
        last = chunk[-1]["id"]


def export_filename(prefix: str = "contacts") -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}.csv"
