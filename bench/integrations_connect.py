"""Connect-and-validate latency: `PUT /api/v1/integrations/{provider}/` vs the same provider calls made
directly, against the same in-process provider sandbox, in the same run (interleaved).

The API path adds JWT auth, tenant scoping, throttling, serializer validation, AES-GCM encryption
of the secret, the account/status/audit writes in PostgreSQL, and the JSON response. The direct
path is only the SDK calls our service makes (e.g. Twilio: fetch account + list numbers).

Runs standalone: `NODE_ENV=test .venv/bin/python bench/integrations_connect.py`. It creates a
throwaway PostgreSQL database (Django's test-database helpers) and drops it at the end.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NODE_ENV", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")
os.environ["RATE_LIMIT_MAX_REQUESTS"] = "100000000"  # measure the work, not the throttle
os.environ.setdefault("LOG_LEVEL", "warning")  # the Twilio SDK logs every request at INFO

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

ROUNDS, WARMUP = 200, 10


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def direct_calls(provider: str) -> Callable[[dict[str, Any]], Any]:
    from integrations.providers import calcom, elevenlabs, ghl, twilio

    return {
        "twilio": lambda c: (twilio.validate(c["account_sid"], c["auth_token"]), twilio.list_numbers(**c)),
        "ghl": lambda c: ghl.validate(c["api_key"], c["location_id"]),
        "elevenlabs": lambda c: elevenlabs.validate(c["api_key"]),
        "calcom": lambda c: (calcom.validate(c["api_key"]), calcom.list_event_types(c["api_key"])),
    }[provider]


def measure(sb: Any) -> None:
    from rest_framework.test import APIClient

    from accounts.services import account_create
    from accounts.tokens import RefreshToken
    from tests.integrations.integration_helpers import connect_payload

    _account, owner = account_create(
        account_name="Bench", email="bench@example.com", password="bench password 123", verified=True
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")

    print(f"{'provider':<11} {'direct median':>14} {'direct p95':>11} {'API median':>11} {'API p95':>9} {'ratio':>6}")
    for provider in ("twilio", "ghl", "elevenlabs", "calcom"):
        direct = direct_calls(provider)

        def via_api(provider: str = provider) -> float:
            # Fresh credentials every time: the GHL and Cal.com fakes enforce the real per-key
            # rate limits, and a re-connect of the same key is not what we want to measure.
            creds = connect_payload(sb, provider)
            start = time.perf_counter()
            response = client.put(f"/api/v1/integrations/{provider}/", creds, format="json")
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{provider}: API answered {response.status_code}: {response.content[:200]!r}")
            return elapsed

        def via_sdk(provider: str = provider, direct: Any = direct) -> float:
            creds = connect_payload(sb, provider)
            start = time.perf_counter()
            direct(creds)
            return (time.perf_counter() - start) * 1000

        for _ in range(WARMUP):
            via_api()
            via_sdk()
        api_ms, sdk_ms = [], []
        for _ in range(ROUNDS):  # interleaved, so drift hits both sides alike
            api_ms.append(via_api())
            sdk_ms.append(via_sdk())
        ratio = statistics.median(api_ms) / statistics.median(sdk_ms)
        print(
            f"{provider:<11} {statistics.median(sdk_ms):11.2f} ms {p95(sdk_ms):8.2f} ms "
            f"{statistics.median(api_ms):8.2f} ms {p95(api_ms):6.2f} ms {ratio:5.2f}x"
        )
    print(f"({ROUNDS} connects per provider after {WARMUP} warm-up, in-process Django test client, loopback sandbox)")


def main() -> None:
    from sandbox import ProviderSandbox

    setup_test_environment()
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_bench_integrations_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    sb = ProviderSandbox().start()
    try:
        settings.PROVIDER_BASE_URLS = dict(sb.base_urls)
        measure(sb)
    finally:
        sb.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
