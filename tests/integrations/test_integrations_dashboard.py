"""`/app/integrations/`: the Integrations page, plain HTML forms (no JavaScript needed)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, User
from integrations import services
from integrations.models import IntegrationEvent
from tests.integrations.integration_helpers import connect_payload, nothing_stored

PAGE = "/app/integrations/"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_web(alice: User) -> Client:
    return client_for(alice)


def test_it_shows_a_card_per_provider(alice_web: Client) -> None:
    r = alice_web.get(PAGE)
    assert r.status_code == 200
    html = r.content.decode()
    for provider in ("twilio", "ghl", "elevenlabs", "calcom"):
        assert f'id="{provider}"' in html
        assert f'action="/app/integrations/{provider}/connect/"' in html
    assert 'aria-current="page"' in html  # the shell's nav marks this page


def test_it_redirects_anonymous_visitors_to_login(client: Client, db: None) -> None:
    r = client.get(PAGE)
    assert r.status_code == 302 and "/app/login/" in r["Location"]


def test_it_connects_through_a_form(alice_web: Client, alice_account: Account, provider_sandbox: Any) -> None:
    creds = provider_sandbox.twilio.create_account(trial=True)
    r = alice_web.post(f"{PAGE}twilio/connect/", creds)
    assert r.status_code == 302 and r["Location"] == f"{PAGE}#twilio"
    alice_account.refresh_from_db()
    assert alice_account.twilio_configured
    html = alice_web.get(PAGE).content.decode()
    assert "••••" + creds["auth_token"][-4:] in html
    assert creds["auth_token"] not in html
    assert "+15005550006" in html and "Trial account" in html
    assert "Twilio is connected." in html


def test_it_shows_provider_errors_inside_the_card(
    alice_web: Client, alice_account: Account, provider_sandbox: Any
) -> None:
    r = alice_web.post(f"{PAGE}ghl/connect/", {"api_key": "pit-wrong-token", "location_id": "nowhere0000"})
    assert r.status_code == 400
    html = r.content.decode()
    card = html[html.index('id="ghl"') : html.index('id="elevenlabs"')]
    assert "Invalid GoHighLevel credentials" in card
    assert "pit-wrong-token" not in html  # a typed secret is not rendered back
    assert nothing_stored(alice_account, "ghl")


def test_it_answers_503_in_the_card_when_the_provider_is_down(
    alice_web: Client, alice_account: Account, provider_sandbox: Any
) -> None:
    payload = connect_payload(provider_sandbox, "calcom")
    provider_sandbox.inject_fault("calcom", r"/v2/me", status=503)
    r = alice_web.post(f"{PAGE}calcom/connect/", payload)
    assert r.status_code == 503
    assert "could not be reached" in r.content.decode()
    assert nothing_stored(alice_account, "calcom")


def test_it_shows_blank_field_errors(alice_web: Client, provider_sandbox: Any) -> None:
    r = alice_web.post(f"{PAGE}twilio/connect/", {"account_sid": "", "auth_token": ""})
    assert r.status_code == 400
    assert r.content.decode().count('class="field__error"') == 2
    assert provider_sandbox.requests("twilio") == []


def test_it_tests_syncs_and_disconnects(alice_web: Client, alice_account: Account, provider_sandbox: Any) -> None:
    alice_web.post(f"{PAGE}twilio/connect/", connect_payload(provider_sandbox, "twilio"))
    r = alice_web.post(f"{PAGE}twilio/test/", follow=True)
    assert "Twilio credentials are valid." in r.content.decode()
    r = alice_web.post(f"{PAGE}twilio/sync-numbers/", follow=True)
    assert "Twilio phone numbers are up to date." in r.content.decode()
    r = alice_web.post(f"{PAGE}twilio/disconnect/", follow=True)
    assert "Twilio is disconnected." in r.content.decode()
    assert nothing_stored(alice_account, "twilio")
    actions = list(IntegrationEvent.objects.filter(account=alice_account).values_list("action", flat=True))
    assert actions == ["disconnect", "sync", "test", "connect"]
    html = r.content.decode()
    assert "alice@example.com" in html  # the audit trail on the page says who


def test_it_shows_a_failing_integration(alice_web: Client, alice_account: Account, provider_sandbox: Any) -> None:
    alice_web.post(f"{PAGE}elevenlabs/connect/", connect_payload(provider_sandbox, "elevenlabs"))
    services.integration_mark_failing(account=alice_account, provider="elevenlabs", error="API key revoked")
    html = alice_web.get(PAGE).content.decode()
    card = html[html.index('id="elevenlabs"') : html.index('id="calcom"')]
    assert "Failing" in card and "API key revoked" in card


def test_it_picks_a_default_cal_event_type(alice_web: Client, alice_account: Account, provider_sandbox: Any) -> None:
    user = provider_sandbox.calcom.create_user(
        event_types=[
            {"slug": "a", "title": "Call A", "lengthInMinutes": 15},
            {"slug": "b", "title": "Call B", "lengthInMinutes": 30},
        ]
    )
    alice_web.post(f"{PAGE}calcom/connect/", {"api_key": user["api_key"]})
    html = alice_web.get(PAGE).content.decode()
    assert "Call A (15 min)" in html and "Call B (30 min)" in html
    wanted = user["event_types"][1]["id"]
    r = alice_web.post(f"{PAGE}calcom/default-event-type/", {"default_event_type_id": str(wanted)}, follow=True)
    assert "Default event type saved." in r.content.decode()
    alice_account.refresh_from_db()
    assert services.integration_get(alice_account, "calcom")["details"]["default_event_type_id"] == wanted


def test_it_lets_members_look_but_not_touch(
    alice_web: Client, bob: User, alice_account: Account, provider_sandbox: Any
) -> None:
    alice_web.post(f"{PAGE}twilio/connect/", connect_payload(provider_sandbox, "twilio"))
    bob_web = client_for(bob)
    html = bob_web.get(PAGE).content.decode()
    assert "<form" not in html.split('id="main"')[1].split("integration-events")[0]
    assert "Only the account" in html
    assert bob_web.post(f"{PAGE}ghl/connect/", connect_payload(provider_sandbox, "ghl")).status_code == 403
    assert bob_web.post(f"{PAGE}twilio/disconnect/").status_code == 403
    assert bob_web.post(f"{PAGE}twilio/test/").status_code == 403
    alice_account.refresh_from_db()
    assert alice_account.twilio_configured and not alice_account.ghl_configured


def test_it_shows_charlie_only_his_own(
    alice_web: Client, charlie: User, alice_account: Account, provider_sandbox: Any
) -> None:
    creds = provider_sandbox.twilio.create_account()
    alice_web.post(f"{PAGE}twilio/connect/", creds)
    html = client_for(charlie).get(PAGE).content.decode()
    assert "••••" + creds["auth_token"][-4:] not in html
    assert "Not connected" in html and "alice@example.com" not in html
    # Charlie's disconnect only ever touches Charlie's account.
    client_for(charlie).post(f"{PAGE}twilio/disconnect/")
    alice_account.refresh_from_db()
    assert alice_account.twilio_configured


def test_it_404s_an_unknown_provider(alice_web: Client) -> None:
    assert alice_web.post(f"{PAGE}stripe/connect/", {"api_key": "x"}).status_code == 404


def test_it_refuses_get_on_actions(alice_web: Client) -> None:
    assert alice_web.get(f"{PAGE}twilio/disconnect/").status_code == 405
