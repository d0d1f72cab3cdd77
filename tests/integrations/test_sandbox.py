"""The provider sandbox speaks each provider's API: driven with the real SDKs and `requests`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox import ProviderSandbox
from sandbox.demo import TWILIO, load_demo

GHL_HEADERS = {"Version": "2021-07-28"}


class SandboxHttp(TwilioHttpClient):
    """The rewrite providers.md §1.7 describes, kept independent of integrations.providers."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=5)
        self.base = urlsplit(base)

    def request(self, method, url, **kwargs):
        parts = urlsplit(url)
        return super().request(
            method, urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, "")), **kwargs
        )


def twilio_client(sb: ProviderSandbox, sid: str, token: str) -> Client:
    return Client(sid, token, http_client=SandboxHttp(sb.base_urls["twilio"]), environment={"unused": "1"})


def eleven(sb: ProviderSandbox, key: str) -> ElevenLabs:
    return ElevenLabs(api_key=key, base_url=sb.base_urls["elevenlabs"], timeout=5)


def next_weekday() -> str:
    day = datetime.now(UTC).date() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()


# --- Twilio ------------------------------------------------------------------------------------


def test_it_fetches_a_twilio_account_with_the_sdk_and_records_the_sid(provider_sandbox):
    creds = provider_sandbox.twilio.create_account(trial=True)
    account = (
        twilio_client(provider_sandbox, creds["account_sid"], creds["auth_token"])
        .api.v2010.accounts(creds["account_sid"])
        .fetch()
    )
    assert (account.type, account.status) == ("Trial", "active")
    [recorded] = provider_sandbox.requests("twilio")
    assert recorded.identity == creds["account_sid"]
    assert recorded.status == 200


def test_it_rejects_a_wrong_twilio_token_with_20003(provider_sandbox):
    creds = provider_sandbox.twilio.create_account()
    client = twilio_client(provider_sandbox, creds["account_sid"], "0" * 32)
    with pytest.raises(TwilioRestException) as info:
        client.api.v2010.accounts(creds["account_sid"]).fetch()
    assert (info.value.status, info.value.code) == (401, 20003)
    assert info.value.msg.endswith("Authenticate")


def test_it_pages_incoming_numbers_the_way_the_sdk_parses_them(provider_sandbox):
    numbers = [f"+1500555{i:04d}" for i in range(5)]
    creds = provider_sandbox.twilio.create_account(numbers=numbers)
    listed = twilio_client(provider_sandbox, **_sid_token(creds)).incoming_phone_numbers.list(page_size=2)
    assert [n.phone_number for n in listed] == numbers
    assert listed[0].capabilities["voice"] is True
    assert len(provider_sandbox.requests("twilio")) == 3  # three pages, following next_page_uri


def test_it_fails_a_number_listing_with_a_plain_twilio_exception(provider_sandbox):
    creds = provider_sandbox.twilio.create_account()
    client = twilio_client(provider_sandbox, creds["account_sid"], "0" * 32)
    with pytest.raises(TwilioException) as info:
        client.incoming_phone_numbers.list()
    assert not isinstance(info.value, TwilioRestException)  # providers.md finding 2
    assert info.value.args[1].status_code == 401


def test_it_hides_another_accounts_resources(provider_sandbox):
    mine = provider_sandbox.twilio.create_account()
    theirs = provider_sandbox.twilio.create_account()
    with pytest.raises(TwilioRestException) as info:
        twilio_client(provider_sandbox, **_sid_token(mine)).api.v2010.accounts(theirs["account_sid"]).fetch()
    assert (info.value.status, info.value.code) == (404, 20404)


def test_it_creates_a_call_and_signs_its_status_callback_like_twilio(provider_sandbox):
    creds = provider_sandbox.twilio.create_account(numbers=["+15005550006"])
    call = twilio_client(provider_sandbox, **_sid_token(creds)).calls.create(
        to="+14155550100",
        from_="+15005550006",
        url="https://app.example.com/webhooks/twilio/voice",
        status_callback="https://app.example.com/webhooks/twilio/status",
        status_callback_event=["initiated", "answered", "completed"],
        machine_detection="Enable",
    )
    assert call.status == "queued"
    form = provider_sandbox.requests("twilio")[-1].body
    assert form["StatusCallbackEvent"] == ["initiated", "answered", "completed"]
    assert form["MachineDetection"] == "Enable"

    url, params, headers = provider_sandbox.twilio.status_callback(call.sid, "completed", CallDuration="42")
    assert url == "https://app.example.com/webhooks/twilio/status"
    assert RequestValidator(creds["auth_token"]).validate(url, params, headers["X-Twilio-Signature"])
    assert not RequestValidator("f" * 32).validate(url, params, headers["X-Twilio-Signature"])


