"""PayPal webhook handling, loaded over HTTP with `wrk`, next to PayPal's verify call alone.

Three figures from the same run:
- **verify-webhook-signature alone**: `wrk` POSTs a valid verification request straight to the
  sandbox's PayPal (what each of our webhook requests waits for, at least once);
- **new `PAYMENT.SALE.COMPLETED` events** through gunicorn: freshness check, the verification
  call to the sandbox, the event stored once, the sale recorded, the subscription re-fetched
  from the sandbox and applied to the account (each request carries another event, signed by
  the sandbox; if `wrk` runs past the prepared events it wraps around and the rest are repeats);
- **the same event again** (a PayPal retry): verification, then answered from the stored row.

gunicorn runs BENCH_WORKERS sync workers (default 2) pinned to CPU 0; `wrk` (one thread) and the
sandbox (threads of this process) share CPU 1. Rounds are interleaved; figures are medians.
Creates a throwaway PostgreSQL database and drops it at the end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_stack import (  # noqa: E402 - the shared bench plumbing
    CONNECTIONS,
    ROUNDS,
    SECONDS,
    SERVER_DB,
    WORKERS,
    cpu_seconds,
    cpus,
    database,
    free_port,
    need_wrk,
    worker_pids,
)

from sandbox import ProviderSandbox  # noqa: E402

WEBHOOK_ID = "BENCHWEBHOOK000000000001"
COUNT_PAYMENTS = "from billing.models import Payment; print(Payment.objects.count())"
EVENTS_PER_RUN = int(os.environ.get("BENCH_EVENTS", "3000"))
DB_NAME = f"prixagent_bench_billing_{os.getpid()}"

SETUP = """
from decimal import Decimal
import uuid
from accounts.models import Account
from billing.models import Plan, Subscription
from billing.services import subscription_refresh
plan = Plan.objects.create(code="bench", name="Bench", monthly_price=Decimal("29.00"), paypal_plan_id="{plan_id}",
                           paypal_product_id="{product_id}")
account = Account.objects.create(name="Bench", slug="bench", email="bench@example.com")
sub = Subscription.objects.create(account=account, plan=plan, paypal_subscription_id="{sub_id}",
                                  paypal_plan_id="{plan_id}", request_id=uuid.uuid4())
