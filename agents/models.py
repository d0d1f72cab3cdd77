"""Voice agents (`Agent`), kept in sync with ElevenLabs, and what they do during calls.

- `Agent`: the tenant's agent as edited in PrixAgent (the source of truth), plus its sync state
  with the ElevenLabs agent it is pushed to.
- `ElevenLabsWorkspace`: one row per ElevenLabs workspace we push agents into (a tenant's own,
  or the platform's): its post-call webhook (id, encrypted HMAC secret) and its server tools.
- `ToolSession`: one per call; its random token (stored only as a SHA-256 hash) is the only thing
  that lets an in-call tool request act, and only on that session's account and contact.
- `ToolInvocation`: every tool request that got past the token (arguments, result, duration).
- `Booking`: an appointment booked by an agent; at most one live booking per conversation
  (a partial unique index, so a repeated tool call can never book twice).
- `AgentInboundNumber`: which agent answers inbound calls on a number of the tenant's Twilio.
- `AgentAccountSettings`: the account's booking policy when a contact has no email.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prixagent.fields import EncryptedTextField

# ElevenLabs' LLM ids (`elevenlabs.types.llm`); a curated list the editor offers.
LLM_CHOICES = [
    ("gpt-4o-mini", "GPT-4o mini"),
    ("gpt-4o", "GPT-4o"),
    ("gpt-4.1-mini", "GPT-4.1 mini"),
    ("gpt-4.1", "GPT-4.1"),
    ("gemini-2.0-flash", "Gemini 2.0 Flash"),
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("claude-3-5-sonnet", "Claude 3.5 Sonnet"),
    ("claude-sonnet-4", "Claude Sonnet 4"),
]
DEFAULT_LLM = "gpt-4o-mini"


class Language(models.TextChoices):
    # Spanish and English first: the product's two languages (speech wording exists for both).
    ES = "es", "Español"
    EN = "en", "English"
    PT = "pt", "Português"
    FR = "fr", "Français"
    DE = "de", "Deutsch"
    IT = "it", "Italiano"


class Tool(models.TextChoices):
    CHECK_AVAILABILITY = "check_availability", _("Check availability (Cal.com)")
    BOOK_APPOINTMENT = "book_appointment", _("Book an appointment (Cal.com)")
    OPT_OUT = "opt_out", _("Opt out (do-not-call list)")
    ADD_NOTE = "add_note", _("Add a note to the contact")
    UPDATE_CONTACT = "update_contact", _("Update the contact's details")


class DataType(models.TextChoices):
    """ElevenLabs data collection value types (`AnalysisPropertyType`)."""

    BOOLEAN = "boolean", _("Yes / no")
    STRING = "string", _("Text")
    INTEGER = "integer", _("Whole number")
    NUMBER = "number", _("Number")


def _public_id() -> str:
    return secrets.token_urlsafe(18)


class ElevenLabsWorkspace(models.Model):
    """An ElevenLabs workspace we push agents into: a tenant's (their key) or the platform's.

    A workspace is known by a SHA-256 fingerprint of the key used with it (ElevenLabs has no
    key-free way to name a workspace). `public_id` is what the post-call webhook URL carries;
    the receiver looks the workspace up by it and verifies the HMAC with `webhook_secret`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # None for the platform's workspace, which holds agents of every tenant without a key.
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="elevenlabs_workspaces"
    )
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=64)
    public_id = models.CharField(_("public id"), max_length=32, unique=True, default=_public_id, editable=False)
    webhook_id = models.CharField(_("post-call webhook id"), max_length=64, blank=True)
    webhook_url = models.CharField(_("post-call webhook URL"), max_length=500, blank=True)
    webhook_secret = EncryptedTextField(tenant_attr="tenant_key")
    tool_ids = models.JSONField(_("tool ids"), default=dict, blank=True)  # {tool name: ElevenLabs tool id}
    tools_signature = models.CharField(max_length=64, blank=True)  # hash of the tool configs last pushed
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("ElevenLabs workspace")
        verbose_name_plural = _("ElevenLabs workspaces")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key_fingerprint"],
                condition=Q(account__isnull=False),
                name="elevenlabs_workspace_one_per_tenant_key",
            ),
            models.UniqueConstraint(
                fields=["key_fingerprint"], condition=Q(account__isnull=True), name="elevenlabs_workspace_one_platform"
            ),
        ]

    def __str__(self) -> str:
        return f"{'platform' if self.is_platform else self.account_id} workspace"

    def __repr__(self) -> str:
        return f"<ElevenLabsWorkspace {self.pk} {'platform' if self.is_platform else self.account_id}>"

    @property
    def is_platform(self) -> bool:
        return self.account_id is None

    @property
    def tenant_key(self) -> str:
        """What the webhook secret's ciphertext is bound to: the account, or "platform"."""
        return str(self.account_id) if self.account_id else "platform"


