"""Creating, editing and steering campaigns. Views, the API, the admin and the dialer's own
automatic pauses all go through these functions.

State changes lock the campaign row. The dialer reads that row under a share lock in the same
transaction that commits "Twilio is being asked" (`calls.services.call_place(admit=...)`), so
once `campaign_pause` or `campaign_cancel` has committed no dial can start for the campaign; they
then wait (a few seconds at most) for the requests already on their way to Twilio, so when they
return no call of the campaign is placed any more.
"""

from __future__ import annotations

import logging
import time as monotime
import uuid
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from accounts.models import Account, User
from agents.models import Agent
from agents.selectors import twilio_voice_numbers
from billing.usage import limit_check
from calls.errors import CallRefused
from calls.models import Call, Status
from calls.services import twilio_credentials
from campaigns import clock, pacing, windows
from campaigns.dialer import members_schedule
from campaigns.members import members_add
from campaigns.models import Campaign, CampaignContact, MemberState, RetryOn, SkipReason
from contacts.models import Tag
from contacts.selectors import contact_filter_parse
from prixagent.errors import ApplicationError
from realtime.events import realtime_publish

logger = logging.getLogger(__name__)

CPS_RANGE = (Decimal("0.1"), Decimal("50"))
CONCURRENT_RANGE = (1, 200)
ATTEMPTS_RANGE = (1, 10)
RETRY_MINUTES_RANGE = (1, 7 * 24 * 60)
MAX_FROM_NUMBERS = 50
IN_FLIGHT_WAIT = 15.0  # seconds a pause waits for requests already sent to Twilio
EDITABLE_WHEN_STARTED = {
    "name",
    "from_numbers",
    "start_date",
    "end_date",
    "weekdays",
    "window_start",
    "window_end",
    "calls_per_second",
    "max_concurrent",
    "max_attempts",
    "retry_delays",
}
SCHEDULE_FIELDS = {"start_date", "end_date", "weekdays", "window_start", "window_end"}
ACTIVE = (Campaign.State.SCHEDULED, Campaign.State.RUNNING, Campaign.State.PAUSED)


# --- input ---------------------------------------------------------------------------------------


