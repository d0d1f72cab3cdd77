"""Connect, fail, fix and disconnect Twilio in a real Chromium, against the provider sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account, User
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, user: User) -> None:
    page.goto("/app/login/")
    page.get_by_label("Email", exact=True).fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/app/")


def test_it_connects_and_disconnects_twilio(page: Any, alice: User, provider_sandbox: Any) -> None:
    creds = provider_sandbox.twilio.create_account(numbers=["+15005550006"])
    log_in(page, alice)
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.wait_for_url("**/app/integrations/")
    twilio = page.locator("#twilio")

    twilio.get_by_label("Account SID").fill(creds["account_sid"])
    twilio.get_by_label("Auth token").fill("0" * 32)
    twilio.get_by_role("button", name="Validate and save Twilio").click()
    assert page.locator("#twilio").get_by_text("Invalid Twilio credentials").first.is_visible()
    assert not Account.objects.get(pk=alice.account_id).twilio_configured

    twilio = page.locator("#twilio")
    twilio.get_by_label("Account SID").fill(creds["account_sid"])
    twilio.get_by_label("Auth token").fill(creds["auth_token"])
    twilio.get_by_role("button", name="Validate and save Twilio").click()
    page.wait_for_url("**/app/integrations/#twilio")
    assert page.get_by_text("Twilio is connected.").is_visible()
    card = page.locator("#twilio")
    assert "Connected" in card.inner_text()
    assert "••••" + creds["auth_token"][-4:] in card.inner_text()
    assert "+15005550006" in card.inner_text()
    assert creds["auth_token"] not in page.content()

    card.get_by_role("button", name="Disconnect").click()
    assert page.get_by_text("Twilio is disconnected.").is_visible()
    assert not Account.objects.get(pk=alice.account_id).twilio_configured
