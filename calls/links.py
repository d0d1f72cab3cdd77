"""The URLs we hand to Twilio and ElevenLabs for a call, built from `API_URL` (never a Host header).

Twilio signs the exact URL it requests; `prixagent.public_urls` rebuilds the same one on the
way in, so these must be the public URLs behind the TLS-terminating proxy.
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from calls.models import Call, CallAudio, CallSettings
from prixagent.public_urls import public_url

AUDIO_SALT = "calls.voicemail-audio"
AUDIO_MAX_AGE = 3600  # seconds; Twilio fetches it within the call


def voice_url(call: Call) -> str:
    return public_url(reverse("calls-twilio-voice", args=[call.pk]))


def status_url(call: Call) -> str:
    return public_url(reverse("calls-twilio-status", args=[call.pk]))


def amd_url(call: Call) -> str:
    return public_url(reverse("calls-twilio-amd", args=[call.pk]))


def inbound_voice_url(settings: CallSettings) -> str:
    return public_url(reverse("calls-twilio-inbound-voice", args=[settings.inbound_id]))


def inbound_status_url(settings: CallSettings) -> str:
    return public_url(reverse("calls-twilio-inbound-status", args=[settings.inbound_id]))


def audio_url(audio: CallAudio) -> str:
    """A signed, expiring URL Twilio can fetch the voicemail audio from (no login: Twilio has none)."""
    token = signing.dumps(str(audio.pk), salt=AUDIO_SALT, compress=True)
    return public_url(reverse("calls-voicemail-audio", args=[token]))


def audio_from_token(token: str) -> str | None:
    try:
        return signing.loads(token, salt=AUDIO_SALT, max_age=AUDIO_MAX_AGE)
    except signing.BadSignature:
        return None
