"""`/api/v1/agent-tools/<tool>/`: per-call tokens, Cal.com booking, opt-out, notes, contact updates.

Requests are made the way ElevenLabs makes them (JSON body, the token in X-Prix-Tool-Token);
`test_conversation.py` has ElevenLabs' side (the sandbox) make them over HTTP.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account
from agents import services
from agents.models import Agent, AgentAccountSettings, Booking, ToolInvocation, ToolSession
from contacts.models import Contact, DoNotCallEntry
from integrations.models import IntegrationStatus
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_deliver_due
from tests.agents.conftest import connect_calcom, connect_elevenlabs
from tests.conftest import api_client_for

TOOLS = "/api/v1/agent-tools/"


def call_tool(agent: Agent, token: str | None, tool: str, client: Any = None, **arguments: Any) -> Any:
    body = {"agent_id": agent.elevenlabs_agent_id, "conversation_id": "conv_test_1", **arguments}
    headers = {"HTTP_X_PRIX_TOOL_TOKEN": token} if token is not None else {}
    # As ElevenLabs sends it: a raw JSON body (works with APIClient and Django's Client alike).
    return (client or APIClient()).post(f"{TOOLS}{tool}/", json.dumps(body), content_type="application/json", **headers)


def next_weekday(weekday: int, at_least_days: int = 2) -> date:
    day = timezone.now().date() + timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


@pytest.fixture
def calcom_user(provider_sandbox: Any, alice_account: Account) -> dict[str, Any]:
    return connect_calcom(provider_sandbox, alice_account, "America/New_York")


@pytest.fixture
def session(alice_account: Account, alice_agent: Agent, alice_contact: Contact) -> tuple[ToolSession, str]:
    return services.tool_session_open(account=alice_account, agent=alice_agent, contact=alice_contact)


@pytest.fixture
def token(session: tuple[ToolSession, str]) -> str:
    return session[1]


# --- the token ---------------------------------------------------------------------------------


def nothing_changed(account: Account) -> bool:
    return (
        not DoNotCallEntry.objects.filter(account=account).exists()
        and not ToolInvocation.objects.filter(account=account).exists()
        and not Contact.objects.filter(account=account, do_not_call=True).exists()
    )


@pytest.mark.parametrize("bad", [None, "", "pxt_wrong", "x" * 500])
def test_a_missing_or_wrong_token_is_refused(
    alice_agent: Agent, session: Any, alice_account: Account, bad: Any
) -> None:
    r = call_tool(alice_agent, bad, "opt_out")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_tool_token"
    assert r["WWW-Authenticate"] == "X-Prix-Tool-Token"
    assert nothing_changed(alice_account)


def test_an_expired_or_closed_session_is_refused(
    alice_agent: Agent, session: tuple[ToolSession, str], alice_account: Account, alice_contact: Contact
) -> None:
    live, token = session
    ToolSession.objects.filter(pk=live.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call_tool(alice_agent, token, "opt_out").status_code == 401
    _other, closed_token = services.tool_session_open(account=alice_account, agent=alice_agent, contact=alice_contact)
    services.tool_session_close(session=_other)
    services.tool_session_close(session=_other)  # idempotent
    assert call_tool(alice_agent, closed_token, "opt_out").status_code == 401
    assert nothing_changed(alice_account)


def test_a_suspended_account_token_is_refused(alice_agent: Agent, token: str, alice_account: Account) -> None:
    Account.objects.filter(pk=alice_account.pk).update(status=Account.Status.SUSPENDED)
    assert call_tool(alice_agent, token, "opt_out").status_code == 401
    assert nothing_changed(alice_account)


def test_another_accounts_token_is_refused_and_changes_nothing(
    provider_sandbox: Any, alice_agent: Agent, alice_account: Account, charlie_account: Account, session: Any
) -> None:
    connect_elevenlabs(provider_sandbox, charlie_account)
    charlie_agent = services.agent_create_from_template(
        account=charlie_account, template="appointment_setter", language="en"
    )
    charlie_contact = Contact.objects.create(
        account=charlie_account, phone="+14155550999", time_zone="America/New_York"
    )
    _charlie_session, charlie_token = services.tool_session_open(
        account=charlie_account, agent=charlie_agent, contact=charlie_contact
    )
    # Alice's agent (or anyone who learnt her agent id) presenting Charlie's live token.
    r = call_tool(alice_agent, charlie_token, "opt_out", phone="+14155550123")
    assert r.status_code == 403
    assert nothing_changed(alice_account) and nothing_changed(charlie_account)
    # Charlie's token on Charlie's agent acts on Charlie's contact only, whatever the body names.
    r = call_tool(charlie_agent, charlie_token, "opt_out", phone="+14155550123", contact_id=1)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert list(DoNotCallEntry.objects.values_list("account_id", "phone")) == [(charlie_account.pk, "+14155550999")]
    assert nothing_changed(alice_account)


def test_a_jwt_or_a_dashboard_session_is_not_a_tool_token(
    alice: Any, charlie: Any, alice_agent: Agent, alice_account: Account, token: str
) -> None:
    for client in (api_client_for(alice), api_client_for(charlie)):
        assert call_tool(alice_agent, None, "opt_out", client=client).status_code == 401
    web = Client(enforce_csrf_checks=True)
    web.force_login(alice)
    assert call_tool(alice_agent, None, "opt_out", client=web).status_code == 401
    assert nothing_changed(alice_account)
    # With the token, no CSRF token is needed: tools are not cookie-authenticated.
    assert call_tool(alice_agent, token, "add_note", client=web, note="Prefers mornings").status_code == 200


def test_a_tool_the_agent_does_not_have_is_refused(alice_agent: Agent, token: str, alice_account: Account) -> None:
    Agent.objects.filter(pk=alice_agent.pk).update(tools=["opt_out"])
    assert call_tool(alice_agent, token, "add_note", note="x").status_code == 403
    assert call_tool(alice_agent, token, "no_such_tool").status_code == 404
    assert not ToolInvocation.objects.exists()


def test_the_session_checks_its_account(alice_account: Account, charlie_account: Account, alice_agent: Agent) -> None:
    stranger = Contact.objects.create(account=charlie_account, phone="+14155550111", time_zone="UTC")
    with pytest.raises(ValueError):
        services.tool_session_open(account=alice_account, agent=alice_agent, contact=stranger)
    with pytest.raises(ValueError):
        services.tool_session_open(account=charlie_account, agent=alice_agent)


def test_only_a_hash_of_the_token_is_stored(session: tuple[ToolSession, str]) -> None:
    live, token = session
    assert token.startswith("pxt_") and len(token) > 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM agents_toolsession WHERE id = %s", [live.pk])
        row = cursor.fetchone()
    assert token not in str(row) and live.token_hash in str(row)


# --- check_availability ------------------------------------------------------------------------


def test_it_offers_times_in_the_contacts_time_zone_worded_for_speech(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    monday = next_weekday(0)
    r = call_tool(alice_agent, token, "check_availability", day=monday.isoformat())
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["time_zone"] == "America/Los_Angeles"
    # 9:00 in New York (the Cal.com user's hours) is 6 am for the contact in Los Angeles.
    when = f"Monday, {monday.strftime('%B')} {monday.day}"
    assert body["message"] == (f"I have {when} at 6 am, {when} at 6:30 am or {when} at 7 am. Which works best for you?")
    first = datetime.fromisoformat(body["slots"][0]["start"])
    assert first.utcoffset() == ZoneInfo("America/Los_Angeles").utcoffset(first.replace(tzinfo=None))
    [request] = [r for r in provider_sandbox.requests("calcom") if r.path == "/v2/slots"]
    assert request.query["timeZone"] == ["America/Los_Angeles"] and request.headers["cal-api-version"] == "2024-09-04"
    log = ToolInvocation.objects.get()
    assert (log.tool, log.status, log.agent, log.conversation_id) == (
        "check_availability",
        "ok",
        alice_agent,
        "conv_test_1",
    )
    assert ToolSession.objects.get(token_hash=log.session.token_hash).conversation_id == "conv_test_1"


def test_it_speaks_spanish_for_a_spanish_agent(
    provider_sandbox: Any, calcom_user: Any, alice_account: Account, alice_key: str, alice_contact: Contact
) -> None:
    agent = services.agent_create_from_template(account=alice_account, template="appointment_setter", language="es")
    _session, token = services.tool_session_open(account=alice_account, agent=agent, contact=alice_contact)
    monday = next_weekday(0)
    body = call_tool(agent, token, "check_availability", day=monday.isoformat()).json()
    months = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre"]  # fmt: skip
    when = f"el lunes {monday.day} de {months[monday.month - 1]}"
    assert body["message"] == (
        f"Tengo {when} a las 6 de la mañana, {when} a las 6 y media de la mañana o {when} a las 7 de la mañana. "
        "¿Cuál le viene mejor?"
    )


def test_without_a_day_it_offers_three_different_days(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    body = call_tool(alice_agent, token, "check_availability").json()
    days = {datetime.fromisoformat(s["start"]).date() for s in body["slots"]}
    assert body["status"] == "ok" and len(body["slots"]) == 3 and len(days) == 3


def test_a_weekend_day_has_no_slots(provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str) -> None:
    body = call_tool(alice_agent, token, "check_availability", day=next_weekday(6).isoformat()).json()
    assert body["status"] == "no_slots" and "another day" in body["message"]


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 429}, {"latency": 3}])
def test_calcom_down_gives_a_speakable_answer(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str, fault: dict[str, Any]
) -> None:
    provider_sandbox.inject_fault("calcom", r"/v2/slots", **fault)
    r = call_tool(alice_agent, token, "check_availability")
    assert r.status_code == 200
    assert r.json() == {
        "status": "unavailable",
        "message": "I can't reach the calendar right now. Someone from our team will call you back to find a time.",
    }
    assert ToolInvocation.objects.get().status == "unavailable"


def test_without_calcom_it_says_the_team_will_call_back(provider_sandbox: Any, alice_agent: Agent, token: str) -> None:
    body = call_tool(alice_agent, token, "check_availability").json()
    assert body["status"] == "unavailable"
    assert provider_sandbox.requests("calcom") == []


def test_a_revoked_calcom_key_marks_the_integration_failing(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, alice_account: Account, token: str
) -> None:
    provider_sandbox.calcom.users.pop(calcom_user["api_key"])
    provider_sandbox.inject_fault("calcom", r"/v2/slots", status=401)
    assert call_tool(alice_agent, token, "check_availability").json()["status"] == "unavailable"
    assert IntegrationStatus.objects.get(account=alice_account, provider="calcom").failing


# --- book_appointment ------------------------------------------------------------------------


def first_slot(agent: Agent, token: str) -> dict[str, str]:
    return call_tool(agent, token, "check_availability", day=next_weekday(1).isoformat()).json()["slots"][0]


def calcom_bookings(sb: Any) -> list[dict[str, Any]]:
    return list(sb.calcom.bookings.values())


def test_it_books_in_utc_with_the_attendees_time_zone(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, alice_contact: Contact, token: str
) -> None:
    slot = first_slot(alice_agent, token)
    r = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="ana@tacos.example")
    body = r.json()
    assert body["status"] == "booked" and body["message"] == (
        f"You're booked for {slot['spoken']}. You'll get a confirmation by email."
    )
    [request] = [r for r in provider_sandbox.requests("calcom") if r.path == "/v2/bookings"]
    assert request.headers["cal-api-version"] == "2024-08-13"
    assert request.body["start"].endswith("Z")
    assert datetime.fromisoformat(request.body["start"].replace("Z", "+00:00")) == datetime.fromisoformat(slot["start"])
    assert request.body["attendee"] == {
        "name": "Ana López",
        "email": "ana@tacos.example",
        "timeZone": "America/Los_Angeles",
        "phoneNumber": "+14155550123",
        "language": "en",
    }
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.BOOKED and booking.contact == alice_contact
    assert booking.calcom_uid == calcom_bookings(provider_sandbox)[0]["uid"]
    alice_contact.refresh_from_db()
    assert alice_contact.email == "ana@tacos.example"  # the email given on the phone is kept


def test_booking_twice_in_one_conversation_books_once(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    slot = first_slot(alice_agent, token)
    first = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="a@b.example").json()
    again = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="a@b.example").json()
    other = call_tool(alice_agent, token, "check_availability").json()["slots"][1]
    third = call_tool(alice_agent, token, "book_appointment", start=other["start"], email="a@b.example").json()
    claims_another = call_tool(
        alice_agent, token, "book_appointment", start=other["start"], email="a@b.example", conversation_id="conv_2"
    ).json()
    assert first["status"] == "booked"
    assert again["status"] == third["status"] == claims_another["status"] == "already_booked"
    assert again["message"] == f"You're already booked for {slot['spoken']}."
    assert len(calcom_bookings(provider_sandbox)) == 1 and Booking.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_booking_calls_book_once(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    slot = first_slot(alice_agent, token)
    provider_sandbox.inject_fault("calcom", r"/v2/bookings$", latency=0.5)  # both requests overlap
    answers: list[dict[str, Any]] = []

    def book(start: str) -> None:
        try:
            answers.append(call_tool(alice_agent, token, "book_appointment", start=start, email="a@b.example").json())
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(slot["start"],)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    statuses = sorted(a["status"] for a in answers)
    assert statuses == ["booked", "in_progress", "in_progress", "in_progress"]
    assert len([r for r in provider_sandbox.requests("calcom") if r.path == "/v2/bookings"]) == 1
    assert Booking.objects.count() == 1


def test_without_an_email_it_asks_for_one(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    slot = first_slot(alice_agent, token)
    body = call_tool(alice_agent, token, "book_appointment", start=slot["start"]).json()
    assert body == {"status": "need_email", "message": "What email address should I send the confirmation to?"}
    assert not Booking.objects.exists() and calcom_bookings(provider_sandbox) == []
    bad = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="not an email").json()
    assert bad["status"] == "invalid_email"


def test_the_account_can_book_with_a_placeholder_address(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, alice_account: Account, token: str
) -> None:
    services.agent_settings_update(
        account=alice_account,
        no_email_policy=AgentAccountSettings.NoEmailPolicy.PLACEHOLDER,
        placeholder_email="bookings@alice.example",
    )
    slot = first_slot(alice_agent, token)
    body = call_tool(alice_agent, token, "book_appointment", start=slot["start"]).json()
    assert body["status"] == "booked" and "email" not in body["message"]
    assert calcom_bookings(provider_sandbox)[0]["attendees"][0]["email"] == "bookings@alice.example"


def test_a_slot_taken_meanwhile_offers_other_times(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    slot = first_slot(alice_agent, token)
    start_utc = datetime.fromisoformat(slot["start"]).astimezone(UTC).isoformat().replace("+00:00", "Z")
    taken = provider_sandbox.calcom
    event = next(iter(taken.event_types.values()))
    user = next(iter(taken.users.values()))
    taken._book(event, user, datetime.fromisoformat(start_utc.replace("Z", "+00:00")), {"name": "X"}, {})
    body = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="a@b.example").json()
    assert body["status"] == "slot_taken" and body["message"].startswith("That time was just taken. I can offer ")
    assert slot["start"] not in [s["start"] for s in body["slots"]]
    assert Booking.objects.get().status == Booking.Status.FAILED
    retry = call_tool(alice_agent, token, "book_appointment", start=body["slots"][0]["start"], email="a@b.example")
    assert retry.json()["status"] == "booked"  # a failed attempt does not block the conversation


def test_a_timed_out_booking_is_never_made_twice(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    slot = first_slot(alice_agent, token)
    provider_sandbox.inject_fault("calcom", r"/v2/bookings$", latency=3, count=1)
    body = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="a@b.example").json()
    assert body["status"] == "unconfirmed" and "our team will confirm" in body["message"]
    again = call_tool(alice_agent, token, "book_appointment", start=slot["start"], email="a@b.example").json()
    assert again["status"] == "unconfirmed"
    assert len([r for r in provider_sandbox.requests("calcom") if r.path == "/v2/bookings"]) == 1
    assert Booking.objects.get().status == Booking.Status.UNKNOWN


def test_a_past_or_malformed_start_is_questioned(
    provider_sandbox: Any, calcom_user: Any, alice_agent: Agent, token: str
) -> None:
    for start in ("tomorrow at 3", "2001-01-01T10:00:00+00:00"):
        body = call_tool(alice_agent, token, "book_appointment", start=start, email="a@b.example").json()
        assert body["status"] == "invalid" and "start" in body["hint"]
    assert [r for r in provider_sandbox.requests("calcom") if r.path == "/v2/bookings"] == []


# --- opt_out, add_note, update_contact ---------------------------------------------------------


def test_opt_out_puts_the_number_on_the_do_not_call_list_at_once(
    alice_agent: Agent, alice_contact: Contact, token: str
) -> None:
    body = call_tool(alice_agent, token, "opt_out", reason="Stop calling me").json()
    assert body == {"status": "ok", "message": "Understood. We won't call you again. Have a good day."}
    entry = DoNotCallEntry.objects.get()
    assert (entry.phone, entry.source, entry.reason) == ("+14155550123", "opt_out", "Stop calling me")
    assert entry.added_by == f"voice agent: {alice_agent.name}"
    alice_contact.refresh_from_db()
    assert alice_contact.do_not_call


def test_opt_out_without_a_contact_uses_the_calls_number(alice_account: Account, alice_agent: Agent) -> None:
    _session, token = services.tool_session_open(account=alice_account, agent=alice_agent, phone="+14155550777")
    assert call_tool(alice_agent, token, "opt_out").json()["status"] == "ok"
    assert DoNotCallEntry.objects.get().phone == "+14155550777"


@pytest.fixture
def alice_ghl(provider_sandbox: Any, alice_account: Account) -> dict[str, Any]:
    location = provider_sandbox.ghl.create_location()
    alice_account.ghl_api_key = location["token"]
    alice_account.ghl_location_id = location["location_id"]
    alice_account.ghl_configured = True
    alice_account.save()
    return location


def test_add_note_goes_to_gohighlevel_through_the_outbox(
    provider_sandbox: Any, alice_ghl: Any, alice_agent: Agent, alice_contact: Contact, token: str
) -> None:
    provider_sandbox.inject_fault("ghl", r"/contacts", status=503, count=1)  # GoHighLevel down at first
    body = call_tool(alice_agent, token, "add_note", note="Call back after 5 pm").json()
    assert body == {"status": "ok", "message": "I've noted that for the team."}
    assert provider_sandbox.requests("ghl") == []  # nothing waits on GoHighLevel during the call
    assert outbox_deliver_due() == {"retry": 1}
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox_deliver_due() == {"delivered": 1}
    alice_contact.refresh_from_db()
    ghl_contact = provider_sandbox.ghl.contacts[alice_contact.ghl_contact_id]
    assert ghl_contact["phone"] == "+14155550123"
    assert [n["body"] for n in ghl_contact["notes"]] == ["Call back after 5 pm"]


def test_update_contact_changes_the_contact_and_gohighlevel(
    provider_sandbox: Any, alice_ghl: Any, alice_agent: Agent, alice_contact: Contact, token: str
) -> None:
    body = call_tool(alice_agent, token, "update_contact", first_name="Anita", email="anita@tacos.example").json()
    assert body["status"] == "ok"
    alice_contact.refresh_from_db()
    assert (alice_contact.first_name, alice_contact.email, alice_contact.last_name) == (
        "Anita",
        "anita@tacos.example",
        "López",
    )
    assert outbox_deliver_due() == {"delivered": 1}
    alice_contact.refresh_from_db()
    ghl_contact = provider_sandbox.ghl.contacts[alice_contact.ghl_contact_id]
    assert (ghl_contact["firstName"], ghl_contact["email"]) == ("Anita", "anita@tacos.example")
    bad = call_tool(alice_agent, token, "update_contact", email="nope").json()
    assert bad["status"] == "invalid_email"


def test_without_gohighlevel_notes_stay_in_the_tool_log(alice_agent: Agent, token: str) -> None:
    assert call_tool(alice_agent, token, "add_note", note="Likes tacos").json()["status"] == "ok"
    assert not OutboxMessage.objects.exists()
    assert ToolInvocation.objects.get().arguments["note"] == "Likes tacos"


def test_a_bug_in_a_tool_answers_200_with_a_sentence(
    alice_agent: Agent, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents import tools

    def broken(session: Any, arguments: Any) -> Any:
        raise RuntimeError("our own bug")

    monkeypatch.setitem(tools.HANDLERS, "add_note", broken)
    r = call_tool(alice_agent, token, "add_note", note="x")
    assert r.status_code == 200 and r.json()["status"] == "error"
    assert ToolInvocation.objects.get().status == "error"


def test_tool_calls_are_limited_per_session_not_per_ip(
    alice_agent: Agent, alice_account: Account, token: str, settings: Any
) -> None:
    settings.AGENT_TOOL_CALLS_PER_SESSION = 2
    assert [call_tool(alice_agent, token, "add_note", note="n").status_code for _ in range(3)] == [200, 200, 429]
    _other, fresh = services.tool_session_open(account=alice_account, agent=alice_agent)
    assert call_tool(alice_agent, fresh, "add_note", note="n").status_code == 200  # same IP, another call
    assert ToolInvocation.objects.count() == 3