def _int_in(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueError
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValueError
    return number


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value
    return time.fromisoformat(str(value).strip())


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


class _Cleaner:
    """Validates one field at a time, collecting every message (the 400 lists them all)."""

    def __init__(self, account: Account, campaign: Campaign | None) -> None:
        self.account = account
        self.campaign = campaign
        self.errors: dict[str, list[str]] = {}
        self.clean: dict[str, Any] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def field(self, name: str, value: Any) -> None:
        try:
            self.clean[name] = getattr(self, f"clean_{name}")(value)
        except (ValueError, TypeError, InvalidOperation, KeyError) as exc:
            self.fail(
                name,
                str(exc.args[0])
                if exc.args and isinstance(exc.args[0], str) and exc.args[0]
                else _("This value is invalid."),
            )

    def clean_name(self, value: Any) -> str:
        text = " ".join(str(value or "").split())
        if not text:
            raise ValueError(_("Give the campaign a name."))
        if len(text) > 120:
            raise ValueError(_("Use at most 120 characters."))
        return text

    def clean_agent(self, value: Any) -> Agent:
        agent = Agent.objects.filter(account=self.account, pk=_uuid(value)).first() if _uuid(value) else None
        if agent is None:
            raise ValueError(_("Choose one of your agents."))
        return agent

    def clean_from_numbers(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        if not isinstance(value, list | tuple):
            raise ValueError(_("Give a list of your Twilio numbers."))
        own = set(twilio_voice_numbers(self.account))
        numbers = list(dict.fromkeys(str(n).strip() for n in value if str(n).strip()))
        unknown = [n for n in numbers if n not in own]
        if unknown:
            raise ValueError(_("Not one of your Twilio numbers: %(numbers)s.") % {"numbers": ", ".join(unknown[:5])})
        if len(numbers) > MAX_FROM_NUMBERS:
            raise ValueError(_("Use at most %(n)d numbers.") % {"n": MAX_FROM_NUMBERS})
        return numbers

    def clean_target(self, value: Any) -> str:
        if value not in Campaign.Target.values:
            raise ValueError(_("Use one of: %(list)s.") % {"list": ", ".join(Campaign.Target.values)})
        return str(value)

    def clean_target_tags(self, value: Any) -> list[Tag]:
        if value in (None, ""):
            return []
        if not isinstance(value, list | tuple):
            raise ValueError(_("Give a list of tag ids."))
        ids = {_int_in(v, 1, 2**62) for v in value}
        tags = list(Tag.objects.filter(account=self.account, pk__in=ids))
        if len(tags) != len(ids):
            raise ValueError(_("Some of these tags do not exist."))
        return tags

    def clean_target_filter(self, value: Any) -> dict[str, Any]:
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValueError(_("Give the contacts filter as an object (the contacts list's parameters)."))
        try:
            flt = contact_filter_parse(value)
        except ApplicationError as exc:
            raise ValueError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items()) or exc.message) from None
        return flt.as_params()

    def clean_start_date(self, value: Any) -> date | None:
        try:
            return _date(value)
        except ValueError:
            raise ValueError(_("Use a date such as 2026-01-31.")) from None

    clean_end_date = clean_start_date

    def clean_weekdays(self, value: Any) -> list[int]:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(_("Choose at least one weekday (0 is Monday, 6 is Sunday)."))
        try:
            return sorted({_int_in(v, 0, 6) for v in value})
        except ValueError:
            raise ValueError(_("Weekdays are 0 (Monday) to 6 (Sunday).")) from None

    def clean_window_start(self, value: Any) -> time:
        try:
            return _time(value).replace(second=0, microsecond=0)
        except ValueError:
            raise ValueError(_("Use a time such as 08:00.")) from None

    clean_window_end = clean_window_start

    def clean_calls_per_second(self, value: Any) -> Decimal:
        low, high = CPS_RANGE
        number = Decimal(str(value).strip()).quantize(Decimal("0.01"))
        if not low <= number <= high:
            raise ValueError(_("Use %(low)s to %(high)s calls per second.") % {"low": low, "high": high})
        return number

    def clean_max_concurrent(self, value: Any) -> int:
        try:
            return _int_in(value, *CONCURRENT_RANGE)
        except ValueError:
            raise ValueError(
                _("Use %(low)d to %(high)d calls at once.") % dict(zip(("low", "high"), CONCURRENT_RANGE, strict=True))
            ) from None

    def clean_max_attempts(self, value: Any) -> int:
        try:
            return _int_in(value, *ATTEMPTS_RANGE)
        except ValueError:
            raise ValueError(
                _("Use %(low)d to %(high)d attempts.") % dict(zip(("low", "high"), ATTEMPTS_RANGE, strict=True))
            ) from None

    def clean_retry_delays(self, value: Any) -> dict[str, int | None]:
        if not isinstance(value, dict):
            raise ValueError(_("Give minutes per outcome: no_answer, busy, voicemail, failed (null: no retry)."))
        unknown = set(value) - set(RetryOn.values)
        if unknown:
            raise ValueError(_("Unknown outcome: %(list)s.") % {"list": ", ".join(sorted(unknown))})
        base = dict(self.campaign.retry_delays) if self.campaign else {}
        for key, minutes in value.items():
            try:
                base[key] = None if minutes in (None, "") else _int_in(minutes, *RETRY_MINUTES_RANGE)
            except ValueError:
                raise ValueError(
                    _("%(outcome)s: use %(low)d to %(high)d minutes, or null for no retry.")
                    % {"outcome": key, "low": RETRY_MINUTES_RANGE[0], "high": RETRY_MINUTES_RANGE[1]}
                ) from None
        return {key: base.get(key) for key in RetryOn.values}

    def check_together(self, merged: Mapping[str, Any]) -> None:
        """Rules across fields, on the values the campaign will have after this change."""
        if merged["window_start"] >= merged["window_end"]:
            self.fail("window_end", _("The window must end after it starts (the same day)."))
        if merged["start_date"] and merged["end_date"] and merged["end_date"] < merged["start_date"]:
            self.fail("end_date", _("The last day cannot be before the first."))
        if merged["target"] == Campaign.Target.TAGS and not merged["target_tags"]:
            self.fail("target_tags", _("Choose at least one tag."))


