"""Re-encrypting every stored secret under the current ENCRYPTION_KEY.

The procedure (README, "Rotating the encryption key"): put a new ENCRYPTION_KEY in `.env`, list
the old one in ENCRYPTION_RETIRED_KEYS, restart, run `manage.py rotate_encryption_key`, then drop
the old key. Start-up refuses to drop it while any row still uses it (prixagent.keycheck).

Safe to interrupt and run again: each batch is one transaction that locks its rows with
`SELECT … FOR UPDATE SKIP LOCKED`, re-reads the plaintext and saves it back, so `pre_save` seals
it with the primary key. Rows already on the primary key are never selected, so a rerun only
touches what is left, and a run over a fully rotated database changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.db import transaction
from django.db.models import Model, QuerySet
from django.db.models.functions import Substr

from prixagent import crypto
from prixagent.errors import ApplicationError
from prixagent.fields import EncryptedTextField
from prixagent.keycheck import encrypted_fields, key_usage


@dataclass
class ColumnResult:
    table: str
    column: str
    rotated: int = 0
    pks: set[object] = dataclass_field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass
class RotationResult:
    primary_id: str
    columns: list[ColumnResult]
    remaining: int  # secrets still sealed with a key other than the primary

    @property
    def secrets(self) -> int:
        return sum(c.rotated for c in self.columns)

    @property
    def rows(self) -> int:
        return len({(c.table, pk) for c in self.columns for pk in c.pks})


def _stale(model: type[Model], field: EncryptedTextField, primary_id: str) -> QuerySet[Model]:
    # "pa1:" is 4 characters, the key id the next 8 (prixagent.crypto).
    return (
        model._base_manager.filter(**{f"{field.name}__isnull": False})
        .annotate(_kid=Substr(field.name, 5, 8))
        .exclude(_kid=primary_id)
    )


def _rotate_batch(model: type[Model], field: EncryptedTextField, primary_id: str, size: int) -> list[object]:
    with transaction.atomic():
        rows = list(_stale(model, field, primary_id).select_for_update(skip_locked=True).order_by("pk")[:size])
        for row in rows:
            # Reading decrypts (any configured key); assigning plaintext back makes
            # pre_save seal it again with the primary key.
            setattr(row, field.attname, getattr(row, field.attname))
            row.save(update_fields=[field.name])
    return [row.pk for row in rows]


def rotate_column(
    model: type[Model],
    field: EncryptedTextField,
    *,
    batch_size: int,
    budget: int | None = None,
    on_batch: Callable[[ColumnResult], None] | None = None,
) -> ColumnResult:
    """Re-encrypt one column batch by batch; at most `budget` secrets when given."""
    primary_id = crypto.get_keyring().primary_id
    result = ColumnResult(table=model._meta.db_table, column=field.column)
    while budget is None or result.rotated < budget:
        size = batch_size if budget is None else min(batch_size, budget - result.rotated)
        pks = _rotate_batch(model, field, primary_id, size)
        if not pks:
            break  # done, or every remaining row is locked by someone else right now
        result.rotated += len(pks)
        result.pks.update(pks)
        if on_batch is not None:
            on_batch(result)
    return result


def encryption_key_rotate(
    *,
    batch_size: int = 200,
    limit: int | None = None,
    on_batch: Callable[[ColumnResult], None] | None = None,
) -> RotationResult:
    """Re-encrypt every secret in every EncryptedTextField under the primary key.

    `limit` caps the number of secrets re-encrypted in this run (to spread the work over
    quiet hours); a later run carries on where this one stopped.
    """
    if batch_size < 1 or (limit is not None and limit < 0):
        raise ApplicationError("--batch-size must be at least 1 and --limit at least 0")
    keyring = crypto.get_keyring()
    columns: list[ColumnResult] = []
    budget = limit
    for model, field in encrypted_fields():
        if budget is not None and budget <= 0:
            columns.append(ColumnResult(table=model._meta.db_table, column=field.column))
            continue
        result = rotate_column(model, field, batch_size=batch_size, budget=budget, on_batch=on_batch)
        columns.append(result)
        if budget is not None:
            budget -= result.rotated
    remaining = sum(n for kid, n in key_usage().items() if kid != keyring.primary_id)
    return RotationResult(primary_id=keyring.primary_id, columns=columns, remaining=remaining)
