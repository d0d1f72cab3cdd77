"""`/webhooks/…` routes of the calls app (included from prixagent.urls)."""

from __future__ import annotations

from django.urls import path

from calls import media, webhooks

urlpatterns = [
    path("twilio/calls/<uuid:call_id>/voice/", webhooks.TwilioVoiceWebhook.as_view(), name="calls-twilio-voice"),
    path("twilio/calls/<uuid:call_id>/status/", webhooks.TwilioStatusWebhook.as_view(), name="calls-twilio-status"),
    path("twilio/calls/<uuid:call_id>/amd/", webhooks.TwilioAmdWebhook.as_view(), name="calls-twilio-amd"),
    path(
        "twilio/inbound/<str:inbound_id>/voice/",
        webhooks.TwilioInboundVoiceWebhook.as_view(),
        name="calls-twilio-inbound-voice",
    ),
    path(
        "twilio/inbound/<str:inbound_id>/status/",
        webhooks.TwilioInboundStatusWebhook.as_view(),
        name="calls-twilio-inbound-status",
    ),
    path("elevenlabs/<str:public_id>/", webhooks.ElevenLabsPostCallWebhook.as_view(), name="calls-elevenlabs-webhook"),
    path("audio/<str:token>/", media.SignedAudioView.as_view(), name="calls-voicemail-audio"),
]
