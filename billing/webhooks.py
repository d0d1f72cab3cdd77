"""`POST /webhooks/paypal/`: PayPal's subscription and sale events, through the webhook pipeline.

    freshness of PAYPAL-TRANSMISSION-TIME → PayPal's verify-webhook-signature with the raw body
    spliced in → parse → stored once per event id → the subscription re-fetched from PayPal →
    `subscription_sync`

- The URL names no tenant: PayPal bills for the platform. The account is the one that owns the
  subscription in *our* database (looked up after the signature held), never the body's
  `custom_id`.
- PayPal has no freshness window of its own, so a captured delivery could be sent again days
  later: transmissions older than `MAX_AGE` (or dated in the future beyond `MAX_SKEW`) are
  refused before any call to PayPal. Retries are fresh transmissions, so they pass.
- The event's own content is never acted on: the handler re-fetches the subscription and
  applies PayPal's current state, so repeats and any order of events end the same way. Only a
  sale's amount is read from the (verified) event, and it is kept once per sale id.
- Verification failing because PayPal is unreachable answers 503 (PayPal retries); missing
  `PAYPAL_WEBHOOK_ID` refuses everything (fails closed).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from billing.models import Subscription
from billing.services import sale_record, subscription_refresh
from integrations.providers import paypal
from integrations.providers.base import ProviderError
from prixagent.errors import error_body
from webhooks.pipeline import Event, Verified, WebhookEndpoint, WebhookIgnored, WebhookInvalid, WebhookRejected

logger = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=10)
MAX_SKEW = timedelta(minutes=5)
SIGNATURE_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
SUBSCRIPTION_EVENTS = (
    "BILLING.SUBSCRIPTION.CREATED",
    "BILLING.SUBSCRIPTION.ACTIVATED",
    "BILLING.SUBSCRIPTION.UPDATED",
    "BILLING.SUBSCRIPTION.EXPIRED",
    "BILLING.SUBSCRIPTION.CANCELLED",
    "BILLING.SUBSCRIPTION.SUSPENDED",
    "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
    "BILLING.SUBSCRIPTION.RE-ACTIVATED",
)


def transmission_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PaypalWebhook(WebhookEndpoint):
    name = "paypal-billing"
    provider = "paypal"
    max_body_bytes = 256 * 1024
    handlers = {**{event: "on_subscription" for event in SUBSCRIPTION_EVENTS}, "PAYMENT.SALE.COMPLETED": "on_sale"}

    def post(self, request: HttpRequest, **url_kwargs: Any) -> HttpResponse:
        try:
            return super().post(request, **url_kwargs)
        except ProviderError as exc:  # PayPal could not verify (or be asked): let it retry
            logger.warning("PayPal webhook not verified now: %s", exc.message)
            return JsonResponse(error_body("provider_unavailable", "PayPal could not be reached."), status=503)

    def resolve(self, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> Verified:
        return Verified(account=None)

    def check_signature(self, request: HttpRequest, body: bytes, verified: Verified) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        sent = transmission_time(headers.get("paypal-transmission-time", ""))
        now = timezone.now()
        if sent is None:
            raise WebhookRejected("no readable PAYPAL-TRANSMISSION-TIME")
        if sent < now - MAX_AGE or sent > now + MAX_SKEW:
            raise WebhookRejected(f"stale transmission ({sent.isoformat()})")
        webhook_id = settings.PAYPAL_WEBHOOK_ID
        if not webhook_id:
            raise WebhookRejected("PAYPAL_WEBHOOK_ID is not configured")
        missing = [name for name in SIGNATURE_HEADERS if not headers.get(name)]
        if missing:
            raise WebhookRejected(f"missing {', '.join(missing)}")
        try:
            if not isinstance(json.loads(body), dict):
                raise ValueError
        except ValueError:
            raise WebhookRejected("the body is not a JSON object") from None
        try:
            verified_by_paypal = paypal.webhook_verify(headers=headers, raw_body=body, webhook_id=webhook_id)
        except ProviderError as exc:
            if exc.permanent and exc.status not in (401, 403):  # PayPal refused the question itself
                raise WebhookRejected(f"PayPal refused to verify: {exc.message}") from None
            raise
        if not verified_by_paypal:
            raise WebhookRejected("PayPal did not verify the signature")

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        try:
            data = json.loads(body)
            event = Event(type=str(data["event_type"]), id=str(data["id"]), data=data)
            resource = data.get("resource") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookInvalid(str(exc)) from None
        subscription = _subscription_of(event.type, resource if isinstance(resource, dict) else {})
        if subscription is not None:
            verified.account = subscription.account
            verified.context["subscription"] = subscription
        return event

    def on_subscription(self, event: Event, verified: Verified) -> None:
        subscription = self._subscription(verified)
        _refresh(subscription)

    def on_sale(self, event: Event, verified: Verified) -> None:
        subscription = self._subscription(verified)
        sale_record(subscription=subscription, sale=event.data.get("resource") or {})
        _refresh(subscription)

    def _subscription(self, verified: Verified) -> Subscription:
        subscription = verified.context.get("subscription")
        if subscription is None:
            raise WebhookIgnored("not one of our subscriptions")
        return subscription


def _subscription_of(event_type: str, resource: dict[str, Any]) -> Subscription | None:
    key = resource.get("billing_agreement_id") if event_type.startswith("PAYMENT.SALE.") else resource.get("id")
    if not isinstance(key, str) or not key:
        return None
    return Subscription.objects.filter(paypal_subscription_id=key).select_related("account", "plan").first()


def _refresh(subscription: Subscription) -> None:
    # An ApplicationError here (PayPal down while re-fetching) fails the handler: the event is
    # kept as failed, PayPal gets a 500 and retries, and the operator can replay it.
    subscription_refresh(subscription=subscription)
