"""PayPal REST (api-m.paypal.com), the part PrixAgent uses (providers.md §5, §6).

OAuth client-credentials tokens, catalog products, billing plans (with trial cycles and price
updates), subscriptions (create with `PayPal-Request-Id` idempotency, the buyer's approval page
and its redirect back, revise to another plan, the 204 lifecycle actions, outstanding balance,
capture, transactions), webhooks and their verification.

The billing side of a real PayPal account is scripted from the test (or the control API):
`charge` runs a billing cycle that succeeds, `fail_payment` one that fails (suspending the
subscription past the plan's `payment_failure_threshold`, as PayPal does). Every change emits
the webhook event PayPal would send, signed for each registered webhook and kept in
`deliveries`; with `deliver_http` on (the `--demo` sandbox), it is also POSTed to the
webhook's URL.

Verification is real, not a switch: the sandbox signs `transmission_id|transmission_time|
webhook_id|crc32(body)` with a key of its own, and `verify-webhook-signature` recomputes that
over the `webhook_event` *exactly as it appears in the request body*. An event re-serialised by
the caller (other spacing or key order, `1.0` turned into `1`) has another CRC and FAILS, as it
does at PayPal (providers.md §5.5). `set_webhook_verification("SUCCESS"|"FAILURE")` still forces
a verdict when a test wants one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.request
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sandbox.base import ProviderApp, Request, Response, basic, bearer, new_id

TOKEN_TTL = 32_400
ERROR_NAMES = {
    400: "INVALID_REQUEST",
    401: "AUTHENTICATION_FAILURE",
    403: "NOT_AUTHORIZED",
    404: "RESOURCE_NOT_FOUND",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMIT_REACHED",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
SCOPES = [
    "https://uri.paypal.com/services/subscriptions",
    "https://uri.paypal.com/services/billing-agreements",
    "https://api.paypal.com/v1/payments/.*",
    "https://uri.paypal.com/services/applications/webhooks",
]
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-sandbox"
AUTH_ALGO = "SHA256withRSA"
APPROVE_PATH = "/webapps/billing/subscriptions"
BILLING_PERIOD = timedelta(days=30)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "value": f"{value:.2f}"}


def raw_member(raw: bytes, key: str) -> bytes | None:
    """The bytes of top-level member `key` of the JSON object `raw`, exactly as sent."""
    try:
        return _raw_member(raw.decode("utf-8"), key)
    except (ValueError, IndexError):  # not a JSON object: nothing to verify
        return None


def _raw_member(text: str, key: str) -> bytes | None:
    decoder = json.JSONDecoder()
    index = text.index("{") + 1
    while True:
        while text[index] in " \t\r\n,":
            index += 1
        if text[index] == "}":
            return None
        name, index = decoder.raw_decode(text, index)
        while text[index] in " \t\r\n:":
            index += 1
        _value, end = decoder.raw_decode(text, index)
        if name == key:
            return text[index:end].encode("utf-8")
        index = end


class PaypalApp(ProviderApp):
    name = "paypal"

    def reset_state(self) -> None:
        self.apps: dict[str, dict[str, Any]] = {}  # client id -> app
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> {client_id, expires}
        self.products: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.sales: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.request_ids: dict[tuple[str, str, str], Response] = {}  # (owner, path, id) -> first answer
        self.deliveries: list[dict[str, Any]] = []
        self.webhook_verification: str | None = None  # None: really verify
        self.deliver_http = False
        self.signing_key = secrets.token_bytes(32)

    def routes(self) -> list[tuple[str, str, Any]]:
        sub = r"(?P<sub>I-[0-9A-Z]+)"
        plan = r"(?P<plan>P-[0-9A-Z]+)"
        return [
            ("POST", r"/v1/oauth2/token", self.token),
            ("POST", r"/v1/catalogs/products", self.create_product),
            ("GET", r"/v1/catalogs/products/(?P<product>PROD-[0-9A-Z]+)", self.get_product),
            ("POST", r"/v1/billing/plans", self.create_plan),
            ("GET", rf"/v1/billing/plans/{plan}", self.get_plan),
            ("PATCH", rf"/v1/billing/plans/{plan}", self.patch_plan),
            ("POST", rf"/v1/billing/plans/{plan}/update-pricing-schemes", self.update_pricing),
            ("POST", r"/v1/billing/subscriptions", self.create_subscription),
            ("GET", rf"/v1/billing/subscriptions/{sub}", self.get_subscription),
            ("PATCH", rf"/v1/billing/subscriptions/{sub}", self.patch_subscription),
            ("POST", rf"/v1/billing/subscriptions/{sub}/(?P<action>cancel|suspend|activate)", self.subscription_action),
            ("POST", rf"/v1/billing/subscriptions/{sub}/revise", self.revise_subscription),
            ("POST", rf"/v1/billing/subscriptions/{sub}/capture", self.capture_subscription),
            ("GET", rf"/v1/billing/subscriptions/{sub}/transactions", self.list_transactions),
            ("POST", r"/v1/notifications/webhooks", self.create_webhook),
            ("POST", r"/v1/notifications/verify-webhook-signature", self.verify_webhook),
            ("GET", APPROVE_PATH, self.approval_page),
            ("POST", APPROVE_PATH, self.approval_decision),
        ]

    # --- test API --------------------------------------------------------------------------
    def create_app(self, *, client_id: str | None = None, secret: str | None = None) -> dict[str, str]:
        client_id = client_id or "A" + new_id("", 20).upper()
        secret = secret or "E" + new_id("", 20).upper()
        with self.lock:
            self.apps[client_id] = {"client_id": client_id, "secret": secret, "app_id": "APP-" + new_id("", 8).upper()}
        return {"client_id": client_id, "secret": secret}

    def register_webhook(
        self, client_id: str, url: str, *, webhook_id: str | None = None, event_types: list[str] | None = None
    ) -> dict[str, Any]:
        """What the operator does in the PayPal developer dashboard: our URL, our webhook id."""
        webhook = {
            "id": webhook_id or new_id("", 9).upper(),
            "url": url,
            "event_types": [{"name": name} for name in (event_types or ["*"])],
            "_owner": client_id,
        }
        with self.lock:
            self.webhooks[webhook["id"]] = webhook
        return _public(webhook)

    def set_webhook_verification(self, status: str | None) -> None:
        with self.lock:
            self.webhook_verification = status

    def set_delivery(self, enabled: bool) -> None:
        with self.lock:
            self.deliver_http = enabled

    def approve_subscription(self, subscription_id: str) -> dict[str, Any]:
        """What the buyer clicking "Agree & Subscribe" on the approval page does."""
        with self.lock:
            return dict(_public(self._approve(self.subscriptions[subscription_id])))

    def charge(self, subscription_id: str) -> dict[str, Any]:
        """A billing cycle whose payment succeeds: a sale, the next billing time a period later."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            if subscription["status"] != "ACTIVE":
                raise ValueError(f"{subscription_id} is {subscription['status']}, not ACTIVE")
            price, currency = self._price(subscription["plan_id"])
            info = subscription["billing_info"]
            outstanding = Decimal(info["outstanding_balance"]["value"])
            sale = self._sale(subscription, price + outstanding, currency)
            info["outstanding_balance"] = _money(Decimal(0), currency)
            info["failed_payments_count"] = 0
            self._advance(subscription)
            return sale

    def fail_payment(self, subscription_id: str) -> dict[str, Any]:
        """A billing cycle whose payment fails; past the plan's threshold PayPal suspends."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            price, currency = self._price(subscription["plan_id"])
            info = subscription["billing_info"]
            info["failed_payments_count"] += 1
            outstanding = Decimal(info["outstanding_balance"]["value"]) + price
            info["outstanding_balance"] = _money(outstanding, currency)
            info["last_failed_payment"] = {"amount": _money(price, currency), "time": _now()}
            self._emit(subscription["_owner"], "BILLING.SUBSCRIPTION.PAYMENT.FAILED", "subscription", subscription)
            threshold = self.plans[subscription["plan_id"]]["payment_preferences"].get("payment_failure_threshold", 0)
            if threshold and info["failed_payments_count"] >= threshold:
                self._set_status(subscription, "SUSPENDED", "BILLING.SUBSCRIPTION.SUSPENDED")
            return _public(subscription)

    def take_deliveries(self) -> list[dict[str, Any]]:
        """The signed webhook deliveries emitted since the last call (oldest first)."""
        with self.lock:
            taken, self.deliveries = self.deliveries, []
            return taken

    def sign(self, webhook_id: str, body: bytes, *, transmission_time: str | None = None) -> dict[str, str]:
        """The five PAYPAL-* headers PayPal would send with `body` for webhook `webhook_id`."""
        transmission_id = str(uuid.uuid1())
        moment = transmission_time or _now()
        message = f"{transmission_id}|{moment}|{webhook_id}|{zlib.crc32(body)}".encode()
        signature = base64.b64encode(hmac.new(self.signing_key, message, hashlib.sha256).digest()).decode()
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": moment,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": CERT_URL,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }

    def control_actions(self) -> dict[str, Any]:
        return {
            "apps": self.create_app,
            "webhooks": self.register_webhook,
            "webhook-verification": lambda status=None: self.set_webhook_verification(status) or {"status": status},
            "delivery": lambda enabled: self.set_delivery(bool(enabled)) or {"enabled": bool(enabled)},
            "approve": lambda subscription_id: self.approve_subscription(subscription_id),
            "charge": lambda subscription_id: self.charge(subscription_id),
            "fail-payment": lambda subscription_id: self.fail_payment(subscription_id),
            "deliveries": lambda: [_delivery_json(d) for d in self.take_deliveries()],
        }

    def state(self) -> dict[str, Any]:
        return {
            "products": self.products,
            "plans": self.plans,
            "subscriptions": self.subscriptions,
            "sales": self.sales,
            "webhooks": self.webhooks,
        }

    # --- protocol ----------------------------------------------------------------------------
    def identify(self, request: Request) -> str | None:
        credentials = basic(request)
        if credentials:
            return credentials[0]
        token = self.tokens.get(bearer(request) or "")
        return token["client_id"] if token else None

    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        debug_id = new_id("", 6)
        body = {
            "name": ERROR_NAMES.get(status, "INTERNAL_SERVER_ERROR"),
            "message": message,
            "debug_id": debug_id,
            "details": details or [],
            "links": [],
        }
        return Response(status, body, {"Paypal-Debug-Id": debug_id})

    def _authorize(self, request: Request) -> Response | str:
        token = self.tokens.get(bearer(request) or "")
        if token is None or token["expires"] < time.time():
            return Response(401, {"error": "invalid_token", "error_description": "Token signature verification failed"})
        return token["client_id"]

    def _invalid(self, field: str, issue: str = "MISSING_REQUIRED_PARAMETER") -> Response:
        detail = {"field": f"/{field}", "location": "body", "issue": issue, "description": f"{field} is required."}
        return self.error(400, "Request is not well-formed, syntactically incorrect, or violates schema.", [detail])

    def _unprocessable(self, issue: str, description: str) -> Response:
        detail = {"issue": issue, "description": description}
        return self.error(422, "The requested action could not be performed.", [detail])

    def _idempotent(self, request: Request, owner: str, create: Any) -> Response:
        """PayPal-Request-Id: a repeated POST with the same id answers the first result again."""
        key = (owner, request.path, request.headers.get("paypal-request-id") or "")
        if key[2] and key in self.request_ids:
            return self.request_ids[key]
        response = create()
        if key[2] and response.status < 400:
            self.request_ids[key] = response
        return response

    # --- handlers: OAuth, catalog, plans -------------------------------------------------------
    def token(self, request: Request) -> Response:
        credentials = basic(request)
        app = self.apps.get(credentials[0]) if credentials else None
        if app is None or not hmac.compare_digest(app["secret"], credentials[1]):
            return Response(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        if (request.body or {}).get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
        access = "A21AA" + new_id("", 24)
        self.tokens[access] = {"client_id": app["client_id"], "expires": time.time() + TOKEN_TTL}
        return Response(
            200,
            {
                "scope": " ".join(SCOPES),
                "access_token": access,
                "token_type": "Bearer",
                "app_id": app["app_id"],
                "expires_in": TOKEN_TTL,
                "nonce": f"{_now()}{new_id('', 8)}",
            },
        )

    def create_product(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        body = request.body if isinstance(request.body, dict) else {}
        for field in ("name", "type"):
            if not body.get(field):
                return self._invalid(field)

        def create() -> Response:
            product = {
                "id": "PROD-" + new_id("", 8).upper(),
                **body,
                "create_time": _now(),
                "update_time": _now(),
                "_owner": owner,
            }
            self.products[product["id"]] = product
            return Response(201, _public(product))

        return self._idempotent(request, owner, create)

    def get_product(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        product = self.products.get(request.params["product"])
        if product is None or product["_owner"] != owner:
            return self.error(404, "The specified resource does not exist.")
        return Response(200, _public(product))

    def create_plan(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        body = request.body if isinstance(request.body, dict) else {}
        for field in ("product_id", "name", "billing_cycles", "payment_preferences"):
            if not body.get(field):
                return self._invalid(field)
        if body["product_id"] not in self.products:
            return self._invalid("product_id", "INVALID_PARAMETER_VALUE")
        regular = [c for c in body["billing_cycles"] if isinstance(c, dict) and c.get("tenure_type") == "REGULAR"]
        if len(regular) != 1:
            return self._invalid("billing_cycles", "INVALID_PARAMETER_VALUE")
        if not ((regular[0].get("pricing_scheme") or {}).get("fixed_price") or {}).get("value"):
            # Only a trial cycle may go without a price (PayPal: pricing_scheme is required otherwise).
            return self._invalid("billing_cycles/0/pricing_scheme")

        def create() -> Response:
            plan = {
                "id": "P-" + new_id("", 12).upper(),
                "status": "ACTIVE",
                **body,
                "create_time": _now(),
                "_owner": owner,
            }
            self.plans[plan["id"]] = plan
            return Response(201, _public(plan))

        return self._idempotent(request, owner, create)

    def _own_plan(self, request: Request) -> Response | dict[str, Any]:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        plan = self.plans.get(request.params["plan"])
        if plan is None or plan["_owner"] != owner:
            return self.error(404, "The specified resource does not exist.")
        return plan

    def get_plan(self, request: Request) -> Response:
        plan = self._own_plan(request)
        return plan if isinstance(plan, Response) else Response(200, _public(plan))

    def patch_plan(self, request: Request) -> Response:
        plan = self._own_plan(request)
        if isinstance(plan, Response):
            return plan
        for op in request.body if isinstance(request.body, list) else []:
            path = str(op.get("path", "")).strip("/")
            if path in ("name", "description"):
                plan[path] = op.get("value")
            elif path == "payment_preferences/payment_failure_threshold":
                plan["payment_preferences"]["payment_failure_threshold"] = op.get("value")
            else:
                return self._invalid(path or "path", "INVALID_PARAMETER_VALUE")
        return Response(204)

    def update_pricing(self, request: Request) -> Response:
        plan = self._own_plan(request)
        if isinstance(plan, Response):
            return plan
        body = request.body if isinstance(request.body, dict) else {}
        for change in body.get("pricing_schemes") or []:
            for cycle in plan["billing_cycles"]:
                if cycle.get("sequence") == change.get("billing_cycle_sequence"):
                    cycle["pricing_scheme"] = change.get("pricing_scheme")
        return Response(204)

    def _price(self, plan_id: str) -> tuple[Decimal, str]:
        regular = next(c for c in self.plans[plan_id]["billing_cycles"] if c["tenure_type"] == "REGULAR")
        price = regular["pricing_scheme"]["fixed_price"]
        return Decimal(price["value"]), price["currency_code"]

    # --- handlers: subscriptions ---------------------------------------------------------------
    def create_subscription(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        body = request.body if isinstance(request.body, dict) else {}
        plan = self.plans.get(body.get("plan_id") or "")
        if plan is None or plan["_owner"] != owner:
            return self._invalid("plan_id", "INVALID_PARAMETER_VALUE")
        return self._idempotent(request, owner, lambda: self._new_subscription(request, owner, plan, body))

    def _new_subscription(self, request: Request, owner: str, plan: dict[str, Any], body: dict[str, Any]) -> Response:
        sub_id = "I-" + new_id("", 6).upper()
        _price, currency = self._price(plan["id"])
        subscription = {
            "id": sub_id,
            "status": "APPROVAL_PENDING",
            "plan_id": plan["id"],
            "custom_id": body.get("custom_id"),
            "subscriber": body.get("subscriber") or {},
            "create_time": _now(),
            "status_update_time": _now(),
            "billing_info": {
                "outstanding_balance": _money(Decimal(0), currency),
                "failed_payments_count": 0,
                "cycle_executions": [],
            },
            "_owner": owner,
            "_request_id": request.headers.get("paypal-request-id"),
            "_context": body.get("application_context") or {},
            "_token": "BA-" + new_id("", 8).upper(),
            "_pending_plan": None,
        }
        self.subscriptions[sub_id] = subscription
        self._emit(owner, "BILLING.SUBSCRIPTION.CREATED", "subscription", subscription)
        return Response(201, {**_public(subscription), "links": self._links(request, subscription)})

    def _links(self, request: Request, subscription: dict[str, Any]) -> list[dict[str, str]]:
        host = request.headers.get("host")
        approve = f"http://{host}{APPROVE_PATH}?" + urlencode({"ba_token": subscription["_token"]})
        sub_id = subscription["id"]
        return [
            {"href": approve, "rel": "approve", "method": "GET"},
            {"href": f"/v1/billing/subscriptions/{sub_id}", "rel": "edit", "method": "PATCH"},
            {"href": f"/v1/billing/subscriptions/{sub_id}", "rel": "self", "method": "GET"},
        ]

    def get_subscription(self, request: Request) -> Response:
        found = self._own_subscription(request)
        return found if isinstance(found, Response) else Response(200, _public(found))

    def subscription_action(self, request: Request) -> Response:
        found = self._own_subscription(request)
        if isinstance(found, Response):
            return found
        action = request.params["action"]
        status = {"cancel": "CANCELLED", "suspend": "SUSPENDED", "activate": "ACTIVE"}[action]
        invalid = found["status"] in ("CANCELLED", "EXPIRED") or (
            (action == "suspend" and found["status"] != "ACTIVE")
            or (action == "activate" and found["status"] != "SUSPENDED")
        )
        if invalid:
            message = f"Invalid subscription status for {action} action."
            return self._unprocessable("SUBSCRIPTION_STATUS_INVALID", message)
        event = {
            "cancel": "BILLING.SUBSCRIPTION.CANCELLED",
            "suspend": "BILLING.SUBSCRIPTION.SUSPENDED",
            "activate": "BILLING.SUBSCRIPTION.RE-ACTIVATED",
        }[action]
        self._set_status(found, status, event)
        return Response(204)

    def revise_subscription(self, request: Request) -> Response:
        found = self._own_subscription(request)
        if isinstance(found, Response):
            return found
        body = request.body if isinstance(request.body, dict) else {}
        plan = self.plans.get(body.get("plan_id") or "")
        if plan is None or plan["_owner"] != found["_owner"]:
            return self._invalid("plan_id", "INVALID_PARAMETER_VALUE")
        if found["status"] != "ACTIVE":
            return self._unprocessable("SUBSCRIPTION_STATUS_INVALID", "Invalid subscription status for revise action.")
        found["_pending_plan"] = plan["id"]
        found["_context"] = body.get("application_context") or found["_context"]
        found["_token"] = "BA-" + new_id("", 8).upper()
        return Response(
            200, {"plan_id": plan["id"], "plan_overridden": False, "links": self._links(request, found)[:1]}
        )

    def patch_subscription(self, request: Request) -> Response:
        found = self._own_subscription(request)
        if isinstance(found, Response):
            return found
        for op in request.body if isinstance(request.body, list) else []:
            if str(op.get("path", "")).strip("/") != "billing_info/outstanding_balance":
                return self._invalid(str(op.get("path") or "path"), "INVALID_PARAMETER_VALUE")
            value = op.get("value") or {}
            current = Decimal(found["billing_info"]["outstanding_balance"]["value"])
            amount = Decimal(value.get("value", "0"))
            total = current + amount if op.get("op") == "add" else amount
            found["billing_info"]["outstanding_balance"] = _money(total, value.get("currency_code", "USD"))
        return Response(204)

    def capture_subscription(self, request: Request) -> Response:
        found = self._own_subscription(request)
        if isinstance(found, Response):
            return found
        body = request.body if isinstance(request.body, dict) else {}
        amount = body.get("amount") or {}
        if body.get("capture_type") != "OUTSTANDING_BALANCE" or not amount.get("value"):
            return self._invalid("amount")
        info = found["billing_info"]
        if Decimal(amount["value"]) > Decimal(info["outstanding_balance"]["value"]):
            return self._unprocessable("ZERO_OUTSTANDING_BALANCE", "Amount exceeds the outstanding balance.")
        return self._idempotent(request, found["_owner"], lambda: self._capture(found, amount))

    def _capture(self, found: dict[str, Any], amount: dict[str, str]) -> Response:
        info = found["billing_info"]
        paid = Decimal(amount["value"])
        sale = self._sale(found, paid, amount["currency_code"])
        left = Decimal(info["outstanding_balance"]["value"]) - paid
        info["outstanding_balance"] = _money(left, amount["currency_code"])
        if left <= 0:
            info["failed_payments_count"] = 0
        transaction = {"id": sale["id"], "status": "COMPLETED", "amount_with_breakdown": {"gross_amount": amount}}
        return Response(202, transaction)

    def list_transactions(self, request: Request) -> Response:
        found = self._own_subscription(request)
        if isinstance(found, Response):
            return found
        transactions = [
            {
                "id": sale["id"],
                "status": "COMPLETED",
                "amount_with_breakdown": {
                    "gross_amount": {"currency_code": sale["amount"]["currency"], "value": sale["amount"]["total"]}
                },
                "time": sale["create_time"],
            }
            for sale in self.sales.values()
            if sale["billing_agreement_id"] == found["id"]
        ]
        return Response(200, {"transactions": transactions, "total_items": len(transactions), "total_pages": 1})

    def _own_subscription(self, request: Request) -> Response | dict[str, Any]:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        subscription = self.subscriptions.get(request.params["sub"])
        if subscription is None or subscription["_owner"] != owner:
            return self.error(404, "The specified resource does not exist.")
        return subscription

    # --- the buyer's approval page -------------------------------------------------------------
    def _by_token(self, token: str | None) -> dict[str, Any] | None:
        return next((s for s in self.subscriptions.values() if token and s["_token"] == token), None)

    def approval_page(self, request: Request) -> Response:
        subscription = self._by_token(request.arg("ba_token"))
        if subscription is None:
            return Response(404, "<h1>This link has expired.</h1>", content_type="text/html; charset=utf-8")
        plan = self.plans[subscription["_pending_plan"] or subscription["plan_id"]]
        price, currency = self._price(plan["id"])
        token = html.escape(subscription["_token"])
        page = (
            "<!doctype html><html><head><title>PayPal sandbox: approve</title></head><body>"
            f"<h1>Subscribe to {html.escape(plan['name'])}</h1><p>{price:.2f} {currency} a month</p>"
            f'<form method="post" action="{APPROVE_PATH}"><input type="hidden" name="ba_token" value="{token}">'
            '<button name="decision" value="approve">Agree &amp; Subscribe</button> '
            '<button name="decision" value="cancel">Cancel and return</button></form></body></html>'
        )
        return Response(200, page, content_type="text/html; charset=utf-8")

    def approval_decision(self, request: Request) -> Response:
        form = request.body if isinstance(request.body, dict) else {}
        subscription = self._by_token(form.get("ba_token"))
        if subscription is None:
            return Response(404, "<h1>This link has expired.</h1>", content_type="text/html; charset=utf-8")
        context, token = subscription["_context"], subscription["_token"]
        if form.get("decision") != "approve":
            subscription["_pending_plan"] = None
            return Response(302, b"", {"Location": _with_query(context.get("cancel_url", "/"), {"token": token})})
        self._approve(subscription)
        query = {"subscription_id": subscription["id"], "ba_token": token, "token": "EC-" + token[3:]}
        return Response(302, b"", {"Location": _with_query(context.get("return_url", "/"), query)})

    def _approve(self, subscription: dict[str, Any]) -> dict[str, Any]:
        if subscription["_pending_plan"]:  # a revision: the new plan from now on
            subscription["plan_id"], subscription["_pending_plan"] = subscription["_pending_plan"], None
            subscription["status_update_time"] = _now()
            self._emit(subscription["_owner"], "BILLING.SUBSCRIPTION.UPDATED", "subscription", subscription)
            return subscription
        if subscription["status"] != "APPROVAL_PENDING":
            return subscription
        self._set_status(subscription, "ACTIVE", "BILLING.SUBSCRIPTION.ACTIVATED")
        trial = next(
            (c for c in self.plans[subscription["plan_id"]]["billing_cycles"] if c.get("tenure_type") == "TRIAL"), None
        )
        if trial:  # nothing to pay until the trial ends
            days = int(trial["frequency"].get("interval_count", 1))
            subscription["billing_info"]["next_billing_time"] = _time(datetime.now(UTC) + timedelta(days=days))
        else:
            self.charge(subscription["id"])
        return subscription

    # --- money and events ----------------------------------------------------------------------
    def _sale(self, subscription: dict[str, Any], amount: Decimal, currency: str) -> dict[str, Any]:
        sale = {
            "id": new_id("", 8).upper() + "S",
            "state": "completed",
            "amount": {"total": f"{amount:.2f}", "currency": currency, "details": {"subtotal": f"{amount:.2f}"}},
            "payment_mode": "INSTANT_TRANSFER",
            "billing_agreement_id": subscription["id"],
            "custom": subscription.get("custom_id") or "",
            "create_time": _now(),
            "update_time": _now(),
        }
        self.sales[sale["id"]] = sale
        subscription["billing_info"]["last_payment"] = {"amount": _money(amount, currency), "time": sale["create_time"]}
        self._emit(subscription["_owner"], "PAYMENT.SALE.COMPLETED", "sale", sale)
        return sale

    def _advance(self, subscription: dict[str, Any]) -> None:
        info = subscription["billing_info"]
        current = info.get("next_billing_time")
        start = datetime.strptime(current, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if current else datetime.now(UTC)
        info["next_billing_time"] = _time(max(start, datetime.now(UTC)) + BILLING_PERIOD)

    def _set_status(self, subscription: dict[str, Any], status: str, event_type: str) -> None:
        subscription["status"] = status
        subscription["status_update_time"] = _now()
        self._emit(subscription["_owner"], event_type, "subscription", subscription)

    def _emit(self, owner: str, event_type: str, resource_type: str, resource: dict[str, Any]) -> None:
        event = {
            "id": "WH-" + new_id("", 10).upper(),
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"{event_type.title()} for {resource['id']}",
            "resource": _public(resource),
            "links": [],
        }
        # Compact, like PayPal's own bodies: json.dumps() with its default spacing is another body.
        body = json.dumps(event, separators=(",", ":")).encode()
        for webhook in self.webhooks.values():
            names = {t["name"] for t in webhook["event_types"]}
            if webhook["_owner"] == owner and ("*" in names or event_type in names):
                delivery = {"url": webhook["url"], "headers": self.sign(webhook["id"], body), "body": body}
                delivery["event"] = event
                self.deliveries.append(delivery)
                if self.deliver_http:
                    threading.Thread(target=_post, args=(delivery,), daemon=True).start()

    # --- webhooks ------------------------------------------------------------------------------
    def create_webhook(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("url"):
            return self._invalid("url")
        names = [t.get("name") for t in body.get("event_types") or [{"name": "*"}]]
        return Response(201, self.register_webhook(owner, body["url"], event_types=names))

    def verify_webhook(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        body = request.body if isinstance(request.body, dict) else {}
        for field in (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        ):
            if not body.get(field):
                return self._invalid(field)
        if self.webhook_verification is not None:
            return Response(200, {"verification_status": self.webhook_verification})
        return Response(200, {"verification_status": self._verdict(owner, body, request.raw_body)})

    def _verdict(self, owner: str, body: dict[str, Any], raw: bytes) -> str:
        webhook = self.webhooks.get(str(body["webhook_id"]))
        event = raw_member(raw, "webhook_event")
        if webhook is None or webhook["_owner"] != owner or event is None:
            return "FAILURE"
        if body["auth_algo"] != AUTH_ALGO or body["cert_url"] != CERT_URL:
            return "FAILURE"
        message = f"{body['transmission_id']}|{body['transmission_time']}|{webhook['id']}|{zlib.crc32(event)}"
        expected = hmac.new(self.signing_key, message.encode(), hashlib.sha256).digest()
        try:
            given = base64.b64decode(str(body["transmission_sig"]), validate=True)
        except ValueError:
            return "FAILURE"
        return "SUCCESS" if hmac.compare_digest(expected, given) else "FAILURE"


def _with_query(url: str, query: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(query)


def _post(delivery: dict[str, Any]) -> None:
    """POST one delivery to our webhook URL (the --demo sandbox); PayPal would retry, we log."""
    request = urllib.request.Request(delivery["url"], data=delivery["body"], method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    for name, value in delivery["headers"].items():
        request.add_header(name, value)
    try:
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - a URL the operator registered
    except OSError:
        pass


def _delivery_json(delivery: dict[str, Any]) -> dict[str, Any]:
    return {"url": delivery["url"], "headers": delivery["headers"], "body": delivery["body"].decode()}


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}
