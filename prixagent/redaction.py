"""Keeping secrets out of text that leaves the process (log lines, error reports).

Two nets: patterns for things that look like credentials (passwords, bearer tokens,
JWTs, ciphertexts, `key=value` pairs with secret-sounding keys), and the exact values of
every tenant secret this process has decrypted, which the encrypted field registers here.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable

REDACTED = "[redacted]"
_MAX_REMEMBERED = 10_000
_MIN_LENGTH = 6  # shorter strings are too common to scrub without mangling logs

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
_secrets: OrderedDict[str, None] = OrderedDict()


def remember_secret(value: str | None) -> None:
    """Register a decrypted secret so that any later log line containing it is scrubbed."""
    if not value or len(value) < _MIN_LENGTH:
        return
    with _lock:
        _secrets[value] = None
        _secrets.move_to_end(value)
        while len(_secrets) > _MAX_REMEMBERED:
            _secrets.popitem(last=False)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`redact`, plus the given secrets (e.g. the credentials a provider error may echo back)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return redact(text)


def redact(text: str) -> str:
    with _lock:
        known = list(_secrets)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    keep = match.groupdict().get("keep") or ""
    return f"{keep}{REDACTED}"
