"""Which encryption keys the stored secrets use, and refusing to start without one of them.

Retiring a key while rows still reference it would strand those secrets (Vault's
`min_decryption_version` lesson), so start-up (WSGI, `runserver`, `migrate`, `check`) fails
until the key is listed in ENCRYPTION_RETIRED_KEYS again or `rotate_encryption_key` has run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core import checks
from django.db import DatabaseError
from django.db.models import Count, Model
from django.db.models.functions import Substr

from prixagent import crypto
from prixagent.config import ConfigError
from prixagent.fields import EncryptedTextField


def encrypted_fields() -> Iterator[tuple[type[Model], EncryptedTextField]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def key_usage() -> Counter[str]:
    """Stored secrets per key id, over every encrypted column."""
    usage: Counter[str] = Counter()
    for model, field in encrypted_fields():
        # "pa1:" is 4 characters, the key id the next 8 (prixagent.crypto).
        rows = (
            model._base_manager.filter(**{f"{field.name}__isnull": False})
            .annotate(_kid=Substr(field.column, 5, 8))
            .values("_kid")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            usage[row["_kid"]] += row["n"]
    return usage


def missing_keys() -> dict[str, int]:
    keyring = crypto.get_keyring()
    known = {keyring.primary_id, *keyring.retired_ids}
    return {kid: n for kid, n in key_usage().items() if kid not in known}


def _problem() -> str | None:
    try:
        missing = missing_keys()
    except DatabaseError:
        return None  # not migrated yet: nothing can be stored under any key
    if not missing:
        return None
    listing = ", ".join(f"{kid} ({n} secrets)" for kid, n in sorted(missing.items()))
    return (
        f"stored secrets use keys that are no longer configured: {listing}; put the old key back in "
        "ENCRYPTION_RETIRED_KEYS and run `manage.py rotate_encryption_key`"
    )


def require_keys_in_use_are_configured() -> None:
    problem = _problem()
    if problem:
        raise ConfigError("ENCRYPTION_RETIRED_KEYS", problem)


@checks.register(checks.Tags.security)
def check_keys_in_use(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problem = _problem()
    return [checks.Error(f"ENCRYPTION_RETIRED_KEYS: {problem}", id="prixagent.E002")] if problem else []
