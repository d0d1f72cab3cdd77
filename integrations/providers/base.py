"""What the provider clients share: the error type, base URLs, timeouts, HTTP error mapping."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from prixagent import redaction

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds; no provider call may hang a request or a worker forever
MAX_REASON = 300
MAX_LOGGED_BODY = 500


class ProviderError(Exception):
    """A provider call failed.

    `permanent` is True when retrying cannot help (bad credentials, not found, missing
    permission) and the integration should be marked failing; False for timeouts, connection
    errors, 5xx and 429, which are worth retrying later. `message` carries the provider's reason
    and never a secret.
    """

    def __init__(self, message: str, *, permanent: bool, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"ProviderError({self.message!r}, {kind}, code={self.code!r}, status={self.status})"


def base_url(provider: str, default: str) -> str:
    """`settings.PROVIDER_BASE_URLS[provider]`, or the real provider's URL when that is empty."""
    configured = (getattr(settings, "PROVIDER_BASE_URLS", {}) or {}).get(provider, "")
    return (configured or default).rstrip("/")


def timeout() -> float:
    return float(getattr(settings, "PROVIDER_TIMEOUT_SECONDS", DEFAULT_TIMEOUT))


@sensitive_variables()
def require(provider: str, **credentials: str | None) -> None:
    """Refuse blank credentials before any request: SDKs fill blanks from environment variables."""
    missing = [name for name, value in credentials.items() if not (value or "").strip()]
    if missing:
        raise ProviderError(
            f"{provider}: missing {', '.join(missing)}", permanent=True, code="missing_credentials", status=None
        )


@sensitive_variables()
def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Cut a provider's reason to size and blank any secret it happens to echo back."""
    return redaction.scrub(text, secrets)[:MAX_REASON]


def error_for_status(provider: str, status: int, reason: str, *, code: str | None = None) -> ProviderError:
    """Map an HTTP status to permanent/transient with a stable code."""
    if status == 429:
        return ProviderError(
            f"{provider} rate limit: {reason}", permanent=False, code=code or "rate_limited", status=status
        )
    if status >= 500 or status == 408:
        return ProviderError(
            f"{provider} is failing ({status}): {reason}", permanent=False, code=code or "provider_error", status=status
        )
    default = {401: "invalid_credentials", 403: "permission_denied", 404: "not_found"}.get(status, "rejected")
    return ProviderError(
        f"{provider} rejected the request ({status}): {reason}", permanent=True, code=code or default, status=status
    )


def transport_error(provider: str, exc: Exception) -> ProviderError:
    """Timeouts and connection failures: transient, with a message a tenant can act on."""
    if isinstance(exc, requests.Timeout) or "timeout" in type(exc).__name__.lower():
        return ProviderError(f"{provider} did not answer in time", permanent=False, code="timeout", status=None)
    return ProviderError(f"{provider} is unreachable", permanent=False, code="unreachable", status=None)


@sensitive_variables()
def unexpected(provider: str, what: str, body: Any, secrets: Iterable[str | None] = ()) -> ProviderError:
    """A 2xx answer without the shape the API documents (a proxy's HTML page, a changed API, a
    half-written body): logged (scrubbed) for us, transient for the tenant, never a 500."""
    logger.warning(
        "%s answered with an unexpected body (%s): %s",
        provider,
        what,
        redaction.scrub(str(body)[:MAX_LOGGED_BODY], secrets),
    )
    return ProviderError(
        f"{provider} answered with an unexpected response ({what})",
        permanent=False,
        code="unexpected_response",
        status=None,
    )


def segment(value: object) -> str:
    """One URL path segment: `/`, `?`, `#`, `..` and the rest cannot change the path."""
    return quote(str(value), safe="")


def json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class JsonApi:
    """A `requests.Session` for one provider and one tenant's credentials, with errors mapped.

    `reason_of(body)` pulls the provider's human reason out of an error body.
    """

    provider = "Provider"

    @sensitive_variables()
    def __init__(
        self, root: str, *, headers: dict[str, str], secrets: tuple[str, ...], timeout_s: float | None = None
    ) -> None:
        self.root = root
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", **headers})
        self.secrets = secrets
        self.timeout = timeout_s if timeout_s is not None else timeout()

    def reason_of(self, body: Any) -> str:
        return str(body)

    def code_of(self, response: requests.Response, body: Any) -> str | None:
        return None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.root + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise transport_error(self.provider, exc) from exc
        body = json_or_text(response)
        if response.status_code >= 400:
            reason = scrub(self.reason_of(body), self.secrets)
            raise error_for_status(self.provider, response.status_code, reason, code=self.code_of(response, body))
        return body

    def member(self, body: Any, key: str, kind: type | tuple[type, ...] = dict) -> Any:
        """`body[key]`, checked: a 2xx body without it is an `unexpected` transient error."""
        value = body.get(key) if isinstance(body, dict) else None
        if not isinstance(value, kind):
            raise unexpected(self.provider, f"no {key!r}", body, self.secrets)
        return value

    def obj(self, body: Any) -> dict[str, Any]:
        """A 2xx body that must be a JSON object."""
        if not isinstance(body, dict):
            raise unexpected(self.provider, "not a JSON object", body, self.secrets)
        return body

    def close(self) -> None:
        self.session.close()
