"""The provider webhooks of a call, each through the one pipeline (`webhooks.pipeline`).

| URL (`/webhooks/…`)                          | who     | signed with                     | event id                 |
|----------------------------------------------|---------|---------------------------------|--------------------------|
| `twilio/calls/<call id>/voice/`              | Twilio  | the call's account's auth token | `voice:<CallSid>`        |
| `twilio/calls/<call id>/status/`             | Twilio  | same                            | `status:<sid>:<seq>:<st>`|
| `twilio/calls/<call id>/amd/`                | Twilio  | same                            | `amd:<CallSid>`          |
| `twilio/inbound/<inbound id>/voice/`         | Twilio  | the account's auth token        | `inbound:<CallSid>`      |
| `twilio/inbound/<inbound id>/status/`        | Twilio  | same                            | `status:<sid>:<seq>:<st>`|
| `elevenlabs/<workspace public id>/`          | ElevenLabs | the workspace's HMAC secret  | `<type>:<conversation>`  |

- The URL names the tenant's object; its secret checks the signature. Twilio's signature is
  checked against the public URL (`API_URL`'s origin + the path and query as received), so it
  holds behind a TLS-terminating proxy and a client's `X-Forwarded-*` cannot steer it.
- ElevenLabs: HMAC-SHA256 over `"<t>.<raw body>"`, compared in constant time, `t` within ±30
  minutes (the SDK's helper accepts any future `t`; this does not).
- A callback naming another call's SID, or an ElevenLabs conversation for a call of another
  account, changes nothing (ignored and kept).
- Trouble on our side while checking (a stored secret that cannot be decrypted, a provider
  error) answers 503, so the provider retries; never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from twilio.request_validator import RequestValidator

from agents.models import ElevenLabsWorkspace
from agents.selectors import agent_for_remote, workspace_for_webhook
from calls import lifecycle, voice
from calls.models import Call, CallSettings
from integrations.providers import twilio
from integrations.providers.base import ProviderError
from prixagent.crypto import DecryptionError
from prixagent.errors import error_body
from prixagent.public_urls import public_request_url
from webhooks.pipeline import Event, Verified, WebhookEndpoint, WebhookIgnored, WebhookInvalid, WebhookRejected

logger = logging.getLogger(__name__)

SIGNATURE_WINDOW = 30 * 60  # seconds, both ways
ROUTING_FIELDS = (
    "id",
    "account_id",
    "twilio_call_sid",
    "account__id",
    "account__slug",
    "account__status",
    "account__twilio_configured",
    "account__twilio_auth_token",
)


class Unavailable(Exception):
    """We cannot check the delivery right now (our side): 503, the provider retries."""


class _Guarded(WebhookEndpoint):
    """Maps our own trouble while checking to 503, before anything is stored."""

    def post(self, request: HttpRequest, **url_kwargs: Any) -> HttpResponse:
        try:
            return super().post(request, **url_kwargs)
        except (Unavailable, ProviderError, DecryptionError) as exc:
            logger.warning("%s webhook not checked now: %s", self.name, getattr(exc, "message", exc))
            body = error_body("unavailable", "The webhook cannot be checked right now; retry later.")
            return JsonResponse(body, status=503, headers={"Retry-After": "30"})


# --- Twilio ------------------------------------------------------------------------------------


def _params(body: bytes) -> dict[str, str]:
    try:
        form = QueryDict(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise WebhookInvalid("the body is not UTF-8") from None
    return {key: form.get(key, "") for key in form}


class TwilioEndpoint(_Guarded):
    provider = "twilio"
    max_body_bytes = 64 * 1024

    def check_signature(self, request: HttpRequest, body: bytes, verified: Verified) -> None:
        account = verified.account
        if account is None or not account.twilio_configured:
            raise WebhookRejected("Twilio is not connected")
        try:
            token = account.twilio_auth_token or ""
        except DecryptionError:
            raise Unavailable("the stored auth token cannot be decrypted") from None
        if not token:
            raise WebhookRejected("Twilio is not connected")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise WebhookRejected("missing X-Twilio-Signature")
        # Constant-time compare inside; the URL with and without a default port is tried.
        if not RequestValidator(token).validate(public_request_url(request), request.POST, signature):
            raise WebhookRejected("X-Twilio-Signature does not match")

    def _event(self, kind: str, params: dict[str, str], *id_parts: str) -> Event:
        if not params.get("CallSid", "").startswith("CA"):
            raise WebhookInvalid("no CallSid")
        return Event(type=kind, id=":".join((kind, params["CallSid"], *id_parts)), data=params)


class _CallEndpoint(TwilioEndpoint):
    """A URL naming one of our calls (outbound)."""

    def resolve(self, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> Verified:
        try:
            call_id = uuid.UUID(str(url_kwargs.get("call_id")))
        except ValueError:
            raise WebhookRejected("unknown call") from None
        # Only what routing and the signature need (the token); handlers load the rest.
        # No .first(): its ORDER BY costs a compile and a sort for what is at most one row.
        call = next(iter(Call.objects.select_related("account").only(*ROUTING_FIELDS).filter(pk=call_id)), None)
        if call is None:
            raise WebhookRejected("unknown call")
        return Verified(account=call.account, context={"call": call})


def _stale(exc: lifecycle.StaleEvent) -> WebhookIgnored:
    return WebhookIgnored(str(exc))


class TwilioVoiceWebhook(_CallEndpoint):
    """Twilio asks what to do with the answered call: TwiML (kept, so a repeat gets the same)."""

    name = "twilio-voice"
    store_response = True
    handlers = {"voice": "on_voice"}

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        return self._event("voice", _params(body))

    def acknowledge(self, event: Event | None, verified: Verified | None) -> HttpResponse:
        return HttpResponse(voice.hangup(), content_type="text/xml")

    def on_voice(self, event: Event, verified: Verified) -> HttpResponse:
        call = Call.objects.select_related("account", "agent__workspace", "contact").get(pk=verified.context["call"].pk)
        if call.twilio_call_sid and call.twilio_call_sid != event.data["CallSid"]:
            raise WebhookIgnored("the voice request names another call's SID")
        try:
            answer = voice.call_voice_twiml(call=call, params=event.data)
        except lifecycle.StaleEvent as exc:
            raise _stale(exc) from None
        return HttpResponse(answer, content_type="text/xml")


class TwilioStatusWebhook(_CallEndpoint):
    name = "twilio-status"
    handlers = {"status": "on_status"}

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        params = _params(body)
        return self._event("status", params, params.get("SequenceNumber", ""), params.get("CallStatus", ""))

    def on_status(self, event: Event, verified: Verified) -> None:
        try:
            lifecycle.call_apply_twilio(call_id=verified.context["call"].pk, params=event.data)
        except lifecycle.StaleEvent as exc:
            raise _stale(exc) from None


class TwilioAmdWebhook(_CallEndpoint):
    """The asynchronous machine-detection verdict: recorded; a machine is hung up on (the agent
    has no voicemail message, or the call would have used synchronous detection)."""

    name = "twilio-amd"
    handlers = {"amd": "on_amd"}

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        return self._event("amd", _params(body))

    def on_amd(self, event: Event, verified: Verified) -> None:
        try:
            call = lifecycle.call_apply_answered_by(call_id=verified.context["call"].pk, params=event.data)
        except lifecycle.StaleEvent as exc:
            raise _stale(exc) from None
        if lifecycle.is_machine(call.answered_by) and call.is_live and call.twilio_call_sid:
            _hang_up(call)


def _hang_up(call: Call) -> None:
    from calls.services import CallRefused, twilio_credentials

    try:
        sid, token = twilio_credentials(call.account)
        twilio.call_hangup(sid, token, call.twilio_call_sid)
    except (ProviderError, CallRefused) as exc:  # Twilio's own limits end the call anyway
        logger.warning("call %s: could not hang up on the machine: %s", call.pk, getattr(exc, "message", exc))


class _InboundEndpoint(TwilioEndpoint):
    """A URL naming an account (its numbers' voice URL and status callback)."""

    def resolve(self, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> Verified:
        found = (
            CallSettings.objects.select_related("account").filter(inbound_id=str(url_kwargs.get("inbound_id"))).first()
        )
        if found is None:
            raise WebhookRejected("unknown account")
        return Verified(account=found.account)


class TwilioInboundVoiceWebhook(_InboundEndpoint):
    name = "twilio-inbound-voice"
    store_response = True
    handlers = {"inbound": "on_inbound"}

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        return self._event("inbound", _params(body))

    def acknowledge(self, event: Event | None, verified: Verified | None) -> HttpResponse:
        return HttpResponse(voice.hangup(), content_type="text/xml")

    def on_inbound(self, event: Event, verified: Verified) -> HttpResponse:
        assert verified.account is not None
        try:
            answer = voice.inbound_voice_twiml(account=verified.account, params=event.data)
        except lifecycle.StaleEvent as exc:
            raise _stale(exc) from None
        return HttpResponse(answer, content_type="text/xml")


class TwilioInboundStatusWebhook(_InboundEndpoint):
    name = "twilio-inbound-status"
    handlers = {"status": "on_status"}

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        params = _params(body)
        return self._event("status", params, params.get("SequenceNumber", ""), params.get("CallStatus", ""))

    def on_status(self, event: Event, verified: Verified) -> None:
        call = Call.objects.filter(account=verified.account, twilio_call_sid=event.data["CallSid"]).first()
        if call is None:
            raise WebhookIgnored("no call with this SID in the account")
        try:
            lifecycle.call_apply_twilio(call_id=call.pk, params=event.data)
        except lifecycle.StaleEvent as exc:
            raise _stale(exc) from None


# --- ElevenLabs --------------------------------------------------------------------------------


def elevenlabs_signature_valid(header: str, body: bytes, secret: str, *, now: float | None = None) -> str:
    """ "" when `header` signs `body` with `secret` within the window, else why not."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        sent = int(parts.get("t", ""))
    except ValueError:
        return "no timestamp"
    if abs((now if now is not None else time.time()) - sent) > SIGNATURE_WINDOW:
        return "timestamp outside the ±30 minute window"
    expected = hmac.new(secret.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    return "" if hmac.compare_digest(expected, parts.get("v0", "")) else "signature does not match"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ElevenLabsPostCallWebhook(_Guarded):
    name = "elevenlabs-post-call"
    provider = "elevenlabs"
    max_body_bytes = 2 * 1024 * 1024  # a long call's transcript; audio events are not subscribed
    handlers = {"post_call_transcription": "on_transcription", "call_initiation_failure": "on_failure"}

    def kept_body(self, body: bytes) -> bytes:
        """ElevenLabs echoes the call's dynamic variables, the tool token (`secret__…`) among them:
        it is dead once the call ended, and still never kept (the admin shows stored bodies)."""
        try:
            envelope = json.loads(body)
            variables = envelope["data"]["conversation_initiation_client_data"]["dynamic_variables"]
        except (ValueError, KeyError, TypeError):
            return body
        if not isinstance(variables, dict) or not any(str(k).startswith("secret__") for k in variables):
            return body
        for key in [k for k in variables if str(k).startswith("secret__")]:
            variables[key] = "[removed]"
        return json.dumps(envelope).encode()

    def resolve(self, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> Verified:
        workspace = workspace_for_webhook(str(url_kwargs.get("public_id") or ""))
        if workspace is None:
            raise WebhookRejected("unknown workspace")
        return Verified(account=workspace.account, context={"workspace": workspace})

    def check_signature(self, request: HttpRequest, body: bytes, verified: Verified) -> None:
        workspace: ElevenLabsWorkspace = verified.context["workspace"]
        try:
            secret = workspace.webhook_secret or ""
        except DecryptionError:
            raise Unavailable("the stored webhook secret cannot be decrypted") from None
        if not secret:
            raise WebhookRejected("the workspace has no webhook secret")
        header = request.headers.get("ElevenLabs-Signature", "")
        if not header:
            raise WebhookRejected("missing ElevenLabs-Signature")
        problem = elevenlabs_signature_valid(header, body, secret)
        if problem:
            raise WebhookRejected(problem)

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        try:
            envelope = json.loads(body)
            kind, data = str(envelope["type"]), envelope["data"]
            conversation = str(data.get("conversation_id") or "")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookInvalid(f"not a post-call webhook ({type(exc).__name__})") from None
        if not conversation:
            raise WebhookInvalid("no conversation_id")
        agent = agent_for_remote(
            workspace=verified.context["workspace"], elevenlabs_agent_id=str(data.get("agent_id") or "")
        )
        if agent is not None:  # the platform's workspace serves every account: the agent says whose
            verified.account = agent.account
        verified.context["agent"] = agent
        return Event(type=kind, id=f"{kind}:{conversation}"[:200], data=data)

    def _call(self, data: dict[str, Any], verified: Verified) -> Call:
        agent = verified.context.get("agent")
        if agent is None:
            raise WebhookIgnored("an agent we do not know")
        calls = Call.objects.filter(account_id=agent.account_id)
        client, metadata = _dict(data.get("conversation_initiation_client_data")), _dict(data.get("metadata"))
        variables, phone = _dict(client.get("dynamic_variables")), _dict(metadata.get("phone_call"))
        for candidate in (client.get("user_id"), variables.get("prix_call_id")):
            try:
                found = calls.filter(pk=uuid.UUID(str(candidate))).first()
            except ValueError:
                continue
            if found is not None:
                return found
        sid = str(phone.get("call_sid") or "")
        found = calls.filter(twilio_call_sid=sid).first() if sid else None
        found = found or calls.filter(conversation_id=str(data["conversation_id"])).first()
        if found is None:
            raise WebhookIgnored("no call of this account matches the conversation")
        return found

    def on_transcription(self, event: Event, verified: Verified) -> None:
        call = self._call(event.data, verified)
        lifecycle.call_apply_conversation(call_id=call.pk, data=event.data)

    def on_failure(self, event: Event, verified: Verified) -> None:
        call = self._call(event.data, verified)
        reason = str(event.data.get("failure_reason") or "unknown")
        lifecycle.call_note_error(call_id=call.pk, code="conversation_failed", message=f"ElevenLabs: {reason}")
