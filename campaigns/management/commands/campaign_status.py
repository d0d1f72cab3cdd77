"""Every campaign the dialer works for, at a glance: `manage.py campaign_status [--account SLUG] [--json]`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Account
from campaigns.models import Campaign, CampaignContact, MemberState
from campaigns.selectors import ACTIVE_STATES


def backlog(campaign_ids: list[Any], now: Any) -> dict[Any, dict[str, int]]:
    """Queued due now / queued later / dialing / done per campaign, in one grouped query."""
    rows = (
        CampaignContact.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(
            due_now=Count("id", filter=Q(state=MemberState.QUEUED, due_at__lte=now)),
            due_later=Count("id", filter=Q(state=MemberState.QUEUED, due_at__gt=now)),
            dialing=Count("id", filter=Q(state=MemberState.DIALING)),
            done=Count("id", filter=~Q(state__in=[MemberState.QUEUED, MemberState.DIALING])),
        )
        .order_by()
    )
    return {row.pop("campaign_id"): row for row in rows}


class Command(BaseCommand):
    help = "List every scheduled, running or paused campaign: tenant, state, pace and backlog."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="only this account (its slug)")
        parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")

    @no_translations  # operator output in English, whatever language a previous request left active
    def handle(self, *args: Any, account: str | None = None, **options: Any) -> None:
        campaigns = Campaign.objects.filter(state__in=ACTIVE_STATES).select_related("account")
        if account is not None:
            found = Account.objects.filter(slug=account).first()
            if found is None:
                raise CommandError(f"No account with the slug {account!r}.")
            campaigns = campaigns.filter(account=found)
        campaigns = list(campaigns.order_by("account__slug", "created_at"))
        counts = backlog([c.pk for c in campaigns], timezone.now())
        rows = [self._row(c, counts.get(c.pk, {})) for c in campaigns]
        if options["json"]:
            self.stdout.write(json.dumps({"campaigns": rows}, indent=2))
            return
        self._table(rows)

    def _row(self, campaign: Campaign, counts: dict[str, int]) -> dict[str, Any]:
        return {
            "id": str(campaign.pk),
            "account": campaign.account.slug,
            "name": campaign.name,
            "state": campaign.state,
            "reason": campaign.state_message or campaign.state_reason,
            "calls_per_second": str(campaign.calls_per_second),
            "max_concurrent": campaign.max_concurrent,
            "queued_due": counts.get("due_now", 0),
            "queued_later": counts.get("due_later", 0),
            "dialing": counts.get("dialing", 0),
            "done": counts.get("done", 0),
            "next_due_at": campaign.next_due_at.isoformat() if campaign.next_due_at else None,
        }

    def _table(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            self.stdout.write("No scheduled, running or paused campaigns.")
            return
        header = ("ACCOUNT", "CAMPAIGN", "STATE", "CPS", "CONC", "DUE", "LATER", "DIALING", "DONE")
        lines = [header] + [
            (
                r["account"],
                r["name"][:30],
                r["state"],
                r["calls_per_second"],
                str(r["max_concurrent"]),
                str(r["queued_due"]),
                str(r["queued_later"]),
                str(r["dialing"]),
                str(r["done"]),
            )
            for r in rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            self.stdout.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        paused = [r for r in rows if r["state"] == Campaign.State.PAUSED and r["reason"]]
        for r in paused:
            self.stdout.write(f"paused {r['account']}/{r['name']}: {r['reason']}")
        total = sum(r["queued_due"] for r in rows)
        self.stdout.write(
            f"{len(rows)} campaign(s), {total} contact(s) due now, {sum(r['dialing'] for r in rows)} dialing"
        )
