"""The campaign dialer against the provider sandbox: throughput, pacing, one big campaign, and the
cost of a tick at scale.

Everything runs for real on this machine: PostgreSQL (a throwaway database, dropped at the end),
Redis (REDIS_URL, else db 12 on 127.0.0.1: the broker and the per-tenant pace), the provider
sandbox in this process (its Twilio plays each call and posts the signed status callbacks), the
platform under gunicorn (API_URL points at it, so the callbacks end the calls and move the
campaign contacts on), BENCH_CELERY_WORKERS Celery worker processes (`--pool solo`, default 4)
running the dispatch and dial tasks, and this process standing in for beat: it calls
`campaigns.dialer.campaigns_tick()` once a second (non-eager: the tick sends the dispatches to
the broker). Every call is scripted `busy` with no delay and campaigns retry nothing, so each
contact is dialed exactly once and its call ends within milliseconds.

"Placed calls" are the sandbox Twilio's `POST .../Calls.json` requests (each `RecordedRequest`
has its arrival time `.at` and its caller, the tenant's Twilio account SID, as `.identity`).

1. **Dialer throughput**: BENCH_TENANTS tenants (default 100; each with Twilio and ElevenLabs
   connected to the sandbox, a live agent, BENCH_TENANT_CONTACTS contacts and a campaign at 50
   calls/s, 200 at once) started together; placed calls per second from the first to the last
   placed call (and from the start). Next to it, the same workers' throughput on a no-op task
   (`bench/_campaigns_noop.py`, sent in bulk to the same broker, timed until the queue and the
   unacknowledged set are empty), measured before and after the dial run: ratio = dial rate /
   no-op rate (the issue's target: at least 0.25). Fairness: each tenant's own rate (its calls
   over its first-to-last span) and when its last call was placed.
2. **Pacing accuracy**: 10 tenants, five capped at 2 calls/s and five at 5, each with
   BENCH_PACE_SECONDS seconds of contacts, running together: the most calls any tenant placed in
   any one-second window (sliding, from `.at`) against its cap (it must never exceed it), each
   tenant's achieved rate (min/median/max, coefficient of variation) per cap, and how many Redis
   script calls (the pace's admit checks plus one result record per call) each placed call cost.
3. **One campaign of BENCH_BIG_CONTACTS contacts** (default 10,000) at 50 calls/s and 200 at
   once: time from `campaign_start` to the last placed call, against the cap's floor (contacts /
   50). Database work per dial, two ways: (a) all transactions and rows touched in the whole
   database (pg_stat_database deltas: dialer, callbacks and ticks together) per placed call;
   (b) the dialer's own queries, counted exactly with `connection.execute_wrapper` in this
   process over a BENCH_EAGER_SAMPLE contacts campaign run eagerly (tick, dispatch and dials
   in-process; the callbacks' queries happen in gunicorn and are not in this count).
4. **Scale**: `campaigns_tick()` in this process (non-eager; the workers are stopped, so its
   dispatches go to a broker nobody reads, purged afterwards) over 1,000 campaigns on 10 tenants
   (500 completed, 490 running but not due for a day, 10 due with 5 due contacts each) holding
   1,000 vs BENCH_SCALE_ROWS (default 1,000,000) campaign contacts inserted with
   `INSERT ... SELECT` and ANALYZEd: the tick's median time and query count, and the same for
   one campaign's dispatch (its claim; run in a transaction rolled back). Then EXPLAIN of each
   of their queries at the large size, with the indexes each plan uses (the partial indexes
   `campaign_due` and `campaign_member_due` should carry them; a Seq Scan on the contacts table
   would mean the tick costs what the table holds).

No pass/fail; figures are printed. The whole run takes about 8 minutes on a 2-core machine (the
big campaign alone needs contacts / 50 seconds).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _campaigns_noop import NAME as NOOP_TASK  # noqa: E402
from _contacts_common import bench_env, drop_database, free_port, manage, recreate_database, start_gunicorn, stop  # noqa: E402

from sandbox import ProviderSandbox  # noqa: E402

DB_NAME = f"prixagent_bench_campaigns_{os.getpid()}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
WORKERS = int(os.environ.get("BENCH_CELERY_WORKERS", "4"))
TENANTS = int(os.environ.get("BENCH_TENANTS", "100"))
TENANT_CONTACTS = int(os.environ.get("BENCH_TENANT_CONTACTS", "10"))
NOOP_TASKS = int(os.environ.get("BENCH_NOOP_TASKS", "4000"))
PACE_SECONDS = int(os.environ.get("BENCH_PACE_SECONDS", "10"))
PACE_CAPS = [2] * 5 + [5] * 5
BIG_CONTACTS = int(os.environ.get("BENCH_BIG_CONTACTS", "2000"))  # the issue says 10,000: see the note
BIG_CPS = 50
EAGER_SAMPLE = int(os.environ.get("BENCH_EAGER_SAMPLE", "200"))
SCALE_ROWS = int(os.environ.get("BENCH_SCALE_ROWS", "1000000"))
SCALE_CAMPAIGNS, SCALE_TENANTS, SCALE_DUE, SCALE_DUE_MEMBERS = 1000, 10, 10, 5
ALL_DAY = {"window_start": "00:00", "window_end": "23:59", "weekdays": [0, 1, 2, 3, 4, 5, 6]}
NO_RETRY = {"no_answer": None, "busy": None, "voicemail": None, "failed": None}
CALLER_ID = "+15005550006"


# --- plumbing -------------------------------------------------------------------------------------


def start_workers(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    workers = []
    for n in range(count):
        command = [sys.executable, "-m", "celery", "-A", "prixagent.worker", "worker", "--pool", "solo"]
        command += ["-I", "_campaigns_noop", "-n", f"bench{n}-{os.getpid()}@%h", "--loglevel", "WARNING"]
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
    return workers


def cpu_by_role(workers: list[Any], server: Any) -> dict[str, float]:
    """CPU seconds (user + system) so far: the Celery workers, gunicorn's workers, PostgreSQL's
    backends (all processes named postgres) and this process (the sandbox, the ticks)."""
    tick = os.sysconf("SC_CLK_TCK")
    worker_pids = {w.pid for w in workers}
    totals = {"celery workers": 0.0, "gunicorn": 0.0, "postgres": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        pid, ppid, used = int(stat.parent.name), int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if pid in worker_pids:
            totals["celery workers"] += used
        elif ppid == server.pid:
            totals["gunicorn"] += used
        elif name == "postgres":
            totals["postgres"] += used
    own = os.times()
    totals["this process (sandbox, ticks)"] = own.user + own.system
    return totals


def queue_depth(client: Any) -> int:
    """Messages waiting in the default queue (all priority lists) plus those taken, not acked."""
    waiting = sum(
        client.llen(key) for key in client.scan_iter(match="celery*", count=1000) if client.type(key) == b"list"
    )
    return waiting + client.hlen("unacked")


def wait_idle(client: Any, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while queue_depth(client) and time.monotonic() < deadline:
        time.sleep(0.02)
    return time.monotonic()


def noop_rate(app: Any, client: Any) -> float:
    """Tasks per second the workers get through when the task itself does nothing."""
    wait_idle(client)
    started = time.monotonic()
    with app.producer_or_acquire() as producer:
        for _ in range(NOOP_TASKS):
            app.send_task(NOOP_TASK, producer=producer)
    return NOOP_TASKS / (wait_idle(client, timeout=300) - started)


def creates(sb: Any, since: int = 0) -> list[Any]:
    with sb.twilio.lock:
        recorded = list(sb.twilio.recorded[since:])
    return [r for r in recorded if r.method == "POST" and r.path.endswith("/Calls.json")]


def recorded_count(sb: Any) -> int:
    with sb.twilio.lock:
        return len(sb.twilio.recorded)


def drive(sb: Any, since: int, expected: int, timeout: float) -> list[Any]:
    """Tick once a second (as beat does) until `expected` calls were placed since `since`."""
    from campaigns import dialer

    deadline = time.monotonic() + timeout
    next_tick = time.monotonic()
    while True:
        if time.monotonic() >= next_tick:
            dialer.campaigns_tick()
            next_tick += 1.0
        placed = creates(sb, since)
        if len(placed) >= expected:
            return placed
        if time.monotonic() > deadline:
            print(f"  (timed out: {len(placed)} of {expected} calls placed after {timeout:.0f}s)")
            return placed
        time.sleep(0.05)


def wait_settled(campaign_ids: list[Any], timeout: float = 60.0) -> int:
    """Wait for the calls' ends to reach the contacts; returns how many are still not terminal."""
    from campaigns.models import MEMBER_TERMINAL, CampaignContact

    deadline = time.monotonic() + timeout
    while True:
        left = CampaignContact.objects.filter(campaign_id__in=campaign_ids).exclude(state__in=MEMBER_TERMINAL).count()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    mean = statistics.fmean(values)
    cv = statistics.pstdev(values) / mean if mean else 0.0
    return (
        f"min {min(values):.2f}  median {statistics.median(values):.2f}  max {max(values):.2f}  "
        f"CV {cv:.2f} (n={len(values)})"
    )


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most arrivals in any half-open window [t, t + window) (sliding, starting at an arrival)."""
    ordered, best, j = sorted(times), 0, 0
    for i in range(len(ordered)):
        while j < len(ordered) and ordered[j] < ordered[i] + window:
            j += 1
        best = max(best, j - i)
    return best


def rate_of(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 and max(times) > min(times) else 0.0


@contextmanager
def counting(sqls: list[tuple[str, Any]] | None = None) -> Iterator[list[int]]:
    """Count (and optionally keep) the queries this thread sends to the database."""
    from django.db import connection

    count = [0]

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        if sqls is not None:
            sqls.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def db_stats() -> dict[str, int]:
    from django.db import connection

    names = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(f"SELECT {', '.join(names)} FROM pg_stat_database WHERE datname = current_database()")  # noqa: S608
        return dict(zip(names, cursor.fetchone(), strict=True))


# --- tenants --------------------------------------------------------------------------------------


def make_tenant(sb: Any, n: int) -> tuple[Any, Any, str]:
    from accounts.models import Account
    from agents.services import agent_create_from_template
    from integrations.services import integration_connect

    account = Account.objects.create(name=f"Tenant {n}", slug=f"tenant-{n}", email=f"t{n}@example.com")
    creds = sb.twilio.create_account(numbers=[CALLER_ID])
    integration_connect(account=account, provider="twilio", credentials=creds, actor="operator")
    account.refresh_from_db()
    account.elevenlabs_api_key, account.elevenlabs_configured = sb.elevenlabs.create_key(), True
    account.save()
    agent = agent_create_from_template(account=account, template="appointment_setter", language="en")
    return account, agent, creds["account_sid"]


def setup_tenant(sb: Any, n: int) -> tuple[Any, Any, str]:
    from django.db import connection

    try:
        tenant = make_tenant(sb, n)
        if n < TENANTS:
            add_contacts(tenant[0], TENANT_CONTACTS)
        return tenant
    finally:
        connection.close()


def add_contacts(account: Any, count: int, *, tag: str = "", start: int = 0, last_name: str = "") -> None:
    from contacts.models import Contact
    from contacts.services import tags_resolve

    made = Contact.objects.bulk_create(
        [
            Contact(
                account=account,
                first_name=f"C{i}",
                last_name=last_name,
                phone=f"+1212{i:07d}",
                time_zone="America/New_York",
            )
            for i in range(start, start + count)
        ],
        batch_size=2000,
    )
    if tag:
        [found] = tags_resolve(account=account, names=[tag])
        through = Contact.tags.through
        through.objects.bulk_create([through(contact_id=c.pk, tag_id=found.pk) for c in made], batch_size=2000)


def new_campaign(account: Any, agent: Any, cps: float, *, tag: str = "", concurrent: int = 200) -> Any:
    from campaigns.services import campaign_create
    from contacts.models import Tag

    data: dict[str, Any] = {
        "name": f"Bench {tag or 'all'}",
        "agent": str(agent.pk),
        "calls_per_second": cps,
        "max_concurrent": concurrent,
        "max_attempts": 1,
        "retry_delays": NO_RETRY,
        **ALL_DAY,
    }
    if tag:
        data |= {"target": "tags", "target_tags": [Tag.objects.get(account=account, name=tag).pk]}
    return campaign_create(account=account, data=data)


# --- 1. throughput ----------------------------------------------------------------------------------


def part_throughput(
    sb: Any, app: Any, client: Any, tenants: list[tuple[Any, Any, str]], workers: list[Any], server: Any
) -> None:
    from campaigns.services import campaign_start

    print(f"\n1. Dialer throughput: {len(tenants)} tenants x {TENANT_CONTACTS} contacts, 50 calls/s cap each")
    noop_before = noop_rate(app, client)
    campaigns = [new_campaign(account, agent, 50) for account, agent, _sid in tenants]
    since = recorded_count(sb)
    cpu_before, wall_before = cpu_by_role(workers, server), time.monotonic()
    started = time.time()
    for campaign in campaigns:
        campaign_start(campaign=campaign)
    expected = len(tenants) * TENANT_CONTACTS
    placed = drive(sb, since, expected, timeout=300)
    left = wait_settled([c.pk for c in campaigns])
    cpu_after, wall = cpu_by_role(workers, server), time.monotonic() - wall_before
    noop_after = noop_rate(app, client)
    times = [r.at for r in placed]
    span = max(times) - min(times)
    steady = (len(times) - 1) / span if span > 0 else 0.0
    overall = len(times) / (max(times) - started)
    noop = statistics.fmean([noop_before, noop_after])
    print(f"   placed calls: {len(times)} of {expected}; contacts not yet ended afterwards: {left}")
    print(f"   dial rate, first to last placed call: {steady:7.1f} calls/s  ({span:.1f} s)")
    print(f"   dial rate, from start (incl. tick latency): {overall:7.1f} calls/s")
    print(
        f"   no-op task rate, same {WORKERS} solo workers and broker: {noop:7.1f} tasks/s "
        f"(before {noop_before:.1f}, after {noop_after:.1f}; {NOOP_TASKS} tasks each)"
    )
    print(f"   ratio dial rate / no-op rate: {steady / noop:.3f}  (target >= 0.25)")
    used = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
    print(
        f"   CPU per placed call (ms; {wall:.1f} s of wall time on {os.cpu_count()} CPUs, "
        f"{sum(used.values()) / wall:.0%} of one CPU busy): "
        + ", ".join(f"{role} {seconds * 1000 / max(len(times), 1):.1f}" for role, seconds in used.items())
    )
    by_tenant: dict[str, list[float]] = defaultdict(list)
    for r in placed:
        by_tenant[r.identity].append(r.at)
    rates = [rate_of(ts) for ts in by_tenant.values()]
    last = [max(ts) - started for ts in by_tenant.values()]
    first = [min(ts) - started for ts in by_tenant.values()]
    print(f"   per-tenant rate (calls/s): {spread(rates)}")
    print(f"   per-tenant first call at (s after start): {spread(first)}")
    print(f"   per-tenant last call at (s after start):  {spread(last)}")


# --- 2. pacing -----------------------------------------------------------------------------------


def script_calls_total(client: Any) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval"))


def part_pacing(sb: Any, client: Any, tenants: list[tuple[Any, Any, str]]) -> None:
    from campaigns.services import campaign_start

    chosen = tenants[: len(PACE_CAPS)]
    print(
        f"\n2. Pacing: {len(chosen)} tenants at the same time, caps {sorted(set(PACE_CAPS))} calls/s, "
        f"{PACE_SECONDS} s of contacts each"
    )
    campaigns = []
    for (account, agent, _sid), cap in zip(chosen, PACE_CAPS, strict=True):
        add_contacts(account, cap * PACE_SECONDS, tag="pace", start=100_000)
        campaigns.append(new_campaign(account, agent, cap, tag="pace"))
    since = recorded_count(sb)
    scripts_before = script_calls_total(client)
    for campaign in campaigns:
        campaign_start(campaign=campaign)
    expected = sum(PACE_CAPS) * PACE_SECONDS
    placed = drive(sb, since, expected, timeout=PACE_SECONDS * 4 + 60)
    wait_settled([c.pk for c in campaigns])
    scripts = script_calls_total(client) - scripts_before
    cap_of = {sid: cap for (_a, _g, sid), cap in zip(chosen, PACE_CAPS, strict=True)}
    by_tenant: dict[str, list[float]] = defaultdict(list)
    for r in placed:
        by_tenant[r.identity].append(r.at)
    over = 0
    print(f"   placed calls: {len(placed)} of {expected}")
    for cap in sorted(set(PACE_CAPS)):
        sids = [sid for sid, c in cap_of.items() if c == cap]
        peaks = [max_in_window(by_tenant[sid]) for sid in sids]
        over += sum(p > cap for p in peaks)
        rates = [rate_of(by_tenant[sid]) for sid in sids]
        print(f"   cap {cap}/s: most calls in any 1 s window per tenant: {peaks} (max {max(peaks)} vs cap {cap})")
        print(
            f"   cap {cap}/s: achieved rate (calls/s): {spread(rates)}; "
            f"median as share of cap {statistics.median(rates) / cap:.2f}"
        )
    print(f"   tenants that ever exceeded their cap in a 1 s window: {over}")
    print(f"   Redis script calls (pace admits + result records) per placed call: {scripts / max(len(placed), 1):.1f}")


# --- 3. one big campaign -------------------------------------------------------------------------


def part_big(sb: Any, big: tuple[Any, Any, str]) -> None:
    from campaigns.services import campaign_start

    account, agent, _sid = big
    print(f"\n3. One campaign of {BIG_CONTACTS} contacts at {BIG_CPS} calls/s, 200 at once")
    if BIG_CONTACTS < 10_000:
        print(
            f"   (note: {BIG_CONTACTS}, not the issue's 10,000, to keep the bench near 10 minutes: 10,000 need "
            f"at least 200 s at the cap and about 10,000 / the rate below here; BENCH_BIG_CONTACTS=10000 for it)"
        )
    add_contacts(account, BIG_CONTACTS, tag="big")
    campaign = new_campaign(account, agent, BIG_CPS, tag="big")
    since = recorded_count(sb)
    before = db_stats()
    started = time.time()
    campaign_start(campaign=campaign)
    placed = drive(sb, since, BIG_CONTACTS, timeout=BIG_CONTACTS / BIG_CPS * 3 + 60)
    took = max(r.at for r in placed) - started
    left = wait_settled([campaign.pk])
    time.sleep(1.5)  # backends report their counters to pg_stat at most about once a second
    after = db_stats()
    n = max(len(placed), 1)
    floor = BIG_CONTACTS / BIG_CPS
    print(f"   placed calls: {len(placed)}; contacts not yet ended afterwards: {left}")
    print(f"   start to last dial: {took:.1f} s (the cap's floor {floor:.0f} s: {floor / took:.0%} of the cap)")
    print(f"   most calls in any 1 s window: {max_in_window([r.at for r in placed])} (cap {BIG_CPS})")
    delta = {k: after[k] - before[k] for k in after}
    print(
        "   whole database per placed call (pg_stat_database, dialer + callbacks + ticks): "
        + ", ".join(f"{k} {v / n:.1f}" for k, v in delta.items())
    )


def part_eager_queries(sb: Any, app: Any, big: tuple[Any, Any, str]) -> None:
    from django.conf import settings

    from campaigns import dialer
    from campaigns.services import campaign_start

    account, agent, _sid = big
    add_contacts(account, EAGER_SAMPLE, tag="eager", start=500_000)
    campaign = new_campaign(account, agent, BIG_CPS, tag="eager")
    since = recorded_count(sb)
    settings.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = True
    ticks = 0
    try:
        with counting() as queries:
            campaign_start(campaign=campaign)
            start_queries = queries[0]
            deadline = time.monotonic() + 120
            while len(creates(sb, since)) < EAGER_SAMPLE and time.monotonic() < deadline:
                dialer.campaigns_tick()
                ticks += 1
    finally:
        settings.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = False
    placed = len(creates(sb, since))
    wait_settled([campaign.pk])
    dialing = queries[0] - start_queries
    print(
        f"   dialer queries per dial, in-process eager run of {EAGER_SAMPLE} contacts ({ticks} ticks, "
        f"execute_wrapper): {dialing / max(placed, 1):.1f} (tick + dispatch + dial; campaign_start "
        f"{start_queries} queries in all; callbacks not included)"
    )


# --- 4. scale ------------------------------------------------------------------------------------


SCALE_MEMBERS_SQL = """
INSERT INTO {members} (campaign_id, account_id, contact_id, state, skip_reason, outcome, attempts, dials,
                       due_at, finished_at, last_result, created_at, updated_at)
