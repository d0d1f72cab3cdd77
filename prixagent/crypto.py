"""Encryption of tenant secrets at rest: AES-256-GCM with a keyring.

Stored format: ``pa1:<kid>:<base64(nonce12 || ciphertext || tag16)>``

- ``kid`` is the first 8 hex characters of SHA-256 of the key, so a value always says which
  key sealed it and decryption never guesses (HashiCorp Vault's ``vault:v1:`` idea).
- Every encryption draws a fresh 96-bit nonce (NIST SP 800-38D, what every reference uses).
- The associated data names what the value is *for* (table, column, tenant). It is not
  stored; the reader supplies it again, so a ciphertext copied into another tenant's row or
  another column fails authentication instead of silently decrypting (Tink's guidance).

Decryption fails closed: it raises `DecryptionError` and never returns the stored text.
Error messages never include the value, only where it lives and which key it names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pa1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored secret could not be decrypted. The message never contains the value."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def associated_data(table: str, column: str, tenant_id: object, row_id: object = None) -> bytes:
    """What a value is for. `row_id` binds one row (every table but `accounts`, whose row is the
    tenant), so two rows of the same tenant cannot swap their ciphertexts either."""
    if row_id is None:
        return f"{PREFIX}|{table}|{column}|{tenant_id}".encode()
    return f"{PREFIX}|{table}|{column}|{tenant_id}|{row_id}".encode()


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts and decrypts) and retired keys (decrypt only)."""

    primary: bytes
    retired: tuple[bytes, ...] = ()
    # key id -> cipher, built once: hashing keys and building AESGCM per call is most of the cost.
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in (self.primary, *self.retired):
            if len(key) != 32:
                raise ValueError("AES-256 keys are 32 bytes")
        object.__setattr__(self, "_ciphers", {key_id(k): AESGCM(k) for k in (*self.retired, self.primary)})

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary_id}, retired={list(self.retired_ids)})"

    @property
    def primary_id(self) -> str:
        return next(reversed(self._ciphers))  # the primary is inserted last

    @property
    def retired_ids(self) -> tuple[str, ...]:
        return tuple(key_id(k) for k in self.retired)

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        kid = self.primary_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(nonce, plaintext.encode(), aad)
        return f"{PREFIX}:{kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, aad: bytes, where: str = "the value") -> str:
        prefix, kid, body = parse(stored, where)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptionError(
                f"{where} is sealed with key {kid}, which is not configured "
                "(add the old key to ENCRYPTION_RETIRED_KEYS)"
            )
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError(f"{where} is not valid ciphertext (bad encoding)") from None
        if len(raw) < NONCE_BYTES + 16:
            raise DecryptionError(f"{where} is not valid ciphertext (too short)")
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionError(
                f"{where} failed authentication: it was altered, or copied from another account or column"
            ) from None
        return plain.decode()


def parse(stored: str, where: str = "the value") -> tuple[str, str, str]:
    """Split a stored value into (prefix, kid, body) or raise `DecryptionError`."""
    parts = stored.split(":") if isinstance(stored, str) else []
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 8:
        raise DecryptionError(f"{where} is not in the pa1:<kid>:<data> format")
    return parts[0], parts[1], parts[2]


def stored_key_id(stored: str) -> str:
    return parse(stored)[1]


def mask(secret: str | None) -> str:
    """What a UI may show of a secret: its last 4 characters, and only if it is long."""
    if not secret:
        return ""
    return "••••" + (secret[-4:] if len(secret) >= 12 else "")


_keyring: Keyring | None = None


def get_keyring() -> Keyring:
    """The process keyring, built from settings (``ENCRYPTION_KEY`` + retired keys)."""
    global _keyring
    from django.conf import settings

    wanted = (settings.ENCRYPTION_KEY, tuple(settings.ENCRYPTION_RETIRED_KEYS))
    if _keyring is None or (_keyring.primary, _keyring.retired) != wanted:
        _keyring = Keyring(primary=wanted[0], retired=wanted[1])
    return _keyring
