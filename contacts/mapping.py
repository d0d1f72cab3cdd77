"""Which column of a CSV file goes where: guessed from the header in English and Spanish, shown to
the user, corrected, validated.

A mapping is one target per column, in column order: a field name below, `custom:<key>` (the
column becomes a custom field called <key>), or "" (ignored).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import ImportJob
from prixagent.errors import ApplicationError

CUSTOM = "custom:"
IGNORE = ""

# Field -> label, for the mapping form. Order is the order of the choices.
CONTACT_FIELDS = {
    "phone": gettext_lazy("Phone"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "full_name": gettext_lazy("Full name (split into first and last)"),
    "email": gettext_lazy("Email"),
    "company": gettext_lazy("Company"),
    "time_zone": gettext_lazy("Time zone"),
    "tags": gettext_lazy("Tags (separated by , ; or |)"),
    "consent": gettext_lazy("Consent (yes / no)"),
    "do_not_call": gettext_lazy("Do not call (yes / no)"),
}
DNC_FIELDS = {"phone": gettext_lazy("Phone"), "reason": gettext_lazy("Reason")}

# Normalised header (lower case, no accents, letters and digits only) -> field.
SYNONYMS: dict[str, str] = {}
_WORDS = {
    "phone": (
        "phone",
        "phone number",
        "phone no",
        "telephone",
        "telephone number",
        "tel",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "cellphone",
        "contact phone",
        "primary phone",
        "phone 1",
        "whatsapp",
        "number",
        "telefono",
        "numero de telefono",
        "telefono movil",
        "telefono celular",
        "movil",
        "celular",
        "numero",
        "tlf",
        "tfno",
    ),
    "first_name": ("first name", "firstname", "first", "given name", "forename", "nombre", "nombres", "primer nombre"),
    "last_name": (
        "last name",
        "lastname",
        "last",
        "surname",
        "family name",
        "apellido",
        "apellidos",
        "primer apellido",
    ),
    "full_name": ("name", "full name", "contact name", "contact", "nombre completo", "nombre y apellidos", "contacto"),
    "email": ("email", "e mail", "email address", "mail", "correo", "correo electronico", "email 1", "e mail address"),
    "company": (
        "company",
        "company name",
        "business",
        "business name",
        "organization",
        "organisation",
        "empresa",
        "compania",
        "negocio",
        "organizacion",
        "razon social",
    ),
    "time_zone": ("time zone", "timezone", "tz", "zona horaria", "huso horario"),
    "tags": ("tags", "tag", "labels", "label", "etiquetas", "etiqueta"),
    "consent": ("consent", "opt in", "optin", "consentimiento", "acepta llamadas"),
    "do_not_call": ("do not call", "dnc", "opt out", "optout", "no llamar", "no contactar"),
    "reason": ("reason", "motivo", "razon", "notes", "nota", "notas"),
}
# Columns our own export adds that are not contact data to import: ignored by default.
IGNORED = {
    re.sub(r"[^a-z0-9]+", "", name)
    for name in (
        "source",
        "created",
        "created at",
        "updated",
        "updated at",
        "id",
        "do not call reason",
        "ghl contact id",
    )
}
for _field, _names in _WORDS.items():
    for _name in _names:
        SYNONYMS[re.sub(r"[^a-z0-9]+", "", _name)] = _field


def normalise(header: str) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", text)


def fields_for(kind: str) -> dict[str, Any]:
    return DNC_FIELDS if kind == ImportJob.Kind.DNC else CONTACT_FIELDS


def custom_key(header: str) -> str:
    return " ".join(header.split())[:100]


def auto_map(header: list[str], kind: str = ImportJob.Kind.CONTACTS) -> list[str]:
    """The best guess for each column. Each field is used once (the first column that fits);
    other columns become custom fields (contacts) or are ignored (do-not-call list)."""
    allowed = fields_for(kind)
    guesses = [SYNONYMS.get(normalise(name), "") for name in header]
    guesses = [g if g in allowed else "" for g in guesses]
    has_last = "last_name" in guesses
    mapping: list[str] = []
    used: set[str] = set()
    for name, guess in zip(header, guesses, strict=True):
        if guess == "full_name" and has_last:
            guess = "first_name"  # "Nombre" next to "Apellido" is the first name
        if guess == "first_name" and not has_last and normalise(name) in ("nombre", "name"):
            guess = "full_name"
        if guess and guess not in used:
            used.add(guess)
            mapping.append(guess)
        elif normalise(name) in IGNORED:
            mapping.append(IGNORE)
        elif kind == ImportJob.Kind.CONTACTS:
            mapping.append(CUSTOM + custom_key(name))
        else:
            mapping.append(IGNORE)
    return mapping


def mapping_validate(header: list[str], mapping: Any, kind: str) -> list[str]:
    """The user's mapping, checked: one target per column, known fields, each field once, a phone."""
    if not isinstance(mapping, list) or len(mapping) != len(header):
        raise _error(_("Give one choice per column (%(n)d columns).") % {"n": len(header)})
    allowed = fields_for(kind)
    clean: list[str] = []
    used: set[str] = set()
    for name, target in zip(header, mapping, strict=True):
        target = str(target or "").strip()
        if target.startswith(CUSTOM) and kind == ImportJob.Kind.CONTACTS:
            key = custom_key(target[len(CUSTOM) :]) or custom_key(name)
            target = CUSTOM + key
        elif target and target not in allowed:
            raise _error(_("Column “%(column)s”: unknown field “%(field)s”.") % {"column": name, "field": target})
        if target and target in used:
            raise _error(_("“%(field)s” is chosen for two columns.") % {"field": allowed.get(target, target)})
        if target:
            used.add(target)
        clean.append(target)
    if "phone" not in used:
        raise _error(_("Choose the column that holds the phone number."))
    if "full_name" in used and used & {"first_name", "last_name"}:
        raise _error(_("Choose either a full name column or first and last name columns, not both."))
    return clean


def _error(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_mapping", fields={"mapping": [message]})
