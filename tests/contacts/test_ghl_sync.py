"""Two-way GoHighLevel sync through the sandbox: pull past 10,000 with searchAfter, the burst limit,
a spent daily quota, a revoked token, pushes and notes through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, User
from contacts import ghl_sync, services
from contacts.models import Contact, DoNotCallEntry, GhlSyncState
from integrations.models import IntegrationStatus
from prixagent import outbox
from prixagent.errors import ApplicationError
from prixagent.models import OutboxMessage
from tests.contacts.conftest import committed, csv_bytes, run_import, web

HEADERS = {"Version": "2021-07-28"}


def ghl_requests(sb: Any, path: str = "") -> list[Any]:
    return [r for r in sb.requests("ghl") if path in r.path]


def make(account: Account, phone: str, **data: Any) -> Contact:
    return services.contact_create(account=account, data={"phone": phone, **data}, actor="system")


# --- pull ---------------------------------------------------------------------------------------------


def test_it_pulls_past_10000_contacts_with_search_after(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    provider_sandbox.ghl.create_contacts(ghl_location["location_id"], 10_250)
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert (state.status, state.pulled, state.created) == ("ok", 10_250, 10_250)
    assert Contact.objects.filter(account=ghl_account, source="ghl").exclude(ghl_contact_id="").count() == 10_250
    searches = ghl_requests(provider_sandbox, "/contacts/search")
    assert len(searches) == 21 and all(r.status == 200 for r in searches)
    assert all(r.body["pageLimit"] == 500 and "page" not in r.body for r in searches)
    assert "searchAfter" not in searches[0].body and all(r.body["searchAfter"] for r in searches[1:])
    assert all(r.headers["authorization"] == f"Bearer {ghl_location['token']}" for r in searches)
    assert all(r.headers["version"] == "2021-07-28" for r in searches)
    # Standard paging stops at 10,000, as the real API does: searchAfter was needed.
    refused = requests.post(
        f"{provider_sandbox.base_urls['ghl']}/contacts/search",
        json={"locationId": ghl_location["location_id"], "page": 21, "pageLimit": 500},
        headers={**HEADERS, "Authorization": f"Bearer {ghl_location['token']}"},
        timeout=5,
    )
    assert refused.status_code == 422 and "searchAfter" in refused.json()["message"][0]
    # The next sync asks only for what changed since; nothing did, nothing is created twice.
    again = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert again.status == "ok" and again.created == 0
    last = ghl_requests(provider_sandbox, "/contacts/search")[-1]
    assert last.body["filters"][0]["field"] == "dateUpdated"


def test_pulled_contacts_are_matched_by_phone_and_ghl_wins_only_when_newer(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    root = provider_sandbox.base_urls["ghl"]
    auth = {**HEADERS, "Authorization": f"Bearer {ghl_location['token']}"}
    body = {
        "locationId": ghl_location["location_id"],
        "phone": "+14155550100",
        "firstName": "Remote",
        "email": "r@example.com",
        "tags": ["from-ghl"],
        "dnd": True,
    }
    requests.post(f"{root}/contacts/upsert", json=body, headers=auth, timeout=5)
    requests.post(
        f"{root}/contacts/upsert",
        json={**body, "phone": "12", "email": "n@example.com", "firstName": "NoPhone"},
        headers=auth,
        timeout=5,
    )
    local = Contact.objects.create(account=ghl_account, phone="+14155550100", first_name="Local", time_zone="UTC")
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    local.refresh_from_db()
    assert (state.updated, state.skipped, state.created) == (1, 1, 0)
    assert (local.first_name, local.email) == ("Remote", "r@example.com") and local.ghl_contact_id
    assert [t.name for t in local.tags.all()] == ["from-ghl"]
    # Do-not-disturb in GoHighLevel is an opt-out: the number is on our list.
    assert local.do_not_call and DoNotCallEntry.objects.get(account=ghl_account).source == "ghl"
    # A local change not pushed yet is not overwritten by an older remote version.
    Contact.objects.filter(pk=local.pk).update(first_name="Mine", ghl_push_pending=True)
    ghl_sync._apply_page(
        ghl_account, provider_sandbox.ghl.location_contacts(ghl_location["location_id"])[:1], ghl_sync.Counts()
    )
    assert Contact.objects.get(pk=local.pk).first_name == "Mine"


def test_a_contact_deleted_here_is_not_pulled_back(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    (remote_id,) = provider_sandbox.ghl.create_contacts(ghl_location["location_id"], 1)
    ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    services.contact_delete(contact=Contact.objects.get(account=ghl_account, ghl_contact_id=remote_id))
    GhlSyncState.objects.filter(account=ghl_account).update(pulled_until=None)  # a full pull again
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert (state.created, state.skipped) == (0, 1) and not Contact.objects.filter(account=ghl_account).exists()


# --- push -------------------------------------------------------------------------------------------


def test_local_changes_are_pushed_through_the_outbox(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    with committed():
        contact = make(ghl_account, "+14155550100", first_name="Ann", tags=["vip"])
    message = OutboxMessage.objects.get(account=ghl_account, kind="ghl.contact_upsert")
    assert message.payload == {"contact_id": contact.pk}
    assert outbox.outbox_deliver_due() == {"delivered": 1}
    contact.refresh_from_db()
    remote = provider_sandbox.ghl.location_contacts(ghl_location["location_id"])
    assert len(remote) == 1 and remote[0]["id"] == contact.ghl_contact_id and not contact.ghl_push_pending
    assert (remote[0]["phone"], remote[0]["firstName"], remote[0]["tags"]) == ("+14155550100", "Ann", ["vip"])
    with committed():
        services.contact_update(contact=contact, data={"last_name": "Lee", "do_not_call": True})
    outbox.outbox_deliver_due()
    remote = provider_sandbox.ghl.location_contacts(ghl_location["location_id"])
    assert len(remote) == 1 and (remote[0]["lastName"], remote[0]["dnd"]) == ("Lee", True)
    # What we pushed is not pulled back as a change (no echo).
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert (state.updated, state.created, state.pushed) == (0, 0, 0)


def test_a_change_from_ghl_is_not_pushed_back(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    provider_sandbox.ghl.create_contacts(ghl_location["location_id"], 3)
    ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert not OutboxMessage.objects.filter(account=ghl_account).exists()
    assert not Contact.objects.filter(account=ghl_account, ghl_push_pending=True).exists()
    assert len(ghl_requests(provider_sandbox, "/contacts/upsert")) == 0


def test_an_import_is_pushed_by_the_sync_it_triggers(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    run_import(ghl_account, csv_bytes([["Name", "Phone"]] + [[f"P{n}", f"+1415555{n:04d}"] for n in range(12)]))
    remote = provider_sandbox.ghl.location_contacts(ghl_location["location_id"])
    assert sorted(c["phone"] for c in remote) == [f"+1415555{n:04d}" for n in range(12)]
    assert not Contact.objects.filter(account=ghl_account, ghl_push_pending=True).exists()
    assert GhlSyncState.objects.get(account=ghl_account).pushed == 12


def test_notes_and_tags_for_call_outcomes_are_idempotent(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    contact = Contact.objects.create(account=ghl_account, phone="+14155550100", time_zone="UTC")
    for _ in range(2):
        with committed():
            services.ghl_note_enqueue(account=ghl_account, contact=contact, body="Booked a demo", key="call:7")
            services.ghl_tags_enqueue(account=ghl_account, contact=contact, tags=["prix:booked"], key="call:7")
    assert OutboxMessage.objects.filter(account=ghl_account).count() == 2
    assert outbox.outbox_deliver_due() == {"delivered": 2}
    contact.refresh_from_db()
    assert contact.ghl_contact_id  # created in GoHighLevel first, to have somewhere to write
    state = provider_sandbox.ghl.state()
    assert [n["body"] for n in state["contacts"][contact.ghl_contact_id]["notes"]] == ["Booked a demo"]
    assert state["contacts"][contact.ghl_contact_id]["tags"] == ["prix:booked"]


def test_notes_refuse_another_accounts_contact(ghl_account: Account, charlie_account: Account) -> None:
    theirs = Contact.objects.create(account=charlie_account, phone="+14155550100", time_zone="UTC")
    with pytest.raises(ApplicationError):
        services.ghl_note_enqueue(account=ghl_account, contact=theirs, body="x", key="k")
    assert not OutboxMessage.objects.exists()


# --- limits -------------------------------------------------------------------------------------------


def pending(account: Account, n: int) -> None:
    for i in range(n):
        Contact.objects.create(account=account, phone=f"+1415555{i:04d}", time_zone="UTC", ghl_push_pending=True)


def test_the_burst_limit_is_honoured(ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any) -> None:
    """A location allowing 5 requests per 0.5 s: 20 pushes go through without a single 429."""
    provider_sandbox.ghl.set_limits(ghl_location["location_id"], burst_limit=5, window_ms=500)
    pending(ghl_account, 20)
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert (state.status, state.pushed) == ("ok", 20)
    statuses = [r.status for r in ghl_requests(provider_sandbox, "/contacts/")]
    assert 429 not in statuses and statuses.count(200) + statuses.count(201) == len(statuses)


def test_a_burst_429_from_elsewhere_is_waited_out(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    provider_sandbox.ghl.set_limits(ghl_location["location_id"], burst_limit=3, window_ms=400)
    url = f"{provider_sandbox.base_urls['ghl']}/locations/{ghl_location['location_id']}"
    for _ in range(3):  # another process of ours spends the window
        requests.get(url, headers={**HEADERS, "Authorization": f"Bearer {ghl_location['token']}"}, timeout=5)
    pending(ghl_account, 1)
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert (state.status, state.pushed) == ("ok", 1)
    statuses = [r.status for r in ghl_requests(provider_sandbox, "/contacts/")]
    assert 429 in statuses and statuses[-1] in (200, 201)


def test_a_spent_daily_quota_stops_the_sync_and_says_until_when(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any, alice: User
) -> None:
    provider_sandbox.ghl.set_limits(ghl_location["location_id"], daily_limit=3)
    provider_sandbox.ghl.create_contacts(ghl_location["location_id"], 1)
    pending(ghl_account, 5)
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    sent = len(provider_sandbox.requests("ghl"))
    tomorrow = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert state.status == "quota" and state.quota_reset_at == tomorrow
    upserts = [r.status for r in ghl_requests(provider_sandbox, "/contacts/upsert")]
    assert "quota" in state.message and state.pushed == len([s for s in upserts if s < 300]) < 5
    assert upserts[-1] == 429 and upserts.count(429) == 1  # one refused request, not retried
    # Stopped: no sync, no push, no outbox delivery calls GoHighLevel until the reset.
    assert ghl_sync.ghl_sync_run(account_id=ghl_account.pk).status == "quota"
    assert str(ghl_account.pk) not in ghl_sync.ghl_sync_due_accounts()
    with pytest.raises(ApplicationError) as refused:
        ghl_sync.ghl_sync_enqueue(account=ghl_account)
    assert refused.value.status_code == 409
    with committed():
        make(ghl_account, "+14155559999")
    assert outbox.outbox_deliver_due() == {"retry": 1}
    assert len(provider_sandbox.requests("ghl")) == sent
    html = web(alice).get("/app/contacts/").content.decode()
    assert "Paused: daily quota used up" in html and "Quota resets" in html
    # After the reset the tenant syncs again.
    GhlSyncState.objects.filter(account=ghl_account).update(quota_reset_at=timezone.now() - timedelta(seconds=1))
    provider_sandbox.ghl.set_limits(ghl_location["location_id"], daily_limit=1000)
    assert ghl_sync.ghl_sync_run(account_id=ghl_account.pk).status == "ok"
    assert not Contact.objects.filter(account=ghl_account, ghl_push_pending=True).exists()


def test_a_revoked_token_marks_the_integration_failing(
    ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    provider_sandbox.ghl.revoke_token(ghl_location["token"])
    state = ghl_sync.ghl_sync_run(account_id=ghl_account.pk)
    assert state.status == "failed"
    status = IntegrationStatus.objects.get(account=ghl_account, provider="ghl")
    assert status.failing and "revoked" in status.last_error
    assert str(ghl_account.pk) not in ghl_sync.ghl_sync_due_accounts()
    with committed():
        make(ghl_account, "+14155550100")
    assert outbox.outbox_deliver_due() == {"parked": 1}  # permanent: parked, not retried forever


# --- API ----------------------------------------------------------------------------------------------


def test_sync_now_through_the_api(
    alice_api: APIClient, ghl_account: Account, ghl_location: dict[str, str], provider_sandbox: Any
) -> None:
    provider_sandbox.ghl.create_contacts(ghl_location["location_id"], 2)
    with committed():
        r = alice_api.post("/api/v1/contacts/ghl-sync/")
    assert r.status_code == 202
    body = alice_api.get("/api/v1/contacts/ghl-sync/").json()
    assert body["connected"] and (body["status"], body["pulled"], body["created"]) == ("ok", 2, 2)


def test_sync_now_without_ghl_is_a_409(alice_api: APIClient) -> None:
    assert alice_api.get("/api/v1/contacts/ghl-sync/").json()["status"] == "never"
    r = alice_api.post("/api/v1/contacts/ghl-sync/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_connected"
