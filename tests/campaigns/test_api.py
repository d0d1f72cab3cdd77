"""`/api/v1/campaigns/`: CRUD, start / pause / resume / cancel, preview, stats, contacts.

The role matrix on every mutating route (owner alice and admin dave change, member bob reads,
charlie of another tenant gets 404 and changes nothing), field messages on bad input, and the
figures checked against rows made here.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from agents.models import Agent
from campaigns.models import Campaign, CampaignContact
from contacts.models import Contact, Tag
from tests.campaigns.ui_fixtures import *  # noqa: F403
from tests.campaigns.ui_fixtures import CALLER, TWILIO_TOKEN, make_call, make_member

URL = "/api/v1/campaigns/"


def body(who: Agent, **extra: Any) -> dict[str, Any]:
    data = {
        "name": "Autumn follow-up",
        "agent": str(who.pk),
        "from_numbers": [CALLER],
        "target": "all",
        "weekdays": [0, 1, 2, 3, 4],
        "window_start": "09:00",
        "window_end": "18:30",
        "calls_per_second": "0.5",
        "max_concurrent": 3,
        "max_attempts": 2,
        "retry_delays": {"no_answer": 60, "busy": 15, "voicemail": None, "failed": 30},
    }
    data.update(extra)
    return data


@pytest.fixture
def client_for(request: pytest.FixtureRequest) -> Any:
    return lambda persona: request.getfixturevalue(f"{persona}_api")


# --- reading -----------------------------------------------------------------------------------


def test_members_list_and_read_their_accounts_campaigns_only(
    bob_api: APIClient, campaign: Campaign, charlie_campaign: Campaign, vip: Tag
) -> None:
    campaign.target, campaign.state = "tags", "running"
    campaign.save()
    campaign.target_tags.add(vip)
    listed = bob_api.get(URL)
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [row["id"] for row in rows] == [str(campaign.pk)]
    assert rows[0]["agent"] == {"id": str(campaign.agent_id), "name": "Sofia"}
    assert rows[0]["target_tags"] == [{"id": vip.pk, "name": "vip"}]
    assert "Charlie's secret campaign" not in listed.content.decode()
    assert bob_api.get(URL, {"state": "draft"}).json()["results"] == []
    assert len(bob_api.get(URL, {"state": "active"}).json()["results"]) == 1
    detail = bob_api.get(f"{URL}{campaign.pk}/")
    assert detail.status_code == 200 and detail.json()["window_end"] == "23:59:00"
    assert TWILIO_TOKEN not in detail.content.decode()


def test_another_tenants_campaign_answers_404_everywhere(charlie_api: APIClient, campaign: Campaign) -> None:
    before = Campaign.objects.filter(pk=campaign.pk).values().get()
    base = f"{URL}{campaign.pk}/"
    missing = charlie_api.get(f"{URL}00000000-0000-4000-8000-00000000abcd/")
    for method, url in [
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("post", base + "start/"),
        ("post", base + "pause/"),
        ("post", base + "resume/"),
        ("post", base + "cancel/"),
        ("get", base + "preview/"),
        ("get", base + "stats/"),
        ("get", base + "contacts/"),
    ]:
        response = getattr(charlie_api, method)(url, {"name": "Hijacked"} if method == "patch" else None)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before
    assert charlie_api.get(URL).json()["results"] == []


def test_anonymous_callers_are_refused(api: APIClient, campaign: Campaign) -> None:
    assert api.get(URL).status_code == 401
    assert api.post(f"{URL}{campaign.pk}/start/").status_code == 401


# --- creating and editing ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_owners_and_admins_create_a_draft(client_for: Any, persona: str, sofia: Agent, vip: Tag) -> None:
    response = client_for(persona).post(URL, body(sofia, target="tags", target_tags=[vip.pk]), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["state"], data["name"], data["from_numbers"]) == ("draft", "Autumn follow-up", [CALLER])
    assert data["retry_delays"] == {"no_answer": 60, "busy": 15, "voicemail": None, "failed": 30}
    assert data["target_tags"] == [{"id": vip.pk, "name": "vip"}]
    created = Campaign.objects.get(pk=data["id"])
    assert created.account_id == sofia.account_id and str(created.calls_per_second) == "0.50"
    assert created.created_by.email.startswith(persona)


def test_members_cannot_create_or_change(bob_api: APIClient, sofia: Agent, campaign: Campaign) -> None:
    assert bob_api.post(URL, body(sofia), format="json").status_code == 403
    assert bob_api.patch(f"{URL}{campaign.pk}/", {"name": "x"}, format="json").status_code == 403
    for verb in ("start", "pause", "resume", "cancel"):
        assert bob_api.post(f"{URL}{campaign.pk}/{verb}/").status_code == 403, verb
    assert bob_api.delete(f"{URL}{campaign.pk}/").status_code == 403
    assert Campaign.objects.count() == 1 and Campaign.objects.get().state == "draft"


def test_bad_input_answers_400_with_field_messages(
    alice_api: APIClient, sofia: Agent, charlie_campaign: Campaign
) -> None:
    shapes = alice_api.post(URL, body(sofia, weekdays=[7], max_concurrent=0, window_start="25:00"), format="json")
    assert shapes.status_code == 400
    assert {"weekdays.0", "max_concurrent", "window_start"} <= set(shapes.json()["error"]["fields"])
    # Meaning is the services' job: another tenant's agent, a number that is not ours, a window
    # that ends before it starts, tags targeting without tags.
    meaning = alice_api.post(
        URL,
        body(
            sofia,
            agent=str(charlie_campaign.agent_id),
            from_numbers=["+19995550000"],
        ),
        format="json",
    )
    assert meaning.status_code == 400
    fields = meaning.json()["error"]["fields"]
    assert {"agent", "from_numbers"} <= set(fields) and all(fields[name] for name in fields)
    window = alice_api.post(URL, body(sofia, window_start="18:00", window_end="09:00"), format="json")
    assert window.status_code == 400 and "window_end" in window.json()["error"]["fields"]
    tags = alice_api.post(URL, body(sofia, target="tags"), format="json")
    assert tags.status_code == 400 and "target_tags" in tags.json()["error"]["fields"]
    assert not Campaign.objects.filter(account=sofia.account).exists()


def test_the_plan_limit_on_campaigns(alice_api: APIClient, ready_account: Account, sofia: Agent) -> None:
    ready_account.limits = {"campaigns": 1}
    ready_account.save()
    assert alice_api.post(URL, body(sofia), format="json").status_code == 201
    refused = alice_api.post(URL, body(sofia, name="Second"), format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "plan_limit"


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_owners_and_admins_edit(client_for: Any, persona: str, campaign: Campaign) -> None:
    response = client_for(persona).patch(
        f"{URL}{campaign.pk}/", {"name": "Renamed", "max_concurrent": 7, "retry_delays": {"busy": None}}, format="json"
    )
    assert response.status_code == 200, response.content
    campaign.refresh_from_db()
    assert (campaign.name, campaign.max_concurrent, campaign.retry_delays["busy"]) == ("Renamed", 7, None)
    assert campaign.retry_delays["no_answer"] == 240  # the others keep their value


def test_a_started_campaign_keeps_its_agent_and_targeting(alice_api: APIClient, campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    response = alice_api.patch(f"{URL}{campaign.pk}/", {"target": "tags", "window_end": "20:00"}, format="json")
    assert response.status_code == 400 and "target" in response.json()["error"]["fields"]
    ok = alice_api.patch(f"{URL}{campaign.pk}/", {"window_end": "20:00"}, format="json")
    assert ok.status_code == 200 and ok.json()["window_end"] == "20:00:00"


# --- steering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_start_pause_resume_cancel(client_for: Any, persona: str, campaign: Campaign, contacts: list[Contact]) -> None:
    client = client_for(persona)
    started = client.post(f"{URL}{campaign.pk}/start/")
    assert started.status_code == 200, started.content
    assert started.json()["state"] == "running"
    assert CampaignContact.objects.filter(campaign=campaign, state="queued").count() == len(contacts)
    paused = client.post(f"{URL}{campaign.pk}/pause/")
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert paused.json()["state_message"]  # says who paused it
    assert client.post(f"{URL}{campaign.pk}/resume/").json()["state"] == "running"
    cancelled = client.post(f"{URL}{campaign.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert not CampaignContact.objects.filter(campaign=campaign, state="queued").exists()


def test_wrong_state_transitions_answer_409(alice_api: APIClient, campaign: Campaign) -> None:
    for verb in ("pause", "resume", "cancel"):
        response = alice_api.post(f"{URL}{campaign.pk}/{verb}/")
        assert response.status_code == 409, verb
        assert response.json()["error"]["code"] == "invalid_state"
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    assert alice_api.post(f"{URL}{campaign.pk}/start/").status_code == 409
    assert alice_api.delete(f"{URL}{campaign.pk}/").status_code == 409
    assert Campaign.objects.get(pk=campaign.pk).state == "running"


def test_starting_without_a_live_agent_says_why(alice_api: APIClient, campaign: Campaign) -> None:
    Agent.objects.filter(pk=campaign.agent_id).update(elevenlabs_agent_id="")
    response = alice_api.post(f"{URL}{campaign.pk}/start/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "agent_not_ready"
    assert Campaign.objects.get(pk=campaign.pk).state == "draft"


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_delete_a_draft(client_for: Any, persona: str, campaign: Campaign) -> None:
    assert client_for(persona).delete(f"{URL}{campaign.pk}/").status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


# --- preview, stats, contacts --------------------------------------------------------------------


def test_the_preview_counts_who_can_be_called(
    bob_api: APIClient, campaign: Campaign, contacts: list[Contact], alice_account: Account
) -> None:
    Contact.objects.filter(pk=contacts[0].pk).update(do_not_call=True)
    from contacts.models import DoNotCallEntry

    DoNotCallEntry.objects.create(account=alice_account, phone=contacts[0].phone)
    preview = bob_api.get(f"{URL}{campaign.pk}/preview/")
    assert preview.status_code == 200
    data = preview.json()
    assert data["total"] == len(contacts)
    assert data["not_callable"]["do_not_call"] == 1
    assert data["callable_now"] == len(contacts) - 1  # the window is open all day, every day
    assert data["estimated_seconds"] is not None and data["estimated_seconds"] > 0


def test_stats_match_the_rows(bob_api: APIClient, campaign: Campaign, contacts: list[Contact]) -> None:
    ana, ben, cleo = contacts
    make_member(campaign, ana, "answered", outcome="booked", attempts=1)
    make_member(campaign, ben, "no_answer", attempts=2)
    make_member(campaign, cleo, "queued", attempts=1)
    calls = [
        make_call(
            campaign, campaign.account, 1, outcome="booked", duration_seconds=61, price="-0.0130", price_unit="USD"
        ),
        make_call(
            campaign, campaign.account, 2, outcome="no_answer", duration_seconds=0, price="-0.0050", price_unit="USD"
        ),
        make_call(campaign, campaign.account, 3, outcome="no_answer", status="no-answer"),
        make_call(
            campaign, campaign.account, 4, outcome="answered", duration_seconds=120, price="-0.0200", price_unit="usd"
        ),
        make_call(campaign, campaign.account, 5, outcome="not_placed", status="not_placed"),
    ]
    make_call(None, campaign.account, 6, outcome="booked", duration_seconds=600)  # not the campaign's
    stats = bob_api.get(f"{URL}{campaign.pk}/stats/").json()
    from billing.usage import billable_minutes

    assert stats["contacts"] == 3 and stats["done"] == 2
    assert (
        stats["by_state"]["answered"] == 1 and stats["by_state"]["no_answer"] == 1 and stats["by_state"]["queued"] == 1
    )
    assert stats["by_outcome"] == {"booked": 1}
    assert stats["attempts"] == 4
    assert stats["calls"] == len(calls)
    rang = [c for c in calls if c.outcome not in ("not_placed", "canceled")]
    human = [c for c in rang if c.outcome in ("booked", "answered", "opted_out")]
    assert stats["answered"] == len(human) and stats["answer_rate"] == round(len(human) / len(rang), 4)
    assert stats["bookings"] == 1
    assert stats["minutes"] == sum(billable_minutes(c.duration_seconds or 0) for c in calls)
    assert stats["cost"] == {"USD": "0.0380"}


def test_contacts_are_paginated_and_filtered_by_state(
    bob_api: APIClient, campaign: Campaign, alice_account: Account
) -> None:
    from tests.campaigns.ui_fixtures import make_contact

    people = [make_contact(alice_account, f"+1415555{2000 + i}") for i in range(5)]
    for index, person in enumerate(people):
        make_member(
            campaign, person, "queued" if index % 2 else "skipped", skip_reason="" if index % 2 else "do_not_call"
        )
    page = bob_api.get(f"{URL}{campaign.pk}/contacts/", {"limit": 2})
    assert page.status_code == 200
    data = page.json()
    assert data["count"] == 5 and len(data["results"]) == 2 and data["next"]
    assert data["results"][0]["contact"]["phone"] == people[0].phone
    skipped = bob_api.get(f"{URL}{campaign.pk}/contacts/", {"state": "skipped"}).json()
    assert skipped["count"] == 3 and {r["skip_reason"] for r in skipped["results"]} == {"do_not_call"}


def test_the_schema_documents_the_campaign_endpoints(api: APIClient, db: None) -> None:
    paths = api.get("/api/v1/schema/?format=json").json()["paths"]
    for path in (
        "",
        "{id}/",
        "{id}/start/",
        "{id}/pause/",
        "{id}/resume/",
        "{id}/cancel/",
        "{id}/preview/",
        "{id}/stats/",
        "{id}/contacts/",
    ):
        assert f"/api/v1/campaigns/{path}" in paths, path