def _uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def _clean(account: Account, data: Mapping[str, Any], campaign: Campaign | None) -> dict[str, Any]:
    cleaner = _Cleaner(account, campaign)
    known = {f[len("clean_") :] for f in dir(_Cleaner) if f.startswith("clean_")}
    for name in data:
        if name not in known:
            continue  # read-only or unknown keys are ignored, like a serializer's
        if campaign is not None and campaign.state != Campaign.State.DRAFT and name not in EDITABLE_WHEN_STARTED:
            cleaner.fail(name, _("This can only change while the campaign is a draft."))
            continue
        cleaner.field(name, data[name])
    if campaign is None:
        for required in ("name", "agent"):
            if required not in data:
                cleaner.fail(required, _("This field is required."))
    if not cleaner.errors:
        current = campaign or Campaign()
        merged = {
            name: cleaner.clean.get(name, getattr(current, name))
            for name in ("window_start", "window_end", "start_date", "end_date", "target")
        }
        merged["target_tags"] = cleaner.clean.get(
            "target_tags", list(campaign.target_tags.all()) if campaign is not None else []
        )
        cleaner.check_together(merged)
    if cleaner.errors:
        raise ApplicationError(_("Some fields are invalid."), fields=cleaner.errors)
    return cleaner.clean


# --- create, edit, delete --------------------------------------------------------------------------


def campaign_create(*, account: Account, data: Mapping[str, Any], created_by: User | None = None) -> Campaign:
    clean = _clean(account, data, None)
    current = (
        Campaign.objects.filter(account=account)
        .exclude(state__in=[Campaign.State.COMPLETED, Campaign.State.CANCELLED])
        .count()
    )
    limit_check(account=account, key="campaigns", current=current)
    tags = clean.pop("target_tags", [])
    with transaction.atomic():
        campaign = Campaign.objects.create(account=account, created_by=created_by, **clean)
        if tags:
            campaign.target_tags.set(tags)
    logger.info("campaign %s created for account %s", campaign.pk, account.slug)
    return campaign


def campaign_update(*, campaign: Campaign, data: Mapping[str, Any]) -> Campaign:
    with transaction.atomic():
        locked = _locked(campaign)  # validated against the state it has now, not the caller's copy
        if locked.is_over:
            raise ApplicationError(_("This campaign is over; it cannot change."), code="invalid_state", status_code=409)
        clean = _clean(locked.account, data, locked)
        tags = clean.pop("target_tags", None)
        for name, value in clean.items():
            setattr(locked, name, value)
        if tags is not None:
            locked.target_tags.set(tags)
        if locked.is_active and SCHEDULE_FIELDS & set(clean):
            _schedule_changed(locked)
        locked.save()
    campaign_announce(locked)
    return locked


def _schedule_changed(campaign: Campaign) -> None:
    """A new window or dates: queued contacts waiting for the old window's next opening are due
    again now (the dialer re-places them under the new schedule); a retry's delay still holds."""
    now = clock.now()
    CampaignContact.objects.filter(campaign=campaign, state=MemberState.QUEUED, due_at__gt=now).update(
        due_at=Coalesce(Greatest("not_before", now), now)
    )
    members_schedule(campaign, now)
    if campaign.state == Campaign.State.RUNNING:
        campaign.next_due_at = now
    elif campaign.state == Campaign.State.SCHEDULED:
        campaign.next_due_at = windows.first_day_begins(campaign) or now


