"""The provider clients against the sandbox, over loopback, with the real SDKs and `requests`.

Each provider: success, bad credentials, provider down (connection refused), provider slow
(timeout), rate-limited; the recorded requests show which credential each call used.
"""

from __future__ import annotations

import pytest

from integrations.providers import calcom, elevenlabs, ghl, paypal, twilio
from integrations.providers.base import ProviderError

SLOW = 3.0  # seconds of injected latency, longer than the 2 s test timeout (conftest)


def assert_no_secret(exc: ProviderError, *secrets: str) -> None:
    for text in (str(exc), repr(exc), exc.message):
        for secret in secrets:
            assert secret not in text


# --- Twilio ------------------------------------------------------------------------------------


def test_it_validates_twilio_credentials_and_flags_trial_accounts(provider_sandbox):
    full = provider_sandbox.twilio.create_account(trial=False)
    trial = provider_sandbox.twilio.create_account(trial=True)
    assert twilio.validate(full["account_sid"], full["auth_token"])["trial"] is False
    info = twilio.validate(trial["account_sid"], trial["auth_token"])
    assert info == {"friendly_name": "Sandbox account", "status": "active", "type": "Trial", "trial": True}
    assert [r.identity for r in provider_sandbox.requests("twilio")] == [full["account_sid"], trial["account_sid"]]


def test_it_lists_twilio_numbers_with_capabilities(provider_sandbox):
    creds = provider_sandbox.twilio.create_account(numbers=["+15005550006", "+15005550007"])
    numbers = twilio.list_numbers(creds["account_sid"], creds["auth_token"])
    assert [n["number"] for n in numbers] == ["+15005550006", "+15005550007"]
    assert numbers[0]["capabilities"]["voice"] is True
    assert numbers[0]["sid"].startswith("PN") and numbers[0]["friendly_name"] == "(500) 555-0006"


def test_it_maps_bad_twilio_credentials_to_a_permanent_error_without_the_token(provider_sandbox):
    creds = provider_sandbox.twilio.create_account()
    wrong = "f" * 32
    with pytest.raises(ProviderError) as fetch:
        twilio.validate(creds["account_sid"], wrong)
    with pytest.raises(ProviderError) as listing:  # list() raises a different SDK exception
        twilio.list_numbers(creds["account_sid"], wrong)
    for exc in (fetch.value, listing.value):
        assert (exc.permanent, exc.code, exc.status) == (True, "invalid_credentials", 401)
        assert "Authenticate" in exc.message
        assert_no_secret(exc, wrong, creds["auth_token"])


def test_it_never_falls_back_to_twilio_environment_variables(provider_sandbox, monkeypatch):
    platform = provider_sandbox.twilio.create_account()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", platform["account_sid"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", platform["auth_token"])
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    for sid, token in (("", ""), (None, None), (platform["account_sid"], "")):
        with pytest.raises(ProviderError) as info:
            twilio.validate(sid, token)
        assert info.value.code == "missing_credentials"
    assert provider_sandbox.requests("twilio") == []
    # And with real credentials the edge variable does not reroute the request.
    tenant = provider_sandbox.twilio.create_account()
    twilio.validate(tenant["account_sid"], tenant["auth_token"])
    assert provider_sandbox.requests("twilio")[-1].identity == tenant["account_sid"]


def test_it_reports_twilio_down_as_transient(provider_sandbox, settings, dead_url):
    creds = provider_sandbox.twilio.create_account()
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": dead_url}
    with pytest.raises(ProviderError) as info:
        twilio.validate(creds["account_sid"], creds["auth_token"])
    assert (info.value.permanent, info.value.code) == (False, "unreachable")


def test_it_gives_up_on_a_slow_twilio_after_the_timeout(provider_sandbox):
    creds = provider_sandbox.twilio.create_account()
    provider_sandbox.inject_fault("twilio", r"/Accounts/AC\w+\.json$", latency=SLOW)
    with pytest.raises(ProviderError) as info:
        twilio.validate(creds["account_sid"], creds["auth_token"])
    assert (info.value.permanent, info.value.code) == (False, "timeout")


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (500, "provider_error"), (503, "provider_error")])
def test_it_maps_twilio_429_and_5xx_to_transient(provider_sandbox, status, code):
    creds = provider_sandbox.twilio.create_account()
    provider_sandbox.inject_fault("twilio", r"\.json$", status=status)
    for fn in (twilio.validate, twilio.list_numbers):
        with pytest.raises(ProviderError) as info:
            fn(creds["account_sid"], creds["auth_token"])
        assert (info.value.permanent, info.value.code, info.value.status) == (False, code, status)