def test_it_refuses_a_call_from_a_number_the_account_does_not_own(provider_sandbox):
    creds = provider_sandbox.twilio.create_account(numbers=["+15005550006"])
    with pytest.raises(TwilioRestException) as info:
        twilio_client(provider_sandbox, **_sid_token(creds)).calls.create(
            to="+14155550100", from_="+19995550000", url="https://x.example/voice"
        )
    assert (info.value.status, info.value.code) == (400, 21210)


def test_it_lets_trial_accounts_call_only_verified_numbers(provider_sandbox):
    creds = provider_sandbox.twilio.create_account(trial=True, numbers=["+15005550006"], verified=["+14155550101"])
    client = twilio_client(provider_sandbox, **_sid_token(creds))
    with pytest.raises(TwilioRestException) as info:
        client.calls.create(to="+14155550100", from_="+15005550006", url="https://x.example/voice")
    assert info.value.code == 21219
    assert client.calls.create(to="+14155550101", from_="+15005550006", url="https://x.example/voice").sid


# --- ElevenLabs --------------------------------------------------------------------------------


def test_it_tells_an_invalid_elevenlabs_key_from_one_missing_a_permission(provider_sandbox):
    limited = provider_sandbox.elevenlabs.create_key(permissions=("user_read",))
    with pytest.raises(ApiError) as missing:
        eleven(provider_sandbox, limited).conversational_ai.agents.list(page_size=1)
    with pytest.raises(ApiError) as invalid:
        eleven(provider_sandbox, "sk_not_a_key").conversational_ai.agents.list(page_size=1)
    assert (missing.value.status_code, missing.value.body["detail"]["status"]) == (401, "missing_permissions")
    assert (invalid.value.status_code, invalid.value.body["detail"]["status"]) == (401, "invalid_api_key")
    assert eleven(provider_sandbox, limited).user.get().user_id  # the same key may read /v1/user


def test_it_keeps_elevenlabs_agents_inside_their_workspace(provider_sandbox):
    alice_key = provider_sandbox.elevenlabs.create_key()
    charlie_key = provider_sandbox.elevenlabs.create_key()
    created = eleven(provider_sandbox, alice_key).conversational_ai.agents.create(
        conversation_config={"agent": {"first_message": "Hi"}}, name="Alice agent", request_options={"max_retries": 0}
    )
    assert eleven(provider_sandbox, alice_key).conversational_ai.agents.get(created.agent_id).name == "Alice agent"
    assert eleven(provider_sandbox, charlie_key).conversational_ai.agents.list().agents == []
    with pytest.raises(ApiError) as info:
        eleven(provider_sandbox, charlie_key).conversational_ai.agents.get(created.agent_id)
    assert info.value.status_code == 404


def test_it_answers_register_call_with_twiml(provider_sandbox):
    key = provider_sandbox.elevenlabs.create_key()
    el = eleven(provider_sandbox, key)
    agent = el.conversational_ai.agents.create(conversation_config={}, request_options={"max_retries": 0})
    twiml = el.conversational_ai.twilio.register_call(
        agent_id=agent.agent_id, from_number="+15005550006", to_number="+14155550100", direction="outbound"
    )
    assert twiml.startswith("<?xml") and "<Stream" in twiml


def test_it_shows_the_elevenlabs_sdk_retrying_a_post_unless_told_not_to(provider_sandbox):
    key = provider_sandbox.elevenlabs.create_key()
    provider_sandbox.inject_fault("elevenlabs", r"/agents/create$", status=500, headers={"Retry-After": "1"})
    with pytest.raises(ApiError):
        eleven(provider_sandbox, key).conversational_ai.agents.create(conversation_config={})
    # providers.md finding 3. Retry-After 1 is the shortest wait this SDK honours: it ignores 0
    # and its retry-after-ms parsing compares a str with an int (the TypeError is swallowed).
    assert len(provider_sandbox.requests("elevenlabs")) == 3
    with pytest.raises(ApiError):
        eleven(provider_sandbox, key).conversational_ai.agents.create(
            conversation_config={}, request_options={"max_retries": 0}
        )
    assert len(provider_sandbox.requests("elevenlabs")) == 4


# --- GoHighLevel -------------------------------------------------------------------------------


