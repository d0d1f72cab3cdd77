"""PayPal REST with `requests` and the platform's app credentials (OAuth client credentials).

`paypalrestsdk` is deprecated and unsafe here (no timeout, unbounded 401 recursion, webhook
verification that always fails: providers.md finding 9), so this is a small explicit client.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.providers.base import JsonApi, base_url, require

PROVIDER = "PayPal"
LIVE_URL = "https://api-m.paypal.com"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
TOKEN_MARGIN = 60  # seconds: renew a little before PayPal's expiry, not at it


class PaypalClient(JsonApi):
    provider = PROVIDER

    @sensitive_variables()
    def __init__(self, client_id: str, secret: str, *, timeout_s: float | None = None) -> None:
        require(PROVIDER, client_id=client_id, secret=secret)
        default = LIVE_URL if getattr(settings, "PAYPAL_MODE", "sandbox") == "live" else SANDBOX_URL
        super().__init__(base_url("paypal", default), headers={}, secrets=(secret,), timeout_s=timeout_s)
        self._credentials = (client_id, secret)
        self._token: str | None = None
        self._token_expires = 0.0
        self.token_info: dict[str, Any] = {}

    def reason_of(self, body: Any) -> str:
        if isinstance(body, dict):
            # OAuth errors: {error, error_description}; REST errors: {name, message, details, debug_id}
            reason = body.get("error_description") or body.get("message") or body.get("error") or body.get("name")
            issues = [d.get("issue") for d in body.get("details") or [] if isinstance(d, dict)]
            debug = f" (debug_id {body['debug_id']})" if body.get("debug_id") else ""
            return f"{reason}{': ' + ', '.join(map(str, issues)) if issues else ''}{debug}"
        return str(body)[:200]

    def token(self) -> str:
        if self._token is None or time.time() >= self._token_expires:
            self.token_info = self.call(
                "POST", "/v1/oauth2/token", auth=self._credentials, data={"grant_type": "client_credentials"}
            )
            self._token = self.token_info["access_token"]
            self._token_expires = time.time() + int(self.token_info.get("expires_in", 0)) - TOKEN_MARGIN
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        if method == "POST":
            # Idempotency: a retried POST with the same id is not executed twice (kept 72 h).
            headers.setdefault("PayPal-Request-Id", str(uuid.uuid4()))
        return self.call(method, path, headers=headers, **kwargs)


@sensitive_variables()
def validate(client_id: str, secret: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    paypal = PaypalClient(client_id, secret, timeout_s=timeout_s)
    try:
        paypal.token()
    finally:
        paypal.close()
    scopes = (paypal.token_info.get("scope") or "").split()
    return {"app_id": paypal.token_info.get("app_id", ""), "scope_count": len(scopes)}
