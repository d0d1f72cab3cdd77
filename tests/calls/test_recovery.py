"""Never two calls for one attempt: a process killed between Twilio's answer and our write, lost
answers, and Twilio errors, resolved by recovery at Twilio (the sandbox counts the creates)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from agents.models import Agent
from calls import signals
from calls.models import Call
from calls.recovery import call_recover_unknown, calls_refresh_stale, request_over_after
from calls.services import call_place
from contacts.models import Contact
from tests.calls.conftest import ANA, wait_for

KILL_DEADLINE = 30.0  # seconds for the subprocess to start Django and reach Twilio


def creates(sb: Any) -> list[Any]:
    return [r for r in sb.requests("twilio") if r.method == "POST" and r.path.endswith("/Calls.json")]


def later() -> Any:
    return timezone.now() + request_over_after() + timedelta(seconds=1)


def _subprocess_env(sb: Any) -> dict[str, str]:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(
        NODE_ENV="test",
        DATABASE_URL=f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        ENCRYPTION_KEY=settings.ENCRYPTION_KEY.hex(),
        API_URL=settings.API_URL,
        **{f"{name.upper()}_BASE_URL": url for name, url in sb.base_urls.items()},
    )
    return env


@pytest.mark.django_db(transaction=True)  # the subprocess must see the committed rows
def test_a_process_killed_between_twilios_answer_and_our_write_never_dials_twice(
    provider_sandbox: Any, agent: Agent, connected: Account, ana: Contact
) -> None:
    # Twilio creates the call at once but answers only after 30 s: the process is killed while
    # it waits, so our row never learns the call's SID.
    provider_sandbox.twilio.script_calls(to=ANA, outcome="manual", answer_delay=30)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "call_contact", "--account", connected.slug, "--contact", str(ana.pk)]
        + ["--agent", str(agent.pk), "--attempt-key", "campaign:7:ana:1"],
        cwd=settings.BASE_DIR,
        env=_subprocess_env(provider_sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: creates(provider_sandbox), timeout=KILL_DEADLINE, what="the create to reach Twilio")
        row = wait_for(lambda: Call.objects.filter(attempt_key="campaign:7:ana:1").first(), what="the attempt row")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    row.refresh_from_db()
    assert (row.status, row.twilio_call_sid) == ("pending", "") and row.dial_started_at is not None
    [at_twilio] = [c for c in provider_sandbox.twilio.calls.values() if c["to"] == ANA]

    # Asked again for the same attempt (a dialer's retry): the same row, no second dial.
    assert call_place(account=connected, contact=ana, agent=agent, attempt_key="campaign:7:ana:1").pk == row.pk
    assert call_recover_unknown() == {}  # too early: the create might still be running
    assert call_recover_unknown(now=later()) == {"recovered": 1}

    row.refresh_from_db()
    assert (row.twilio_call_sid, row.status) == (at_twilio["sid"], "queued")
    assert len(creates(provider_sandbox)) == 1
    listed = [r for r in provider_sandbox.requests("twilio") if r.method == "GET" and r.path.endswith("/Calls.json")]
    assert {"To", "From"} <= set(listed[0].query) and any("StartTime>" in r.query for r in listed)
    assert call_recover_unknown(now=later()) == {}  # nothing left to recover


def test_a_lost_answer_is_recovered_and_the_call_followed(
    provider_sandbox: Any, agent: Agent, connected: Account, ana: Contact
) -> None:
    # Twilio answers after our client gave up (PROVIDER_TIMEOUT_SECONDS): the outcome is unknown.
    provider_sandbox.twilio.script_calls(to=ANA, outcome="manual", answer_delay=settings.PROVIDER_TIMEOUT_SECONDS + 1)
    call = call_place(account=connected, contact=ana, agent=agent, attempt_key="k1")
    assert (call.status, call.error_code) == ("unknown", "unknown_outcome")
    [at_twilio] = provider_sandbox.twilio.calls.values()
    at_twilio.update(status="completed", duration="17", start_time=at_twilio["date_created"])

    assert call_recover_unknown(now=later()) == {"recovered": 1}
    call.refresh_from_db()
    assert (call.twilio_call_sid, call.status, call.duration_seconds) == (at_twilio["sid"], "completed", 17)
    assert len(creates(provider_sandbox)) == 1


def test_a_call_twilio_never_created_is_not_placed_and_ends(
    provider_sandbox: Any, agent: Agent, connected: Account, ana: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    ended: list[Call] = []
    signals.call_ended.connect(lambda sender, call, **kw: ended.append(call), weak=False, dispatch_uid="t-ended")
    try:
        provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=500, count=1)  # may have been created
        call = call_place(account=connected, contact=ana, agent=agent, attempt_key="k1")
        assert call.status == "unknown" and not ended
        with django_capture_on_commit_callbacks(execute=True):
            assert call_recover_unknown(now=later()) == {"not_placed": 1}
    finally:
        signals.call_ended.disconnect(dispatch_uid="t-ended")
    call.refresh_from_db()
    assert (call.status, call.outcome, call.error_code) == ("not_placed", "not_placed", "not_created")
    assert [c.pk for c in ended] == [call.pk]
    # A new attempt may dial now.
    again = call_place(account=connected, contact=ana, agent=agent, attempt_key="k2")
    assert again.status == "queued" and len(creates(provider_sandbox)) == 2


def test_an_attempt_that_never_asked_twilio_is_not_placed(agent: Agent, connected: Account, ana: Contact) -> None:
    stuck = Call.objects.create(
        account=connected, agent=agent, contact=ana, attempt_key="died-early", to_number=ANA, from_number="+15005550006"
    )
    Call.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert call_recover_unknown() == {"not_placed": 1}
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_code) == ("not_placed", "not_dialed")


def test_a_call_whose_final_callback_never_came_is_settled_from_twilio(
    provider_sandbox: Any, agent: Agent, connected: Account, ana: Contact
) -> None:
    call = call_place(account=connected, contact=ana, agent=agent, attempt_key="k1")  # manual: no callbacks
    provider_sandbox.twilio.calls[call.twilio_call_sid].update(status="completed", duration="65")
    hours = timezone.now() + timedelta(hours=2)
    assert calls_refresh_stale() == {}  # quiet for a while is normal
    assert calls_refresh_stale(now=hours) == {"settled": 1}
    call.refresh_from_db()
    assert (call.status, call.duration_seconds, call.outcome) == ("completed", 65, "answered")
