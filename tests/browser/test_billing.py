"""Subscribing in a real Chromium: the billing page under the strict CSP, the redirect to
PayPal's approval page (the sandbox's), approval, and back with the plan active."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.billing.conftest import paypal, plans, synced  # noqa: F401 - fixtures
from tests.browser.test_csp import violations, watched  # noqa: F401 - fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_subscribes_through_paypals_approval_page(watched, synced, alice: User) -> None:  # noqa: F811
    page, console = watched
    page.goto("/app/login/")
    page.get_by_label("Email", exact=True).fill(alice.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/app/")
    page.goto("/app/billing/")
    assert page.locator(".billing-chart svg rect").count() >= 28
    assert violations(page, console) == []
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator(".plan-card", has_text="Starter").get_by_role("button", name="Subscribe with PayPal").click()
    page.wait_for_url("**/webapps/billing/subscriptions?ba_token=*")  # the meta refresh forwarded us
    page.get_by_role("button", name="Agree & Subscribe").click()
    page.wait_for_url("**/app/billing/")
    assert page.get_by_text("Your Starter subscription is active.").is_visible()
    alice.account.refresh_from_db()
    assert (alice.account.subscription_plan, alice.account.subscription_status) == ("starter", "active")
    assert violations(page, console) == []
