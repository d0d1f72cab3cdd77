"""Call webhooks through gunicorn: Twilio's status callback under `wrk`, the voice webhook's latency.

1. **Twilio status webhook**, requests/s from `wrk`, next to a **bare Django JSON view** on the
   same gunicorn (`bench/wsgi_bench.py`'s `/bench/minimal/`: Django's request handling, no
   middleware) and the platform's bare view (the full middleware stack):
   - *new*: each request is another call's `ringing` callback, signed with the tenant's auth
     token over the public URL: signature check, the event stored once, the call locked and moved
     forward, the live event published;
   - *repeat*: the same callback again (Twilio's retries): signature check, answered from the
     stored event.
2. **Voice webhook latency**, p50/p99 of sequential requests, each for another call: signature,
   a tool session opened, ElevenLabs register-call to the sandbox (the SDK, retries off), the
   TwiML returned and kept; next to the sandbox's own register-call latency (the same SDK call
   made straight to it, a fresh client each time as the platform does, and one kept-alive client).

gunicorn runs BENCH_WORKERS sync workers (default 2) pinned to CPU 0; `wrk`, the voice client and
the sandbox share CPU 1. Creates a throwaway PostgreSQL database and drops it at the end.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_stack import (  # noqa: E402 - the shared bench plumbing
    CONNECTIONS,
    ROUNDS,
    SECONDS,
    WORKERS,
    bench_env,
    cpu_seconds,
    cpus,
    database,
    free_port,
    need_wrk,
    start_server,
    worker_pids,
)
from billing_webhooks import lua_string  # noqa: E402
from elevenlabs import ElevenLabs  # noqa: E402

from sandbox import ProviderSandbox  # noqa: E402
from sandbox.twilio import twilio_signature  # noqa: E402

DB_NAME = f"prixagent_bench_calls_{os.getpid()}"
CALLS_PER_ROUND = int(os.environ.get("BENCH_CALLS", "4000"))
VOICE_REQUESTS = int(os.environ.get("BENCH_VOICE", "300"))
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
CALLER, CALLEE = "+15005550006", "+14155550123"

SETUP = """
import hashlib
from accounts.models import Account
from agents.models import Agent, ElevenLabsWorkspace
from calls.models import Call
from contacts.models import Contact
account = Account.objects.create(name="Bench", slug="bench", email="bench@example.com")
account.twilio_account_sid, account.twilio_auth_token = "{sid}", "{token}"
account.twilio_phone_numbers = [{{"number": "{caller}", "sid": "PN1", "capabilities": {{"voice": True}}}}]
account.twilio_configured = True
account.elevenlabs_api_key, account.elevenlabs_configured = "{key}", True
account.save()
workspace = ElevenLabsWorkspace.objects.create(account=account, key_fingerprint=hashlib.sha256(b"{key}").hexdigest())
agent = Agent.objects.create(account=account, name="Bench", system_prompt="Be brief.", voice_id="21m00Tcm4TlvDq8ikWAM",
                             elevenlabs_agent_id="{agent_id}", workspace=workspace)
