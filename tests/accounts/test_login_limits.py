"""Client IP behind proxies, and the login budget: hard limit per (email, IP), slow-down per
email, atomic counters. Counters live in the real Redis of the test run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.models import User
from prixagent.throttling import client_ip, login_attempt
from tests.conftest import PASSWORD

ADMIN_EMAIL = "ops@prixagent.test"
ADMIN_PASSWORD = "operator pass phrase 2024"


def ip_of(count: int, settings: Any, remote: str, forwarded: str | None = None) -> str:
    settings.TRUSTED_PROXY_COUNT = count
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


# --- client_ip ---------------------------------------------------------------------------------


def test_without_trusted_proxies_only_the_peer_counts(settings: Any) -> None:
    assert ip_of(0, settings, "198.51.100.9", "1.2.3.4") == "198.51.100.9"
    assert ip_of(0, settings, "198.51.100.9") == "198.51.100.9"


def test_one_trusted_proxy_vouches_for_the_hop_it_appended(settings: Any) -> None:
    # The client wrote "1.2.3.4"; the proxy appended the address it saw, 203.0.113.7.
    assert ip_of(1, settings, "10.0.0.2", "1.2.3.4, 203.0.113.7") == "203.0.113.7"
    assert ip_of(1, settings, "10.0.0.2", "203.0.113.7") == "203.0.113.7"
    assert ip_of(1, settings, "10.0.0.2", "junk, not-an-ip, 203.0.113.7") == "203.0.113.7"


def test_two_trusted_proxies(settings: Any) -> None:
    # client -> CDN (appends the client) -> load balancer (appends the CDN) -> app
    assert ip_of(2, settings, "10.0.0.2", "1.2.3.4, 203.0.113.7, 198.51.100.1") == "203.0.113.7"


def test_a_request_that_bypassed_the_proxies_is_its_peer(settings: Any) -> None:
    assert ip_of(1, settings, "203.0.113.50") == "203.0.113.50"
    assert ip_of(2, settings, "10.0.0.2", "203.0.113.7") == "10.0.0.2"


# --- the anonymous API throttle -------------------------------------------------------------------


def config_status(client: APIClient, **extra: str) -> int:
    return client.get("/api/v1/config/", **extra).status_code


def test_a_spoofed_forwarded_for_does_not_reset_the_api_throttle(db: None, settings: Any) -> None:
    settings.RATE_LIMIT_MAX_REQUESTS = 3
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    codes = [config_status(client, HTTP_X_FORWARDED_FOR=f"10.1.1.{n}") for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_behind_a_proxy_the_api_throttle_counts_each_real_client(db: None, settings: Any) -> None:
    settings.RATE_LIMIT_MAX_REQUESTS = 3
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    # One client behind the proxy, making up a different left-hand address each time.
    codes = [config_status(proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.7") for n in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another client behind the same proxy has its own budget.
    assert config_status(proxy, HTTP_X_FORWARDED_FOR="203.0.113.8") == 200


# --- the login budget per IP -----------------------------------------------------------------------


def token_status(client: APIClient, email: str, password: str, **extra: str) -> int:
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, **extra).status_code


def test_a_spoofed_forwarded_for_does_not_reset_the_login_budget(alice: User, settings: Any) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    codes = [token_status(client, f"u{n}@x.io", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.0.{n}") for n in range(4)]
    assert codes == [401, 401, 401, 429]


def test_behind_a_proxy_one_client_cannot_spend_everyones_login_budget(alice: User, settings: Any) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    codes = [
        token_status(proxy, f"u{n}@x.io", "wrong", HTTP_X_FORWARDED_FOR=f"9.9.9.{n}, 203.0.113.66") for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # Alice, another client of the same proxy, still logs in.
    assert token_status(proxy, alice.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7") == 200


def test_the_security_log_names_the_client_behind_the_proxy(
    alice: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    with caplog.at_level(logging.INFO, logger="prixagent.security"):
        token_status(
            APIClient(REMOTE_ADDR="10.0.0.2"), alice.email, "wrong", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "prixagent.security"]
    assert any(
        line.startswith("login failed: email='alice@example.com'") and "ip=203.0.113.7" in line for line in lines
    )


# --- hard limit per (email, IP), slow-down per email -----------------------------------------------


def dashboard_login(email: str, password: str, ip: str) -> int:
    return Client(REMOTE_ADDR=ip).post("/app/login/", {"username": email, "password": password}).status_code


def test_failures_lock_the_email_only_from_the_attackers_address(alice: User, settings: Any) -> None:
    assert dashboard_login(alice.email, PASSWORD, "203.0.113.7") == 302  # alice's usual address
    for _ in range(settings.LOGIN_FAILURES_PER_EMAIL_IP):
        assert dashboard_login(alice.email, "wrong", "198.51.100.66") == 200
    # The attacker's address is locked, even with the right password...
    assert dashboard_login(alice.email, PASSWORD, "198.51.100.66") == 429
    # ...alice, from where she logged in before, is not.
    assert dashboard_login(alice.email, PASSWORD, "203.0.113.7") == 302


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser(ADMIN_EMAIL, ADMIN_PASSWORD)


def admin_login(email: str, password: str, ip: str) -> Any:
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})
    return response, client


def test_an_attacker_cannot_lock_the_platform_admin_out(operator: User, settings: Any) -> None:
    response, _client = admin_login(ADMIN_EMAIL, ADMIN_PASSWORD, "203.0.113.10")
    assert response.status_code == 302
    for n in range(30):  # from one address, then from many
        admin_login(ADMIN_EMAIL, f"guess {n}", "198.51.100.66" if n < 10 else f"198.51.100.{n}")
    response, client = admin_login(ADMIN_EMAIL, ADMIN_PASSWORD, "203.0.113.10")
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get("/admin/").status_code == 200


def test_failures_from_many_addresses_slow_the_email_down_but_never_lock_it(alice: User, settings: Any) -> None:
    settings.LOGIN_DELAY_MAX_SECONDS = 1
    for n in range(settings.LOGIN_ATTEMPTS_PER_EMAIL):
        assert token_status(APIClient(REMOTE_ADDR=f"198.51.100.{n}"), alice.email, "wrong") == 401
    # From a new address alice is asked to wait (a second at most here), not locked out.
    new_place = APIClient(REMOTE_ADDR="203.0.113.99")
    refused = new_place.post("/api/v1/auth/token/", {"email": alice.email, "password": PASSWORD})
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= settings.LOGIN_DELAY_MAX_SECONDS
    time.sleep(wait + 0.05)
    assert token_status(new_place, alice.email, PASSWORD) == 200


def test_the_delay_doubles_with_each_failure_up_to_the_cap(alice: User, settings: Any) -> None:
    settings.LOGIN_ATTEMPTS_PER_EMAIL = 1
    settings.LOGIN_DELAY_MAX_SECONDS = 2
    waits = []
    for n in range(3):
        assert token_status(APIClient(REMOTE_ADDR=f"198.51.100.{n}"), alice.email, "wrong") in (401, 429)
        refused = APIClient(REMOTE_ADDR="203.0.113.99").post(
            "/api/v1/auth/token/", {"email": alice.email, "password": "wrong again"}
        )
        waits.append(int(refused["Retry-After"]))
        assert waits[-1] <= settings.LOGIN_DELAY_MAX_SECONDS
        time.sleep(waits[-1] + 0.05)
    assert waits == [1, 2, 2]


# --- atomic counters under parallel requests -------------------------------------------------------


def in_parallel(n: int, attempt: Callable[[int], bool]) -> int:
    """Run `attempt` in n threads released together; how many were allowed."""
    barrier = threading.Barrier(n)
    allowed: list[bool] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = attempt(i)
            with lock:
                allowed.append(result)
        finally:
            connections.close_all()  # each thread had its own database connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(allowed) == n
    return sum(allowed)


def attempt_from(ip: str, email: str) -> bool:
    return bool(login_attempt(request=RequestFactory().post("/", REMOTE_ADDR=ip), email=email))


def test_parallel_attempts_from_one_address_stop_exactly_at_the_hard_limit(db: None, settings: Any) -> None:
    allowed = in_parallel(40, lambda i: attempt_from("198.51.100.66", "victim@example.com"))
    assert allowed == settings.LOGIN_FAILURES_PER_EMAIL_IP


def test_parallel_attempts_from_many_addresses_get_one_slot_past_the_free_ones(db: None, settings: Any) -> None:
    allowed = in_parallel(40, lambda i: attempt_from(f"198.51.100.{i}", "victim@example.com"))
    assert allowed == settings.LOGIN_ATTEMPTS_PER_EMAIL + 1


def test_parallel_attempts_never_exceed_the_per_ip_budget(db: None, settings: Any) -> None:
    allowed = in_parallel(60, lambda i: attempt_from("198.51.100.66", f"u{i}@example.com"))
    assert allowed == settings.LOGIN_ATTEMPTS_PER_IP


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_over_http_stop_at_the_limit(settings: Any) -> None:
    from accounts.models import Account

    account = Account.objects.create(name="Race Co", slug="race-co", email="race@example.com")
    User.objects.create_user("race@example.com", PASSWORD, account=account, role=User.Role.OWNER)

    def post(i: int) -> bool:
        status = token_status(APIClient(REMOTE_ADDR="198.51.100.66"), "race@example.com", f"wrong {i}")
        assert status in (401, 429)
        return status == 401

    assert in_parallel(12, post) == settings.LOGIN_FAILURES_PER_EMAIL_IP
