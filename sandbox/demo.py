"""Fixed demo credentials for `manage.py provider_sandbox --demo` (listed in the README).

Deterministic on purpose: a new user pastes them into the dashboard's connect forms and every
integration connects offline. They are only ever valid against the local sandbox.
"""

from __future__ import annotations

from typing import Any

from sandbox.sandbox import ProviderSandbox

TWILIO = {"account_sid": "AC00000000000000000000000000000001", "auth_token": "0123456789abcdef0123456789abcdef"}
TWILIO_NUMBERS = ["+15005550006", "+15005550007"]
TWILIO_TRIAL = {"account_sid": "AC00000000000000000000000000000002", "auth_token": "fedcba9876543210fedcba9876543210"}
GHL = {"location_id": "DemoLocation00000001", "token": "pit-demo0000-0000-0000-000000000001"}
ELEVENLABS_KEY = "sk_demo_convai_0000000000000000000000000001"
ELEVENLABS_KEY_NO_CONVAI = "sk_demo_userread_000000000000000000000000002"
ELEVENLABS_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"  # a premade voice, for ELEVENLABS_VOICE_ID
CALCOM = {"api_key": "cal_demo_00000000000000000000000001", "username": "demo"}
PAYPAL = {"client_id": "demo-paypal-client-id-0001", "secret": "demo-paypal-secret-0001"}
PAYPAL_WEBHOOK_ID = "DEMOWEBHOOK0000000000001"  # for PAYPAL_WEBHOOK_ID


def load_demo(sandbox: ProviderSandbox) -> dict[str, dict[str, Any]]:
    """Create the demo accounts in `sandbox`; returns what was created, by provider."""
    sandbox.twilio.create_account(numbers=TWILIO_NUMBERS, friendly_name="Demo Co", **TWILIO)
    sandbox.twilio.create_account(trial=True, numbers=["+15005550008"], friendly_name="Demo Trial", **TWILIO_TRIAL)
    sandbox.ghl.create_location("Demo Co", "America/New_York", **GHL)
    sandbox.elevenlabs.create_key(api_key=ELEVENLABS_KEY, workspace="ws_demo")
    sandbox.elevenlabs.create_key(("user_read",), api_key=ELEVENLABS_KEY_NO_CONVAI, workspace="ws_demo")
    calcom = sandbox.calcom.create_user(
        CALCOM["username"],
        "America/New_York",
        api_key=CALCOM["api_key"],
        event_types=[
            {"slug": "30min", "title": "30 Minute Meeting", "lengthInMinutes": 30},
            {"slug": "15min", "title": "15 Minute Call", "lengthInMinutes": 15},
        ],
    )
    sandbox.paypal.create_app(**PAYPAL)
    # Subscription and sale events go to the local API's webhook, signed like PayPal's.
    sandbox.paypal.register_webhook(PAYPAL["client_id"], _webhook_url(), webhook_id=PAYPAL_WEBHOOK_ID)
    sandbox.paypal.set_delivery(True)
    return {
        "twilio": {**TWILIO, "numbers": TWILIO_NUMBERS},
        "twilio (trial)": TWILIO_TRIAL,
        "ghl": GHL,
        "elevenlabs": {
            "api_key": ELEVENLABS_KEY,
            "api_key without convai_read": ELEVENLABS_KEY_NO_CONVAI,
            "voice_id (for ELEVENLABS_VOICE_ID)": ELEVENLABS_VOICE_ID,
        },
        "calcom": {"api_key": CALCOM["api_key"], "event_types": ", ".join(e["slug"] for e in calcom["event_types"])},
        "paypal": {**PAYPAL, "webhook_id": PAYPAL_WEBHOOK_ID, "webhook_url": _webhook_url()},
    }


def _webhook_url() -> str:
    from prixagent.public_urls import public_url

    return public_url("/webhooks/paypal/")
