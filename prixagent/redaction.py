"""Keeping secrets out of text that leaves the process (log lines, error reports).

Two nets: patterns for things that look like credentials (passwords, bearer tokens,
JWTs, ciphertexts, `key=value` pairs with secret-sounding keys), and the exact values of
the tenant secrets this process has stored or decrypted, which the encrypted field registers
here (`prixagent.fields`).

Who can put a value in the second net matters: whatever is in it is blanked from *every* log
line of *every* tenant, the security log included. So:

- Only the encrypted field registers values, when it seals one on save (after the provider
  accepted it: `integrations.services` validates before it stores) or decrypts one. Request
  input never gets here, so a tenant submitting `account_sid="login failed"` changes nothing.
- Values are kept per storage slot (table, column, tenant, row), not in a bounded cache: a
  slot holds the value last stored or read there, a new value replaces its slot's old one.
  The registry therefore never holds more than the number of secret slots in the database,
  and no tenant can evict another tenant's secrets by sending many: a tenant only ever
  replaces its own slots. (A bounded LRU keyed by value, which this replaced, could be
  flushed of real secrets by a few thousand connect attempts.)
- Only secret-shaped values are kept (8+ characters, no whitespace): real keys and tokens
  always are, while ordinary words would blank ordinary log text.

Scanning a line does not cost one substring search per known secret: secrets are indexed by
their first 8 characters, and a line is cut into its 8-character windows once, so the cost
grows with the line's length, not with the number of tenants.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Hashable, Iterable

REDACTED = "[redacted]"
WINDOW = 8  # also the shortest value kept: shorter strings are too common to scrub
_WHITESPACE = re.compile(r"\s")

# Each pattern may name a `keep` group: the text kept in front of the redaction.
_PATTERNS = [
    re.compile(r"(?i)(?P<keep>authorization\s*[:=]\s*)(?:bearer\s+|basic\s+|token\s+)?[^\s,'\"}]+"),
    re.compile(r"(?i)(?P<keep>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bpa1:[0-9a-f]{8}:[A-Za-z0-9+/=]+"),
    re.compile(
        r"(?i)(?P<keep>[\"']?[a-z_]*(?:password|passwd|secret|token|api[_-]?key)[a-z_]*[\"']?"
        r"\s*[:=]\s*[\"']?)[^\s,'\"&}]+"
    ),
]

_lock = threading.Lock()
_slots: dict[Hashable, str] = {}  # storage slot -> the value last stored or read there
_counts: Counter[str] = Counter()  # value -> how many slots hold it
# First WINDOW characters -> the values starting with them. Tuples, replaced on write, so a
# reader in another thread never sees one change under it.
_by_prefix: dict[str, tuple[str, ...]] = {}


def is_secret_shaped(value: str | None) -> bool:
    return bool(value) and len(value) >= WINDOW and not _WHITESPACE.search(value)


def remember_secret(value: str | None, *, slot: Hashable | None = None) -> None:
    """Scrub `value` from every later log line; it is what `slot` (table, column, tenant, row)
    holds now. Without a slot the value is its own slot (platform code, never request input)."""
    if not is_secret_shaped(value):
        return
    slot = ("value", value) if slot is None else slot
    if _slots.get(slot) == value:
        return  # the common case, every read of a stored secret: nothing changes
    with _lock:
        old = _slots.get(slot)
        if old == value:
            return
        _slots[slot] = value
        _add(value)
        if old is not None:
            _drop(old)


def _add(value: str) -> None:
    _counts[value] += 1
    if _counts[value] == 1:
        prefix = value[:WINDOW]
        _by_prefix[prefix] = (*_by_prefix.get(prefix, ()), value)


def _drop(value: str) -> None:
    _counts[value] -= 1
    if _counts[value] > 0:
        return
    del _counts[value]
    prefix = value[:WINDOW]
    rest = tuple(v for v in _by_prefix.get(prefix, ()) if v != value)
    if rest:
        _by_prefix[prefix] = rest
    else:
        _by_prefix.pop(prefix, None)


def known_secret_count() -> int:
    return len(_counts)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`redact`, plus the given secrets (e.g. the credentials a provider error may echo back)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return redact(text)


def _known_in(text: str) -> list[str]:
    if not _by_prefix or len(text) < WINDOW:
        return []
    windows = {text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)}
    found = [value for prefix in windows & _by_prefix.keys() for value in _by_prefix.get(prefix, ())]
    return sorted((value for value in found if value in text), key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _known_in(text):
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    keep = match.groupdict().get("keep") or ""
    return f"{keep}{REDACTED}"
