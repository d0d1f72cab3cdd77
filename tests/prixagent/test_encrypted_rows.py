"""The encrypted field beyond `accounts`: deferred columns load, rows of one tenant cannot swap
ciphertexts, the row's key exists before the first save, and rotation covers every table."""

from __future__ import annotations

import secrets
import uuid

import pytest
from django.core import checks
from django.db import connection, models
from django.test.utils import isolate_apps

from accounts.models import Account
from prixagent import crypto
from prixagent.crypto import DecryptionError, key_id
from prixagent.fields import EncryptedTextField
from prixagent.keycheck import key_usage
from prixagent.rotation import encryption_key_rotate
from tests.prixagent.sealed.models import WebhookSecret

TABLE = WebhookSecret._meta.db_table


def raw(row: WebhookSecret) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {TABLE} WHERE id = %s", [row.pk])  # noqa: S608
        return cursor.fetchone()[0]


def set_raw(row: WebhookSecret, value: str | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET secret = %s WHERE id = %s", [value, row.pk])  # noqa: S608


def reload(row: WebhookSecret) -> WebhookSecret:
    return WebhookSecret.objects.get(pk=row.pk)


@pytest.fixture
def two_rows(alice_account: Account) -> tuple[WebhookSecret, WebhookSecret]:
    first = WebhookSecret.objects.create(account=alice_account, label="calls", secret="whsec-first-0123456789")
    second = WebhookSecret.objects.create(account=alice_account, label="agents", secret="whsec-second-9876543210")
    return first, second


def test_it_seals_a_new_row_in_the_stored_format(two_rows: tuple[WebhookSecret, WebhookSecret]) -> None:
    first, _second = two_rows
    assert raw(first).startswith(f"pa1:{crypto.get_keyring().primary_id}:")
    assert reload(first).secret == "whsec-first-0123456789"


def test_two_rows_of_one_tenant_cannot_swap_ciphertexts(two_rows: tuple[WebhookSecret, WebhookSecret]) -> None:
    first, second = two_rows
    set_raw(second, raw(first))
    with pytest.raises(DecryptionError, match="failed authentication"):
        reload(second).secret  # noqa: B018
    assert reload(first).secret == "whsec-first-0123456789"


def test_a_row_copied_to_another_tenant_fails(
    two_rows: tuple[WebhookSecret, WebhookSecret], charlie_account: Account
) -> None:
    first, _second = two_rows
    theirs = WebhookSecret.objects.create(account=charlie_account, label="calls", secret="whsec-charlie-000000")
    set_raw(theirs, raw(first))
    with pytest.raises(DecryptionError):
        reload(theirs).secret  # noqa: B018


def test_the_error_names_the_row_never_the_value(two_rows: tuple[WebhookSecret, WebhookSecret]) -> None:
    first, second = two_rows
    set_raw(second, raw(first))
    with pytest.raises(DecryptionError) as info:
        reload(second).secret  # noqa: B018
    assert str(second.pk) in str(info.value) and "whsec" not in str(info.value)


@pytest.mark.parametrize("how", ["only", "defer"])
def test_a_deferred_secret_is_loaded_never_none(two_rows: tuple[WebhookSecret, WebhookSecret], how: str) -> None:
    first, _second = two_rows
    queryset = WebhookSecret.objects.filter(pk=first.pk)
    row = queryset.only("id", "account").get() if how == "only" else queryset.defer("secret").get()
    assert "secret" in row.get_deferred_fields()
    assert row.secret == "whsec-first-0123456789"


@pytest.mark.parametrize("how", ["only", "defer"])
def test_a_deferred_account_secret_is_loaded_never_none(alice_account: Account, how: str) -> None:
    alice_account.twilio_auth_token = "tw-token-deferred-0123456789"
    alice_account.save()
    queryset = Account.objects.filter(pk=alice_account.pk)
    account = queryset.only("id", "name").get() if how == "only" else queryset.defer("twilio_auth_token").get()
    assert account.twilio_auth_token == "tw-token-deferred-0123456789"
    assert account.secret_hint("twilio_auth_token") == "••••6789"
    # Loaded sealed: saving the row afterwards writes back the very same ciphertext.
    before = Account.objects.filter(pk=alice_account.pk).values_list("twilio_auth_token", flat=True).get()
    account.save()
    assert Account.objects.filter(pk=alice_account.pk).values_list("twilio_auth_token", flat=True).get() == before


def test_a_deferred_secret_of_a_deleted_row_raises(two_rows: tuple[WebhookSecret, WebhookSecret]) -> None:
    first, _second = two_rows
    row = WebhookSecret.objects.only("id", "account").get(pk=first.pk)
    WebhookSecret.objects.filter(pk=first.pk).delete()
    with pytest.raises(WebhookSecret.DoesNotExist):
        row.secret  # noqa: B018


@isolate_apps("tests.prixagent.sealed")
def test_it_refuses_a_row_bound_secret_on_a_model_whose_database_assigns_the_key() -> None:
    class AutoKeyed(models.Model):
        account_id = models.UUIDField()
        secret = EncryptedTextField()

        class Meta:
            app_label = "sealed_test"

        def __str__(self) -> str:
            return "test"

    class UuidKeyed(models.Model):
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)
        account_id = models.UUIDField()
        secret = EncryptedTextField()

        class Meta:
            app_label = "sealed_test"

        def __str__(self) -> str:
            return "test"

    def ids(model: type[models.Model]) -> list[str]:
        return [e.id for e in model._meta.get_field("secret").check() if isinstance(e, checks.Error)]

    assert ids(AutoKeyed) == ["prixagent.E003"]
    assert ids(UuidKeyed) == []


def test_rotation_re_encrypts_row_bound_secrets(
    two_rows: tuple[WebhookSecret, WebhookSecret], settings: object
) -> None:
    k1 = settings.ENCRYPTION_KEY
    k2 = secrets.token_bytes(32)
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_RETIRED_KEYS = k2, (k1,)
    before = {row.pk: raw(row) for row in two_rows}
    result = encryption_key_rotate(batch_size=1)
    column = next(c for c in result.columns if c.table == TABLE)
    assert column.rotated == 2 and result.remaining == 0
    assert key_usage() == {key_id(k2): 2}
    for row in two_rows:
        assert raw(row) != before[row.pk] and raw(row).startswith(f"pa1:{key_id(k2)}:")
    assert [reload(r).secret for r in two_rows] == ["whsec-first-0123456789", "whsec-second-9876543210"]
    # Still bound to its row after rotation.
    first, second = two_rows
    set_raw(second, raw(first))
    with pytest.raises(DecryptionError):
        reload(second).secret  # noqa: B018
