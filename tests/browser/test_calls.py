"""A call from the contact page in a real Chromium: "Call now", the call page refreshing itself when
a live event arrives (static/js/calls.js), zero CSP violations, and a phone-width layout."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from agents.models import Agent
from calls.models import Call
from contacts.models import Contact
from tests.browser.test_csp import RECORD_VIOLATIONS, violations
from tests.browser.test_integrations import log_in
from tests.calls.conftest import (  # noqa: F401 - the calls tests' fixtures, used here too
    ANA,
    ana,
    call_settles,
    connected,
    live_agent,
    live_api,
    played,
    twilio_creds,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_call_now_and_watch_the_call_arrive(
    page: Any,
    provider_sandbox: Any,
    alice: User,
    live_agent: Agent,  # noqa: F811 - the fixture imported above
    ana: Contact,  # noqa: F811
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    provider_sandbox.twilio.script_calls(to=ANA, outcome="answered", conversation={"scenario": "book"}, delay=0)
    log_in(page, alice)
    page.goto(f"/app/contacts/{ana.pk}/")
    page.get_by_role("button", name="Call now").click()
    page.wait_for_url("**/app/calls/*/")
    call = Call.objects.get()
    assert page.locator(".call-status").first.is_visible()

    call = call_settles(call)
    played(provider_sandbox, call.twilio_call_sid)
    assert page.locator(".call-transcript").count() == 0  # the page has not been reloaded
    # What realtime.js does when the account's socket hears the call change: the page's live
    # part is fetched and swapped in, without a reload.
    page.evaluate(
        "id => document.dispatchEvent(new CustomEvent('prix:event', "
        "{detail: {type: 'call.updated', data: {id: id, status: 'completed'}}}))",
        str(call.pk),
    )
    page.locator(".call-transcript").wait_for()
    assert page.locator(".call-outcome--booked").is_visible()
    assert "Ana" in page.locator(".conversation").inner_text()
    assert violations(page, console) == []

    page.set_viewport_size({"width": 390, "height": 844})
    for url in (f"/app/calls/{call.pk}/", "/app/calls/"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    assert violations(page, console) == []
