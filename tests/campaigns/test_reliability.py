"""The dialer under real Celery workers (separate processes on the real broker and database):
four workers sharing one campaign, workers killed with SIGKILL, a Twilio that fails or hangs on
30% of requests, and a pause in the middle of a burst. Bounded in time: every wait has a deadline.

"Dialled" means Twilio created the call (the sandbox answered the create with 201): that is what
a person's phone would see, and it must happen at most once per contact and attempt.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from agents.models import Agent
from calls import recovery
from calls.models import Call
from campaigns import dialer, services
from campaigns.models import MEMBER_TERMINAL, Campaign, CampaignContact
from prixagent import settings as platform_settings
from prixagent.celery import app as celery_app
from tests.campaigns.conftest import ALL_DAY, all_terminal, make_contacts, new_campaign

ROOT = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT = platform_settings.PROVIDER_TIMEOUT_SECONDS  # the workers' provider timeout
pytestmark = pytest.mark.django_db(transaction=True)


def placed(sandbox: Any) -> list[Any]:
    return [
        r
        for r in sandbox.requests("twilio")
        if r.method == "POST" and r.path.endswith("/Calls.json") and r.status == 201
    ]


def worker_env(sandbox: Any) -> dict[str, str]:
    db = connection.settings_dict
    key = settings.ENCRYPTION_KEY
    env = {
        **os.environ,
        "NODE_ENV": "test",
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "PRIXAGENT_CELERY_EAGER": "0",
        "API_URL": settings.API_URL,
        "SESSION_SECRET": settings.SECRET_KEY,
        "JWT_SECRET": settings.SIMPLE_JWT["SIGNING_KEY"],
        "JWT_REFRESH_SECRET": settings.JWT_REFRESH_SECRET,
        "ENCRYPTION_KEY": key.hex() if isinstance(key, bytes) else str(key),
        "LOG_LEVEL": "warning",
    }
    for name, url in sandbox.base_urls.items():
        env[f"{name.upper()}_BASE_URL"] = url
    return env


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, n: int = 1) -> None:
        for _ in range(n):
            command = [sys.executable, "-m", "celery", "-A", "prixagent.worker", "worker", "--pool", "solo"]
            command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
            self.running.append(
                subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def kill_one(self) -> None:
        victim = self.running.pop(random.randrange(len(self.running)))
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.wait(10)
        self.running.clear()


@pytest.fixture
def workers(provider_sandbox: Any, live_api: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workers]:
    celery_app.control.purge()  # nothing left over from another test
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # this process sends tasks, the workers run them
    settings.CAMPAIGNS_DIAL_LEASE_SECONDS = 3
    # The recovery sweeps run here, after the workers stop making progress; they may decide sooner
    # than in production (the sandbox answers in milliseconds).
    monkeypatch.setattr(recovery, "NEVER_DIALED_AFTER", timedelta(seconds=2))
    monkeypatch.setattr(recovery, "request_over_after", lambda: timedelta(seconds=2))
    pool = Workers(worker_env(provider_sandbox))
    yield pool
    pool.stop()
    celery_app.conf.task_always_eager = previous
    celery_app.control.purge()


def tick_until(predicate: Any, *, timeout: float, what: str, recover: bool = False) -> None:
    """Play beat: tick every 0.2 s (and sweep, when `recover`) until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        dialer.campaigns_tick()
        if recover:
            recovery.call_recover_unknown()
            dialer.campaigns_recover()
        time.sleep(0.2)


def assert_each_dialled_at_most_once(sandbox: Any, campaign: Campaign, *, exactly: bool = True) -> None:
    counts = Counter(r.body["To"] for r in placed(sandbox))
    assert not [number for number, n in counts.items() if n > 1], counts.most_common(3)
    members = CampaignContact.objects.filter(campaign=campaign).select_related("contact")
    if exactly:
        assert {m.state for m in members} <= MEMBER_TERMINAL
        assert set(counts) == {m.contact.phone for m in members}
    # One attempt key per dial that counted, and never two calls for one key (the constraint).
    keys = Counter(Call.objects.filter(campaign_ref=str(campaign.pk)).values_list("attempt_key", flat=True))
    assert set(keys.values()) == {1}


def test_four_workers_share_a_campaign_without_duplicates_or_losses(
    provider_sandbox: Any, live_agent: Agent, connected: Account, workers: Workers
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 120)
    campaign = new_campaign(
        connected, live_agent, calls_per_second=40, max_concurrent=40, retry_delays={"busy": None}, **ALL_DAY
    )
    workers.start(4)
    services.campaign_start(campaign=campaign)
    tick_until(lambda: all_terminal(campaign), timeout=120, what="120 contacts through four workers")

    assert_each_dialled_at_most_once(provider_sandbox, campaign)
    states = Counter(CampaignContact.objects.filter(campaign=campaign).values_list("state", "attempts"))
    assert states == {("busy", 1): 120}