subscription_refresh(subscription=sub)
print("ok")
"""

LUA = """
local events = dofile("{data}")
local n = 0
request = function()
  n = n + 1
  local e = events[((n - 1) % #events) + 1]
  return wrk.format("POST", "{path}", e.headers, e.body)
end
"""


def lua_string(text: str) -> str:
    level = "=" * 8
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def write_events(deliveries: list[tuple[dict[str, str], bytes]], folder: Path, name: str) -> Path:
    lines = ["return {"]
    for headers, body in deliveries:
        pairs = ", ".join(f'["{k}"] = {lua_string(v)}' for k, v in headers.items())
        lines.append(f"  {{ headers = {{ {pairs} }}, body = {lua_string(body.decode())} }},")
    lines.append("}")
    data = folder / f"{name}.lua"
    data.write_text("\n".join(lines))
    return data


def script(folder: Path, name: str, data: Path, path: str) -> Path:
    target = folder / f"{name}_script.lua"
    target.write_text(LUA.replace("{data}", str(data)).replace("{path}", path))
    return target


def run_wrk(wrk: str, url: str, lua: Path, cpu: set[int]) -> tuple[float, int]:
    command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", str(lua), url]
    out = subprocess.run(
        command, check=True, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpu)
    ).stdout  # noqa: PLW1509
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{url}: wrk saw errors:\n{out}")
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1)), requests_done


def paypal_setup(sandbox: ProviderSandbox) -> dict[str, str]:
    app = sandbox.paypal.create_app()
    sandbox.paypal.register_webhook(app["client_id"], "http://127.0.0.1/webhooks/paypal/", webhook_id=WEBHOOK_ID)
    root = sandbox.base_urls["paypal"]
    token = requests.post(
        f"{root}/v1/oauth2/token", auth=(app["client_id"], app["secret"]), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    product = requests.post(f"{root}/v1/catalogs/products", json={"name": "B", "type": "SERVICE"}, headers=auth).json()
    cycle = {
        "frequency": {"interval_unit": "MONTH", "interval_count": 1},
        "tenure_type": "REGULAR",
        "sequence": 1,
        "total_cycles": 0,
        "pricing_scheme": {"fixed_price": {"value": "29.00", "currency_code": "USD"}},
    }
    body = {"product_id": product["id"], "name": "Bench", "billing_cycles": [cycle], "payment_preferences": {}}
    body["payment_preferences"] = {"auto_bill_outstanding": True, "payment_failure_threshold": 3}
    plan = requests.post(f"{root}/v1/billing/plans", json=body, headers=auth).json()
    sub = requests.post(f"{root}/v1/billing/subscriptions", json={"plan_id": plan["id"]}, headers=auth).json()
    sandbox.paypal.approve_subscription(sub["id"])
    sandbox.paypal.take_deliveries()
    return {**app, "token": token, "product_id": product["id"], "plan_id": plan["id"], "sub_id": sub["id"]}


def sales(sandbox: ProviderSandbox, sub_id: str, count: int) -> list[tuple[dict[str, str], bytes]]:
    for _ in range(count):
        sandbox.paypal.charge(sub_id)
    return [({**d["headers"], "Content-Type": "application/json"}, d["body"]) for d in sandbox.paypal.take_deliveries()]


def verify_request(setup: dict[str, str], headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    fields = {
        "auth_algo": headers["PAYPAL-AUTH-ALGO"],
        "cert_url": headers["PAYPAL-CERT-URL"],
        "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": WEBHOOK_ID,
    }
    envelope = json.dumps(fields)[:-1].encode() + b', "webhook_event": ' + body + b"}"
    return {"Authorization": f"Bearer {setup['token']}", "Content-Type": "application/json"}, envelope


def bench_env(sandbox: ProviderSandbox, setup: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "NODE_ENV": "test",
        "DATABASE_URL": f"{SERVER_DB}/{DB_NAME}",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "LOG_LEVEL": "warning",
        "PAYPAL_BASE_URL": sandbox.base_urls["paypal"],
        "PAYPAL_CLIENT_ID": setup["client_id"],
        "PAYPAL_SECRET": setup["secret"],
        "PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
    }


def start_server(env: dict[str, str], port: int, cpu: set[int]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "prixagent.wsgi:application", "--workers", str(WORKERS),
        "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=lambda: os.sched_setaffinity(0, cpu))  # noqa: PLW1509
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return server
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP answer (503 without Redis): it is up
                return server
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def payments(env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", COUNT_PAYMENTS],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return int(out.strip().splitlines()[-1])


def main() -> None:
    wrk = need_wrk()
    server_cpu, client_cpu = cpus()
    os.sched_setaffinity(0, client_cpu)  # the sandbox threads live in this process
    import api_stack

    api_stack.DB_NAME = DB_NAME
    database("create")
    server = None
    figures: dict[str, list[tuple[float, float]]] = {"verify": [], "new": [], "repeat": []}
    with ProviderSandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        for running in sandbox._servers.values():  # wrk hangs up at the end of a run: not an error
            running.httpd.handle_error = lambda request, address: None
        folder = Path(tmp)
        try:
            setup = paypal_setup(sandbox)
            env = bench_env(sandbox, setup)
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", SETUP.format(**setup)], cwd=ROOT, env=env, check=True,
                capture_output=True,
            )  # fmt: skip
            port = free_port()
            server = start_server(env, port, server_cpu)
            workers = worker_pids(server.pid)
            base = f"http://127.0.0.1:{port}"
            once = sales(sandbox, setup["sub_id"], 1)
            verify = write_events([verify_request(setup, *once[0])], folder, "verify")
            verify_lua = script(folder, "verify", verify, "/v1/notifications/verify-webhook-signature")
            repeat_lua = script(folder, "repeat", write_events(once, folder, "repeat"), "/webhooks/paypal/")
            run_wrk(wrk, base + "/webhooks/paypal/", repeat_lua, client_cpu)  # warm-up (also stores the event)
            before_total = payments(env)
            sent_new = 0
            for round_number in range(ROUNDS):
                new_lua = script(
                    folder, f"new{round_number}",
                    write_events(sales(sandbox, setup["sub_id"], EVENTS_PER_RUN), folder, f"new{round_number}"),
                    "/webhooks/paypal/",
                )  # fmt: skip
                rps, _n = run_wrk(wrk, sandbox.base_urls["paypal"], verify_lua, client_cpu)
                figures["verify"].append((rps, 0.0))
                for key, lua in (("new", new_lua), ("repeat", repeat_lua)):
                    cpu_before = cpu_seconds(workers)
                    rps, done = run_wrk(wrk, base, lua, client_cpu)
                    figures[key].append((rps, (cpu_seconds(workers) - cpu_before) / done * 1000))
                    sent_new += done if key == "new" else 0
            recorded = payments(env) - before_total
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
            database("drop")
    report(figures, sent_new, recorded)


def report(figures: dict[str, list[tuple[float, float]]], sent_new: int, recorded: int) -> None:
    labels = {
        "verify": "sandbox verify-webhook-signature alone",
        "new": "POST /webhooks/paypal/ (new sale event)",
        "repeat": "POST /webhooks/paypal/ (same event again)",
    }
    verify = statistics.median(r for r, _c in figures["verify"])
    print(f"{'what':<44} {'req/s':>8} {'runs (req/s)':>22} {'server CPU ms/req':>18} {'/verify':>8}")
    for key, label in labels.items():
        rps = statistics.median(r for r, _c in figures[key])
        runs = " ".join(f"{r:.0f}" for r, _c in figures[key])
        cpu = "—" if key == "verify" else f"{statistics.median(c for _r, c in figures[key]):.2f}"
        print(f"{label:<44} {rps:8.0f} {runs:>22} {cpu:>18} {rps / verify:8.2f}")
    print(
        f"(new-event requests sent: {sent_new}, sale payments recorded: {recorded} — one per distinct event; "
        f"gunicorn {WORKERS} sync worker(s) on CPU 0; wrk 1 thread x {CONNECTIONS} connections and the sandbox on "
        f"the other CPU; {SECONDS}s per run, {ROUNDS} interleaved rounds, median)"
    )


if __name__ == "__main__":
    main()