def test_it_requires_the_ghl_version_header_and_sends_rate_limit_headers(provider_sandbox):
    location = provider_sandbox.ghl.create_location(name="Acme", timezone="America/Chicago")
    url = f"{provider_sandbox.base_urls['ghl']}/locations/{location['location_id']}"
    auth = {"Authorization": f"Bearer {location['token']}"}
    assert requests.get(url, headers=auth, timeout=5).status_code == 400
    ok = requests.get(url, headers={**auth, **GHL_HEADERS}, timeout=5)
    assert ok.json()["location"]["timezone"] == "America/Chicago"
    assert ok.headers["X-RateLimit-Max"] == "100"
    assert ok.headers["X-RateLimit-Remaining"] == "99"


def test_it_answers_ghl_429_with_zero_daily_remaining_once_the_day_is_spent(provider_sandbox):
    location = provider_sandbox.ghl.create_location(daily_limit=1)
    url = f"{provider_sandbox.base_urls['ghl']}/locations/{location['location_id']}"
    headers = {"Authorization": f"Bearer {location['token']}", **GHL_HEADERS}
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    refused = requests.get(url, headers=headers, timeout=5)
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "0"


def test_it_upserts_ghl_contacts_per_location(provider_sandbox):
    location = provider_sandbox.ghl.create_location()
    root, headers = provider_sandbox.base_urls["ghl"], {"Authorization": f"Bearer {location['token']}", **GHL_HEADERS}
    body = {"locationId": location["location_id"], "phone": "+14155550100", "firstName": "Ann"}
    first = requests.post(f"{root}/contacts/upsert", json=body, headers=headers, timeout=5)
    again = requests.post(f"{root}/contacts/upsert", json={**body, "lastName": "Lee"}, headers=headers, timeout=5)
    assert (first.status_code, first.json()["new"], again.json()["new"]) == (201, True, False)
    contact_id = first.json()["contact"]["id"]
    tags = requests.post(
        f"{root}/contacts/{contact_id}/tags", json={"tags": ["prix:booked"]}, headers=headers, timeout=5
    )
    assert tags.json() == {"tags": ["prix:booked"]}
    other = provider_sandbox.ghl.create_location()
    foreign = requests.post(
        f"{root}/contacts/upsert",
        json=body,
        headers={**headers, "Authorization": f"Bearer {other['token']}"},
        timeout=5,
    )
    assert foreign.status_code == 403


# --- Cal.com -----------------------------------------------------------------------------------


def test_it_refuses_a_wrong_cal_api_version(provider_sandbox):
    user = provider_sandbox.calcom.create_user()
    url, auth = f"{provider_sandbox.base_urls['calcom']}/event-types", {"Authorization": f"Bearer {user['api_key']}"}
    wrong = requests.get(url, headers={**auth, "cal-api-version": "2024-08-13"}, timeout=5)
    assert wrong.status_code == 400 and wrong.json()["status"] == "error"
    right = requests.get(url, headers={**auth, "cal-api-version": "2024-06-14"}, timeout=5)
    assert right.json()["data"][0]["slug"] == "30min"


def test_it_books_a_free_slot_once_and_refuses_it_the_second_time(provider_sandbox):
    user = provider_sandbox.calcom.create_user(time_zone="America/New_York")
    root, event_id, day = provider_sandbox.base_urls["calcom"], user["event_types"][0]["id"], next_weekday()
    slots = requests.get(
        f"{root}/slots",
        params={"eventTypeId": event_id, "start": day, "end": day, "timeZone": "America/New_York"},
        headers={"cal-api-version": "2024-09-04"},
        timeout=5,
    ).json()["data"][day]
    assert slots[0]["start"].startswith(f"{day}T09:00:00")
    start_utc = datetime.fromisoformat(slots[0]["start"]).astimezone(UTC).isoformat().replace("+00:00", "Z")
    booking = {
        "start": start_utc,
        "eventTypeId": event_id,
        "attendee": {"name": "Ann", "email": "ann@example.com", "timeZone": "America/New_York"},
    }
    headers = {"Authorization": f"Bearer {user['api_key']}", "cal-api-version": "2024-08-13"}
    first = requests.post(f"{root}/bookings", json=booking, headers=headers, timeout=5)
    second = requests.post(f"{root}/bookings", json=booking, headers=headers, timeout=5)
    assert (first.status_code, first.json()["data"]["status"]) == (201, "accepted")
    assert second.status_code == 400
    no_email = {**booking, "attendee": {"name": "Ann", "timeZone": "UTC"}}
    assert "attendee.email" in requests.post(f"{root}/bookings", json=no_email, headers=headers, timeout=5).text


