"""One pipeline for every provider webhook (the django-anymail / Zulip shape).

    size limit → resolve the tenant's object from the URL → check the signature with that
    tenant's secret → parse into an `Event` → store it (idempotent per event id) → handler
    from the endpoint's `handlers` dict → response

A provider endpoint subclasses `WebhookEndpoint` and implements `resolve`, `check_signature`
and `parse`, and names its handlers. Guarantees:

- A delivery that is too big gets 413, a bad or missing signature 403, an unparseable body 400;
  none of them reaches a handler or changes anything but the kept record.
- Every delivery is stored before it is processed ("ack fast, lose nothing"): when a handler
  fails, the provider gets a 500 (so it retries) and the operator can replay the stored event.
- One event is processed once: the row is unique per (endpoint, event id) and processing holds
  its row lock, so ten concurrent deliveries of one event run its handler once; repeats answer
  what the first one did (`duplicate_response`).
- Handlers must still be idempotent and monotonic (a late "ringing" never overwrites
  "completed"): an operator replay runs them again on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account
from prixagent import redaction
from prixagent.errors import SERVER_ERROR_MESSAGE, error_body
from prixagent.throttling import client_ip
from webhooks.models import InboundWebhook

logger = logging.getLogger(__name__)
security_log = logging.getLogger("prixagent.security")

Status = InboundWebhook.Status
DROPPED_HEADERS = {"authorization", "cookie", "proxy-authorization"}
REJECTED_BODY_KEPT = 2048  # an unsigned body is kept only in part: anyone can send one
KEPT_FIELDS = ("id", "status", "response_body", "response_content_type")  # what answering a repeat needs


class WebhookRejected(Exception):
    """Unknown target, or the signature does not hold: 403, nothing processed."""


class WebhookInvalid(Exception):
    """Signed, but not something we can read: 400."""


class WebhookIgnored(Exception):
    """A handler's "valid, but nothing to do" (e.g. an event for a call we no longer track)."""


@dataclass
class Verified:
    """Who a delivery is for, and the objects its URL named (e.g. {"call": call})."""

    account: Account | None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    type: str
    id: str  # the provider's event id or one derived from the body; "" when there is none
    data: Any


EventHandler = Callable[[Event, Verified], HttpResponse | None]
ENDPOINTS: dict[str, type[WebhookEndpoint]] = {}


