"""`GET /api/v1/me/` requests/s vs a bare Django JSON view, same gunicorn server, same run.

Creates a throwaway PostgreSQL database, migrates it, starts gunicorn (2 workers) on a free
loopback port and drives both endpoints with the same client threads, interleaved in rounds.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "prixagent_bench"
SERVER = "postgresql://postgres@127.0.0.1:5432"
THREADS, PER_ROUND, ROUNDS = 8, 1500, 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def drop_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "NODE_ENV": "test",
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "RATE_LIMIT_MAX_REQUESTS": "100000000",
        "LOG_LEVEL": "warning",
    }


def access_token(env: dict[str, str]) -> str:
    code = (
        "from accounts.services import account_signup; from accounts.tokens import RefreshToken;"
        "a, u = account_signup(account_name='Bench', email='bench@example.com', password='bench password 123');"
        "print(RefreshToken.for_user(u).access_token)"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def run_round(url: str, headers: dict[str, str]) -> float:
    def worker(n: int) -> None:
        with requests.Session() as session:
            for _ in range(n):
                response = session.get(url, headers=headers, timeout=10)
                response.raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, [PER_ROUND // THREADS] * THREADS))
    return (PER_ROUND // THREADS * THREADS) / (time.perf_counter() - start)


def main() -> None:
    recreate_database()
    env = bench_env()
    port = free_port()
    server = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        token = access_token(env)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--pythonpath",
                str(ROOT / "bench"),
                "wsgi_bench:application",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit("gunicorn did not start")
            try:
                requests.get(f"{base}/bench/bare/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        run_round(f"{base}/api/v1/me/", auth)  # warm-up: connections, caches
        me, bare = [], []
        for _ in range(ROUNDS):
            me.append(run_round(f"{base}/api/v1/me/", auth))
            bare.append(run_round(f"{base}/bench/bare/", {}))
        me_rps, bare_rps = statistics.median(me), statistics.median(bare)
        print(f"GET /api/v1/me/ (JWT, tenant, throttle) : {me_rps:8.0f} req/s")
        print(f"GET bare Django JSON view              : {bare_rps:8.0f} req/s")
        print(
            f"me / bare ratio                        : {me_rps / bare_rps:8.2f}  "
            f"(gunicorn 2 workers, {THREADS} client threads, {PER_ROUND} req x {ROUNDS} rounds, median)"
        )
    finally:
        if server:
            server.terminate()
            server.wait(10)
        drop_database()


if __name__ == "__main__":
    main()
