"""In-call tool latency: `check_availability` and `book_appointment` through our server (gunicorn)
against the Cal.com sandbox, next to the same Cal.com request made directly to the sandbox, in the
same run (interleaved call by call). p50 / p99 over 1,000 calls each.

What our path adds to the bare Cal.com request: the tool token lookup (SHA-256, one indexed
query), the per-session throttle (Redis), the agent/contact/account reads, time-zone handling and
speech wording, the booking row committed before Cal.com is called (the once-per-conversation
guarantee), and the invocation log row.

Harness notes: it creates and drops its own PostgreSQL database; the sandbox runs in this process
(threaded HTTP servers on loopback); each booking uses a fresh conversation and a distinct free
slot (a 15-minute event type, booked from ~110 days out backwards so the next two weeks, which
`check_availability` searches, stay free); a tool session serves 100 availability
checks (the per-session throttle is 120/min) and each booking has its own session (one call books
once); and the Cal.com sandbox's per-key rate limit (120/min, like
Cal.com's) is reset between batches, so the figures measure latency, not the limit.

Runs standalone: `NODE_ENV=test .venv/bin/python bench/agent_tools.py`.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "prixagent_bench_agent_tools"
SERVER = "postgresql://postgres@127.0.0.1:5432"
CALLS, WARMUP, PER_SESSION = 1000, 20, 100

os.environ.update(
    {
        "NODE_ENV": "test",
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "LOG_LEVEL": "warning",
        "DJANGO_SETTINGS_MODULE": "prixagent.settings",
    }
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sql(statement: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def percentile(samples: list[float], p: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]


def setup(sb: Any) -> dict[str, Any]:
    """An account with ElevenLabs and Cal.com (sandbox), a contact, a pushed agent, free slots."""
    from django.conf import settings

    from accounts.models import Account
    from agents import services
    from contacts.models import Contact
    from integrations.providers import calcom
    from integrations.services import integration_connect

    settings.PROVIDER_BASE_URLS = dict(sb.base_urls)
    account = Account.objects.create(name="Bench", slug="bench", email="bench@example.com")
    account.elevenlabs_api_key, account.elevenlabs_configured = sb.elevenlabs.create_key(), True
    account.save()
    user = sb.calcom.create_user(
        "bench", "America/New_York", event_types=[{"slug": "15min", "title": "15 min", "lengthInMinutes": 15}]
    )
    integration_connect(account=account, provider="calcom", credentials={"api_key": user["api_key"]}, actor="system")
    contact = Contact.objects.create(
        account=account,
        first_name="Ana",
        last_name="Bench",
        phone="+14155550123",
        email="ana@bench.example",
        time_zone="America/Los_Angeles",
    )
    agent = services.agent_create_from_template(account=account, template="appointment_setter", language="en")
    if not agent.elevenlabs_agent_id:
        raise SystemExit(f"agent not pushed: {agent.sync_error}")
    now = datetime.now(UTC)
    grouped = calcom.available_slots(
        user["api_key"],
        event_type_id=user["event_types"][0]["id"],
        start=now.isoformat(),
        end=(now + timedelta(days=110)).isoformat(),
        time_zone="America/Los_Angeles",
    )
    slots = [slot["start"] for day in grouped.values() for slot in day]
    return {"account": account, "agent": agent, "contact": contact, "user": user, "slots": slots}


class Sessions:
    """Tool sessions (one per call): a fresh one every PER_SESSION availability checks (the
    per-session throttle is 120/min), and one per booking (a call books once)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx, self.used, self.token = ctx, PER_SESSION, ""

    def open(self) -> str:
        from agents import services

        _session, token = services.tool_session_open(
            account=self.ctx["account"], agent=self.ctx["agent"], contact=self.ctx["contact"]
        )
        return token

    def next(self) -> str:
        if self.used >= PER_SESSION:
            self.token, self.used = self.open(), 0
        self.used += 1
        return self.token


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure(sb: Any, ctx: dict[str, Any], base: str) -> None:
    calcom_root, user = sb.base_urls["calcom"], ctx["user"]
    event_type, agent_id = user["event_types"][0]["id"], ctx["agent"].elevenlabs_agent_id
    direct = requests.Session()
    direct.headers["Authorization"] = f"Bearer {user['api_key']}"
    ours = requests.Session()
    sessions, slots = Sessions(ctx), list(ctx["slots"])
    needed = 2 * (CALLS + WARMUP)
    if len(slots) < needed:
        raise SystemExit(f"only {len(slots)} free slots for {needed} bookings")

    def tool(name: str, token: str, **arguments: Any) -> dict[str, Any]:
        body = {"agent_id": agent_id, "conversation_id": f"conv_{uuid.uuid4().hex}", **arguments}
        r = ours.post(f"{base}/api/v1/agent-tools/{name}/", json=body, headers={"X-Prix-Tool-Token": token})
        if r.status_code != 200 or r.json()["status"] not in ("ok", "booked"):
            raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")
        return r.json()

    def direct_slots() -> None:
        now = datetime.now(UTC)
        params = {"eventTypeId": event_type, "start": now.isoformat(), "end": (now + timedelta(days=14)).isoformat()}
        r = direct.get(
            f"{calcom_root}/slots", params={**params, "timeZone": "America/Los_Angeles"},
            headers={"cal-api-version": "2024-09-04"}, timeout=10,
        )  # fmt: skip
        r.raise_for_status()

    def direct_book(start: str) -> None:
        utc = datetime.fromisoformat(start).astimezone(UTC).isoformat().replace("+00:00", "Z")
        attendee = {"name": "Ana Bench", "email": "ana@bench.example", "timeZone": "America/Los_Angeles"}
        r = direct.post(
            f"{calcom_root}/bookings", json={"start": utc, "eventTypeId": event_type, "attendee": attendee},
            headers={"cal-api-version": "2024-08-13"}, timeout=10,
        )  # fmt: skip
        r.raise_for_status()

    series: dict[str, list[float]] = {"ours check": [], "direct slots": [], "ours book": [], "direct book": []}
    for n in range(WARMUP + CALLS):
        if n % 25 == 0:
            sb.calcom.calls.clear()  # the sandbox's per-key rate limit, see the module docstring
        check_token, book_token = sessions.next(), sessions.open()  # opened outside the timings
        samples = (
            timed(lambda t=check_token: tool("check_availability", t)),
            timed(direct_slots),
            timed(lambda t=book_token: tool("book_appointment", t, start=slots.pop())),
            timed(lambda: direct_book(slots.pop())),
        )
        if n >= WARMUP:
            for name, value in zip(series, samples, strict=True):
                series[name].append(value)
    print(f"{'':34} {'p50':>9} {'p99':>9}")
    rows = [
        ("check_availability via our server", "ours check"),
        ("  GET /v2/slots direct to sandbox", "direct slots"),
        ("book_appointment via our server", "ours book"),
        ("  POST /v2/bookings direct", "direct book"),
    ]
    for label, key in rows:
        print(f"{label:34} {percentile(series[key], 50):6.1f} ms {percentile(series[key], 99):6.1f} ms")
    print(
        f"({CALLS} calls each after {WARMUP} warm-up, interleaved; gunicorn 2 workers, one client, "
        "loopback sandbox, tokens from live sessions)"
    )


def main() -> None:
    admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    server = None
    from sandbox import ProviderSandbox

    sb = ProviderSandbox().start()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        ctx = setup(sb)
        connections.close_all()
        env = {**os.environ, **{f"{name.upper()}_BASE_URL": url for name, url in sb.base_urls.items()}}
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "prixagent.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}",
             "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit("gunicorn did not start")
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        measure(sb, ctx, base)
    finally:
        if server:
            server.terminate()
            server.wait(10)
        sb.stop()
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
