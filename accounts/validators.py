"""The schema of `Account.settings`: what a tenant may store in its free-form settings.

A JSON object of at most SETTINGS_MAX_KEYS keys named like identifiers; values are strings,
numbers, booleans, null, or lists / objects of those, nested at most SETTINGS_MAX_DEPTH deep;
the whole object serialises to at most SETTINGS_MAX_BYTES. No text anywhere (keys included)
may hold a NUL or a lone surrogate: PostgreSQL's jsonb refuses both, and the request would
end in a 500 instead of this 400. The walk is iterative and stops at the depth limit, so a
deeply nested document cannot exhaust the stack here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SETTINGS_MAX_BYTES = 16 * 1024
SETTINGS_MAX_KEYS = 100
SETTINGS_MAX_DEPTH = 4
SETTINGS_MAX_STRING = 2000
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _bad_text(text: str) -> bool:
    return "\x00" in text or bool(_SURROGATE.search(text))


def _check_value(value: Any, depth: int, stack: list[tuple[Any, int]]) -> None:
    if depth > SETTINGS_MAX_DEPTH:
        raise ValidationError(
            _("Settings may be nested at most %(depth)d levels deep."), params={"depth": SETTINGS_MAX_DEPTH}
        )
    if isinstance(value, str):
        if _bad_text(value):
            raise ValidationError(_("Settings cannot contain NUL characters or unpaired surrogates."))
        if len(value) > SETTINGS_MAX_STRING:
            raise ValidationError(
                _("Each setting text is at most %(max)d characters."), params={"max": SETTINGS_MAX_STRING}
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise ValidationError(
                    _("Setting names are lowercase letters, digits and underscores (at most 64), e.g. call_window.")
                )
            stack.append((item, depth + 1))
    elif isinstance(value, list):
        stack.extend((item, depth + 1) for item in value)
    elif value is not None and not isinstance(value, bool | int | float):
        raise ValidationError(_("Settings hold text, numbers, true/false, null, lists and objects only."))


def validate_account_settings(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_("Settings must be a JSON object."))
    if len(value) > SETTINGS_MAX_KEYS:
        raise ValidationError(_("Settings have at most %(max)d entries."), params={"max": SETTINGS_MAX_KEYS})
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        _check_value(item, depth, stack)
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > SETTINGS_MAX_BYTES:
        raise ValidationError(
            _("Settings are at most %(max)d KB once written as JSON."), params={"max": SETTINGS_MAX_BYTES // 1024}
        )
