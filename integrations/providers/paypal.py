"""PayPal, with the platform's app credentials (OAuth client credentials).

`paypalrestsdk` is deprecated and unsafe here (no timeout, unbounded 401 recursion, webhook
verification that always fails: providers.md finding 9). Plans and subscriptions go through
PayPal's maintained `paypal-server-sdk`; catalog products, webhook verification and the token
check go through the small `requests` client below, because that SDK has no such endpoints.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.exceptions.o_auth_provider_exception import OAuthProviderException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.activate_subscription_request import ActivateSubscriptionRequest
from paypalserversdk.models.cancel_subscription_request import CancelSubscriptionRequest
from paypalserversdk.models.capture_subscription_request import CaptureSubscriptionRequest
from paypalserversdk.models.create_subscription_request import CreateSubscriptionRequest
from paypalserversdk.models.modify_subscription_request import ModifySubscriptionRequest
from paypalserversdk.models.money import Money
from paypalserversdk.models.patch import Patch
from paypalserversdk.models.plan_request import PlanRequest
from paypalserversdk.models.suspend_subscription import SuspendSubscription
from paypalserversdk.models.update_pricing_schemes_request import UpdatePricingSchemesRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from integrations.providers.base import (
    JsonApi,
    base_url,
    error_for_status,
    require,
    scrub,
    timeout,
    transport_error,
    unexpected,
)

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


# --- Billing: plans and subscriptions through PayPal's maintained SDK ---------------------------
#
# `paypal-server-sdk` (APIMatic) covers billing plans and subscriptions; it has no catalog-products
# and no webhook-verification endpoints (providers.md §5.3), so those two use `PaypalClient`
# above. SDK traps closed here:
# - its base URL comes only from `Environment`; `PAYPAL_BASE_URL` (the sandbox) is applied by
#   overriding `Configuration.get_base_uri`;
# - `Configuration.from_environment()` reads a `.env` and `PAYPAL_*`-style variables of its own;
#   never used: credentials come from our settings, explicitly;
# - the default timeout is 60 s: ours is `PROVIDER_TIMEOUT_SECONDS`; retries stay off (0), and
#   only ever apply to GET/PUT;
# - the SDK documents 200 for creates where PayPal answers 201: any 2xx is accepted;
# - transport errors come out as `requests` exceptions, HTTP errors as `ApiException` subclasses,
#   a refused token as `OAuthProviderException`: all become `ProviderError`.


class _Configuration(Configuration):
    """The SDK's configuration with our base URL (live, sandbox or the local sandbox)."""

    def __init__(self, *, base: str, **kwargs: Any) -> None:
        self._prix_base = base
        super().__init__(**kwargs)

    def get_base_uri(self, server: Server = Server.DEFAULT) -> str:
        return self._prix_base

    def clone_with(self, **kwargs: Any) -> _Configuration:  # keep the base URL on clones
        clone = super().clone_with(**kwargs)
        clone.__class__ = _Configuration
        clone._prix_base = self._prix_base
        return clone


_SDK_CLIENTS: dict[tuple[str, str, str, float], PaypalServersdkClient] = {}
_SDK_LOCK = threading.Lock()


def platform_root() -> str:
    default = LIVE_URL if getattr(settings, "PAYPAL_MODE", "sandbox") == "live" else SANDBOX_URL
    return base_url("paypal", default)


@sensitive_variables()
def sdk_client() -> PaypalServersdkClient:
    """One SDK client per process and configuration: it keeps its OAuth token between calls."""
    client_id, secret = settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET
    require(PROVIDER, PAYPAL_CLIENT_ID=client_id, PAYPAL_SECRET=secret)
    key = (platform_root(), client_id, secret, timeout())
    with _SDK_LOCK:
        if key not in _SDK_CLIENTS:
            environment = Environment.PRODUCTION if settings.PAYPAL_MODE == "live" else Environment.SANDBOX
            config = _Configuration(
                base=key[0],
                environment=environment,
                timeout=key[3],
                max_retries=0,
                client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                    o_auth_client_id=client_id, o_auth_client_secret=secret
                ),
            )
            _SDK_CLIENTS[key] = PaypalServersdkClient(config=config)
        return _SDK_CLIENTS[key]


