"""`EncryptedTextField`: a model field whose column only ever holds ciphertext.

The field only formats and delegates; the cryptography lives in `prixagent.crypto`.
How a value moves:

- From the database it arrives as a `Sealed` ciphertext holder (`from_db_value` has no
  model instance, so it cannot know the associated data yet).
- Reading the attribute decrypts it with the associated data of *this* row
  (table, column, tenant id, and the row's own id on every table but `accounts`, where the
  row *is* the tenant). Plaintext exists only when code reads the attribute.
- A column left out by `.only()` / `.defer()` is loaded (still sealed) on first read, like
  Django's own deferred fields: it never reads as `None` ("not configured") by accident.
- Assigning a string stores plaintext on the instance; `pre_save` seals it with the
  current key just before it is written.
- Queryset `update()`/`bulk_update()` with a plain string is refused: there is no row to
  bind the value to, and writing plaintext into the column must be impossible.

Lookups other than `isnull` are refused, and so are `unique`/`db_index`: equal plaintexts
never produce equal ciphertexts, so such queries would be silently wrong.

Binding the row: two rows of one tenant (two webhook secrets, two per-call tokens) must not be
able to swap ciphertexts, so the associated data names the row's primary key. The key must
exist before the first INSERT, when `pre_save` seals the value: models with such a field have a
primary key assigned in Python (`UUIDField(default=uuid.uuid4)`); the system check
prixagent.E003 refuses the field on a model whose key the database assigns.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import models

from prixagent import crypto, redaction


class Sealed:
    """A ciphertext as stored. Its repr shows the key id, never the data."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        try:
            return f"<Sealed {crypto.stored_key_id(self.ciphertext)}>"
        except crypto.DecryptionError:
            return "<Sealed malformed>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)


class _SecretDescriptor:
    def __init__(self, field: EncryptedTextField) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type) -> Any:
        if instance is None:
            return self
        if self.field.attname not in instance.__dict__:
            # Deferred by .only()/.defer(): load the ciphertext now, never answer None for it.
            instance.__dict__[self.field.attname] = self.field.load_sealed(instance)
        value = instance.__dict__[self.field.attname]
        if isinstance(value, Sealed):
            try:
                plain = crypto.get_keyring().decrypt(value.ciphertext, self.field.aad_for(instance))
            except crypto.DecryptionError as exc:
                # Name the column and tenant only on failure: formatting them costs every read.
                raise crypto.DecryptionError(f"{self.field.where(instance)}: {exc}") from None
            redaction.remember_secret(plain, slot=self.field.slot(instance))
            return plain
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        if value == "":
            value = None
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Text encrypted with AES-256-GCM, bound to its table, column and tenant.

    `tenant_attr` names the instance attribute holding the tenant id ("account_id" on
    tenant-owned models, "pk" on the Account itself). Unless the row is the tenant itself, the
    row's primary key is bound too.
    """

    def __init__(self, *args: Any, tenant_attr: str = "account_id", **kwargs: Any) -> None:
        self.tenant_attr = tenant_attr
        self.binds_row = tenant_attr != "pk"
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs["editable"] = False  # never in a ModelForm or the admin's change form
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        if self.tenant_attr != "account_id":
            kwargs["tenant_attr"] = self.tenant_attr
        return name, path, args, kwargs

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if self.unique or self.db_index:
            errors.append(
                checks.Error(
                    "EncryptedTextField cannot be unique or indexed: ciphertexts of equal values differ.",
                    obj=self,
                    id="prixagent.E001",
                )
            )
        if self.binds_row and not self._pk_assigned_in_python():
            errors.append(
                checks.Error(
                    "EncryptedTextField binds the row's primary key, which must exist before the first save.",
                    hint="Give the model `id = models.UUIDField(primary_key=True, default=uuid.uuid4)`.",
                    obj=self,
                    id="prixagent.E003",
                )
            )
        return errors

    def _pk_assigned_in_python(self) -> bool:
        pk = self.model._meta.pk
        return pk is not None and pk.has_default() and not pk.has_db_default()

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.attname, _SecretDescriptor(self))

    def aad_for(self, instance: models.Model) -> bytes:
        tenant_id = getattr(instance, self.tenant_attr)
        if tenant_id is None:
            raise crypto.DecryptionError(f"{self.where(instance)} has no tenant to bind the secret to")
        if not self.binds_row:
            return crypto.associated_data(self.model._meta.db_table, self.column, tenant_id)
        if instance.pk is None:
            raise crypto.DecryptionError(f"{self.where(instance)} has no primary key to bind the secret to")
        return crypto.associated_data(self.model._meta.db_table, self.column, tenant_id, row_id=instance.pk)

    def where(self, instance: models.Model) -> str:
        where = f"{self.model._meta.db_table}.{self.column} of {getattr(instance, self.tenant_attr, '?')}"
        return f"{where} row {instance.pk}" if self.binds_row else where

    def slot(self, instance: models.Model) -> tuple[str, str, str]:
        """Where a value lives, for the log scrubber: one entry per stored secret, never more."""
        return (self.model._meta.db_table, self.column, str(instance.pk))

    def load_sealed(self, instance: models.Model) -> Sealed | None:
        """The stored ciphertext of a column that `.only()` / `.defer()` left out."""
        if instance.pk is None or instance._state.adding:
            raise AttributeError(f"{self.name} was never set on this unsaved {type(instance).__name__}")
        manager = type(instance)._base_manager.db_manager(instance._state.db)
        return manager.filter(pk=instance.pk).values_list(self.attname, flat=True).get()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Sealed | None:
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Sealed):
            return value
        if not isinstance(value, str):
            raise TypeError(f"{self.name} holds text, not {type(value).__name__}")
        sealed = Sealed(crypto.get_keyring().encrypt(value, self.aad_for(model_instance)))
        model_instance.__dict__[self.attname] = sealed  # plaintext does not outlive the save
        # Stored now: scrub it from logs (prixagent.redaction says why only stored values).
        redaction.remember_secret(value, slot=self.slot(model_instance))
        return sealed

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.ciphertext
        raise TypeError(
            f"{self.name} is encrypted: assign the value to a model instance and save() it; "
            "queryset update() and lookups on it are not supported"
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise TypeError(f"{self.name} is encrypted: only the isnull lookup is supported")
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise TypeError(f"{self.name} is encrypted: transforms are not supported")

    def value_to_string(self, obj: models.Model) -> str:
        value = obj.__dict__.get(self.attname)
        return value.ciphertext if isinstance(value, Sealed) else ""
