"""Shared by the contacts benchmarks: a throwaway database, environment, Django commands, gunicorn, wrk.

Not a benchmark itself (bench/run.py skips files starting with "_").
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate_database(name: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(db_name: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "NODE_ENV": "test",
        "DATABASE_URL": f"{SERVER}/{db_name}",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "RATE_LIMIT_MAX_REQUESTS": "100000000",
        "LOG_LEVEL": "warning",
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def shell(env: dict[str, str], code: str) -> str:
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def cpus() -> tuple[set[int], set[int]]:
    """(server CPUs, client CPUs): apart when the machine has two, as bench/api_stack.py does."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return set(available), set(available)
    return {available[0]}, {available[1]}


def start_gunicorn(
    env: dict[str, str], port: int, workers: int = 2, cpu: set[int] | None = None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "--pythonpath", str(ROOT / "bench"), "wsgi_bench:application"]
    command += ["-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048"]
    pin = (lambda: os.sched_setaffinity(0, cpu)) if cpu else None
    server = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=pin)  # noqa: PLW1509
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            requests.get(f"http://127.0.0.1:{port}/bench/minimal/", timeout=10)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not answer")


def server_cpu_seconds(master: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) used so far by a gunicorn master's workers."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master.pid:  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk_with_cpu(
    server: subprocess.Popen[bytes],
    url: str,
    headers: dict[str, str] | None = None,
    seconds: int = 8,
    cpu: set[int] | None = None,
) -> tuple[float, float]:
    """(requests/s, server CPU ms per request): the second does not depend on what else the
    machine is doing, the first does."""
    before = server_cpu_seconds(server)
    rps, requests_done = wrk(url, headers, seconds=seconds, with_count=True, cpu=cpu)
    return rps, (server_cpu_seconds(server) - before) * 1000 / max(requests_done, 1)


def wrk(
    url: str,
    headers: dict[str, str] | None = None,
    seconds: int = 8,
    connections: int = 16,
    with_count: bool = False,
    cpu: set[int] | None = None,
) -> Any:
    """Requests per second measured by wrk, one thread (pinned to `cpu`, apart from the server)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    pin = (lambda: os.sched_setaffinity(0, cpu)) if cpu else None
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True, preexec_fn=pin).stdout  # noqa: PLW1509
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors for {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return (rps, int(re.search(r"(\d+) requests in", out).group(1))) if with_count else rps


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