@method_decorator(csrf_exempt, name="dispatch")
class WebhookEndpoint(View):
    """Base of every provider webhook view. See the module docstring for the contract."""

    name: ClassVar[str] = ""  # unique; stored on each record, used to replay
    provider: ClassVar[str] = ""
    max_body_bytes: ClassVar[int] = 512 * 1024
    handlers: ClassVar[dict[str, str]] = {}  # event type -> method name
    # Keep the handler's response and answer repeats with it (e.g. Twilio's voice webhook, whose
    # TwiML must not change, nor be produced twice). Off by default: most answers carry nothing.
    store_response: ClassVar[bool] = False
    http_method_names = ["post"]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in ENDPOINTS and ENDPOINTS[cls.name] is not cls:
                raise TypeError(f"webhook endpoint name {cls.name!r} is taken")
            ENDPOINTS[cls.name] = cls

    # --- to implement ------------------------------------------------------------------------
    def resolve(self, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> Verified:
        """Find the tenant (and objects) the URL names; `WebhookRejected` when there is none."""
        raise NotImplementedError

    def check_signature(self, request: HttpRequest, body: bytes, verified: Verified) -> None:
        """Raise `WebhookRejected` unless the delivery is signed with `verified`'s secret."""
        raise NotImplementedError

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        """The event in the body; `WebhookInvalid` when it cannot be read."""
        raise NotImplementedError

    # --- may override ------------------------------------------------------------------------
    def kept_body(self, body: bytes) -> bytes:
        """The body as stored for the admin and replays (an endpoint can blank secrets it carries)."""
        return body

    def acknowledge(self, event: Event | None, verified: Verified | None) -> HttpResponse:
        return JsonResponse({"received": True})

    def duplicate_response(self, record: InboundWebhook, event: Event, verified: Verified) -> HttpResponse:
        if self.store_response and record.response_content_type:
            return HttpResponse(record.response_body, content_type=record.response_content_type)
        return self.acknowledge(event, verified)

    # --- the pipeline ------------------------------------------------------------------------
    def post(self, request: HttpRequest, **url_kwargs: Any) -> HttpResponse:
        if int(request.headers.get("Content-Length") or 0) > self.max_body_bytes:
            return _error("too_large", "The body is too large.", 413)
        try:
            body = request.body
        except RequestDataTooBig:
            return _error("too_large", "The body is too large.", 413)
        if len(body) > self.max_body_bytes:
            return _error("too_large", "The body is too large.", 413)
        headers = _kept_headers(request)
        verified: Verified | None = None
        try:
            verified = self.resolve(url_kwargs, headers, body)
            self.check_signature(request, body, verified)
        except WebhookRejected as exc:
            account = verified.account if verified else None
            self._reject(request, account, url_kwargs, headers, body, str(exc))
            return _error("invalid_signature", "The signature does not match.", 403)
        try:
            event = self.parse(body, headers, verified)
        except WebhookInvalid as exc:
            self._store_invalid(verified, url_kwargs, headers, body, str(exc))
            return _error("invalid", "The body could not be read.", 400)
        record, repeated = self._store(event, verified, url_kwargs, headers, body)
        if repeated and record.status in (Status.PROCESSED, Status.IGNORED):
            return self.duplicate_response(record, event, verified)
        return self.process(record, event, verified)

    def process(
        self, record: InboundWebhook, event: Event, verified: Verified, *, replay: bool = False
    ) -> HttpResponse:
        handler = self._handler(event.type)
        try:
            with transaction.atomic():
                locked = InboundWebhook.objects.select_for_update().only(*KEPT_FIELDS).get(pk=record.pk)
                if locked.status in (Status.PROCESSED, Status.IGNORED) and not replay:
                    return self.duplicate_response(locked, event, verified)  # a concurrent twin won
                response = handler(event, verified) if handler else None
                locked.status = Status.PROCESSED if handler else Status.IGNORED
                locked.processed_at, locked.error = timezone.now(), ""
                fields = ["status", "processed_at", "error"]
                if self.store_response and response is not None:
                    locked.response_body = response.content.decode("utf-8", "replace")
                    locked.response_content_type = response.get("Content-Type", "")
                    fields += ["response_body", "response_content_type"]
                locked.save(update_fields=fields)
        except WebhookIgnored as exc:
            _set(record, status=Status.IGNORED, error=str(exc)[:500], processed_at=timezone.now())
            return self.acknowledge(event, verified)
        except Exception as exc:  # noqa: BLE001 - our bug or outage: keep the event, let the provider retry
            logger.exception("webhook %s (%s) failed", record.pk, self.name)
            _set(record, status=Status.FAILED, error=redaction.redact(f"{type(exc).__name__}: {exc}")[:1000])
            return _error("server_error", SERVER_ERROR_MESSAGE, 500)
        return response or self.acknowledge(event, verified)

    def _handler(self, event_type: str) -> EventHandler | None:
        method = self.handlers.get(event_type)
        return getattr(self, method) if method else None

    # --- storage -----------------------------------------------------------------------------
    def _store(
        self, event: Event, verified: Verified, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes
    ) -> tuple[InboundWebhook, bool]:
        fields = {
            "provider": self.provider,
            "account": verified.account,
            "event_type": event.type[:100],
            "signature_valid": True,
            "url_kwargs": _jsonable(url_kwargs),
            "headers": headers,
            "body": _text(self.kept_body(body)),
        }
        if not event.id:
            return InboundWebhook.objects.create(endpoint=self.name, **fields), False
        event_id = event.id[:200]
        # A repeat (the provider's retry) is answered from the kept row in two statements; a new
        # event costs one lookup more than inserting blindly, which is what providers mostly send.
        kept = next(iter(InboundWebhook.objects.filter(endpoint=self.name, event_id=event_id).only(*KEPT_FIELDS)), None)
        if kept is not None:
            InboundWebhook.objects.filter(pk=kept.pk).update(deliveries=F("deliveries") + 1)
            return kept, True
        try:
            if connection.in_atomic_block:  # a failed INSERT must not break the caller's transaction
                with transaction.atomic():
                    return InboundWebhook.objects.create(endpoint=self.name, event_id=event_id, **fields), False
            return InboundWebhook.objects.create(endpoint=self.name, event_id=event_id, **fields), False
        except IntegrityError:  # a concurrent twin inserted it first
            record = InboundWebhook.objects.get(endpoint=self.name, event_id=event_id)
            InboundWebhook.objects.filter(pk=record.pk).update(deliveries=F("deliveries") + 1)
            return record, True

    def _reject(
        self,
        request: HttpRequest,
        account: Account | None,
        url_kwargs: dict[str, Any],
        headers: dict[str, str],
        body: bytes,
        reason: str,
    ) -> None:
        InboundWebhook.objects.create(
            provider=self.provider,
            endpoint=self.name,
            account=account,
            status=Status.REJECTED,
            error=reason[:500],
            url_kwargs=_jsonable(url_kwargs),
            headers=headers,
            body=_text(self.kept_body(body)[:REJECTED_BODY_KEPT]),  # blanked whole, then cut
        )
        security_log.warning(
            "webhook rejected: endpoint=%s account=%s reason=%s ip=%s",
            self.name,
            account.pk if account else None,
            reason[:200],
            client_ip(request),
        )

    def _store_invalid(
        self, verified: Verified, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes, reason: str
    ) -> None:
        InboundWebhook.objects.create(
            provider=self.provider,
            endpoint=self.name,
            account=verified.account,
            signature_valid=True,
            status=Status.REJECTED,
            error=reason[:500],
            url_kwargs=_jsonable(url_kwargs),
            headers=headers,
            body=_text(self.kept_body(body)),
        )


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _set(record: InboundWebhook, **changes: Any) -> None:
    InboundWebhook.objects.filter(pk=record.pk).update(**changes)


def _kept_headers(request: HttpRequest) -> dict[str, str]:
    return {k.lower(): _text(v.encode())[:500] for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}


def _text(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; a valid JSON or form body never contains a raw one.
    return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _jsonable(kwargs: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in kwargs.items()}


def webhook_replay(*, webhook: InboundWebhook) -> str:
    """Run a kept event through its endpoint's handler again (operator action).

    Only events whose signature held are replayed; the signature is not checked again (a
    timestamped one would have expired). Returns the record's status afterwards.
    """
    if not webhook.signature_valid:
        raise ValueError("only deliveries whose signature held can be replayed")
    endpoint_class = ENDPOINTS.get(webhook.endpoint)
    if endpoint_class is None:
        raise ValueError(f"unknown webhook endpoint {webhook.endpoint!r}")
    endpoint = endpoint_class()
    body = webhook.body.encode()
    verified = endpoint.resolve(webhook.url_kwargs, webhook.headers, body)
    event = endpoint.parse(body, webhook.headers, verified)
    endpoint.process(webhook, event, verified, replay=True)
    webhook.refresh_from_db()
    return webhook.status
