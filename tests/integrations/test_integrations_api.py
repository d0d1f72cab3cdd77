"""`/api/v1/integrations/`: connect, test, disconnect, sync, through the real SDKs against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from integrations import registry, services
from integrations.models import IntegrationEvent, IntegrationStatus
from tests.conftest import TEST_PROVIDER_TIMEOUT
from tests.integrations.integration_helpers import connect_payload, nothing_stored, raw_columns

URL = "/api/v1/integrations/"
PROVIDERS = ["twilio", "ghl", "elevenlabs", "calcom"]
# The path each provider's validation calls first: a fault there must stop the connect.
VALIDATION_PATHS = {
    "twilio": r"/Accounts/AC[0-9a-f]+\.json$",
    "ghl": r"/locations/",
    "elevenlabs": r"/v1/convai/agents",
    "calcom": r"/v2/me",
}


def put(client: APIClient, provider: str, payload: dict[str, Any]) -> Any:
    return client.put(f"{URL}{provider}/", payload, format="json")


def test_it_lists_all_four_unconfigured(alice_api: APIClient) -> None:
    r = alice_api.get(URL)
    assert r.status_code == 200
    assert [i["provider"] for i in r.json()] == PROVIDERS
    assert not any(i["configured"] for i in r.json())


def test_it_connects_twilio(alice_api: APIClient, alice_account: Account, provider_sandbox: Any) -> None:
    creds = provider_sandbox.twilio.create_account(trial=True, numbers=["+15005550006", "+15005550007"])
    r = put(alice_api, "twilio", creds)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["configured"] is True and body["failing"] is False
    assert body["last_validated_at"]
    assert body["details"]["trial"] is True
    assert [n["number"] for n in body["details"]["numbers"]] == ["+15005550006", "+15005550007"]
    assert body["hints"]["auth_token"] == "••••" + creds["auth_token"][-4:]
    alice_account.refresh_from_db()
    assert alice_account.twilio_configured
    assert alice_account.twilio_auth_token == creds["auth_token"]
    assert alice_account.twilio_phone_numbers[0]["capabilities"]["voice"] is True
    event = IntegrationEvent.objects.get(account=alice_account)
    assert (event.action, event.outcome, event.actor_label) == ("connect", "ok", "alice@example.com")


def test_it_stores_only_ciphertext(alice_api: APIClient, alice_account: Account, provider_sandbox: Any) -> None:
    payloads = {p: connect_payload(provider_sandbox, p) for p in PROVIDERS}
    for provider, payload in payloads.items():
        assert put(alice_api, provider, payload).status_code == 200
    raw = raw_columns(alice_account)
    secrets = [v for p in payloads.values() for k, v in p.items() if k != "location_id"]
    for column, value in raw.items():
        assert value.startswith("pa1:"), column
        assert not any(secret in value for secret in secrets), column


def test_it_connects_ghl(alice_api: APIClient, provider_sandbox: Any) -> None:
    payload = connect_payload(provider_sandbox, "ghl", name="Alice Dental", timezone="Europe/Madrid")
    r = put(alice_api, "ghl", payload)
    assert r.status_code == 200, r.content
    details = r.json()["details"]
    assert details == {
        "location_name": "Alice Dental",
        "timezone": "Europe/Madrid",
        "location_id": payload["location_id"],
    }


def test_it_connects_elevenlabs(alice_api: APIClient, provider_sandbox: Any) -> None:
    r = put(alice_api, "elevenlabs", connect_payload(provider_sandbox, "elevenlabs"))
    assert r.status_code == 200, r.content
    assert r.json()["details"]["agents_visible"] == 0


def test_it_connects_calcom_and_lists_event_types(alice_api: APIClient, provider_sandbox: Any) -> None:
    user = provider_sandbox.calcom.create_user(
        username="alice",
        time_zone="Europe/Madrid",
        event_types=[
            {"slug": "intro", "title": "Intro", "lengthInMinutes": 15},
            {"slug": "demo", "title": "Demo", "lengthInMinutes": 45},
        ],
    )
    r = put(alice_api, "calcom", {"api_key": user["api_key"]})
    assert r.status_code == 200, r.content
    details = r.json()["details"]
    assert (details["username"], details["time_zone"]) == ("alice", "Europe/Madrid")
    assert [t["slug"] for t in details["event_types"]] == ["intro", "demo"]
    assert details["default_event_type_id"] is None  # two types: the tenant picks
    demo = details["event_types"][1]["id"]
    r = alice_api.post(f"{URL}calcom/default-event-type/", {"default_event_type_id": demo}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["details"]["default_event_type_id"] == demo
    r = alice_api.post(f"{URL}calcom/default-event-type/", {"default_event_type_id": 999999}, format="json")
    assert r.status_code == 400
    assert "default_event_type_id" in r.json()["error"]["fields"]


def test_it_takes_a_default_event_type_on_connect(alice_api: APIClient, provider_sandbox: Any) -> None:
    user = provider_sandbox.calcom.create_user()
    wanted = user["event_types"][0]["id"]
    r = put(alice_api, "calcom", {"api_key": user["api_key"], "default_event_type_id": wanted})
    assert r.json()["details"]["default_event_type_id"] == wanted
    r = put(alice_api, "calcom", {"api_key": user["api_key"], "default_event_type_id": wanted + 1000})
    assert r.status_code == 400
    assert "default_event_type_id" in r.json()["error"]["fields"]


BAD_CREDENTIALS = {
    "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "f" * 32},
    "ghl": {"api_key": "pit-wrong-token", "location_id": "nowhere0000"},
    "elevenlabs": {"api_key": "sk_wrong_key_000000"},
    "calcom": {"api_key": "cal_wrong_key_00000"},
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_rejects_bad_credentials_and_stores_nothing(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any, provider: str
) -> None:
    r = put(alice_api, provider, BAD_CREDENTIALS[provider])
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "invalid_credentials"
    assert error["message"].startswith(f"Invalid {registry.PROVIDERS[provider].name} credentials: ")
    assert nothing_stored(alice_account, provider)
    assert not IntegrationStatus.objects.filter(account=alice_account).exists()
    event = IntegrationEvent.objects.get(account=alice_account)
    assert (event.action, event.outcome) == ("connect", "failed")


def test_it_rejects_a_twilio_token_of_another_account(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    first = provider_sandbox.twilio.create_account()
    second = provider_sandbox.twilio.create_account()
    r = put(alice_api, "twilio", {"account_sid": first["account_sid"], "auth_token": second["auth_token"]})
    assert r.status_code == 400
    assert "Invalid Twilio credentials" in r.json()["error"]["message"]
    assert nothing_stored(alice_account, "twilio")


def test_it_tells_a_key_missing_a_permission(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    key = provider_sandbox.elevenlabs.create_key(permissions=("user_read",))
    r = put(alice_api, "elevenlabs", {"api_key": key})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "missing_permissions"
    assert "missing a permission" in r.json()["error"]["message"]
    assert nothing_stored(alice_account, "elevenlabs")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [500, 503, 429])
def test_it_answers_503_when_the_provider_fails(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any, provider: str, status: int
) -> None:
    payload = connect_payload(provider_sandbox, provider)
    provider_sandbox.inject_fault(provider, VALIDATION_PATHS[provider], status=status, headers={"Retry-After": "0"})
    r = put(alice_api, provider, payload)
    assert r.status_code == 503, r.content
    error = r.json()["error"]
    assert error["code"] == "provider_unavailable"
    assert "Nothing was saved" in error["message"]
    assert nothing_stored(alice_account, provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_answers_503_when_the_provider_is_down(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any, provider: str, settings: Any, dead_url: str
) -> None:
    payload = connect_payload(provider_sandbox, provider)
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, provider: dead_url}
    r = put(alice_api, provider, payload)
    assert r.status_code == 503, r.content
    assert nothing_stored(alice_account, provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_answers_503_when_the_provider_is_slow(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any, provider: str
) -> None:
    payload = connect_payload(provider_sandbox, provider)
    provider_sandbox.inject_fault(provider, VALIDATION_PATHS[provider], latency=TEST_PROVIDER_TIMEOUT + 1)
    r = put(alice_api, provider, payload)
    assert r.status_code == 503, r.content
    assert "in time" in r.json()["error"]["message"]
    assert nothing_stored(alice_account, provider)


@pytest.mark.parametrize(
    ("provider", "payload", "fields"),
    [
        ("twilio", {}, {"account_sid", "auth_token"}),
        ("twilio", {"account_sid": "AC1", "auth_token": "  "}, {"auth_token"}),
        ("ghl", {"api_key": "x"}, {"location_id"}),
        ("elevenlabs", {"api_key": ""}, {"api_key"}),
        ("calcom", {"api_key": None}, {"api_key"}),
    ],
)
def test_it_requires_every_credential_field(
    alice_api: APIClient, provider_sandbox: Any, provider: str, payload: dict[str, Any], fields: set[str]
) -> None:
    r = put(alice_api, provider, payload)
    assert r.status_code == 400
    assert set(r.json()["error"]["fields"]) == fields
    assert provider_sandbox.requests(provider) == []  # never asked the provider


def test_it_404s_an_unknown_provider(alice_api: APIClient) -> None:
    assert put(alice_api, "stripe", {"api_key": "x"}).status_code == 404
    assert alice_api.get(f"{URL}stripe/").status_code == 404
    assert alice_api.post(f"{URL}stripe/test/").status_code == 404
    assert alice_api.delete(f"{URL}stripe/").status_code == 404


def test_it_tests_stored_credentials(alice_api: APIClient, alice_account: Account, provider_sandbox: Any) -> None:
    for provider in PROVIDERS:
        assert put(alice_api, provider, connect_payload(provider_sandbox, provider)).status_code == 200
        before = provider_sandbox.requests(provider)
        r = alice_api.post(f"{URL}{provider}/test/")
        assert r.status_code == 200, r.content
        assert len(provider_sandbox.requests(provider)) > len(before)  # really asked the provider
    assert IntegrationEvent.objects.filter(account=alice_account, action="test", outcome="ok").count() == 4


def test_it_marks_failing_when_the_provider_later_rejects(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    creds = provider_sandbox.twilio.create_account()
    put(alice_api, "twilio", creds)
    provider_sandbox.twilio.accounts[creds["account_sid"]]["auth_token"] = "rotated-by-the-tenant-0000"
    r = alice_api.post(f"{URL}twilio/test/")
    assert r.status_code == 400
    body = alice_api.get(f"{URL}twilio/").json()
    assert body["failing"] is True and body["configured"] is True
    assert "Invalid Twilio credentials" in body["last_error"]
    # The tenant fixes it at Twilio's end: the next test clears the failure.
    provider_sandbox.twilio.accounts[creds["account_sid"]]["auth_token"] = creds["auth_token"]
    assert alice_api.post(f"{URL}twilio/test/").status_code == 200
    body = alice_api.get(f"{URL}twilio/").json()
    assert body["failing"] is False and body["last_error"] == ""


def test_it_does_not_mark_failing_when_the_provider_is_unavailable(alice_api: APIClient, provider_sandbox: Any) -> None:
    put(alice_api, "ghl", connect_payload(provider_sandbox, "ghl"))
    provider_sandbox.inject_fault("ghl", VALIDATION_PATHS["ghl"], status=502)
    assert alice_api.post(f"{URL}ghl/test/").status_code == 503
    assert alice_api.get(f"{URL}ghl/").json()["failing"] is False


def test_it_answers_409_when_testing_an_unconnected_provider(alice_api: APIClient) -> None:
    r = alice_api.post(f"{URL}calcom/test/")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "not_configured"


def test_it_disconnects_and_wipes_the_ciphertext(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    for provider in PROVIDERS:
        put(alice_api, provider, connect_payload(provider_sandbox, provider))
        assert alice_api.delete(f"{URL}{provider}/").status_code == 204
        assert nothing_stored(alice_account, provider)
        body = alice_api.get(f"{URL}{provider}/").json()
        assert body["configured"] is False and body["hints"] == {} and body["details"] == {}
    alice_account.refresh_from_db()
    assert alice_account.twilio_phone_numbers == [] and alice_account.ghl_location_id == ""
    assert IntegrationEvent.objects.filter(account=alice_account, action="disconnect").count() == 4
    # Disconnecting again changes nothing and records nothing.
    assert alice_api.delete(f"{URL}twilio/").status_code == 204
    assert IntegrationEvent.objects.filter(account=alice_account, action="disconnect").count() == 4


def test_it_resyncs_twilio_numbers(alice_api: APIClient, alice_account: Account, provider_sandbox: Any) -> None:
    creds = provider_sandbox.twilio.create_account(numbers=["+15005550006"])
    put(alice_api, "twilio", creds)
    sid = creds["account_sid"]
    provider_sandbox.twilio.numbers[sid].append(provider_sandbox.twilio._number(sid, "+15005550009"))
    r = alice_api.post(f"{URL}twilio/sync-numbers/")
    assert r.status_code == 200, r.content
    assert [n["number"] for n in r.json()["numbers"]] == ["+15005550006", "+15005550009"]
    alice_account.refresh_from_db()
    assert len(alice_account.twilio_phone_numbers) == 2
    assert IntegrationEvent.objects.filter(account=alice_account, action="sync", outcome="ok").exists()


def test_it_answers_409_when_syncing_without_twilio(alice_api: APIClient) -> None:
    assert alice_api.post(f"{URL}twilio/sync-numbers/").status_code == 409


def test_it_lets_members_read_but_not_change(
    alice_api: APIClient, bob_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    put(alice_api, "twilio", connect_payload(provider_sandbox, "twilio"))
    assert bob_api.get(URL).status_code == 200
    assert bob_api.get(f"{URL}twilio/").json()["configured"] is True
    assert bob_api.get(f"{URL}events/").status_code == 200
    assert put(bob_api, "ghl", connect_payload(provider_sandbox, "ghl")).status_code == 403
    assert bob_api.post(f"{URL}twilio/test/").status_code == 403
    assert bob_api.post(f"{URL}twilio/sync-numbers/").status_code == 403
    assert bob_api.delete(f"{URL}twilio/").status_code == 403
    assert nothing_stored(alice_account, "ghl")
    assert alice_account.twilio_configured


def test_it_refuses_anonymous_callers(api: APIClient) -> None:
    assert api.get(URL).status_code == 401
    assert api.put(f"{URL}twilio/", {}, format="json").status_code == 401


def test_it_refuses_a_suspended_account(alice_api: APIClient, alice_account: Account, provider_sandbox: Any) -> None:
    alice_account.status = Account.Status.SUSPENDED
    alice_account.save()
    r = put(alice_api, "twilio", connect_payload(provider_sandbox, "twilio"))
    assert r.status_code == 403
    assert provider_sandbox.requests("twilio") == []


def test_it_pages_the_audit_trail(alice_api: APIClient, alice_account: Account) -> None:
    for n in range(5):
        services.integration_mark_failing(account=alice_account, provider="ghl", error=f"error {n}")
    r = alice_api.get(f"{URL}events/?limit=2")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert body["results"][0]["message"] == "error 4"  # newest first
    assert body["results"][0]["actor"] == "system"
    assert alice_api.get(f"{URL}events/?provider=twilio").json()["count"] == 0


def test_it_marks_failing_once_per_error(alice_account: Account) -> None:
    for _ in range(3):
        services.integration_mark_failing(account=alice_account, provider="calcom", error="API key revoked")
    status = IntegrationStatus.objects.get(account=alice_account, provider="calcom")
    assert status.failing and status.last_error == "API key revoked"
    assert IntegrationEvent.objects.filter(account=alice_account, action="failure").count() == 1


def test_it_documents_the_endpoints(alice_api: APIClient) -> None:
    r = alice_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    text = r.content.decode()
    for path in (
        "/api/v1/integrations/",
        "/api/v1/integrations/{provider}/",
        "/api/v1/integrations/{provider}/test/",
        "/api/v1/integrations/twilio/sync-numbers/",
        "/api/v1/integrations/events/",
    ):
        assert f"{path}:" in text or f'"{path}"' in text, path
    assert "IntegrationCredentials" in text
