"""A call's recording, streamed through the platform with the tenant's Twilio credentials.

The browser only ever sees our URL (`/app/calls/<id>/recording/`, `/api/v1/calls/<id>/recording/`),
reachable only by users of the call's account; the Twilio URL, SID and token stay on the server.
`Range` is passed through, so the audio player can seek.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.debug import sensitive_variables

from calls.errors import CallRefused
from calls.models import Call
from integrations.providers import twilio
from integrations.providers.base import ProviderError
from prixagent.errors import error_body

logger = logging.getLogger(__name__)
CHUNK = 32 * 1024
PASSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges")


@sensitive_variables()
def recording_response(call: Call, *, range_header: str = "") -> HttpResponse:
    """The recording as a streaming response (404 without one; 502/503 when Twilio fails)."""
    from calls.services import twilio_credentials

    if not call.recording_sid:
        return JsonResponse(error_body("not_found", "This call has no recording."), status=404)
    try:
        sid, token = twilio_credentials(call.account)
        upstream = twilio.recording_open(sid, token, call.recording_sid, range_header=range_header)
    except CallRefused as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=409)
    except ProviderError as exc:
        logger.warning("recording of call %s not fetched: %s", call.pk, exc.message)
        status = 404 if exc.code == "not_found" else (502 if exc.permanent else 503)
        return JsonResponse(error_body("recording_unavailable", "Twilio did not give the recording."), status=status)

    def chunks() -> Iterator[bytes]:
        try:
            yield from upstream.iter_content(CHUNK)
        finally:
            upstream.close()

    response = StreamingHttpResponse(chunks(), status=upstream.status_code, content_type="audio/mpeg")
    for name in PASSED_HEADERS:
        if upstream.headers.get(name):
            response[name] = upstream.headers[name]
    response["Content-Disposition"] = f'inline; filename="call-{call.pk}.mp3"'
    response["Cache-Control"] = "private, no-store"
    return response
