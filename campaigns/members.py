"""Which contacts a campaign calls: its targeting turned into `CampaignContact` rows.

Rows are added with one `INSERT … SELECT … ON CONFLICT DO NOTHING` (a contact is a member once,
however often this runs), at start and then periodically while the campaign is active, so
contacts created or tagged later join a running campaign.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from campaigns.models import Campaign, CampaignContact, MemberState
from contacts.models import Contact
from contacts.selectors import contact_filter_parse, contacts_filtered


def targeted_contacts(campaign: Campaign) -> QuerySet[Contact]:
    """The account's contacts the campaign's targeting selects (do-not-call included: they are
    members that end `skipped`, so the campaign reports them)."""
    account = campaign.account
    if campaign.target == Campaign.Target.TAGS:
        tags = list(campaign.target_tags.values_list("pk", flat=True))
        return Contact.objects.filter(account=account, tags__in=tags).distinct() if tags else Contact.objects.none()
    if campaign.target == Campaign.Target.FILTER:
        return contacts_filtered(account=account, flt=contact_filter_parse(campaign.target_filter or {}))
    return Contact.objects.filter(account=account)


def members_add(*, campaign: Campaign, due_at: datetime) -> int:
    """Add every targeted contact not yet a member (queued, due at `due_at`). Returns how many."""
    ids = targeted_contacts(campaign).order_by().values("pk")  # selected AS "pk"
    sql, params = ids.query.sql_with_params()
    table = CampaignContact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table}
                    (campaign_id, account_id, contact_id, state, skip_reason, outcome, attempts, dials,
                     due_at, last_result, created_at, updated_at)
                SELECT %s, %s, t.pk, %s, '', '', 0, 0, %s, '', %s, %s FROM ({sql}) AS t WHERE TRUE
                ON CONFLICT (campaign_id, contact_id) DO NOTHING""",  # noqa: S608 - names are ours
            # (WHERE TRUE: SQLite, the embedded database of `make run`, needs it to parse the upsert)
            [
                Campaign._meta.pk.get_db_prep_value(campaign.pk, connection),
                Campaign._meta.pk.get_db_prep_value(campaign.account_id, connection),  # both UUIDs
                MemberState.QUEUED,
                *[connection.ops.adapt_datetimefield_value(due_at)] * 3,
                *params,
            ],
        )
        return cursor.rowcount
