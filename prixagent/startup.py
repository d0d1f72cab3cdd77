"""Starting a server process: a bad .env or a missing encryption key stops it with one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from prixagent.config import ConfigError

App = TypeVar("App")


def exit_with(error: ConfigError) -> NoReturn:
    sys.stderr.write(f"PrixAgent configuration error: {error}\n")
    raise SystemExit(2)


def start(get_application: Callable[[], App]) -> App:
    """Build the WSGI/ASGI application (loading settings), then check the stored keys."""
    try:
        application = get_application()
        from prixagent.keycheck import require_keys_in_use_are_configured

        require_keys_in_use_are_configured()
    except ConfigError as exc:
        exit_with(exc)
    return application
