"""`/app/campaigns/` and `/app/overview/`: pages render with their figures, forms are plain POSTs
with CSRF, owners and admins control, members read, charlie gets 404 and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from accounts.models import Account, User
from billing.models import UsageRecord
from campaigns.models import Campaign
from contacts.models import Contact, Tag
from tests.campaigns.ui_fixtures import *  # noqa: F403
from tests.campaigns.ui_fixtures import CALLER, TWILIO_TOKEN, make_call, make_member, web

BASE = "/app/campaigns/"


def form_data(campaign_agent: Any, **extra: Any) -> dict[str, Any]:
    data = {
        "name": "Dashboard drive",
        "agent": str(campaign_agent.pk),
        "from_numbers": [CALLER],
        "target": "all",
        "target_filter": "",
        "start_date": "",
        "end_date": "",
        "weekdays": ["0", "2", "4"],
        "window_start": "09:00",
        "window_end": "17:00",
        "calls_per_second": "1",
        "max_concurrent": "2",
        "max_attempts": "3",
        "retry_no_answer": "120",
        "retry_busy": "",
        "retry_voicemail": "",
        "retry_failed": "45",
    }
    data.update(extra)
    return data


def test_the_list_shows_the_accounts_campaigns(bob: User, campaign: Campaign, charlie_campaign: Campaign) -> None:
    page = web(bob).get(BASE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Spring demos" in html and "Sofia" in html and "Draft" in html
    assert "Charlie's secret campaign" not in html
    assert "New campaign" not in html  # members read only
    nav = web(bob).get("/app/").content.decode()
    assert 'href="/app/campaigns/"' in nav and 'href="/app/overview/"' in nav


def test_an_owner_creates_a_campaign_with_the_form(alice: User, sofia: Any, vip: Tag) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    form = client.get(f"{BASE}new/")
    assert form.status_code == 200 and "csrfmiddlewaretoken" in form.content.decode()
    assert client.post(f"{BASE}new/", form_data(sofia)).status_code == 403  # no CSRF token
    client = web(alice)
    response = client.post(f"{BASE}new/", form_data(sofia, target="tags", target_tags=[str(vip.pk)]))
    campaign = Campaign.objects.get(account=alice.account)
    assert response.status_code == 302 and response["Location"] == f"{BASE}{campaign.pk}/"
    assert (campaign.weekdays, campaign.max_concurrent, campaign.from_numbers) == ([0, 2, 4], 2, [CALLER])
    assert campaign.retry_delays == {"no_answer": 120, "busy": None, "voicemail": None, "failed": 45}
    assert list(campaign.target_tags.all()) == [vip]


def test_the_form_shows_the_services_messages(alice: User, sofia: Any) -> None:
    response = web(alice).post(f"{BASE}new/", form_data(sofia, window_start="18:00", window_end="08:00"))
    assert response.status_code == 400
    assert "The window must end after it starts" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_saved_contacts_filter_comes_from_the_contacts_list(alice: User, sofia: Any) -> None:
    contacts_page = web(alice).get("/app/contacts/?tag=vip").content.decode()
    assert 'href="/app/campaigns/new/?filter=tag%3Dvip"' in contacts_page
    page = web(alice).get(f"{BASE}new/?filter=tag%3Dvip%26time_zone%3DEurope%2FMadrid").content.decode()
    assert (
        'value="tag=vip&amp;time_zone=Europe/Madrid"' in page
        and 'value="filter" required id="id_target_2" checked' in page
    )
    web(alice).post(f"{BASE}new/", form_data(sofia, target="filter", target_filter="tag=vip&time_zone=Europe/Madrid"))
    campaign = Campaign.objects.get()
    assert campaign.target == "filter" and campaign.target_filter["time_zone"] == "Europe/Madrid"


def test_members_cannot_create_edit_or_control(bob: User, campaign: Campaign, sofia: Any) -> None:
    client = web(bob)
    assert client.get(f"{BASE}new/").status_code == 403
    assert client.post(f"{BASE}new/", form_data(sofia)).status_code == 403
    assert client.post(f"{BASE}{campaign.pk}/edit/", form_data(sofia, name="x")).status_code == 403
    for verb in ("start", "pause", "resume", "cancel", "delete"):
        assert client.post(f"{BASE}{campaign.pk}/{verb}/").status_code == 403, verb
    campaign.refresh_from_db()
    assert (campaign.name, campaign.state) == ("Spring demos", "draft")


def test_charlie_gets_404_on_every_campaign_page(charlie: User, campaign: Campaign, sofia: Any) -> None:
    client = web(charlie)
    assert client.get(f"{BASE}{campaign.pk}/").status_code == 404
    assert client.get(f"{BASE}{campaign.pk}/edit/").status_code == 404
    assert client.post(f"{BASE}{campaign.pk}/edit/", form_data(sofia, name="Hijacked")).status_code == 404
    for verb in ("start", "pause", "resume", "cancel", "delete"):
        assert client.post(f"{BASE}{campaign.pk}/{verb}/").status_code == 404, verb
    campaign.refresh_from_db()
    assert (campaign.name, campaign.state) == ("Spring demos", "draft")


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_the_controls_are_post_forms_that_steer(
    request: pytest.FixtureRequest, persona: str, campaign: Campaign, contacts: list[Contact]
) -> None:
    client = web(request.getfixturevalue(persona))
    draft = client.get(f"{BASE}{campaign.pk}/").content.decode()
    assert f'action="{BASE}{campaign.pk}/start/"' in draft and "Before you start" in draft
    assert client.get(f"{BASE}{campaign.pk}/start/").status_code == 405  # never a GET
    response = client.post(f"{BASE}{campaign.pk}/start/", follow=True)
    assert "Campaign started." in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).state == "running"
    client.post(f"{BASE}{campaign.pk}/pause/")
    assert Campaign.objects.get(pk=campaign.pk).state == "paused"
    assert f'action="{BASE}{campaign.pk}/resume/"' in client.get(f"{BASE}{campaign.pk}/").content.decode()
    client.post(f"{BASE}{campaign.pk}/resume/")
    client.post(f"{BASE}{campaign.pk}/cancel/")
    assert Campaign.objects.get(pk=campaign.pk).state == "cancelled"
    assert client.post(f"{BASE}{campaign.pk}/delete/").status_code == 302
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_refused_control_says_why(alice: User, campaign: Campaign) -> None:
    response = web(alice).post(f"{BASE}{campaign.pk}/resume/", follow=True)
    assert response.status_code == 200 and "cannot be" in response.content.decode()


def test_the_campaign_page_shows_progress_calls_and_contacts(
    bob: User, campaign: Campaign, contacts: list[Contact]
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(state="paused", state_message="Half of the last 20 calls failed.")
    ana, ben, cleo = contacts
    make_member(campaign, ana, "answered", outcome="booked", attempts=1)
    make_member(campaign, ben, "busy", attempts=3)
    make_member(campaign, cleo, "queued")
    booked = make_call(campaign, campaign.account, 1, outcome="booked", duration_seconds=125, contact=ana)
    make_call(campaign, campaign.account, 2, outcome="busy", status="busy", contact=ben)
    html = web(bob).get(f"{BASE}{campaign.pk}/").content.decode()
    assert "Half of the last 20 calls failed." in html
    assert 'data-live-campaign data-campaign-id="' in html and "js/campaigns.js" in html
    assert '<p class="stat__value" data-figure="done">2 / 3</p>' in html
    assert '<p class="stat__value" data-figure="bookings">1</p>' in html
    assert '<p class="stat__value" data-figure="minutes">3</p>' in html  # 125 s → 3 billed minutes
    assert '<p class="stat__value" data-figure="answer_rate">50 %</p>' in html
    assert f'href="/app/calls/{booked.pk}/"' in html and "Ana" in html and "Cleo" in html
    for verb in ("start", "pause", "resume", "cancel", "delete"):
        assert f"{campaign.pk}/{verb}/" not in html, verb  # members get no controls
    only_queued = web(bob).get(f"{BASE}{campaign.pk}/?state=queued").content.decode()
    assert "Cleo" in only_queued and "+14155550101" not in only_queued.split('id="members-title"')[1]
    assert TWILIO_TOKEN not in html


def test_the_edit_form_of_a_running_campaign_keeps_its_targeting(alice: User, campaign: Campaign, sofia: Any) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    page = web(alice).get(f"{BASE}{campaign.pk}/edit/").content.decode()
    assert 'name="target"' not in page and 'name="window_end"' in page
    data = form_data(sofia, window_end="20:00")
    response = web(alice).post(f"{BASE}{campaign.pk}/edit/", data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.window_end.strftime("%H:%M") == "20:00" and campaign.name == "Dashboard drive"


def test_the_overview_shows_today_the_month_and_the_chart(
    bob: User, ready_account: Account, campaign: Campaign
) -> None:
    ready_account.limits = {"monthly_minutes": 500}
    ready_account.time_zone = "UTC"
    ready_account.save()
    now = timezone.now()
    make_call(campaign, ready_account, 1, outcome="booked", duration_seconds=90)
    make_call(campaign, ready_account, 2, outcome="no_answer", status="no-answer")
    make_call(campaign, ready_account, 3, outcome="voicemail", duration_seconds=30)
    old = make_call(None, ready_account, 4, outcome="answered", duration_seconds=30)
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    type(old).objects.filter(pk=old.pk).update(created_at=now - timedelta(days=3))
    UsageRecord.objects.create(account=ready_account, call_id=old.pk, seconds=30, minutes=42, day=now.date())
    page = web(bob).get("/app/overview/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<p class="stat__value" data-figure="calls_today">3</p>' in html
    assert '<p class="stat__value" data-figure="answer_rate_today">33.3 %</p>' in html
    assert '<p class="stat__value" data-figure="bookings_today">1</p>' in html
    assert "42 of 500" in html
    assert "<svg" in html and "<script" not in html.split("<svg")[1].split("</svg>")[0]
    today = now.date().isoformat()
    assert f'data-day="{today}" data-total="3"' in html
    assert f'data-day="{(now - timedelta(days=3)).date().isoformat()}" data-total="1"' in html
    assert 'data-series="booked" data-count="1"' in html
    assert html.count('class="calls-chart__day"') == 14
    assert web(bob).get("/app/overview/?days=30").content.decode().count('class="calls-chart__day"') == 30


def test_the_pages_speak_spanish(alice: User, campaign: Campaign, contacts: list[Contact], settings: Any) -> None:
    client = web(alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    # The requests leave Spanish active in this thread; `override` puts back what was active, so
    # the tests that run next (services writing English messages) are not answered in Spanish.
    with translation.override(settings.LANGUAGE_CODE):
        listing = client.get(BASE).content.decode()
        detail = client.get(f"{BASE}{campaign.pk}/").content.decode()
        overview = client.get("/app/overview/").content.decode()
        form = client.get(f"{BASE}new/").content.decode()
    assert "Nueva campaña" in listing and "Borrador" in listing and ">Resumen</a>" in listing
    assert "Antes de empezar" in detail and "3 de 3 contactos se pueden llamar ahora." in detail
    assert "Llamadas por día, últimos 14 días" in overview
    assert "Quién llama a quién" in form
    assert translation.get_language() == settings.LANGUAGE_CODE