# --- PayPal ------------------------------------------------------------------------------------


def test_it_runs_a_paypal_subscription_from_token_to_cancel(provider_sandbox):
    app = provider_sandbox.paypal.create_app()
    root = provider_sandbox.base_urls["paypal"]
    token = requests.post(
        f"{root}/v1/oauth2/token",
        auth=(app["client_id"], app["secret"]),
        data={"grant_type": "client_credentials"},
        timeout=5,
    ).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    product = requests.post(
        f"{root}/v1/catalogs/products", json={"name": "PrixAgent", "type": "SERVICE"}, headers=auth, timeout=5
    ).json()
    cycle = {
        "frequency": {"interval_unit": "MONTH", "interval_count": 1},
        "tenure_type": "REGULAR",
        "sequence": 1,
        "total_cycles": 0,
        "pricing_scheme": {"fixed_price": {"value": "99.00", "currency_code": "USD"}},
    }
    plan = requests.post(
        f"{root}/v1/billing/plans",
        json={
            "product_id": product["id"],
            "name": "Pro",
            "billing_cycles": [cycle],
            "payment_preferences": {"auto_bill_outstanding": True},
        },
        headers=auth,
        timeout=5,
    ).json()
    created = requests.post(
        f"{root}/v1/billing/subscriptions",
        json={"plan_id": plan["id"], "custom_id": "tenant-1"},
        headers=auth,
        timeout=5,
    )
    assert created.status_code == 201 and created.json()["status"] == "APPROVAL_PENDING"
    assert any(link["rel"] == "approve" for link in created.json()["links"])
    sub_id = created.json()["id"]
    provider_sandbox.paypal.approve_subscription(sub_id)
    cancel = requests.post(
        f"{root}/v1/billing/subscriptions/{sub_id}/cancel", json={"reason": "bye"}, headers=auth, timeout=5
    )
    assert cancel.status_code == 204
    assert (
        requests.get(f"{root}/v1/billing/subscriptions/{sub_id}", headers=auth, timeout=5).json()["status"]
        == "CANCELLED"
    )
    assert {r.identity for r in provider_sandbox.requests("paypal")} == {app["client_id"]}


def test_it_rejects_a_wrong_paypal_secret_like_paypal(provider_sandbox):
    app = provider_sandbox.paypal.create_app()
    refused = requests.post(
        f"{provider_sandbox.base_urls['paypal']}/v1/oauth2/token",
        auth=(app["client_id"], "nope"),
        data={"grant_type": "client_credentials"},
        timeout=5,
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


# --- Faults, control API, reset ----------------------------------------------------------------


def test_it_fails_an_exact_fraction_of_requests(provider_sandbox):
    location = provider_sandbox.ghl.create_location()
    provider_sandbox.inject_fault("ghl", r"^/locations/", status=503, ratio=0.5)
    url = f"{provider_sandbox.base_urls['ghl']}/locations/{location['location_id']}"
    headers = {"Authorization": f"Bearer {location['token']}", **GHL_HEADERS}
    statuses = [requests.get(url, headers=headers, timeout=5).status_code for _ in range(6)]
    assert statuses == [200, 503, 200, 503, 200, 503]


def test_it_stops_a_counted_fault_after_count_requests(provider_sandbox):
    user = provider_sandbox.calcom.create_user()
    provider_sandbox.inject_fault("calcom", r"/me$", status=500, count=1)
    url, headers = f"{provider_sandbox.base_urls['calcom']}/me", {"Authorization": f"Bearer {user['api_key']}"}
    first, second = (requests.get(url, headers=headers, timeout=5) for _ in range(2))
    assert first.status_code == 500 and first.json()["status"] == "error"
    assert second.status_code == 200


def test_it_delays_answers_past_the_client_timeout(provider_sandbox):
    user = provider_sandbox.calcom.create_user()
    provider_sandbox.inject_fault("calcom", r"/me$", latency=3)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{provider_sandbox.base_urls['calcom']}/me",
            headers={"Authorization": f"Bearer {user['api_key']}"},
            timeout=0.3,
        )
    assert time.monotonic() - started < 2
    provider_sandbox.clear_faults()
    assert requests.get(
        f"{provider_sandbox.base_urls['calcom']}/me", headers={"Authorization": f"Bearer {user['api_key']}"}, timeout=2
    ).ok


