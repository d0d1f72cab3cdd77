"""Campaigns: one agent calling a set of contacts within their local hours, at a pace.

- `Campaign`: what to call (targeting), when (dates, weekdays, a daily window in each contact's
  local time), how fast (calls per second, concurrent calls), how often (attempts, retry delays
  per outcome), and its state (draft → scheduled/running ⇄ paused → completed | cancelled).
- `CampaignContact`: one targeted contact's state machine: `queued` (due at `due_at`) →
  `dialing` (claimed; its call is being placed or is live) → back to `queued` for a retry, or one
  terminal result. `dials` numbers the attempts *keys* (`campaign:<id>:<dials>`): the same key is
  the same Twilio call whoever retries it, which is what makes dialing exactly-once under crashes.

The dialer only ever reads `queued` rows that are due (a partial index on `due_at`), and only
campaigns that are running and due (`next_due_at`), so finished work costs nothing per tick.
"""

from __future__ import annotations

import uuid
from datetime import time

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Outcome

WEEKDAYS_DEFAULT = [0, 1, 2, 3, 4]  # Monday to Friday (Python's weekday numbers)


def default_weekdays() -> list[int]:
    return list(WEEKDAYS_DEFAULT)


class RetryOn(models.TextChoices):
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    VOICEMAIL = "voicemail", _("Voicemail")
    FAILED = "failed", _("Failed")


def default_retry_delays() -> dict[str, int]:
    """Minutes before another attempt, per outcome (null: no retry on that outcome)."""
    return {RetryOn.NO_ANSWER: 240, RetryOn.BUSY: 30, RetryOn.VOICEMAIL: 1440, RetryOn.FAILED: 60}


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")  # started; its first day has not come yet
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Target(models.TextChoices):
        ALL = "all", _("All contacts")
        TAGS = "tags", _("Contacts with any of these tags")
        FILTER = "filter", _("A saved contacts filter")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="campaigns")
    from_numbers = models.JSONField(_("caller numbers"), default=list, blank=True)  # [] = the agent's default

    target = models.CharField(_("contacts"), max_length=10, choices=Target.choices, default=Target.ALL)
    target_tags = models.ManyToManyField("contacts.Tag", blank=True, related_name="campaigns")
    target_filter = models.JSONField(_("contacts filter"), default=dict, blank=True)  # contacts' list params

    start_date = models.DateField(_("first day"), null=True, blank=True)  # in each contact's local time
    end_date = models.DateField(_("last day"), null=True, blank=True)
    weekdays = models.JSONField(_("weekdays"), default=default_weekdays)  # 0 = Monday
    window_start = models.TimeField(_("calling from"), default=time(8, 0))
    window_end = models.TimeField(_("calling until"), default=time(21, 0))

    calls_per_second = models.DecimalField(_("calls per second"), max_digits=5, decimal_places=2, default=1)
    max_concurrent = models.PositiveIntegerField(_("concurrent calls"), default=5)
    max_attempts = models.PositiveIntegerField(_("attempts per contact"), default=3)
    retry_delays = models.JSONField(_("retry delays (minutes)"), default=default_retry_delays)

    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    # Why it is paused (or ended): a code the dialer or a person set, and the words for it.
    state_reason = models.CharField(_("reason code"), max_length=40, blank=True)
    state_message = models.CharField(_("reason"), max_length=300, blank=True)
    # The earliest due time of its queued contacts while it runs (null: nothing queued); the tick
    # reads only campaigns due by this, never their contacts.
    next_due_at = models.DateTimeField(null=True, blank=True)
    # When it last took in contacts newly matching its targeting.
    members_refreshed_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="campaign_account_created"),
            models.Index(
                fields=["next_due_at"],
                name="campaign_due",
                condition=Q(state__in=["running", "scheduled"]),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Campaign {self.pk} of {self.account_id} ({self.state})>"

    @property
    def is_active(self) -> bool:
        """Started and not over: the dialer works for it (when running)."""
        return self.state in (self.State.SCHEDULED, self.State.RUNNING, self.State.PAUSED)

    @property
    def is_over(self) -> bool:
        return self.state in (self.State.COMPLETED, self.State.CANCELLED)


class MemberState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    DIALING = "dialing", _("Dialing")
    ANSWERED = "answered", _("Answered")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    VOICEMAIL = "voicemail", _("Voicemail")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


MEMBER_TERMINAL = frozenset(
    {
        MemberState.ANSWERED,
        MemberState.NO_ANSWER,
        MemberState.BUSY,
        MemberState.VOICEMAIL,
        MemberState.FAILED,
        MemberState.SKIPPED,
    }
)


class SkipReason(models.TextChoices):
    DO_NOT_CALL = "do_not_call", _("On the do-not-call list")
    INVALID_NUMBER = "invalid_number", _("Invalid number")
    WINDOW_CLOSED = "window_closed", _("Outside the calling window until the campaign ended")
    CANCELLED = "cancelled", _("Campaign cancelled")
    REMOVED = "removed", _("Contact removed")


class CampaignContact(models.Model):
    # Indexed by (campaign, state) and the partial indexes, which lead with it.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members", db_index=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="campaign_memberships")
    state = models.CharField(_("state"), max_length=10, choices=MemberState.choices, default=MemberState.QUEUED)
    skip_reason = models.CharField(_("skipped because"), max_length=20, choices=SkipReason.choices, blank=True)
    # The answered call's outcome (booked, opted out, answered), with the calls app's labels.
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)  # counted against max_attempts
    dials = models.PositiveIntegerField(default=0)  # attempt keys used (a Twilio 429 uses one, not an attempt)
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    # A retry's earliest time (its outcome's delay); `due_at` may be later, at the next opening of
    # the calling window. Kept apart so an edited window recomputes `due_at` without losing it.
    not_before = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when it went to `dialing`
    last_call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_result = models.CharField(_("last result"), max_length=12, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign contact")
        verbose_name_plural = _("campaign contacts")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"], name="campaign_contact_once")]
        indexes = [
            # The dialer's claim: due queued rows of one campaign, oldest first (finished rows are
            # not in this index at all).
            models.Index(fields=["campaign", "due_at"], name="campaign_member_due", condition=Q(state="queued")),
            # Recovery's sweep of claims older than the lease, across campaigns.
            models.Index(fields=["claimed_at"], name="campaign_member_dialing", condition=Q(state="dialing")),
            models.Index(fields=["campaign", "state"], name="campaign_member_state"),
            models.Index(fields=["contact"], name="campaign_member_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.campaign_id} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in MEMBER_TERMINAL

    def attempt_key(self, dial: int | None = None) -> str:
        return f"campaign:{self.pk}:{self.dials if dial is None else dial}"