# --- ElevenLabs --------------------------------------------------------------------------------


def test_it_validates_an_elevenlabs_key_with_an_agents_platform_call(provider_sandbox):
    key = provider_sandbox.elevenlabs.create_key(permissions=("convai_read",))
    assert elevenlabs.validate(key) == {"agents_visible": 0}
    [recorded] = provider_sandbox.requests("elevenlabs")
    assert (recorded.path, recorded.query["page_size"], recorded.identity) == ("/v1/convai/agents", ["1"], key)


def test_it_tells_an_invalid_elevenlabs_key_from_a_permission_limited_one(provider_sandbox):
    limited = provider_sandbox.elevenlabs.create_key(permissions=("user_read",))
    with pytest.raises(ProviderError) as missing:
        elevenlabs.validate(limited)
    with pytest.raises(ProviderError) as invalid:
        elevenlabs.validate("sk_" + "0" * 48)
    assert (missing.value.permanent, missing.value.code) == (True, "missing_permissions")
    assert "convai_read" in missing.value.message
    assert (invalid.value.permanent, invalid.value.code) == (True, "invalid_api_key")
    assert_no_secret(missing.value, limited)


def test_it_never_uses_the_elevenlabs_environment_key_for_a_blank_one(provider_sandbox, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", provider_sandbox.elevenlabs.create_key())
    with pytest.raises(ProviderError) as info:
        elevenlabs.validate("")
    assert info.value.code == "missing_credentials"
    assert provider_sandbox.requests("elevenlabs") == []


def test_it_does_not_retry_elevenlabs_on_429_and_says_transient(provider_sandbox):
    key = provider_sandbox.elevenlabs.create_key()
    body = {"detail": {"status": "too_many_concurrent_requests", "message": "Too many concurrent requests"}}
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents$", status=429, body=body)
    with pytest.raises(ProviderError) as info:
        elevenlabs.validate(key)
    assert (info.value.permanent, info.value.code, info.value.status) == (False, "rate_limited", 429)
    assert "Too many concurrent requests" in info.value.message
    assert len(provider_sandbox.requests("elevenlabs")) == 1


def test_it_reports_elevenlabs_down_or_slow_as_transient(provider_sandbox, settings, dead_url):
    key = provider_sandbox.elevenlabs.create_key()
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents$", latency=SLOW)
    with pytest.raises(ProviderError) as slow:
        elevenlabs.validate(key)
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "elevenlabs": dead_url}
    with pytest.raises(ProviderError) as down:
        elevenlabs.validate(key)
    assert (slow.value.permanent, slow.value.code) == (False, "timeout")
    assert (down.value.permanent, down.value.code) == (False, "unreachable")


# --- GoHighLevel -------------------------------------------------------------------------------


def test_it_validates_a_ghl_token_by_reading_its_location(provider_sandbox):
    location = provider_sandbox.ghl.create_location(name="Acme", timezone="America/New_York")
    assert ghl.validate(location["token"], location["location_id"]) == {"name": "Acme", "timezone": "America/New_York"}
    [recorded] = provider_sandbox.requests("ghl")
    assert recorded.headers["version"] == "2021-07-28"
    assert recorded.headers["authorization"] == f"Bearer {location['token']}"
    assert recorded.identity == location["token"]


def test_it_refuses_a_bad_ghl_token_or_one_for_another_location(provider_sandbox):
    mine = provider_sandbox.ghl.create_location()
    theirs = provider_sandbox.ghl.create_location()
    with pytest.raises(ProviderError) as bad:
        ghl.validate("pit-not-a-token", mine["location_id"])
    with pytest.raises(ProviderError) as foreign:
        ghl.validate(mine["token"], theirs["location_id"])
    assert (bad.value.permanent, bad.value.code, bad.value.status) == (True, "invalid_credentials", 401)
    assert (foreign.value.permanent, foreign.value.code, foreign.value.status) == (True, "permission_denied", 403)
    assert_no_secret(foreign.value, mine["token"])


