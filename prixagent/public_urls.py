"""Absolute URLs we hand to providers (webhooks, tool endpoints), built from configuration.

Never from the request: a Host header is whatever the client sent, and the URL a provider signs
(Twilio) must be the public one behind the TLS-terminating proxy. `API_URL` is the public base of
the API (`https://app.example.com/api/v1`); its origin serves `/webhooks/` too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def public_origin() -> str:
    parts = urlsplit(settings.API_URL)
    return f"{parts.scheme}://{parts.netloc}"


def public_url(path: str) -> str:
    """`path` (starting with "/", e.g. a `reverse()` result) on the public origin."""
    if not path.startswith("/"):
        raise ValueError("path must start with /")
    return public_origin() + path


def public_request_url(request: HttpRequest) -> str:
    """The public URL of this request (path and query string kept byte for byte)."""
    return public_origin() + request.get_full_path()
