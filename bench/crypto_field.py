"""Encrypt+decrypt through the model field vs raw AES-GCM, same process, same key.

Prints microseconds per round trip for both and the overhead ratio. No database needed:
the field's own code path (pre_save sealing, descriptor decrypting) runs on an instance.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("NODE_ENV", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from accounts.models import Account  # noqa: E402
from prixagent import crypto  # noqa: E402

SECRET = "tw_auth_token_0123456789abcdef0123456789"
ROUNDS, REPEATS = 20_000, 5


def field_round_trip(n: int) -> float:
    account = Account(name="Bench", slug="bench", email="bench@example.com")
    field = Account._meta.get_field("twilio_auth_token")
    start = time.perf_counter()
    for _ in range(n):
        account.twilio_auth_token = SECRET
        field.pre_save(account, add=False)
        assert account.twilio_auth_token == SECRET
    return time.perf_counter() - start


def raw_round_trip(n: int) -> float:
    key = crypto.get_keyring().primary
    aad = crypto.associated_data("accounts", "twilio_auth_token", "bench")
    data = SECRET.encode()
    cipher = AESGCM(key)
    start = time.perf_counter()
    for _ in range(n):
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, data, aad)
        assert cipher.decrypt(nonce, sealed, aad) == data
    return time.perf_counter() - start


def main() -> None:
    field_runs, raw_runs = [], []
    for _ in range(REPEATS):  # interleaved so drift hits both alike
        raw_runs.append(raw_round_trip(ROUNDS))
        field_runs.append(field_round_trip(ROUNDS))
    field_us = statistics.median(field_runs) / ROUNDS * 1e6
    raw_us = statistics.median(raw_runs) / ROUNDS * 1e6
    print(f"encrypt+decrypt, model field : {field_us:8.2f} µs/round trip")
    print(f"encrypt+decrypt, raw AES-GCM : {raw_us:8.2f} µs/round trip")
    print(f"field / raw ratio            : {field_us / raw_us:8.2f}x  ({ROUNDS} round trips x {REPEATS}, median)")


if __name__ == "__main__":
    main()