def test_it_tells_a_ghl_burst_limit_from_the_daily_limit(provider_sandbox):
    burst = provider_sandbox.ghl.create_location(burst_limit=1)
    daily = provider_sandbox.ghl.create_location(daily_limit=1)
    for location in (burst, daily):
        ghl.validate(location["token"], location["location_id"])
    with pytest.raises(ProviderError) as burst_error:
        ghl.validate(burst["token"], burst["location_id"])
    with pytest.raises(ProviderError) as daily_error:
        ghl.validate(daily["token"], daily["location_id"])
    assert (burst_error.value.permanent, burst_error.value.code) == (False, "rate_limited")
    assert (daily_error.value.permanent, daily_error.value.code) == (False, "daily_limit")


def test_it_reports_ghl_down_or_slow_as_transient(provider_sandbox, settings, dead_url):
    location = provider_sandbox.ghl.create_location()
    provider_sandbox.inject_fault("ghl", r"^/locations/", latency=SLOW)
    with pytest.raises(ProviderError) as slow:
        ghl.validate(location["token"], location["location_id"])
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "ghl": dead_url}
    with pytest.raises(ProviderError) as down:
        ghl.validate(location["token"], location["location_id"])
    assert (slow.value.code, down.value.code) == ("timeout", "unreachable")
    assert not slow.value.permanent and not down.value.permanent


def test_it_writes_ghl_contacts_notes_and_tags(provider_sandbox):
    location = provider_sandbox.ghl.create_location()
    client = ghl.GhlClient(location["token"], location["location_id"])
    contact = client.upsert_contact(phone="+14155550100", firstName="Ann")["contact"]
    assert client.add_note(contact["id"], "Booked a demo")["body"] == "Booked a demo"
    assert client.add_tags(contact["id"], ["prix:booked"]) == ["prix:booked"]
    assert client.search_contacts(query="ann")["total"] == 1


# --- Cal.com -----------------------------------------------------------------------------------


def test_it_validates_a_calcom_key_and_lists_its_event_types(provider_sandbox):
    user = provider_sandbox.calcom.create_user(username="acme", time_zone="America/New_York")
    assert calcom.validate(user["api_key"]) == {
        "username": "acme",
        "email": "acme@example.com",
        "time_zone": "America/New_York",
    }
    [event] = calcom.list_event_types(user["api_key"])
    assert event == {"id": user["event_types"][0]["id"], "slug": "30min", "title": "30 Minute Meeting", "length": 30}
    me, types = provider_sandbox.requests("calcom")
    assert "cal-api-version" not in me.headers
    assert types.headers["cal-api-version"] == "2024-06-14"
    assert {me.identity, types.identity} == {user["api_key"]}


def test_it_refuses_a_bad_calcom_key_permanently(provider_sandbox):
    with pytest.raises(ProviderError) as info:
        calcom.validate("cal_wrong_key_000000")
    assert (info.value.permanent, info.value.code, info.value.message) == (
        True,
        "invalid_credentials",
        "Cal.com rejected the request (401): Invalid API Key",
    )


def test_it_reports_calcom_errors_slowness_and_rate_limits_as_transient(provider_sandbox):
    user = provider_sandbox.calcom.create_user()
    provider_sandbox.inject_fault("calcom", r"/me$", status=502, count=1)
    provider_sandbox.inject_fault("calcom", r"/event-types$", status=429, count=1)
    with pytest.raises(ProviderError) as failing:
        calcom.validate(user["api_key"])
    with pytest.raises(ProviderError) as limited:
        calcom.list_event_types(user["api_key"])
    provider_sandbox.inject_fault("calcom", r"/me$", latency=SLOW)
    with pytest.raises(ProviderError) as slow:
        calcom.validate(user["api_key"])
    assert [(e.value.permanent, e.value.code) for e in (failing, limited, slow)] == [
        (False, "provider_error"),
        (False, "rate_limited"),
        (False, "timeout"),
    ]


