"""The log scrubber: only stored or decrypted secrets are registered, no tenant can evict
another tenant's, and ordinary words in requests never make the log unreadable."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from prixagent import redaction
from prixagent.logging import RedactSecretsFilter
from tests.integrations.integration_helpers import connect_payload


def logged(message: str, *args: object) -> str:
    record = logging.LogRecord("prixagent.test", logging.INFO, __file__, 1, message, args, None)
    RedactSecretsFilter().filter(record)
    return record.getMessage()


def test_credentials_a_provider_rejects_are_never_registered(alice_api: APIClient, provider_sandbox: Any) -> None:
    # Secret-shaped, well-formed, and wrong: the provider says no.
    bogus = "sk_this_looks_like_a_key_but_is_wrong"
    r = alice_api.put("/api/v1/integrations/elevenlabs/", {"api_key": bogus}, format="json")
    assert r.status_code == 400
    assert bogus in logged("user typed %s in a support chat", bogus)


def test_request_input_cannot_blank_words_from_every_log_line(alice_api: APIClient, provider_sandbox: Any) -> None:
    before = redaction.known_secret_count()
    payload = {"account_sid": "login failed", "auth_token": "login failed"}
    assert alice_api.put("/api/v1/integrations/twilio/", payload, format="json").status_code == 400
    assert logged("login failed: email=%r via=api", "x@example.com").startswith("login failed")
    assert redaction.known_secret_count() == before


def test_stored_and_decrypted_secrets_are_scrubbed(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    payload = connect_payload(provider_sandbox, "calcom")
    assert alice_api.put("/api/v1/integrations/calcom/", payload, format="json").status_code == 200
    assert payload["api_key"] not in logged("provider said: bad key %s!", payload["api_key"])
    # Another process (a worker) knows it only once it decrypts it.
    redaction._slots.clear(), redaction._counts.clear(), redaction._by_prefix.clear()
    assert payload["api_key"] in logged("%s", payload["api_key"])
    assert Account.objects.get(pk=alice_account.pk).calcom_api_key == payload["api_key"]
    assert payload["api_key"] not in logged("%s", payload["api_key"])


def test_no_tenant_can_evict_another_tenants_secrets(alice_account: Account, charlie_account: Account) -> None:
    alice_key = "alice-stored-key-" + secrets.token_hex(8)
    alice_account.elevenlabs_api_key = alice_key
    alice_account.save()
    before = redaction.known_secret_count()
    field = Account._meta.get_field("elevenlabs_api_key")
    for n in range(20_000):  # far past the 10,000 entries the old bounded cache kept
        charlie_account.elevenlabs_api_key = f"charlie-key-{n:08d}-{secrets.token_hex(4)}"
        field.pre_save(charlie_account, add=False)
    assert redaction.known_secret_count() <= before + 1  # charlie only ever replaces his own slot
    assert alice_key not in logged("leaked %s", alice_key)


def test_replacing_a_secret_forgets_the_old_value_and_keeps_the_new() -> None:
    redaction.remember_secret("first-value-0123456789", slot=("t", "c", "row-1"))
    redaction.remember_secret("second-value-0123456789", slot=("t", "c", "row-1"))
    assert logged("%s %s", "first-value-0123456789", "second-value-0123456789") == ("first-value-0123456789 [redacted]")


@pytest.mark.parametrize("value", ["short", "has a space inside", "tab\tinside-value", "", None])
def test_values_that_are_not_secret_shaped_are_ignored(value: str | None) -> None:
    before = redaction.known_secret_count()
    redaction.remember_secret(value, slot=("t", "c", "shape"))
    assert redaction.known_secret_count() == before


def test_it_finds_every_secret_among_many_with_shared_prefixes() -> None:
    values = [f"sharedpfx-{n:05d}-{secrets.token_hex(6)}" for n in range(5_000)]
    for n, value in enumerate(values):
        redaction.remember_secret(value, slot=("t", "many", n))
    text = f"a={values[17]} b={values[4_321]} c=sharedpfx-none d={values[17]}xyz"
    assert logged("%s", text) == "a=[redacted] b=[redacted] c=sharedpfx-none d=[redacted]xyz"