_PLATFORM_CLIENTS: dict[tuple[str, str, str, float], PaypalClient] = {}


@sensitive_variables()
def platform_client() -> PaypalClient:
    """The `requests` client for what the SDK lacks (products, webhook verification).

    One per process and configuration, like the SDK client: it keeps its OAuth token (about 9 h)
    and its keep-alive connection, so a webhook costs one call to PayPal, not a token fetch, a
    TLS handshake and the call."""
    client_id, secret = settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET
    key = (platform_root(), client_id, secret, timeout())
    with _SDK_LOCK:
        if key not in _PLATFORM_CLIENTS:
            _PLATFORM_CLIENTS[key] = PaypalClient(client_id, secret)
        return _PLATFORM_CLIENTS[key]


def sdk_call(what: str, call: Callable[[], Any]) -> Any:
    """Run one SDK call; its JSON body as a dict ({} for 204), errors as `ProviderError`."""
    try:
        response = call()
    except ApiException as exc:
        body = json_or_text_of(getattr(exc.response, "text", ""))
        reason = scrub(PaypalClient.reason_of(None, body), (settings.PAYPAL_SECRET,))  # type: ignore[arg-type]
        status = exc.response_code or 502
        if isinstance(exc, OAuthProviderException):
            status = 401 if status < 500 else status
        raise error_for_status(PROVIDER, status, reason) from None
    except requests.RequestException as exc:
        raise transport_error(PROVIDER, exc) from None
    if not 200 <= response.status_code < 300:
        raise error_for_status(PROVIDER, response.status_code, f"unexpected status in {what}")
    if not response.text:
        return {}
    body = json_or_text_of(response.text)
    if not isinstance(body, dict):
        raise unexpected(PROVIDER, f"{what}: not a JSON object", body)
    return body