contact = Contact.objects.create(account=account, first_name="Ana", phone="{callee}", time_zone="America/New_York")
ids = open("{ids}").read().split()
Call.objects.bulk_create(
    [Call(id=call_id, account=account, agent=agent, contact=contact, attempt_key=call_id, to_number="{callee}",
          from_number="{caller}", twilio_call_sid=sid, status="queued") for call_id, sid in zip(ids[0::2], ids[1::2])],
    batch_size=2000,
)
print(Call.objects.count())
"""

LUA = """
local events = dofile("{data}")
local n = 0
request = function()
  n = n + 1
  local e = events[((n - 1) % #events) + 1]
  return wrk.format("POST", e.path, e.headers, e.body)
end
"""


def new_calls(count: int) -> list[tuple[str, str]]:
    return [(str(uuid.uuid4()), "CA" + uuid.uuid4().hex) for _ in range(count)]


def status_event(base: str, call_id: str, sid: str) -> tuple[str, dict[str, str], str]:
    path = f"/webhooks/twilio/calls/{call_id}/status/"
    form = {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": CALLEE,
        "CallStatus": "ringing",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        "CallbackSource": "call-progress-events",
        "Timestamp": "Sun, 29 Nov 2026 10:00:00 +0000",
        "SequenceNumber": "1",
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(AUTH_TOKEN, base + path, form),
    }
    return path, headers, urlencode(form)


def write_script(events: list[tuple[str, dict[str, str], str]], folder: Path, name: str) -> Path:
    lines = ["return {"]
    for path, headers, body in events:
        pairs = ", ".join(f'["{k}"] = {lua_string(v)}' for k, v in headers.items())
        lines.append(f"  {{ path = {lua_string(path)}, headers = {{ {pairs} }}, body = {lua_string(body)} }},")
    lines.append("}")
    data = folder / f"{name}.lua"
    data.write_text("\n".join(lines))
    script = folder / f"{name}_script.lua"
    script.write_text(LUA.replace("{data}", str(data)))
    return script


def run_wrk(wrk: str, url: str, script: Path | None, cpu: set[int]) -> tuple[float, int]:
    import re

    command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(
        command, check=True, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpu)
    ).stdout  # noqa: PLW1509
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{url}: wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1)), int(
        re.search(r"(\d+) requests in", out).group(1)
    )


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def voice_latency(base: str, calls: list[tuple[str, str]]) -> list[float]:
    session = requests.Session()
    samples = []
    for call_id, sid in calls:
        path = f"/webhooks/twilio/calls/{call_id}/voice/"
        form = {
            "CallSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": CALLER,
            "To": CALLEE,
            "CallStatus": "in-progress",
            "ApiVersion": "2010-04-01",
            "Direction": "outbound-api",
        }
        headers = {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, base + path, form)}
        started = time.perf_counter()
        answer = session.post(base + path, data=form, headers=headers, timeout=10)
        samples.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200 or b"<Connect><Stream" not in answer.content:
            raise SystemExit(f"voice webhook answered {answer.status_code}: {answer.text[:300]}")
    return samples


def register_latency(url: str, key: str, agent_id: str, count: int, *, fresh: bool) -> list[float]:
    samples = []
    kept = ElevenLabs(api_key=key, base_url=url)
    for _ in range(count):
        started = time.perf_counter()
        client = ElevenLabs(api_key=key, base_url=url) if fresh else kept
        client.conversational_ai.twilio.register_call(
            agent_id=agent_id,
            from_number=CALLER,
            to_number=CALLEE,
            direction="outbound",
            conversation_initiation_client_data={"dynamic_variables": {"first_name": "Ana"}, "user_id": "x"},
            request_options={"max_retries": 0},
        )
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:  # noqa: PLR0915 - one straight script
    wrk = need_wrk()
    server_cpu, client_cpu = cpus()
    os.sched_setaffinity(0, client_cpu)  # the sandbox threads live in this process
    import api_stack

    api_stack.DB_NAME = DB_NAME
    database("create")
    server = None
    rps: dict[str, list[tuple[float, float]]] = {"minimal": [], "bare": [], "new": [], "repeat": []}
    with ProviderSandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        for running in sandbox._servers.values():  # wrk hangs up at the end of a run: not an error
            running.httpd.handle_error = lambda request, address: None
        folder = Path(tmp)
        try:
            key = sandbox.elevenlabs.create_key()
            el = ElevenLabs(api_key=key, base_url=sandbox.base_urls["elevenlabs"])
            agent_id = el.conversational_ai.agents.create(
                conversation_config={"agent": {"first_message": "Hi", "language": "en"}},
                request_options={"max_retries": 0},
            ).agent_id
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                **bench_env(),
                "API_URL": f"{base}/api/v1",
                "ELEVENLABS_BASE_URL": sandbox.base_urls["elevenlabs"],
                "TWILIO_BASE_URL": sandbox.base_urls["twilio"],
            }
            status_calls = new_calls(CALLS_PER_ROUND * (ROUNDS + 1) + 1)
            voice_calls = new_calls(VOICE_REQUESTS)
            ids = folder / "ids.txt"
            ids.write_text("\n".join(f"{c}\n{s}" for c, s in status_calls + voice_calls))
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            setup = SETUP.format(
                sid=ACCOUNT_SID, token=AUTH_TOKEN, caller=CALLER, callee=CALLEE, key=key, agent_id=agent_id, ids=ids
            )
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True
            )
            server = start_server(env, port, server_cpu)
            workers = worker_pids(server.pid)
            repeat = write_script([status_event(base, *status_calls[-1])], folder, "repeat")
            chunks = [status_calls[i * CALLS_PER_ROUND : (i + 1) * CALLS_PER_ROUND] for i in range(ROUNDS + 1)]
            scripts = [
                write_script([status_event(base, *c) for c in chunk], folder, f"new{i}")
                for i, chunk in enumerate(chunks)
            ]
            run_wrk(wrk, base, scripts[0], client_cpu)  # warm-up: connections, caches, lazy imports
            run_wrk(wrk, base, repeat, client_cpu)
            for round_number in range(ROUNDS):
                runs = (
                    ("minimal", base + "/bench/minimal/", None),
                    ("bare", base + "/bench/bare/", None),
                    ("new", base, scripts[round_number + 1]),
                    ("repeat", base, repeat),
                )
                for label, url, script in runs:
                    before = cpu_seconds(workers)
                    done_rps, done = run_wrk(wrk, url, script, client_cpu)
                    rps[label].append((done_rps, (cpu_seconds(workers) - before) / done * 1000))
            voice = voice_latency(base, voice_calls)
            fresh = register_latency(sandbox.base_urls["elevenlabs"], key, agent_id, VOICE_REQUESTS, fresh=True)
            kept = register_latency(sandbox.base_urls["elevenlabs"], key, agent_id, VOICE_REQUESTS, fresh=False)
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
            database("drop")
    report(rps, voice, fresh, kept)


def report(
    rps: dict[str, list[tuple[float, float]]], voice: list[float], fresh: list[float], kept: list[float]
) -> None:
    labels = {
        "minimal": "bare Django JSON view (no middleware)",
        "bare": "platform bare view (full middleware)",
        "new": "Twilio status webhook, a new callback",
        "repeat": "Twilio status webhook, the same again",
    }
    minimal = statistics.median(r for r, _c in rps["minimal"])
    print(f"{'what':<42} {'req/s':>8} {'runs (req/s)':>20} {'CPU ms/req':>11} {'/bare Django':>13}")
    for key, label in labels.items():
        median = statistics.median(r for r, _c in rps[key])
        runs = " ".join(f"{r:.0f}" for r, _c in rps[key])
        cpu = statistics.median(c for _r, c in rps[key])
        print(f"{label:<42} {median:8.0f} {runs:>20} {cpu:11.2f} {median / minimal:13.2f}")
    print(
        f"(gunicorn {WORKERS} sync worker(s) on CPU 0, wrk 1 thread x {CONNECTIONS} connections on CPU 1, "
        f"{SECONDS}s per run, {ROUNDS} interleaved rounds, median)"
    )
    print(f"\n{'latency (ms), sequential':<58} {'p50':>7} {'p99':>7} {'n':>5}")
    for label, samples in (
        ("voice webhook (signature, register-call, TwiML)", voice),
        ("sandbox register-call alone, a fresh SDK client each", fresh),
        ("sandbox register-call alone, one kept-alive client", kept),
    ):
        print(f"{label:<58} {percentile(samples, 0.5):7.1f} {percentile(samples, 0.99):7.1f} {len(samples):5d}")


if __name__ == "__main__":
    main()
