"""`GET /webhooks/audio/<token>/`: a voicemail message's audio, for Twilio's `<Play>`.

Twilio has no login, so the URL itself is the permission: a token signed with SECRET_KEY that
names the audio and expires after an hour (`calls.links`). Nothing else is reachable with it.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from calls.links import audio_from_token
from calls.models import CallAudio


@require_GET
def voicemail_audio(request: HttpRequest, token: str) -> HttpResponse:
    audio_id = audio_from_token(token)
    audio = CallAudio.objects.filter(pk=audio_id).first() if audio_id else None
    if audio is None:
        raise Http404
    response = HttpResponse(bytes(audio.audio), content_type=audio.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