def test_it_is_controlled_over_http(provider_sandbox):
    root = provider_sandbox.base_urls["twilio"]
    creds = requests.post(
        f"{root}/_sandbox/accounts", json={"trial": True, "numbers": ["+15005550009"]}, timeout=5
    ).json()
    fault = {"path_regex": r"\.json$", "status": 429}
    assert requests.post(f"{root}/_sandbox/faults", json=fault, timeout=5).status_code == 201
    limited = requests.get(
        f"{root}/2010-04-01/Accounts/{creds['account_sid']}.json",
        auth=(creds["account_sid"], creds["auth_token"]),
        timeout=5,
    )
    assert (limited.status_code, limited.json()["code"]) == (429, 20429)
    [recorded] = requests.get(f"{root}/_sandbox/requests", timeout=5).json()
    assert (recorded["identity"], recorded["status"]) == (creds["account_sid"], 429)
    assert requests.post(f"{root}/_sandbox/reset", json={}, timeout=5).ok
    assert requests.get(f"{root}/_sandbox/requests", timeout=5).json() == []
    assert provider_sandbox.twilio.accounts == {}


def test_it_starts_and_stops_on_free_ports_as_a_context_manager():
    with ProviderSandbox() as sandbox:
        demo = load_demo(sandbox)
        url = f"{sandbox.base_urls['twilio']}/2010-04-01/Accounts/{TWILIO['account_sid']}.json"
        assert (
            requests.get(url, auth=(TWILIO["account_sid"], TWILIO["auth_token"]), timeout=5).json()["friendly_name"]
            == "Demo Co"
        )
        assert demo["calcom"]["event_types"] == "30min, 15min"
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def _sid_token(creds: dict[str, str]) -> dict[str, str]:
    return {"sid": creds["account_sid"], "token": creds["auth_token"]}


def test_it_runs_from_manage_py_with_the_demo_credentials_until_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "provider_sandbox", "--demo", "--port-base", "0"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("Ctrl-C"):
                break
        urls = dict(line.split("=", 1) for line in lines if "_BASE_URL=" in line)
        assert set(urls) == {
            "TWILIO_BASE_URL",
            "ELEVENLABS_BASE_URL",
            "GHL_BASE_URL",
            "CALCOM_BASE_URL",
            "PAYPAL_BASE_URL",
        }
        url = f"{urls['TWILIO_BASE_URL']}/2010-04-01/Accounts/{TWILIO['account_sid']}.json"
        assert requests.get(url, auth=(TWILIO["account_sid"], TWILIO["auth_token"]), timeout=5).status_code == 200
        assert f"auth_token: {TWILIO['auth_token']}" in lines
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Stopping the provider sandbox." in process.stdout.read()
    finally:
        process.kill()


# --- the control API cannot be driven by a web page (DNS rebinding, cross-site POST) ----------


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:{port}", "127.0.0.1:1", "127.0.0.1"])
def test_it_answers_only_requests_addressed_to_its_loopback_name_and_port(provider_sandbox, host):
    root = provider_sandbox.base_urls["twilio"]
    port = root.rsplit(":", 1)[1]
    provider_sandbox.twilio.create_account(auth_token="0123456789abcdef0123456789abcdef")
    headers = {"Host": host.format(port=port)}
    assert requests.get(f"{root}/_sandbox/requests", headers=headers, timeout=5).status_code == 421
    fault = {"path_regex": ".*", "status": 500}
    assert requests.post(f"{root}/_sandbox/faults", json=fault, headers=headers, timeout=5).status_code == 421
    assert provider_sandbox.twilio.faults == []
    for name in ("127.0.0.1", "localhost"):
        ok = requests.get(f"{root}/_sandbox/requests", headers={"Host": f"{name}:{port}"}, timeout=5)
        assert ok.status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_control_posts_must_be_json(provider_sandbox, content_type):
    root = provider_sandbox.base_urls["ghl"]
    body = '{"path_regex": ".*", "status": 500}'
    headers = {"Content-Type": content_type}
    response = requests.post(f"{root}/_sandbox/faults", data=body, headers=headers, timeout=5)
    assert response.status_code == 415
    assert provider_sandbox.ghl.faults == []
    assert requests.post(f"{root}/_sandbox/reset", data="{}", headers=headers, timeout=5).status_code == 415


def test_it_refuses_to_start_under_production(settings, monkeypatch):
    from sandbox import ProviderSandbox

    settings.NODE_ENV = "production"
    with pytest.raises(RuntimeError, match="NODE_ENV=production"):
        ProviderSandbox().start()
    settings.NODE_ENV = "test"
    monkeypatch.setenv("NODE_ENV", "production")
    with pytest.raises(RuntimeError, match="NODE_ENV=production"):
        ProviderSandbox().start()
