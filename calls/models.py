"""Phone calls and what hangs off them.

- `Call`: one attempt to talk to someone (outbound) or one call that came in (inbound). The row
  is written *before* Twilio is asked (status `pending`, a unique attempt key per account), so
  a process that dies around the create leaves a trace that recovery resolves at Twilio before
  anything dials again. Twilio's status callbacks move it forward only (see `STATUS_RANK`);
  ElevenLabs' post-call webhook adds the transcript, summary, outcomes and evaluation.
- `CallSettings`: per account: answering-machine detection, recording, ring timeout, and the
  random id that names the account in its inbound webhook URLs.
- `CallAudio`: a voicemail message spoken in the agent's voice (ElevenLabs text-to-speech),
  served to Twilio through a signed, expiring URL.
- `TenantWebhook`, `TenantWebhookDelivery`, `TenantWebhookAttempt`: the tenant's own HTTPS
  endpoints for `call.*` events, each delivery and each attempt (the delivery log).
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prixagent.fields import EncryptedTextField


class Status(models.TextChoices):
    PENDING = "pending", _("Placing")  # written; Twilio not asked yet, or its answer not written yet
    UNKNOWN = "unknown", _("Checking with Twilio")  # asked; the answer was lost: recovery decides
    NOT_PLACED = "not_placed", _("Not placed")  # Twilio did not create it (refused, busy, unreachable)
    QUEUED = "queued", _("Queued")
    INITIATED = "initiated", _("Dialing")
    RINGING = "ringing", _("Ringing")
    IN_PROGRESS = "in-progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no-answer", _("No answer")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


# The state machine only moves up this ladder; every terminal state has the top rank, so once a
# call is terminal nothing changes its status again (a late "ringing" never undoes "completed").
STATUS_RANK = {
    Status.PENDING: 0,
    Status.UNKNOWN: 0,
    Status.QUEUED: 1,
    Status.INITIATED: 2,
    Status.RINGING: 3,
    Status.IN_PROGRESS: 4,
    Status.COMPLETED: 5,
    Status.BUSY: 5,
    Status.NO_ANSWER: 5,
    Status.FAILED: 5,
    Status.CANCELED: 5,
    Status.NOT_PLACED: 5,
}
TERMINAL = frozenset(s for s, rank in STATUS_RANK.items() if rank == 5)

# `error_code` of a `not_placed` call Twilio certainly never had: stopped before asking (its
# campaign stopped: `NOT_ADMITTED`; the process died: `NOT_DIALED`), or recovery found nothing
# at Twilio (`NOT_CREATED`). With Twilio's "busy" refusals these never rang anyone, so a dialer
# may try again without counting an attempt.
NOT_ADMITTED, NOT_DIALED, NOT_CREATED = "not_admitted", "not_dialed", "not_created"
LIVE = frozenset(s for s, rank in STATUS_RANK.items() if rank < 5)
TWILIO_STATUSES = frozenset(
    {
        Status.QUEUED,
        Status.INITIATED,
        Status.RINGING,
        Status.IN_PROGRESS,
        Status.COMPLETED,
        Status.BUSY,
        Status.NO_ANSWER,
        Status.FAILED,
        Status.CANCELED,
    }
)


class Outcome(models.TextChoices):
    """What came of a call, in one word (the list's filter, GoHighLevel's tag, the dialer's input)."""

    BOOKED = "booked", _("Booked")
    OPTED_OUT = "opted_out", _("Opted out")
    ANSWERED = "answered", _("Answered")
    VOICEMAIL = "voicemail", _("Voicemail left")
    MACHINE = "machine", _("Machine answered")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    FAILED = "failed", _("Failed")
    NOT_PLACED = "not_placed", _("Not placed")
    CANCELED = "canceled", _("Canceled")


class Analysis(models.TextChoices):
    NONE = "none", _("Not expected")  # nobody talked to the agent
    WAITING = "waiting", _("Waiting for ElevenLabs")
    RECEIVED = "received", _("Received")
    MISSING = "missing", _("Never arrived")
    FAILED = "failed", _("Conversation failed")


class Call(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("Outbound")
        INBOUND = "inbound", _("Inbound")

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", _("Dashboard")
        API = "api", _("API")
        COMMAND = "command", _("Command line")
        CAMPAIGN = "campaign", _("Campaign")
        TEST = "test", _("Test call")
        INBOUND = "inbound", _("Inbound")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="calls")
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.DASHBOARD)
    campaign_ref = models.CharField(_("campaign reference"), max_length=64, blank=True)
    # Unique per account (a constraint): one attempt is one call, whoever asks again.
    attempt_key = models.CharField(_("attempt key"), max_length=200)
    to_number = models.CharField(_("to"), max_length=16)
    from_number = models.CharField(_("from"), max_length=16)

    twilio_call_sid = models.CharField(_("Twilio call SID"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    status_sequence = models.IntegerField(default=-1)  # the highest SequenceNumber applied
    answered_by = models.CharField(_("answered by"), max_length=32, blank=True)
    voicemail_left = models.BooleanField(_("voicemail left"), default=False)
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    price = models.CharField(_("price"), max_length=20, blank=True)
    price_unit = models.CharField(_("currency"), max_length=8, blank=True)
    recording_sid = models.CharField(_("recording SID"), max_length=64, blank=True)
    recording_duration = models.PositiveIntegerField(_("recording length (s)"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.CharField(_("error"), max_length=500, blank=True)

    # What Twilio was asked to do (for the call page and the operator).
    machine_detection = models.CharField(_("machine detection"), max_length=20, blank=True)
    record = models.BooleanField(_("recorded"), default=False)
    ring_timeout = models.PositiveIntegerField(_("ring timeout (s)"), default=30)

    # ElevenLabs: the conversation and its analysis.
    tool_session = models.ForeignKey(
        "agents.ToolSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation_id = models.CharField(_("ElevenLabs conversation"), max_length=64, blank=True)
    transcript = models.JSONField(_("transcript"), default=list, blank=True)  # [{role, message, at, tool}]
    summary = models.TextField(_("summary"), blank=True)
    summary_title = models.CharField(_("summary title"), max_length=200, blank=True)
    call_successful = models.CharField(_("call successful"), max_length=10, blank=True)
    outcomes = models.JSONField(_("outcomes"), default=dict, blank=True)  # {id: {value, rationale}}
    evaluation = models.JSONField(_("evaluation"), default=dict, blank=True)  # {id: {result, rationale}}
    termination_reason = models.CharField(_("termination reason"), max_length=200, blank=True)
    analysis_status = models.CharField(_("analysis"), max_length=10, choices=Analysis.choices, default=Analysis.NONE)
    analyzed_at = models.DateTimeField(_("analyzed"), null=True, blank=True)
    # Reconciliation of a missing post-call webhook: when to look again, how often it looked.
    analysis_check_at = models.DateTimeField(null=True, blank=True)
    analysis_checks = models.PositiveIntegerField(default=0)

    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    timeline = models.JSONField(_("timeline"), default=list, blank=True)  # [{status, at}]

    dial_started_at = models.DateTimeField(_("Twilio asked at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "attempt_key"], name="call_one_per_attempt_key"),
            models.UniqueConstraint(
                fields=["twilio_call_sid"], condition=~Q(twilio_call_sid=""), name="call_one_per_twilio_sid"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="call_account_created"),
            models.Index(fields=["account", "status"], name="call_account_status"),
            models.Index(fields=["account", "contact", "-created_at"], name="call_account_contact"),
            models.Index(fields=["account", "agent", "-created_at"], name="call_account_agent"),
            models.Index(fields=["status", "updated_at"], name="call_status_updated"),
            models.Index(fields=["analysis_status", "analysis_check_at"], name="call_analysis_waiting"),
            models.Index(fields=["conversation_id"], name="call_conversation"),
            # A campaign's calls (its stats, its page).
            models.Index(
                fields=["account", "campaign_ref"], name="call_account_campaign", condition=~Q(campaign_ref="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call {self.to_number if self.is_outbound else self.from_number}"

    def __repr__(self) -> str:
        return f"<Call {self.pk} of {self.account_id} ({self.status})>"

    @property
    def is_outbound(self) -> bool:
        return self.direction == self.Direction.OUTBOUND

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    @property
    def far_number(self) -> str:
        """The other party's number: who we called, or who called us."""
        return self.to_number if self.is_outbound else self.from_number

    @property
    def minutes(self) -> int:
        from billing.usage import billable_minutes

        return billable_minutes(self.duration_seconds or 0) if self.duration_seconds else 0


def _inbound_id() -> str:
    return secrets.token_urlsafe(18)


class CallSettings(models.Model):
    """How an account's calls are placed (the defaults until someone saves them)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="call_settings")
    machine_detection = models.BooleanField(_("detect answering machines"), default=True)
    record_calls = models.BooleanField(_("record calls"), default=False)
    ring_timeout = models.PositiveIntegerField(_("ring timeout (seconds)"), default=30)
    # Names the account in its inbound webhook URLs (Twilio signs with the account's token, so
    # this only routes; it is random so the URLs reveal nothing).
    inbound_id = models.CharField(max_length=32, unique=True, default=_inbound_id, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("call settings")
        verbose_name_plural = _("call settings")

    def __str__(self) -> str:
        return f"call settings of {self.account_id}"


class CallAudio(models.Model):
    """A voicemail message rendered in an agent's voice (mp3), reused for the same voice and text."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="call_audio")
    fingerprint = models.CharField(max_length=64)  # sha256(voice, model, text)
    audio = models.BinaryField()
    content_type = models.CharField(max_length=40, default="audio/mpeg")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("voicemail audio")
        verbose_name_plural = _("voicemail audio")
        constraints = [models.UniqueConstraint(fields=["account", "fingerprint"], name="call_audio_one_per_text")]

    def __str__(self) -> str:
        return f"voicemail audio {self.pk}"


# --- tenant webhooks ---------------------------------------------------------------------------


class TenantEvent(models.TextChoices):
    CALL_STARTED = "call.started", _("A call was answered")
    CALL_ENDED = "call.ended", _("A call ended")
    CALL_ANALYZED = "call.analyzed", _("A call's transcript and outcomes are ready")


class TenantWebhook(models.Model):
    """An HTTPS endpoint of the tenant's (a CRM, Zapier) that receives call events, signed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="tenant_webhooks")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)  # [TenantEvent values]
    secret = EncryptedTextField()  # shown once, at creation; signs every delivery
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("tenant webhook")
        verbose_name_plural = _("tenant webhooks")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["account", "is_active"], name="tenant_webhook_account")]

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"<TenantWebhook {self.pk} of {self.account_id}>"


class TenantWebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Gave up")  # retried for a day without a 2xx
        REFUSED = "refused", _("Refused (address not allowed)")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(TenantWebhook, on_delete=models.CASCADE, related_name="deliveries")
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # the receiver dedupes on it
    event_type = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_status_code = models.PositiveIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tenant webhook delivery")
        verbose_name_plural = _("tenant webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            # An event is delivered once per endpoint, however often the call's webhook is replayed.
            models.UniqueConstraint(
                fields=["endpoint", "call", "event_type"],
                condition=Q(call__isnull=False),
                name="tenant_delivery_one_per_event",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="tenant_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="tenant_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.state})"


class TenantWebhookAttempt(models.Model):
    delivery = models.ForeignKey(TenantWebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk}: {self.status_code or self.error}"
