"""The grown PayPal sandbox on its own (what the billing tests lean on), and PAYPAL_WEBHOOK_ID."""

from __future__ import annotations

import json

import pytest
import requests

from prixagent.config import ConfigError, load_config
from sandbox.paypal import raw_member


def test_raw_member_returns_the_bytes_as_sent():
    raw = b'{"a": 1,  "webhook_event" :{"id":"WH-1","event_version":"1.0"} , "z": [1]}'
    assert raw_member(raw, "webhook_event") == b'{"id":"WH-1","event_version":"1.0"}'
    assert raw_member(raw, "missing") is None
    assert raw_member(b"not json", "webhook_event") is None
    assert raw_member(b'{"webhook_event": ', "webhook_event") is None


def test_an_unknown_approval_token_is_a_404_page(provider_sandbox):
    root = provider_sandbox.base_urls["paypal"]
    assert requests.get(f"{root}/webapps/billing/subscriptions?ba_token=BA-NOPE", timeout=5).status_code == 404
    posted = requests.post(f"{root}/webapps/billing/subscriptions", data={"ba_token": "BA-NOPE"}, timeout=5)
    assert posted.status_code == 404


def test_a_verification_needs_every_field_and_the_right_app(provider_sandbox):
    app = provider_sandbox.paypal.create_app()
    other = provider_sandbox.paypal.create_app()
    provider_sandbox.paypal.register_webhook(app["client_id"], "http://x/", webhook_id="WEBHOOK1")
    root = provider_sandbox.base_urls["paypal"]
    body = b'{"id":"WH-1","event_type":"X"}'
    headers = provider_sandbox.paypal.sign("WEBHOOK1", body)

    def verify(creds, **overrides):
        token = requests.post(
            f"{root}/v1/oauth2/token", auth=(creds["client_id"], creds["secret"]),
            data={"grant_type": "client_credentials"}, timeout=5,
        ).json()["access_token"]  # fmt: skip
        fields = {
            "auth_algo": headers["PAYPAL-AUTH-ALGO"], "cert_url": headers["PAYPAL-CERT-URL"],
            "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
            "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
            "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"], "webhook_id": "WEBHOOK1", **overrides,
        }  # fmt: skip
        envelope = json.dumps(fields)[:-1].encode() + b', "webhook_event": ' + body + b"}"
        answer = requests.post(
            f"{root}/v1/notifications/verify-webhook-signature", data=envelope,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=5,
        )  # fmt: skip
        return answer.status_code, answer.json().get("verification_status")

    assert verify(app) == (200, "SUCCESS")
    assert verify(other) == (200, "FAILURE")  # another app cannot use our webhook
    assert verify(app, transmission_id="other") == (200, "FAILURE")
    assert verify(app, auth_algo="")[0] == 400
    provider_sandbox.paypal.set_webhook_verification("FAILURE")
    assert verify(app) == (200, "FAILURE")


@pytest.mark.parametrize("value", ["has space", "x", "toolong" * 20, "semi;colon"])
def test_a_malformed_paypal_webhook_id_stops_start_up_with_one_line(value):
    with pytest.raises(ConfigError) as refused:
        load_config({"NODE_ENV": "test", "PAYPAL_WEBHOOK_ID": value})
    assert "PAYPAL_WEBHOOK_ID" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_paypal_webhook_id_is_read():
    assert load_config({"NODE_ENV": "test", "PAYPAL_WEBHOOK_ID": "8PT597110X687430LKGECATA"}).paypal_webhook_id == (
        "8PT597110X687430LKGECATA"
    )


def test_production_billing_needs_the_webhook_id(monkeypatch):
    from tests.prixagent.test_config import production_env  # the platform's valid production .env

    env = {**production_env(), "PAYPAL_CLIENT_ID": "AbC123", "PAYPAL_SECRET": "s" * 20}
    with pytest.raises(ConfigError) as refused:
        load_config(env)
    assert "PAYPAL_WEBHOOK_ID" in str(refused.value)
    assert load_config({**env, "PAYPAL_WEBHOOK_ID": "8PT597110X687430LKGECATA"}).paypal_webhook_id
