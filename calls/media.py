"""`GET /webhooks/audio/<token>/`: a voicemail message's audio, for Twilio's `<Play>`.

Twilio has no login, so the URL itself is the permission: a token signed with SECRET_KEY that
names the audio and expires after an hour (`calls.links`). Nothing else is reachable with it;
a missing, forged or expired token answers 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View

from calls.links import audio_from_token
from calls.models import CallAudio
from prixagent.errors import error_body


class SignedAudioView(View):
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        audio_id = audio_from_token(token)
        audio = CallAudio.objects.filter(pk=audio_id).first() if audio_id else None
        if audio is None:
            # Answered here, not raised: an Http404 raised on /webhooks/ becomes a 500 in
            # prixagent.errors.ApiErrorMiddleware.
            return JsonResponse(error_body("not_found", "Not found."), status=404)
        response = HttpResponse(bytes(audio.audio), content_type=audio.content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response