def test_it_books_through_calcom_with_the_bookings_version(provider_sandbox):
    user = provider_sandbox.calcom.create_user(time_zone="UTC")
    client = calcom.CalcomClient(user["api_key"])
    event_id = user["event_types"][0]["id"]
    slots = client.slots(event_type_id=event_id, start="2030-01-07", end="2030-01-07")
    start = slots["2030-01-07"][0]["start"]
    booking = client.create_booking(
        event_type_id=event_id, start_utc=start, attendee={"name": "Ann", "email": "a@example.com", "timeZone": "UTC"}
    )
    assert booking["status"] == "accepted"
    with pytest.raises(ProviderError) as taken:
        client.create_booking(
            event_type_id=event_id,
            start_utc=start,
            attendee={"name": "Bo", "email": "b@example.com", "timeZone": "UTC"},
        )
    assert (taken.value.permanent, taken.value.status) == (True, 400)
    assert client.cancel_booking(booking["uid"], "changed plans")["status"] == "cancelled"
    versions = {r.path: r.headers.get("cal-api-version") for r in provider_sandbox.requests("calcom")}
    assert versions["/v2/slots"] == "2024-09-04" and versions["/v2/bookings"] == "2024-08-13"


# --- PayPal ------------------------------------------------------------------------------------


def test_it_validates_paypal_app_credentials(provider_sandbox):
    app = provider_sandbox.paypal.create_app()
    info = paypal.validate(app["client_id"], app["secret"])
    assert info["app_id"].startswith("APP-") and info["scope_count"] == 4
    assert provider_sandbox.requests("paypal")[0].identity == app["client_id"]


def test_it_refuses_a_wrong_paypal_secret_without_repeating_it(provider_sandbox):
    app = provider_sandbox.paypal.create_app()
    with pytest.raises(ProviderError) as info:
        paypal.validate(app["client_id"], "wrong-secret-value")
    assert (info.value.permanent, info.value.code) == (True, "invalid_credentials")
    assert "Client Authentication failed" in info.value.message
    assert_no_secret(info.value, "wrong-secret-value", app["secret"])


def test_it_sends_paypal_posts_with_a_request_id(provider_sandbox):
    app = provider_sandbox.paypal.create_app()
    client = paypal.PaypalClient(app["client_id"], app["secret"])
    product = client.api("POST", "/v1/catalogs/products", json={"name": "PrixAgent", "type": "SERVICE"})
    assert product["id"].startswith("PROD-")
    assert provider_sandbox.requests("paypal")[-1].headers["paypal-request-id"]
    client.api("POST", "/v1/catalogs/products", json={"name": "Second", "type": "SERVICE"})
    assert len([r for r in provider_sandbox.requests("paypal") if r.path == "/v1/oauth2/token"]) == 1  # token reused


def test_it_uses_the_paypal_url_of_the_configured_mode_when_no_base_url_is_set(settings):
    settings.PROVIDER_BASE_URLS = {"paypal": ""}
    settings.PAYPAL_MODE = "live"
    assert paypal.PaypalClient("id", "secret").root == "https://api-m.paypal.com"
    settings.PAYPAL_MODE = "sandbox"
    assert paypal.PaypalClient("id", "secret").root == "https://api-m.sandbox.paypal.com"


# --- Tenants -----------------------------------------------------------------------------------


def test_it_uses_each_tenants_own_credentials_for_each_call(provider_sandbox):
    alice = {
        "twilio": provider_sandbox.twilio.create_account(),
        "ghl": provider_sandbox.ghl.create_location(name="Alice Co"),
        "calcom": provider_sandbox.calcom.create_user(username="alice"),
        "elevenlabs": provider_sandbox.elevenlabs.create_key(),
    }
    charlie = {
        "twilio": provider_sandbox.twilio.create_account(),
        "ghl": provider_sandbox.ghl.create_location(name="Charlie Ltd"),
        "calcom": provider_sandbox.calcom.create_user(username="charlie"),
        "elevenlabs": provider_sandbox.elevenlabs.create_key(),
    }
    for tenant in (alice, charlie, alice):
        twilio.validate(tenant["twilio"]["account_sid"], tenant["twilio"]["auth_token"])
        ghl.validate(tenant["ghl"]["token"], tenant["ghl"]["location_id"])
        calcom.validate(tenant["calcom"]["api_key"])
        elevenlabs.validate(tenant["elevenlabs"])
    order = (alice, charlie, alice)
    assert [r.identity for r in provider_sandbox.requests("twilio")] == [t["twilio"]["account_sid"] for t in order]
    assert [r.identity for r in provider_sandbox.requests("ghl")] == [t["ghl"]["token"] for t in order]
    assert [r.identity for r in provider_sandbox.requests("calcom")] == [t["calcom"]["api_key"] for t in order]
    assert [r.identity for r in provider_sandbox.requests("elevenlabs")] == [t["elevenlabs"] for t in order]
