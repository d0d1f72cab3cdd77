"""Integration-test helpers. The `provider_sandbox` fixture lives in tests/conftest.py."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def dead_url() -> str:
    """An http://127.0.0.1 URL where nothing listens: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
