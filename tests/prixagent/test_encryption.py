"""Secrets at rest: no plaintext in the column, swaps and tampering fail, lookups refused."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from django.db import connection, transaction

from accounts.models import Account
from prixagent import crypto
from prixagent.crypto import DecryptionError, Keyring
from prixagent.fields import Sealed

CANARY = "canary-twilio-token-7f3a9c1e5b"


def raw_column(account: Account, column: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts WHERE id = %s", [account.pk])  # noqa: S608
        return cursor.fetchone()[0]


def set_raw(account: Account, column: str, value: str | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE accounts SET {column} = %s WHERE id = %s", [value, account.pk])  # noqa: S608


def reload(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


@pytest.fixture
def stored(alice_account: Account) -> Account:
    alice_account.twilio_auth_token = CANARY
    alice_account.save()
    return alice_account


def test_it_stores_no_plaintext(stored: Account) -> None:
    raw = raw_column(stored, "twilio_auth_token")
    assert raw.startswith(f"pa1:{crypto.get_keyring().primary_id}:")
    assert CANARY not in raw
    assert CANARY.encode() not in base64.b64decode(raw.split(":")[2])


def test_it_reads_back_the_secret(stored: Account) -> None:
    assert reload(stored).twilio_auth_token == CANARY


def test_it_uses_a_fresh_nonce_per_write(stored: Account) -> None:
    first = raw_column(stored, "twilio_auth_token")
    account = reload(stored)
    account.twilio_auth_token = CANARY
    account.save()
    assert raw_column(stored, "twilio_auth_token") != first


def test_it_refuses_a_value_copied_from_another_account(stored: Account, charlie_account: Account) -> None:
    set_raw(charlie_account, "twilio_auth_token", raw_column(stored, "twilio_auth_token"))
    with pytest.raises(DecryptionError, match="copied from another account or column"):
        reload(charlie_account).twilio_auth_token  # noqa: B018


def test_it_refuses_a_value_copied_into_another_column(stored: Account) -> None:
    set_raw(stored, "calcom_api_key", raw_column(stored, "twilio_auth_token"))
    with pytest.raises(DecryptionError):
        reload(stored).calcom_api_key  # noqa: B018


def test_it_refuses_every_single_byte_change(stored: Account) -> None:
    raw = raw_column(stored, "twilio_auth_token")
    prefix, kid, body = raw.split(":")
    data = bytearray(base64.b64decode(body))
    accepted = 0
    for i in range(len(data)):
        tampered = bytearray(data)
        tampered[i] ^= 0x01
        set_raw(stored, "twilio_auth_token", f"{prefix}:{kid}:{base64.b64encode(bytes(tampered)).decode()}")
        try:
            reload(stored).twilio_auth_token  # noqa: B018
            accepted += 1
        except DecryptionError:
            pass
    assert accepted == 0


@pytest.mark.parametrize("value", ["plaintext-token", "pa1:deadbeef:AAAA", "pa1:xx:YWJj", "pa1:0123abcd:!!notbase64!!"])
def test_it_never_falls_back_to_the_stored_text(stored: Account, value: str) -> None:
    set_raw(stored, "twilio_auth_token", value)
    with pytest.raises(DecryptionError) as info:
        reload(stored).twilio_auth_token  # noqa: B018
    assert value not in str(info.value)


def test_it_keeps_the_secret_out_of_errors_and_repr(stored: Account, charlie_account: Account) -> None:
    set_raw(charlie_account, "twilio_auth_token", raw_column(stored, "twilio_auth_token"))
    account = reload(charlie_account)
    with pytest.raises(DecryptionError) as info:
        account.twilio_auth_token  # noqa: B018
    assert CANARY not in str(info.value)
    assert CANARY not in repr(reload(stored))
    assert CANARY not in repr(reload(stored).__dict__)
    assert CANARY not in repr(Account.objects.filter(pk=stored.pk).values().first())


def test_it_decrypts_with_a_retired_key(stored: Account, settings: object) -> None:
    old = settings.ENCRYPTION_KEY
    settings.ENCRYPTION_KEY = os.urandom(32)
    settings.ENCRYPTION_RETIRED_KEYS = (old,)
    assert reload(stored).twilio_auth_token == CANARY


def test_it_names_the_missing_key_when_it_is_not_configured(stored: Account, settings: object) -> None:
    kid = crypto.get_keyring().primary_id
    settings.ENCRYPTION_KEY = os.urandom(32)
    settings.ENCRYPTION_RETIRED_KEYS = ()
    with pytest.raises(DecryptionError, match=kid):
        reload(stored).twilio_auth_token  # noqa: B018


def test_it_refuses_lookups_other_than_isnull(stored: Account) -> None:
    assert Account.objects.filter(twilio_auth_token__isnull=False).count() == 1
    with pytest.raises(TypeError, match="encrypted"):
        Account.objects.filter(twilio_auth_token=CANARY).count()
    with pytest.raises(TypeError, match="encrypted"):
        Account.objects.filter(twilio_auth_token__startswith="c").count()


def test_it_refuses_writing_plaintext_through_update(stored: Account) -> None:
    with pytest.raises(TypeError), transaction.atomic():
        Account.objects.filter(pk=stored.pk).update(twilio_auth_token=CANARY)
    assert CANARY not in raw_column(stored, "twilio_auth_token")


def test_it_wipes_the_column_when_set_to_empty(stored: Account) -> None:
    stored.twilio_auth_token = ""
    stored.save()
    assert raw_column(stored, "twilio_auth_token") is None
    assert reload(stored).twilio_auth_token is None


def test_it_masks_hints(stored: Account) -> None:
    assert reload(stored).secret_hint("twilio_auth_token") == "••••" + CANARY[-4:]
    assert crypto.mask("short") == "••••"
    assert crypto.mask(None) == ""


def test_a_hint_of_an_unreadable_secret_says_so(stored: Account, charlie_account: Account) -> None:
    set_raw(charlie_account, "twilio_auth_token", raw_column(stored, "twilio_auth_token"))
    assert reload(charlie_account).secret_hint("twilio_auth_token") == "unreadable"


def test_sealed_repr_shows_only_the_key_id() -> None:
    keyring = Keyring(primary=os.urandom(32))
    sealed = Sealed(keyring.encrypt(CANARY, b"aad"))
    assert repr(sealed) == f"<Sealed {keyring.primary_id}>"


def test_keyring_binds_associated_data() -> None:
    keyring = Keyring(primary=os.urandom(32))
    aad = crypto.associated_data("accounts", "ghl_api_key", uuid.uuid4())
    stored = keyring.encrypt("secret-value", aad)
    assert keyring.decrypt(stored, aad) == "secret-value"
    with pytest.raises(DecryptionError):
        keyring.decrypt(stored, crypto.associated_data("accounts", "ghl_api_key", uuid.uuid4()))


def test_startup_refuses_to_drop_a_key_that_rows_still_use(stored: Account, settings: object) -> None:
    from prixagent.config import ConfigError
    from prixagent.keycheck import check_keys_in_use, key_usage, require_keys_in_use_are_configured

    old_kid = crypto.get_keyring().primary_id
    assert key_usage() == {old_kid: 1}
    settings.ENCRYPTION_KEY = os.urandom(32)
    settings.ENCRYPTION_RETIRED_KEYS = ()
    with pytest.raises(ConfigError, match=f"{old_kid} \\(1 secrets\\)"):
        require_keys_in_use_are_configured()
    assert [e.id for e in check_keys_in_use()] == ["prixagent.E002"]
    settings.ENCRYPTION_RETIRED_KEYS = (bytes.fromhex("00" * 16) + os.urandom(16),)
    with pytest.raises(ConfigError):
        require_keys_in_use_are_configured()