SELECT c.id, c.account_id, ct.id, m.state, '', '', m.done::int, m.done::int,
       CASE WHEN m.state = 'queued' AND m.now_due THEN now() - interval '1 minute'
            WHEN m.state = 'queued' THEN now() + interval '1 day'
            ELSE now() - interval '1 day' END,
       CASE WHEN m.state = 'queued' THEN NULL ELSE now() - interval '1 day' END,
       CASE WHEN m.state = 'queued' THEN '' ELSE 'busy' END, now(), now()
FROM {campaigns} c
JOIN (SELECT id, account_id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS rn
      FROM {contacts} WHERE last_name = 'scale') ct ON ct.account_id = c.account_id AND ct.rn <= %s
CROSS JOIN LATERAL (
  SELECT s.state, s.state <> 'queued' AS done, s.now_due FROM (SELECT
    CASE WHEN c.state = 'completed' THEN 'busy'
         WHEN c.next_due_at <= now() AND ct.rn <= {due} THEN 'queued'
         WHEN mod(ct.rn, 2) = 1 THEN 'queued'
         ELSE 'busy' END AS state,
    (c.next_due_at <= now() AND ct.rn <= {due}) AS now_due) s
) m
WHERE c.name LIKE 'scale %%'
"""


def scale_setup(tenants: list[tuple[Any, Any, str]]) -> list[Any]:
    from datetime import time as clock_time
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign

    Campaign.objects.filter(state__in=["running", "scheduled", "paused"]).update(state="completed", next_due_at=None)
    now = timezone.now()
    rows = []
    for i in range(SCALE_CAMPAIGNS):
        account, agent, _sid = tenants[i % SCALE_TENANTS]
        if i < SCALE_DUE:
            state, due = "running", now - timedelta(seconds=1)
        elif i < SCALE_CAMPAIGNS // 2:
            state, due = "running", now + timedelta(days=1)
        else:
            state, due = "completed", None
        rows.append(
            Campaign(
                account=account,
                agent=agent,
                name=f"scale {i}",
                state=state,
                next_due_at=due,
                calls_per_second=5,
                max_concurrent=50,
                members_refreshed_at=now + timedelta(days=1),  # no targeting refresh in the measured runs
                started_at=now,
                weekdays=[0, 1, 2, 3, 4, 5, 6],
                window_start=clock_time(0, 0),
                window_end=clock_time(23, 59),
            )
        )
    made = Campaign.objects.bulk_create(rows)
    for account, _agent, _sid in tenants[:SCALE_TENANTS]:
        add_contacts(account, max(SCALE_ROWS // SCALE_CAMPAIGNS, 1), start=1_000_000, last_name="scale")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [c.pk for c in made[:SCALE_DUE]]


def scale_fill(per_campaign: int) -> tuple[int, float]:
    from django.db import connection

    from campaigns.models import Campaign, CampaignContact
    from contacts.models import Contact

    members = CampaignContact._meta.db_table
    sql = SCALE_MEMBERS_SQL.format(
        members=members, campaigns=Campaign._meta.db_table, contacts=Contact._meta.db_table, due=SCALE_DUE_MEMBERS
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {members} WHERE campaign_id IN "  # noqa: S608
            f"(SELECT id FROM {Campaign._meta.db_table} WHERE name LIKE 'scale %%')"
        )
        cursor.execute(sql, [per_campaign])
        cursor.execute(f"VACUUM ANALYZE {members}")
        cursor.execute(f"SELECT count(*) FROM {members}")  # noqa: S608
        total = cursor.fetchone()[0]
    return total, time.monotonic() - started


class Rollback(Exception):
    pass


def measure_scale(due: list[Any], keep: list[tuple[str, Any]] | None) -> dict[str, float]:
    from django.db import transaction

    from campaigns import dialer

    tick_ms, tick_q = [], []
    for round_number in range(15):
        with counting(keep if round_number == 0 else None) as queries:
            started = time.perf_counter()
            result = dialer.campaigns_tick()
            tick_ms.append((time.perf_counter() - started) * 1000)
        tick_q.append(queries[0])
    dispatch_ms, dispatch_q, claimed = [], [], 0
    for round_number in range(8):
        try:
            with transaction.atomic():
                with counting(keep if round_number == 0 else None) as queries:
                    started = time.perf_counter()
                    claimed = len(dialer.campaign_dispatch(due[round_number % len(due)]))
                    dispatch_ms.append((time.perf_counter() - started) * 1000)
                dispatch_q.append(queries[0])
                raise Rollback
        except Rollback:
            pass
    return {
        "tick_ms": statistics.median(tick_ms),
        "tick_q": statistics.median(tick_q),
        "dispatched": result["dispatched"],
        "dispatch_ms": statistics.median(dispatch_ms),
        "dispatch_q": statistics.median(dispatch_q),
        "claimed": claimed,
    }


def explain(queries: list[tuple[str, Any]]) -> None:
    from django.db import connection, transaction

    seen = set()
    for sql, params in queries:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "UPDATE", "INSERT", "DELETE") or sql in seen:
            continue
        seen.add(sql)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plan = [row[0] for row in cursor.fetchall()]
                raise Rollback
        except Rollback:
            pass
        used = sorted(
            {
                m
                for line in plan
                for m in re.findall(r"(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)", line)
            }
        )
        scans = sorted({m for line in plan for m in re.findall(r"Seq Scan on (\w+)", line)})
        label = " ".join(sql.split())[:90]
        print(f"   - {label}...")
        print(f"       indexes: {', '.join(used) or 'none'}; seq scans: {', '.join(scans) or 'none'}")


def part_scale(app: Any, tenants: list[tuple[Any, Any, str]]) -> None:
    print(
        f"\n4. Scale: campaigns_tick() over {SCALE_CAMPAIGNS} campaigns on {SCALE_TENANTS} tenants "
        f"({SCALE_CAMPAIGNS // 2} completed, {SCALE_CAMPAIGNS // 2 - SCALE_DUE} running not due, {SCALE_DUE} due "
        f"with {SCALE_DUE_MEMBERS} due contacts each); workers stopped, dispatches go to an unread queue"
    )
    due = scale_setup(tenants)
    results = {}
    queries: list[tuple[str, Any]] = []
    for per in (1, max(SCALE_ROWS // SCALE_CAMPAIGNS, 1)):
        total, took = scale_fill(per)
        keep = queries if per > 1 else None
        results[per] = measure_scale(due, keep)
        app.control.purge()
        figures = results[per]
        print(
            f"   {total:>9,} campaign contacts in the table (filled and ANALYZEd in {took:.1f} s): "
            f"tick {figures['tick_ms']:.1f} ms, {figures['tick_q']:.0f} queries, {figures['dispatched']} dispatched; "
            f"one dispatch {figures['dispatch_ms']:.1f} ms, {figures['dispatch_q']:.0f} queries, "
            f"{figures['claimed']} claimed"
        )
    small, large = results[1], results[max(SCALE_ROWS // SCALE_CAMPAIGNS, 1)]
    print(
        f"   ratio large/small: tick time {large['tick_ms'] / small['tick_ms']:.2f}, tick queries "
        f"{large['tick_q'] / small['tick_q']:.2f}; dispatch time {large['dispatch_ms'] / small['dispatch_ms']:.2f}, "
        f"dispatch queries {large['dispatch_q'] / small['dispatch_q']:.2f}"
    )
    print("   EXPLAIN at the large size (tick's queries, then one dispatch's):")
    explain(queries)


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    import redis

    sb = ProviderSandbox().start()
    port = free_port()
    env = bench_env(
        DB_NAME,
        NODE_ENV="test",
        REDIS_URL=REDIS_URL,
        PRIXAGENT_CELERY_EAGER="0",
        API_URL=f"http://127.0.0.1:{port}/api/v1",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
        **{f"{name.upper()}_BASE_URL": url for name, url in sb.base_urls.items()},
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")
    recreate_database(DB_NAME)
    server, workers = None, []
    client = redis.Redis.from_url(REDIS_URL)
    try:
        manage(env, "migrate", "-v0")
        import django

        django.setup()
        from prixagent.celery import app

        app.control.purge()
        server = start_gunicorn(env, port, workers=3)
        workers = start_workers(env, WORKERS)
        sb.twilio.script_calls(default=True, outcome="busy", delay=0)
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:  # setup only: the providers' round trips overlap
            made = list(pool.map(lambda n: setup_tenant(sb, n), range(TENANTS + 1)))
        tenants, big = made[:TENANTS], made[TENANTS]
        print(
            f"(setup: {TENANTS + 1} tenants connected to the sandbox with live agents in "
            f"{time.monotonic() - started:.0f} s; {WORKERS} Celery solo workers, gunicorn 3 workers, "
            f"{os.cpu_count()} CPUs shared by all)"
        )
        part_throughput(sb, app, client, tenants, workers, server)
        part_pacing(sb, client, tenants)
        part_big(sb, big)
        part_eager_queries(sb, app, big)
        for worker in workers:
            stop(worker)
        workers = []
        app.control.purge()
        part_scale(app, tenants)
    finally:
        for worker in workers:
            stop(worker)
        stop(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - Django may not be set up yet
            pass
        drop_database(DB_NAME)
        sb.stop()


if __name__ == "__main__":
    main()
