"""`/app/calls/`: the list, the call page, "Call now", the test call, settings, webhooks; the role
matrix and charlie's 404s. Forms are plain POSTs (they work without JavaScript)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from agents.models import Agent
from calls.models import Call, TenantWebhook
from calls.tenant_webhooks import tenant_webhook_create
from contacts.models import Contact
from tests.calls.conftest import ANA, callback
from tests.calls.test_calls_api import creates, with_recording


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_and_the_call_page_show_the_call(provider_sandbox: Any, call: Call, bob: User) -> None:
    for status in ("initiated", "ringing", "in-progress"):
        callback(provider_sandbox, call, status)
    page = web(bob).get("/app/calls/")
    assert page.status_code == 200
    html = page.content.decode()
    assert str(call.pk) in html and "Ana López" in html and "In progress" in html
    assert "Call now" not in html  # members read only
    assert web(bob).get("/app/calls/?status=ended").content.decode().count("data-call-id") == 0
    detail = web(bob).get(f"/app/calls/{call.pk}/").content.decode()
    assert "Hang up" not in detail and ANA in detail and 'data-live-calls data-call-id="' in detail
    assert "js/calls.js" in detail


def test_the_call_page_shows_transcript_summary_booking_and_recording(
    provider_sandbox: Any, call: Call, alice: User
) -> None:
    Call.objects.filter(pk=call.pk).update(
        status="completed",
        outcome="answered",
        summary="Ana wants a demo.",
        outcomes={"interested": {"value": True}},
        transcript=[
            {"role": "agent", "message": "Hi Ana", "at": 0, "tools": []},
            {"role": "user", "message": "Hello!", "at": 1, "tools": [{"name": "check_availability", "error": False}]},
        ],
    )
    with_recording(provider_sandbox, call)
    html = web(alice).get(f"/app/calls/{call.pk}/").content.decode()
    assert "Ana wants a demo." in html and "interested" in html
    assert 'class="bubble bubble--agent"' in html and 'class="bubble bubble--contact"' in html
    assert f'src="/app/calls/{call.pk}/recording/"' in html and "api.twilio.com" not in html
    audio = web(alice).get(f"/app/calls/{call.pk}/recording/")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"


def test_charlie_gets_404_on_every_call_page_of_alices(
    provider_sandbox: Any, call: Call, charlie: User, alice_account: Any
) -> None:
    with_recording(provider_sandbox, call)
    endpoint, _ = tenant_webhook_create(account=alice_account, url="https://hooks.example.com/x", events=["call.ended"])
    client = web(charlie)
    for url in (f"/app/calls/{call.pk}/", f"/app/calls/{call.pk}/recording/", f"/app/calls/webhooks/{endpoint.pk}/"):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/app/calls/{call.pk}/hangup/",
        f"/app/calls/webhooks/{endpoint.pk}/test/",
        f"/app/calls/webhooks/{endpoint.pk}/toggle/",
        f"/app/calls/webhooks/{endpoint.pk}/secret/",
        f"/app/calls/webhooks/{endpoint.pk}/delete/",
    ):
        assert client.post(url).status_code == 404, url
    assert str(call.pk) not in client.get("/app/calls/").content.decode()
    assert TenantWebhook.objects.get().is_active
    assert not [r for r in provider_sandbox.requests("twilio") if "/Recordings/" in r.path]


def test_call_now_places_one_call_even_when_submitted_twice(
    provider_sandbox: Any, public_api: None, agent: Agent, ana: Contact, dave: User
) -> None:
    attempt = str(uuid.uuid4())
    form = {"contact": ana.pk, "agent": agent.pk, "attempt": attempt, "next": f"/app/contacts/{ana.pk}/"}
    first = web(dave).post("/app/calls/new/", form)
    second = web(dave).post("/app/calls/new/", form)
    call = Call.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/app/calls/{call.pk}/"
    assert (call.source, call.created_by, creates(provider_sandbox)) == ("dashboard", dave, 1)


def test_members_and_other_tenants_cannot_call(
    provider_sandbox: Any, public_api: None, agent: Agent, ana: Contact, bob: User, charlie: User
) -> None:
    form = {"contact": ana.pk, "agent": agent.pk, "attempt": str(uuid.uuid4())}
    assert web(bob).post("/app/calls/new/", form).status_code == 403
    refused = web(charlie).post("/app/calls/new/", form, follow=True)
    assert refused.status_code == 200 and "Choose a contact" in refused.content.decode()
    assert not Call.objects.exists() and creates(provider_sandbox) == 0


def test_a_refused_call_says_why(public_api: None, agent: Agent, ana: Contact, alice: User) -> None:
    Contact.objects.filter(pk=ana.pk).update(do_not_call=True)
    form = {"contact": ana.pk, "agent": agent.pk, "attempt": str(uuid.uuid4())}
    response = web(alice).post("/app/calls/new/", form, follow=True)
    assert "Choose a contact" in response.content.decode() and not Call.objects.exists()


def test_the_agent_page_offers_a_test_call_to_my_own_phone(
    provider_sandbox: Any, public_api: None, agent: Agent, alice: User, bob: User
) -> None:
    page = web(alice).get(f"/app/agents/{agent.pk}/").content.decode()
    assert "Test call" in page and 'action="/app/calls/test/"' in page
    assert 'action="/app/calls/test/"' not in web(bob).get(f"/app/agents/{agent.pk}/").content.decode()
    form = {"agent": agent.pk, "to_number": "(415) 555-0177", "attempt": str(uuid.uuid4())}
    response = web(alice).post("/app/calls/test/", form)
    call = Call.objects.get()
    assert response["Location"] == f"/app/calls/{call.pk}/"
    assert (call.to_number, call.contact, call.source) == ("+14155550177", None, "test")
    assert web(bob).post("/app/calls/test/", form).status_code == 403


def test_the_contact_page_offers_call_now_and_lists_its_calls(
    provider_sandbox: Any, call: Call, ana: Contact, alice: User, bob: User
) -> None:
    page = web(alice).get(f"/app/contacts/{ana.pk}/").content.decode()
    assert 'action="/app/calls/new/"' in page and f"/app/calls/{call.pk}/" in page
    assert f'name="contact" value="{ana.pk}"' in page  # the contact is fixed: only the agent is chosen
    page = web(bob).get(f"/app/contacts/{ana.pk}/").content.decode()
    assert 'action="/app/calls/new/"' not in page and f"/app/calls/{call.pk}/" in page


@pytest.mark.parametrize(("who", "expected"), [("alice", 302), ("dave", 302), ("bob", 403)])
def test_call_settings_page_role_matrix(request: Any, alice_account: Any, who: str, expected: int) -> None:
    client = web(request.getfixturevalue(who))
    assert client.get("/app/calls/settings/").status_code == 200
    response = client.post("/app/calls/settings/", {"machine_detection": "on", "ring_timeout": "40"})
    assert response.status_code == expected
    bad = client.post("/app/calls/settings/", {"ring_timeout": "3"})
    assert bad.status_code == (400 if expected == 302 else 403)


def test_a_webhooks_secret_is_shown_once(alice: User, bob: User) -> None:
    client = web(alice)
    created = client.post(
        "/app/calls/webhooks/", {"url": "https://hooks.example.com/prix", "events": ["call.ended", "call.analyzed"]}
    )
    assert created.status_code == 201
    endpoint = TenantWebhook.objects.get()
    secret = endpoint.secret
    assert secret in created.content.decode()
    assert secret not in client.get("/app/calls/webhooks/").content.decode()
    assert secret not in client.get(f"/app/calls/webhooks/{endpoint.pk}/").content.decode()
    refused = client.post("/app/calls/webhooks/", {"url": "https://169.254.169.254/x", "events": ["call.ended"]})
    assert refused.status_code == 400 and TenantWebhook.objects.count() == 1
    assert (
        web(bob)
        .post("/app/calls/webhooks/", {"url": "https://hooks.example.com/b", "events": ["call.ended"]})
        .status_code
        == 403
    )
    assert web(bob).post(f"/app/calls/webhooks/{endpoint.pk}/delete/").status_code == 403
    assert client.post(f"/app/calls/webhooks/{endpoint.pk}/toggle/").status_code == 302
    assert not TenantWebhook.objects.get().is_active
    rolled = client.post(f"/app/calls/webhooks/{endpoint.pk}/secret/")
    assert TenantWebhook.objects.get().secret in rolled.content.decode()
    assert client.post(f"/app/calls/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not TenantWebhook.objects.exists()


def test_the_pages_speak_spanish(provider_sandbox: Any, call: Call, alice: User, settings: Any) -> None:
    client = web(alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    listing = client.get("/app/calls/").content.decode()
    assert "Llamar ahora a un contacto" in listing and "Ajustes de llamadas" in listing
    assert "En cola" in client.get(f"/app/calls/{call.pk}/").content.decode()
