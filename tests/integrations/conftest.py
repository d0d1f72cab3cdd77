"""The provider sandbox for integration tests.

One sandbox (five HTTP servers on free 127.0.0.1 ports) serves the whole test session; each
test that asks for `provider_sandbox` gets it with state, recorded requests and faults reset,
and with `settings.PROVIDER_BASE_URLS` pointing at it. Provider calls time out after
`PROVIDER_TIMEOUT_SECONDS` (short here, so "provider slow" tests are quick).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.sandbox import ProviderSandbox

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


@pytest.fixture
def dead_url() -> str:
    """An http://127.0.0.1 URL where nothing listens: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
