"""Shared fixtures. Personas (as in healthchecks' hc/test.py):

- alice: owner of account "Alice Co"
- bob:   member of "Alice Co" (reads, cannot change settings)
- dave:  admin of "Alice Co" (manages members and settings, not owners)
- charlie: owner of another tenant, "Charlie Ltd" — every tenant view has a
  "charlie gets 404" test.

`provider_sandbox`: one sandbox (five HTTP servers on free 127.0.0.1 ports) serves the whole
session; each test that asks for it gets it with state, recorded requests and faults reset, and
with `settings.PROVIDER_BASE_URLS` pointing at it. Provider calls time out after
`PROVIDER_TIMEOUT_SECONDS` (short here, so "provider slow" tests are quick).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Account, User
from accounts.tokens import RefreshToken
from sandbox import ProviderSandbox

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # Throttle counters live in the (Redis) cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice_account(db: None) -> Account:
    return Account.objects.create(name="Alice Co", slug="alice-co", email="alice@example.com")


@pytest.fixture
def charlie_account(db: None) -> Account:
    return Account.objects.create(name="Charlie Ltd", slug="charlie-ltd", email="charlie@example.com")


@pytest.fixture
def alice(alice_account: Account) -> User:
    return User.objects.create_user("alice@example.com", PASSWORD, account=alice_account, role=User.Role.OWNER)


@pytest.fixture
def bob(alice_account: Account) -> User:
    return User.objects.create_user("bob@example.com", PASSWORD, account=alice_account, role=User.Role.MEMBER)


@pytest.fixture
def dave(alice_account: Account) -> User:
    return User.objects.create_user("dave@example.com", PASSWORD, account=alice_account, role=User.Role.ADMIN)


@pytest.fixture
def charlie(charlie_account: Account) -> User:
    return User.objects.create_user("charlie@example.com", PASSWORD, account=charlie_account, role=User.Role.OWNER)


def api_client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def alice_api(alice: User) -> APIClient:
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob: User) -> APIClient:
    return api_client_for(bob)


@pytest.fixture
def dave_api(dave: User) -> APIClient:
    return api_client_for(dave)


@pytest.fixture
def charlie_api(charlie: User) -> APIClient:
    return api_client_for(charlie)


TEST_PROVIDER_TIMEOUT = 2.0


@pytest.fixture(scope="session")
def _sandbox_servers() -> Iterator[ProviderSandbox]:
    sandbox = ProviderSandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def provider_sandbox(_sandbox_servers: ProviderSandbox, settings: Any) -> Iterator[ProviderSandbox]:
    _sandbox_servers.reset()
    settings.PROVIDER_BASE_URLS = dict(_sandbox_servers.base_urls)
    settings.PROVIDER_TIMEOUT_SECONDS = TEST_PROVIDER_TIMEOUT
    yield _sandbox_servers
    _sandbox_servers.reset()  # also wakes any request still sleeping in an injected latency