def campaign_delete(*, campaign: Campaign) -> None:
    """Drafts and finished campaigns only (their calls stay, with the campaign's reference)."""
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.is_active:
            raise ApplicationError(_("Cancel the campaign before deleting it."), code="invalid_state", status_code=409)
        locked.delete()


# --- steering --------------------------------------------------------------------------------------


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("account", "agent").get(pk=campaign.pk)


def _invalid_state(campaign: Campaign, action: str) -> ApplicationError:
    return ApplicationError(
        _("A %(state)s campaign cannot be %(action)s.")
        % {"state": campaign.get_state_display().lower(), "action": action},
        code="invalid_state",
        status_code=409,
    )


def _check_can_dial(campaign: Campaign) -> None:
    """What must hold to start or resume: the account may call, the agent is live, Twilio works."""
    account = campaign.account
    if not account.is_active:
        raise ApplicationError(
            _("This account is not active; campaigns cannot run."), code="account_inactive", status_code=409
        )
    if not campaign.agent.is_ready_for_calls:
        raise ApplicationError(
            _("The agent “%(name)s” is not live at ElevenLabs yet; push it from its page first.")
            % {"name": campaign.agent.name},
            code="agent_not_ready",
            status_code=409,
        )
    try:
        twilio_credentials(account)
    except CallRefused as exc:
        raise ApplicationError(exc.message, code=exc.code, status_code=409) from None
    own = set(twilio_voice_numbers(account))
    if not own or (campaign.from_numbers and not set(campaign.from_numbers) <= own):
        raise ApplicationError(
            _("Choose caller numbers among your Twilio numbers."), code="no_from_number", status_code=409
        )


def campaign_start(*, campaign: Campaign, actor: User | None = None) -> Campaign:
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.state != Campaign.State.DRAFT:
            raise _invalid_state(locked, _("started"))
        _check_can_dial(locked)
        now = clock.now()
        begins = windows.first_day_begins(locked)
        locked.state = Campaign.State.SCHEDULED if begins and begins > now else Campaign.State.RUNNING
        locked.next_due_at = begins if locked.state == Campaign.State.SCHEDULED else now
        locked.started_at, locked.members_refreshed_at = now, now
        locked.state_reason = locked.state_message = ""
        locked.save()
        added = members_add(campaign=locked, due_at=now)
        members_schedule(locked, now)
    logger.info("campaign %s started with %d contacts by %s", locked.pk, added, getattr(actor, "pk", "system"))
    campaign_announce(locked, force=True)
    return locked


def _who(actor: User) -> str:
    """Who steered the campaign, as the tenant sees it: a teammate's email, never an operator's."""
    return _("PrixAgent support") if actor.is_staff else actor.email


def campaign_pause(
    *, campaign: Campaign, actor: User | None = None, reason: str = "paused", message: str = ""
) -> Campaign:
    """Stop dialing now (queued calls included). The dialer pauses with its own `reason`
    (failures, twilio_failing, plan_limit, account_suspended) and says why in `message`."""
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.state == Campaign.State.PAUSED:
            return locked
        if locked.state not in (Campaign.State.RUNNING, Campaign.State.SCHEDULED):
            raise _invalid_state(locked, _("paused"))
        locked.state = Campaign.State.PAUSED
        locked.state_reason = reason[:40]
        locked.state_message = (message or (_("Paused by %(who)s.") % {"who": _who(actor)} if actor else ""))[:300]
        locked.save()
    _wait_for_requests_in_flight(locked)
    logger.info("campaign %s paused (%s)", locked.pk, reason)
    campaign_announce(locked, force=True)
    return locked