class Agent(models.Model):
    class SyncStatus(models.TextChoices):
        PENDING = "pending", _("Not pushed yet")
        SYNCED = "synced", _("In sync")
        FAILED = "failed", _("Sync failed")
        DRIFTED = "drifted", _("Changed at ElevenLabs")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(_("name"), max_length=120)
    template = models.CharField(_("template"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.EN)
    first_message = models.TextField(_("first message"), blank=True)
    system_prompt = models.TextField(_("system prompt"))
    voice_id = models.CharField(_("voice"), max_length=64)
    llm = models.CharField(_("LLM"), max_length=64, choices=LLM_CHOICES, default=DEFAULT_LLM)
    temperature = models.FloatField(
        _("temperature"), default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    max_call_seconds = models.PositiveIntegerField(
        _("maximum call length (seconds)"),
        default=600,
        validators=[MinValueValidator(30), MaxValueValidator(3600)],
    )
    # Said when a machine answers (the calls app plays it instead of starting the conversation).
    voicemail_message = models.TextField(_("voicemail message"), blank=True)
    # [{"id", "type", "description"}]: ElevenLabs data collection (outcomes extracted per call).
    data_collection = models.JSONField(_("outcomes to extract"), default=list, blank=True)
    # [{"id", "name", "goal"}]: ElevenLabs evaluation criteria.
    evaluation_criteria = models.JSONField(_("evaluation criteria"), default=list, blank=True)
    tools = models.JSONField(_("tools"), default=list, blank=True)  # [Tool values]
    calcom_event_type_id = models.PositiveIntegerField(_("Cal.com event type"), null=True, blank=True)
    # The calls app places outbound calls from this number (one of account.twilio_phone_numbers).
    default_from_number = models.CharField(_("default caller number"), max_length=16, blank=True)

    # --- sync with ElevenLabs ---
    workspace = models.ForeignKey(
        ElevenLabsWorkspace, null=True, blank=True, on_delete=models.SET_NULL, related_name="agents"
    )
    elevenlabs_agent_id = models.CharField(_("ElevenLabs agent id"), max_length=64, blank=True)
    # The ElevenLabs version our last push (or a "take theirs") left the agent on. A different
    # version at ElevenLabs means someone edited the agent there.
    remote_revision = models.CharField(_("ElevenLabs version"), max_length=64, blank=True)
    sync_status = models.CharField(
        _("sync status"), max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING
    )
    sync_error = models.TextField(_("last sync error"), blank=True)
    sync_error_permanent = models.BooleanField(default=False)  # retrying cannot help (bad key...)
    sync_attempted_at = models.DateTimeField(_("last sync attempt"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    # What ElevenLabs had when drift was detected (the editable fields), for the drift banner.
    remote_snapshot = models.JSONField(null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["name", "created_at"]
        indexes = [models.Index(fields=["account", "name"], name="agent_account_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "elevenlabs_agent_id"],
                condition=~Q(elevenlabs_agent_id=""),
                name="agent_one_local_per_remote",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Agent {self.pk} of {self.account_id} ({self.sync_status})>"

    @property
    def is_ready_for_calls(self) -> bool:
        """Pushed to ElevenLabs at least once (the calls app refuses to dial an agent that is not)."""
        return bool(self.elevenlabs_agent_id)

    def has_tool(self, tool: str) -> bool:
        return tool in (self.tools or [])


class AgentInboundNumber(models.Model):
    """Inbound calls to `phone_number` (a number of the tenant's Twilio) are answered by `agent`."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="agent_inbound_numbers")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="inbound_numbers")
    phone_number = models.CharField(_("phone number (E.164)"), max_length=16)

    class Meta:
        verbose_name = _("inbound number")
        verbose_name_plural = _("inbound numbers")
        ordering = ["phone_number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "phone_number"], name="agent_inbound_number_one_agent"),
        ]

    def __str__(self) -> str:
        return self.phone_number


class AgentAccountSettings(models.Model):
    """Per-account agent settings: what `book_appointment` does when the contact has no email."""

    class NoEmailPolicy(models.TextChoices):
        ASK = "ask", _("Ask the caller for an email address")
        PLACEHOLDER = "placeholder", _("Book with a placeholder address")

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="agent_settings")
    no_email_policy = models.CharField(
        _("when the contact has no email"), max_length=12, choices=NoEmailPolicy.choices, default=NoEmailPolicy.ASK
    )
    placeholder_email = models.EmailField(_("placeholder email"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("agent settings")
        verbose_name_plural = _("agent settings")

    def __str__(self) -> str:
        return f"agent settings of {self.account_id}"


class ToolSession(models.Model):
    """One call's permission to use tools. The token itself is never stored, only its SHA-256.

    The calls app opens one per call (`services.tool_session_open`), sends the token as the
    `secret__prix_tool_token` dynamic variable (ElevenLabs binds it into the tools' header and
    never shows it to the LLM) and closes it when the call ends.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="tool_sessions")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="tool_sessions")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="tool_sessions"
    )
    call_id = models.UUIDField(_("call"), null=True, blank=True, db_index=True)  # the calls app's Call
    phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True)  # the far end, when no contact
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    conversation_id = models.CharField(_("ElevenLabs conversation"), max_length=64, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("opened"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tool session")
        verbose_name_plural = _("tool sessions")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="tool_session_account")]

    def __str__(self) -> str:
        return f"tool session {self.pk}"

    def __repr__(self) -> str:
        return f"<ToolSession {self.pk} of {self.account_id}>"

    def is_live(self, now: datetime | None = None) -> bool:
        return self.closed_at is None and self.expires_at > (now or timezone.now())


class ToolInvocation(models.Model):
    """One accepted tool request: what the agent asked, what it was told, how long it took."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="tool_invocations")
    session = models.ForeignKey(ToolSession, on_delete=models.CASCADE, related_name="invocations")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="invocations")
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    call_id = models.UUIDField(_("call"), null=True, blank=True)
    conversation_id = models.CharField(_("ElevenLabs conversation"), max_length=64, blank=True)
    tool = models.CharField(_("tool"), max_length=32, choices=Tool.choices)
    arguments = models.JSONField(_("arguments"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tool invocation")
        verbose_name_plural = _("tool invocations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "agent", "-created_at"], name="tool_invocation_agent"),
            models.Index(fields=["account", "call_id"], name="tool_invocation_call"),
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.status}"


class Booking(models.Model):
    """An appointment an agent booked (or tried to) in the tenant's Cal.com during a call."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Booking")
        BOOKED = "booked", _("Booked")
        FAILED = "failed", _("Failed")
        # Cal.com did not answer in time: the booking may exist. It still counts as this
        # conversation's booking, so the agent never books a second one on top of it.
        UNKNOWN = "unknown", _("Unconfirmed")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="agent_bookings")
    session = models.ForeignKey(ToolSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_bookings"
    )
    call_id = models.UUIDField(_("call"), null=True, blank=True, db_index=True)
    # The ElevenLabs conversation id, or "session:<id>" when the call did not say (a test call).
    conversation_key = models.CharField(max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    event_type_id = models.PositiveIntegerField(_("Cal.com event type"))
    start_at = models.DateTimeField(_("starts"))
    time_zone = models.CharField(_("time zone"), max_length=64)
    attendee_name = models.CharField(_("attendee"), max_length=200)
    attendee_email = models.EmailField(_("attendee email"))
    calcom_uid = models.CharField(_("Cal.com booking uid"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The idempotency guarantee: one live (pending, booked or unconfirmed) booking per
            # conversation, enforced by PostgreSQL, so two concurrent tool calls cannot both book.
            models.UniqueConstraint(
                fields=["account", "conversation_key"],
                condition=~Q(status="failed"),
                name="agent_booking_one_per_conversation",
            ),
        ]

    def __str__(self) -> str:
        return f"booking {self.pk} ({self.status})"
