"""PayPal REST (api-m.paypal.com), the part PrixAgent uses (providers.md §5, §6).

OAuth client-credentials tokens, catalog products, billing plans, subscriptions (with the
approve link and 204 lifecycle actions) and server-side webhook verification, whose verdict
the test chooses with `set_webhook_verification`.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from typing import Any

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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PaypalApp(ProviderApp):
    name = "paypal"

    def reset_state(self) -> None:
        self.apps: dict[str, dict[str, Any]] = {}  # client id -> app
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> {client_id, expires}
        self.products: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.webhook_verification = "SUCCESS"

    def routes(self) -> list[tuple[str, str, Any]]:
        sub = r"(?P<sub>I-[0-9A-Z]+)"
        return [
            ("POST", r"/v1/oauth2/token", self.token),
            ("POST", r"/v1/catalogs/products", self.create_product),
            ("POST", r"/v1/billing/plans", self.create_plan),
            ("GET", r"/v1/billing/plans/(?P<plan>P-[0-9A-Z]+)", self.get_plan),
            ("POST", r"/v1/billing/subscriptions", self.create_subscription),
            ("GET", rf"/v1/billing/subscriptions/{sub}", self.get_subscription),
            ("POST", rf"/v1/billing/subscriptions/{sub}/(?P<action>cancel|suspend|activate)", self.subscription_action),
            ("POST", r"/v1/notifications/verify-webhook-signature", self.verify_webhook),
        ]

    # --- test API --------------------------------------------------------------------------
    def create_app(self, *, client_id: str | None = None, secret: str | None = None) -> dict[str, str]:
        client_id = client_id or "A" + new_id("", 20).upper()
        secret = secret or "E" + new_id("", 20).upper()
        with self.lock:
            self.apps[client_id] = {"client_id": client_id, "secret": secret, "app_id": "APP-" + new_id("", 8).upper()}
        return {"client_id": client_id, "secret": secret}

    def set_webhook_verification(self, status: str) -> None:
        with self.lock:
            self.webhook_verification = status

    def approve_subscription(self, subscription_id: str) -> dict[str, Any]:
        """What the buyer clicking the approve link does."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = "ACTIVE"
            subscription["status_update_time"] = _now()
            return dict(subscription)

    def control_actions(self) -> dict[str, Any]:
        return {
            "apps": self.create_app,
            "webhook-verification": lambda status: self.set_webhook_verification(status) or {"status": status},
            "approve": lambda subscription_id: self.approve_subscription(subscription_id),
        }

    def state(self) -> dict[str, Any]:
        return {"products": self.products, "plans": self.plans, "subscriptions": self.subscriptions}

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

    # --- handlers ----------------------------------------------------------------------------
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
        product = {
            "id": "PROD-" + new_id("", 8).upper(),
            **body,
            "create_time": _now(),
            "update_time": _now(),
            "_owner": owner,
        }
        self.products[product["id"]] = product
        return Response(201, _public(product))

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
        plan = {"id": "P-" + new_id("", 12).upper(), "status": "ACTIVE", **body, "create_time": _now(), "_owner": owner}
        self.plans[plan["id"]] = plan
        return Response(201, _public(plan))

    def get_plan(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        plan = self.plans.get(request.params["plan"])
        if plan is None or plan["_owner"] != owner:
            return self.error(404, "The specified resource does not exist.")
        return Response(200, _public(plan))

    def create_subscription(self, request: Request) -> Response:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        body = request.body if isinstance(request.body, dict) else {}
        plan = self.plans.get(body.get("plan_id") or "")
        if plan is None or plan["_owner"] != owner:
            return self._invalid("plan_id", "INVALID_PARAMETER_VALUE")
        sub_id = "I-" + new_id("", 6).upper()
        subscription = {
            "id": sub_id,
            "status": "APPROVAL_PENDING",
            "plan_id": plan["id"],
            "custom_id": body.get("custom_id"),
            "subscriber": body.get("subscriber") or {},
            "create_time": _now(),
            "status_update_time": _now(),
            "billing_info": {
                "outstanding_balance": {"currency_code": "USD", "value": "0.00"},
                "failed_payments_count": 0,
            },
            "_owner": owner,
            "_request_id": request.headers.get("paypal-request-id"),
        }
        self.subscriptions[sub_id] = subscription
        links = [
            {
                "href": f"https://www.sandbox.paypal.com/webapps/billing/subscriptions?ba_token=BA-{sub_id[2:]}",
                "rel": "approve",
                "method": "GET",
            },
            {"href": f"/v1/billing/subscriptions/{sub_id}", "rel": "edit", "method": "PATCH"},
            {"href": f"/v1/billing/subscriptions/{sub_id}", "rel": "self", "method": "GET"},
        ]
        return Response(201, {**_public(subscription), "links": links})

    def get_subscription(self, request: Request) -> Response:
        found = self._own_subscription(request)
        return found if isinstance(found, Response) else Response(200, _public(found))

    def subscription_action(self, request: Request) -> Response:
        found = self._own_subscription(request)
        if isinstance(found, Response):
            return found
        action = request.params["action"]
        status = {"cancel": "CANCELLED", "suspend": "SUSPENDED", "activate": "ACTIVE"}[action]
        if found["status"] in ("CANCELLED", "EXPIRED") or (action == "suspend" and found["status"] != "ACTIVE"):
            detail = {
                "issue": "SUBSCRIPTION_STATUS_INVALID",
                "description": f"Invalid subscription status for {action} action.",
            }
            return self.error(422, "The requested action could not be performed.", [detail])
        found["status"] = status
        found["status_update_time"] = _now()
        return Response(204)

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
        return Response(200, {"verification_status": self.webhook_verification})

    def _own_subscription(self, request: Request) -> Response | dict[str, Any]:
        owner = self._authorize(request)
        if isinstance(owner, Response):
            return owner
        subscription = self.subscriptions.get(request.params["sub"])
        if subscription is None or subscription["_owner"] != owner:
            return self.error(404, "The specified resource does not exist.")
        return subscription


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}