def campaign_resume(*, campaign: Campaign, actor: User | None = None) -> Campaign:
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.state != Campaign.State.PAUSED:
            raise _invalid_state(locked, _("resumed"))
        _check_can_dial(locked)
        now = clock.now()
        begins = windows.first_day_begins(locked)
        locked.state = Campaign.State.SCHEDULED if begins and begins > now else Campaign.State.RUNNING
        locked.next_due_at = begins if locked.state == Campaign.State.SCHEDULED else now
        locked.state_reason = locked.state_message = ""
        locked.members_refreshed_at = now
        locked.save()
        members_add(campaign=locked, due_at=now)
        members_schedule(locked, now)
    pacing.forget(campaign_id=locked.pk)  # the failures that paused it are history
    pacing.clear_backoff(account_id=locked.account_id)
    campaign_announce(locked, force=True)
    return locked


def campaign_cancel(*, campaign: Campaign, actor: User | None = None) -> Campaign:
    """End it: contacts not yet called are skipped; calls in progress finish normally."""
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.is_over or locked.state == Campaign.State.DRAFT:
            raise _invalid_state(locked, _("cancelled"))
        now = clock.now()
        locked.state, locked.ended_at, locked.next_due_at = Campaign.State.CANCELLED, now, None
        locked.state_reason = "cancelled"
        locked.state_message = (_("Cancelled by %(who)s.") % {"who": _who(actor)}) if actor else ""
        locked.save()
        CampaignContact.objects.filter(campaign=locked, state=MemberState.QUEUED).update(
            state=MemberState.SKIPPED, skip_reason=SkipReason.CANCELLED, finished_at=now
        )
    _wait_for_requests_in_flight(locked)
    campaign_announce(locked, force=True)
    return locked


def campaign_complete(*, campaign_id: Any, reason: str = "done") -> bool:
    """Mark a running campaign completed when nothing is queued or dialing any more."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().filter(pk=campaign_id, state=Campaign.State.RUNNING).first()
        if locked is None:
            return False
        if CampaignContact.objects.filter(
            campaign=locked, state__in=[MemberState.QUEUED, MemberState.DIALING]
        ).exists():
            return False
        locked.state, locked.ended_at, locked.next_due_at = Campaign.State.COMPLETED, clock.now(), None
        locked.state_reason = reason
        locked.save()
    logger.info("campaign %s completed", locked.pk)
    campaign_announce(locked, force=True)
    return True


def _wait_for_requests_in_flight(campaign: Campaign) -> None:
    """Return once no request of this campaign is on its way to Twilio (bounded)."""
    deadline = monotime.monotonic() + IN_FLIGHT_WAIT
    in_flight = Call.objects.filter(
        account_id=campaign.account_id,
        campaign_ref=str(campaign.pk),
        status=Status.PENDING,
        dial_started_at__isnull=False,
    )
    while in_flight.exists() and monotime.monotonic() < deadline:
        monotime.sleep(0.05)


# --- progress --------------------------------------------------------------------------------------


def member_counts(campaign: Campaign) -> dict[str, int]:
    rows = CampaignContact.objects.filter(campaign=campaign).values("state").annotate(n=Count("pk")).order_by()
    counts = {state: 0 for state in MemberState.values}
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def campaign_announce(campaign: Campaign, *, force: bool = False) -> None:
    """Tell the account's open pages (at most once a second per campaign, unless `force`)."""
    if not force and not cache.add(f"campaign-progress:{campaign.pk}", 1, timeout=1):
        return
    try:
        realtime_publish(
            account_id=campaign.account_id,
            type="campaign.progress",
            data={
                "campaign": str(campaign.pk),
                "state": campaign.state,
                "reason": campaign.state_message,
                "counts": member_counts(campaign),
            },
        )
    except Exception:  # noqa: BLE001 - a page missing one update must not fail the dialer
        logger.exception("campaign %s: progress not published", campaign.pk)
