"""`GET /api/v1/contacts/` (50 a page; plain, with a search, with a tag filter) vs a bare Django JSON
view on the same gunicorn, in the same run; load from wrk. Also the queries per request.

A throwaway PostgreSQL database holds 100,000 contacts over 100 accounts (1,000 each, two thirds
tagged), written with COPY.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contacts_common import (  # noqa: E402
    SERVER,
    bench_env,
    cpus,
    drop_database,
    free_port,
    manage,
    recreate_database,
    shell,
    start_gunicorn,
    stop,
    wrk,
    wrk_with_cpu,
)

DB_NAME = "prixagent_bench_contacts_list"
ACCOUNTS, PER_ACCOUNT = 100, 1000
ROUNDS = 3
SECONDS = 6
FIRST = ["Ana", "Luis", "María", "John", "Emma", "Olivia", "Noah", "Liam", "Sofía", "Mateo", "Ava", "Lucas"]
LAST = ["García", "Smith", "Johnson", "López", "Brown", "Martínez", "Davis", "Rodríguez", "Miller", "Pérez"]
TAGS = ["vip", "lead", "customer", "follow-up", "cold"]
AREAS = ["212", "305", "312", "415", "512", "617", "702", "713", "818", "917"]

ACCOUNTS_CODE = (
    "from accounts.models import Account;"
    "Account.objects.bulk_create([Account(name=f'Bench {n}', slug=f'bench-{n}', email=f'b{n}@example.com')"
    f" for n in range({ACCOUNTS})]); print('ok')"
)
TOKEN_CODE = (
    "from accounts.models import Account, User; from accounts.tokens import RefreshToken;"
    "a = Account.objects.get(slug='bench-0');"
    "u = User.objects.create_user('bench@example.com', 'bench password 123', account=a, role='owner');"
    "print(RefreshToken.for_user(u).access_token)"
)
QUERIES_CODE = """
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from accounts.models import User
from accounts.tokens import RefreshToken
client = APIClient()
client.credentials(HTTP_AUTHORIZATION='Bearer ' + str(RefreshToken.for_user(User.objects.get()).access_token))
counts = []
for url in ('/api/v1/contacts/', '/api/v1/contacts/?q=garc', '/api/v1/contacts/?tag=vip'):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, HTTP_HOST='localhost').status_code == 200
    counts.append(len(ctx.captured_queries))
print(counts)
"""


def seed(db_url: str) -> None:
    """100 accounts of 1,000 contacts, tags on two thirds of them, straight into the tables."""
    rng = random.Random(7)
    with psycopg.connect(db_url, autocommit=False) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM accounts ORDER BY slug").fetchall()]
        with conn.cursor().copy(
            "COPY contacts_contact (account_id, first_name, last_name, company, phone, email, time_zone,"
            " time_zone_source, custom_fields, source, consent_status, consent_source, do_not_call,"
            " do_not_call_reason, ghl_contact_id, ghl_push_pending, created_at, updated_at) FROM STDIN"
        ) as copy:
            for account_id in ids:
                for n in range(PER_ACCOUNT):
                    first, last = rng.choice(FIRST), rng.choice(LAST)
                    phone = f"+1{rng.choice(AREAS)}555{n:04d}"
                    email = f"{first.lower()}.{last.lower()}{n}@example.com"
                    copy.write_row(
                        (
                            account_id,
                            first,
                            last,
                            "",
                            phone,
                            email,
                            "America/New_York",
                            "number",
                            "{}",
                            "csv",
                            "unknown",
                            "",
                            n % 50 == 0,
                            "",
                            "",
                            False,
                            "now()",
                            "now()",
                        )
                    )
        for account_id in ids:
            conn.execute(
                "INSERT INTO contacts_tag (account_id, name, created_at) SELECT %s, t, now() FROM unnest(%s::text[]) t",
                [account_id, TAGS],
            )
        conn.execute(
            """INSERT INTO contacts_contact_tags (contact_id, tag_id)
               SELECT c.id, t.id FROM contacts_contact c JOIN contacts_tag t ON t.account_id = c.account_id
               WHERE (c.id + length(t.name)) % 3 = 0"""
        )
        conn.commit()
        conn.execute("ANALYZE")


def main() -> None:
    recreate_database(DB_NAME)
    env = bench_env(DB_NAME)
    server = None
    try:
        manage(env, "migrate", "-v0")
        shell(env, ACCOUNTS_CODE)
        seed(f"{SERVER}/{DB_NAME}")
        token = shell(env, TOKEN_CODE)
        queries = shell(env, QUERIES_CODE)
        port = free_port()
        server_cpu, client_cpu = cpus()
        server = start_gunicorn(env, port, cpu=server_cpu)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        urls = {
            "minimal Django JSON view": (f"{base}/bench/minimal/", {}),
            "platform bare view": (f"{base}/bench/bare/", {}),
            "GET /api/v1/me/ (reference)": (f"{base}/api/v1/me/", auth),
            "GET /api/v1/contacts/": (f"{base}/api/v1/contacts/", auth),
            "GET /api/v1/contacts/?q=garc": (f"{base}/api/v1/contacts/?q=garc", auth),
            "GET /api/v1/contacts/?tag=vip": (f"{base}/api/v1/contacts/?tag=vip", auth),
        }
        for url, headers in urls.values():
            wrk(url, headers, seconds=2, cpu=client_cpu)  # warm-up: connections, caches
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in urls}
        for _ in range(ROUNDS):
            for name, (url, headers) in urls.items():
                results[name].append(wrk_with_cpu(server, url, headers, seconds=SECONDS, cpu=client_cpu))
        minimal_rps = statistics.median(r for r, _c in results["minimal Django JSON view"])
        minimal_cpu = statistics.median(c for _r, c in results["minimal Django JSON view"])
        bare_rps = statistics.median(r for r, _c in results["platform bare view"])
        print(
            f"100,000 contacts over {ACCOUNTS} accounts; 50 a page; gunicorn 2 sync workers on CPU {server_cpu}, "
            f"wrk 1 thread x 16 connections on CPU {client_cpu}; {ROUNDS} interleaved rounds of {SECONDS}s, median"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
        head = ("endpoint", "req/s", "runs", "CPU ms/req", "/minimal", "(by CPU)", "/bare")
        print(f"{head[0]:<32} {head[1]:>7} {head[2]:>18} {head[3]:>10} {head[4]:>9} {head[5]:>9} {head[6]:>6}")
        for name, values in results.items():
            rps = statistics.median(r for r, _c in values)
            cpu = statistics.median(c for _r, c in values)
            runs = " ".join(f"{r:.0f}" for r, _c in values)
            print(
                f"{name:<32} {rps:7.0f} {runs:>18} {cpu:10.2f} {rps / minimal_rps:9.2f} "
                f"{minimal_cpu / cpu:9.2f} {rps / bare_rps:6.2f}"
            )
        print(f"queries per request (plain, search, tag): {queries} (target: at most 4)")
    finally:
        stop(server)
        drop_database(DB_NAME)


if __name__ == "__main__":
    main()
