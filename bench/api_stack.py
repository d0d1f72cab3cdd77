"""The cost of the API stack, loaded over HTTP with `wrk`.

For each endpoint: requests/s and server CPU per request, next to a minimal Django JSON view
(no middleware) and the platform's bare view (a trivial view behind the full middleware
stack), all served by the same gunicorn worker in the same run, and the ratios.

Server and client are kept apart: gunicorn runs BENCH_WORKERS sync workers (default 3, gunicorn's
(2 x cores) + 1 for the one core it is pinned to: a sync worker waiting on PostgreSQL or Redis
leaves the core to another) pinned
to CPU 0, `wrk` runs one thread pinned to CPU 1 (on a machine with one CPU both share it).
Endpoints are measured in interleaved rounds (drift on a noisy machine hits all alike) and
each figure is the median of the rounds. Server CPU is the workers' user+system time from
/proc, divided by the requests served.

Creates a throwaway PostgreSQL database and drops it at the end.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = f"prixagent_bench_{os.getpid()}"
SERVER_DB = os.environ.get("BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432")
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

ENDPOINTS = [
    ("minimal Django JSON view", "/bench/minimal/", False),
    ("platform bare view (full middleware)", "/bench/bare/", False),
    ("GET /api/v1/me/", "/api/v1/me/", True),
    ("GET /api/v1/account/users/", "/api/v1/account/users/", True),
    ("GET /api/v1/integrations/events/", "/api/v1/integrations/events/", True),
]

SETUP = """
from accounts.models import User
from accounts.services import account_create
from accounts.tokens import RefreshToken
from integrations.audit import integration_event_record
account, owner = account_create(account_name="Bench", email="bench@example.com", password="bench password 123",
                                verified=True)
for n in range(9):
    User.objects.create_user(f"member{n}@example.com", "bench password 123", account=account, role="member")
for n in range(50):
    integration_event_record(account=account, provider="twilio", actor=owner, action="test", outcome="ok",
                             message=f"Bench account, {n} number(s)")
print(RefreshToken.for_user(owner).access_token)
"""


@dataclass
class Figures:
    rps: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)


def need_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench/api_stack.py needs wrk (an HTTP load generator): apt-get install wrk")
    return wrk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpus() -> tuple[set[int], set[int]]:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return set(available), set(available)
    return {available[0]}, {available[1]}


def database(action: str) -> None:
    with psycopg.connect(f"{SERVER_DB}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if action == "create":
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "NODE_ENV": "test",
        "DATABASE_URL": f"{SERVER_DB}/{DB_NAME}",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "RATE_LIMIT_MAX_REQUESTS": "1000000000",  # measure the work, not the 429s
        "LOG_LEVEL": "warning",
    }


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def start_server(env: dict[str, str], port: int, cpu: set[int]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "--pythonpath", str(ROOT / "bench"), "wsgi_bench:application",
        "--workers", str(WORKERS), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=lambda: os.sched_setaffinity(0, cpu))  # noqa: PLW1509
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/minimal/", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def run_wrk(wrk: str, url: str, token: str | None, cpu: set[int]) -> tuple[float, int]:
    command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(
        command, check=True, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpu)
    ).stdout  # noqa: PLW1509
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{url}: wrk saw errors:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1)), requests


def measure(wrk: str, base: str, token: str, master: int, client_cpu: set[int]) -> dict[str, Figures]:
    workers = worker_pids(master)
    figures = {label: Figures() for label, _path, _auth in ENDPOINTS}
    for _label, path, auth in ENDPOINTS:  # warm-up: connections, caches, lazy imports
        run_wrk(wrk, base + path, token if auth else None, client_cpu)
    for _ in range(ROUNDS):
        for label, path, auth in ENDPOINTS:
            before = cpu_seconds(workers)
            rps, requests = run_wrk(wrk, base + path, token if auth else None, client_cpu)
            used = cpu_seconds(workers) - before
            figures[label].rps.append(rps)
            figures[label].cpu_ms.append(used / requests * 1000)
    return figures


def report(figures: dict[str, Figures]) -> None:
    minimal, bare = (statistics.median(figures[ENDPOINTS[i][0]].rps) for i in (0, 1))
    print(f"{'endpoint':<40} {'req/s':>8} {'runs (req/s)':>24} {'CPU ms/req':>11} {'/minimal':>9} {'/bare':>7}")
    for label, _path, _auth in ENDPOINTS:
        f = figures[label]
        rps, cpu = statistics.median(f.rps), statistics.median(f.cpu_ms)
        runs = " ".join(f"{r:.0f}" for r in f.rps)
        print(f"{label:<40} {rps:8.0f} {runs:>24} {cpu:11.2f} {rps / minimal:9.2f} {rps / bare:7.2f}")
    print(
        f"(gunicorn {WORKERS} sync worker(s), wrk 1 thread x {CONNECTIONS} connections, {SECONDS}s per run, "
        f"{ROUNDS} interleaved rounds, median; server and client on separate CPUs)"
    )


def main() -> None:
    wrk = need_wrk()
    server_cpu, client_cpu = cpus()
    database("create")
    env = bench_env()
    server = None
    try:
        manage(env, "migrate", "-v0")
        token = manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]
        port = free_port()
        server = start_server(env, port, server_cpu)
        report(measure(wrk, f"http://127.0.0.1:{port}", token, server.pid, client_cpu))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        database("drop")


if __name__ == "__main__":
    main()