def test_workers_killed_at_random_points_lose_nothing_and_dial_nobody_twice(
    provider_sandbox: Any, live_agent: Agent, connected: Account, workers: Workers
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 150)
    campaign = new_campaign(
        connected, live_agent, calls_per_second=15, max_concurrent=15, retry_delays={"busy": None}, **ALL_DAY
    )
    workers.start(2)
    services.campaign_start(campaign=campaign)
    for kill in range(10):
        before = len(placed(provider_sandbox))
        tick_until(
            lambda before=before: len(placed(provider_sandbox)) > before or all_terminal(campaign),
            timeout=30,
            what=f"progress before kill {kill + 1}",
        )
        time.sleep(random.uniform(0.0, 0.4))  # somewhere inside an attempt
        workers.kill_one()
        workers.start(1)
    tick_until(lambda: all_terminal(campaign), timeout=120, what="every contact to end", recover=True)

    assert_each_dialled_at_most_once(provider_sandbox, campaign)
    assert set(CampaignContact.objects.filter(campaign=campaign).values_list("state", flat=True)) == {"busy"}


def test_a_failing_and_hanging_twilio_ends_every_contact_within_the_policy(
    provider_sandbox: Any, live_agent: Agent, connected: Account, workers: Workers
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="no-answer", delay=0)
    make_contacts(connected, 60)
    campaign = new_campaign(
        connected,
        live_agent,
        calls_per_second=20,
        max_concurrent=20,
        max_attempts=2,
        retry_delays={"no_answer": None, "failed": 1},
        **ALL_DAY,
    )
    # 30% of creates fail: refused (400: a failed attempt, retried by the policy), a 500 or held
    # past the workers' request timeout (the outcome is unknown: recovery asks Twilio, which has no
    # such call, before anyone dials that contact again).
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=400, ratio=0.1)
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=500, ratio=0.1)
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", latency=WORKER_TIMEOUT + 1, ratio=0.1)
    workers.start(4)
    services.campaign_start(campaign=campaign)
    tick_until(
        lambda: not CampaignContact.objects.filter(campaign=campaign, dials=0).exists(),
        timeout=90,
        what="every contact to be tried",
    )
    provider_sandbox.clear_faults()  # the held requests end (not created); recovery resolves them

    def settled() -> bool:
        members = CampaignContact.objects.filter(campaign=campaign)
        soon = timezone.now() + timedelta(seconds=30)
        return (
            not members.filter(state="dialing").exists()
            and not members.filter(state="queued", due_at__lt=soon).exists()
        )

    tick_until(settled, timeout=120, what="every contact to end or wait for its retry", recover=True)

    assert_each_dialled_at_most_once(provider_sandbox, campaign, exactly=False)
    members = list(CampaignContact.objects.filter(campaign=campaign))
    assert all(m.attempts <= 2 for m in members)
    assert {m.state for m in members} <= {"no_answer", "failed", "queued"}
    # A refused create (400) is a failed attempt: tried again a minute later, within the 2 attempts.
    refused = set(
        Call.objects.filter(campaign_ref=str(campaign.pk), error_code="rejected").values_list("contact_id", flat=True)
    )
    assert refused
    for member in members:
        if member.contact_id in refused:
            assert member.attempts == 2 or (member.state == "queued" and member.attempts == 1), member
    # The held requests were never created at Twilio, and were dialed again under a new key.
    assert Call.objects.filter(campaign_ref=str(campaign.pk), error_code="not_created").exists()


def test_no_call_is_placed_after_a_pause_is_acknowledged(
    provider_sandbox: Any, live_agent: Agent, connected: Account, workers: Workers
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 300)
    campaign = new_campaign(
        connected, live_agent, calls_per_second=25, max_concurrent=50, retry_delays={"busy": None}, **ALL_DAY
    )
    workers.start(4)
    services.campaign_start(campaign=campaign)
    tick_until(lambda: len(placed(provider_sandbox)) >= 30, timeout=60, what="a burst of calls")

    services.campaign_pause(campaign=campaign)
    acknowledged = time.time()
    for _ in range(15):  # three seconds of beat and busy workers
        dialer.campaigns_tick()
        time.sleep(0.2)

    late = [r for r in placed(provider_sandbox) if r.at > acknowledged]
    assert late == []
    assert CampaignContact.objects.filter(campaign=campaign, state="queued").exists()
    assert Campaign.objects.get(pk=campaign.pk).state == "paused"