def json_or_text_of(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


def link(body: dict[str, Any], rel: str) -> str:
    """The href of HATEOAS link `rel` (e.g. "approve"), checked."""
    for item in body.get("links") or []:
        if isinstance(item, dict) and item.get("rel") == rel and isinstance(item.get("href"), str):
            return item["href"]
    raise unexpected(PROVIDER, f"no {rel!r} link", body)


def product_create(*, name: str, description: str, request_id: str) -> dict[str, Any]:
    paypal = platform_client()
    body = paypal.api(
        "POST",
        "/v1/catalogs/products",
        json={"name": name, "description": description, "type": "SERVICE", "category": "SOFTWARE"},
        headers={"PayPal-Request-Id": request_id},
    )
    paypal.member(body, "id", str)
    return body


def plan_create(*, body: dict[str, Any], request_id: str) -> dict[str, Any]:
    request = PlanRequest.from_dictionary(body)
    client = sdk_client()
    created = sdk_call(
        "create plan",
        lambda: client.subscriptions.create_billing_plan(
            {"body": request, "paypal_request_id": request_id, "prefer": "return=representation"}
        ),
    )
    if not isinstance(created.get("id"), str):
        raise unexpected(PROVIDER, "create plan: no id", created)
    return created


def plan_update(*, plan_id: str, name: str, description: str, threshold: int, price: dict[str, Any]) -> None:
    client = sdk_client()
    patches = [
        Patch(op="replace", path="/name", value=name),
        Patch(op="replace", path="/description", value=description),
        Patch(op="replace", path="/payment_preferences/payment_failure_threshold", value=threshold),
    ]
    sdk_call("patch plan", lambda: client.subscriptions.patch_billing_plan({"id": plan_id, "body": patches}))
    pricing = UpdatePricingSchemesRequest.from_dictionary(price)
    sdk_call(
        "update plan pricing",
        lambda: client.subscriptions.update_billing_plan_pricing_schemes({"id": plan_id, "body": pricing}),
    )


def subscription_create(*, body: dict[str, Any], request_id: str) -> dict[str, Any]:
    request = CreateSubscriptionRequest.from_dictionary(body)
    client = sdk_client()
    created = sdk_call(
        "create subscription",
        lambda: client.subscriptions.create_subscription(
            {"body": request, "paypal_request_id": request_id, "prefer": "return=representation"}
        ),
    )
    if not isinstance(created.get("id"), str):
        raise unexpected(PROVIDER, "create subscription: no id", created)
    return created


def subscription_get(subscription_id: str) -> dict[str, Any]:
    client = sdk_client()
    body = sdk_call("get subscription", lambda: client.subscriptions.get_subscription({"id": subscription_id}))
    if body.get("id") != subscription_id or not isinstance(body.get("status"), str):
        raise unexpected(PROVIDER, "get subscription: not that subscription", body)
    return body


def subscription_revise(*, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    request = ModifySubscriptionRequest.from_dictionary(body)
    client = sdk_client()
    return sdk_call(
        "revise subscription",
        lambda: client.subscriptions.revise_subscription({"id": subscription_id, "body": request}),
    )


def subscription_action(*, subscription_id: str, action: str, reason: str) -> None:
    """cancel, suspend or activate (each answers 204)."""
    client = sdk_client()
    controller = client.subscriptions
    calls = {
        "cancel": lambda: controller.cancel_subscription(
            {"id": subscription_id, "body": CancelSubscriptionRequest(reason=reason)}
        ),
        "suspend": lambda: controller.suspend_subscription(
            {"id": subscription_id, "body": SuspendSubscription(reason=reason)}
        ),
        "activate": lambda: controller.activate_subscription(
            {"id": subscription_id, "body": ActivateSubscriptionRequest(reason=reason)}
        ),
    }
    sdk_call(f"{action} subscription", calls[action])


def subscription_add_outstanding(*, subscription_id: str, amount: str, currency: str) -> None:
    """Add to the balance PayPal bills with the next cycle (`auto_bill_outstanding`): overage."""
    client = sdk_client()
    patch = Patch(
        op="add", path="/billing_info/outstanding_balance", value={"currency_code": currency, "value": amount}
    )
    sdk_call(
        "patch subscription", lambda: client.subscriptions.patch_subscription({"id": subscription_id, "body": [patch]})
    )


def subscription_capture(*, subscription_id: str, amount: str, currency: str, request_id: str) -> dict[str, Any]:
    """Collect the outstanding balance now (the tenant's "Pay now")."""
    client = sdk_client()
    request = CaptureSubscriptionRequest(
        note="Outstanding balance",
        capture_type="OUTSTANDING_BALANCE",
        amount=Money(currency_code=currency, value=amount),
    )
    return sdk_call(
        "capture subscription",
        lambda: client.subscriptions.capture_subscription(
            {"id": subscription_id, "body": request, "paypal_request_id": request_id}
        ),
    )


def subscription_transactions(*, subscription_id: str, start: str, end: str) -> list[dict[str, Any]]:
    client = sdk_client()
    body = sdk_call(
        "list transactions",
        lambda: client.subscriptions.list_subscription_transactions(
            {"id": subscription_id, "start_time": start, "end_time": end}
        ),
    )
    transactions = body.get("transactions") or []
    if not isinstance(transactions, list):
        raise unexpected(PROVIDER, "transactions: not a list", body)
    return [t for t in transactions if isinstance(t, dict)]


@sensitive_variables()
def webhook_verify(*, headers: dict[str, str], raw_body: bytes, webhook_id: str) -> bool:
    """PayPal's verify-webhook-signature with the event spliced in byte for byte.

    Never json.loads → json.dumps the event: other spacing, key order or `1.0` → `1` changes the
    CRC PayPal signed and verification FAILS (providers.md §5.5). The envelope is built around
    the raw body instead; the body was checked to be a JSON object before it gets here.
    """
    fields = {
        "auth_algo": headers.get("paypal-auth-algo", ""),
        "cert_url": headers.get("paypal-cert-url", ""),
        "transmission_id": headers.get("paypal-transmission-id", ""),
        "transmission_sig": headers.get("paypal-transmission-sig", ""),
        "transmission_time": headers.get("paypal-transmission-time", ""),
        "webhook_id": webhook_id,
    }
    envelope = json.dumps(fields)[:-1].encode() + b', "webhook_event": ' + raw_body + b"}"
    paypal = platform_client()
    body = paypal.api(
        "POST",
        "/v1/notifications/verify-webhook-signature",
        data=envelope,
        headers={"Content-Type": "application/json"},
    )
    return paypal.member(body, "verification_status", str) == "SUCCESS"
