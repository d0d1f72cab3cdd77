"""Request ids on every log line, and secrets scrubbed from every log line."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from django.http import HttpRequest, HttpResponse

from prixagent.redaction import redact

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives each request an id (or keeps a sane `X-Request-ID`) and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RedactSecretsFilter(logging.Filter):
    """Renders the message, scrubs it, and freezes the result on the record.

    Exception text is scrubbed too, because a provider error can echo a credential back.
    Newlines in the message are escaped so user input cannot forge extra log lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage()).replace("\r", "\\r").replace("\n", "\\n")
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class LazyRotatingFileHandler(RotatingFileHandler):
    """A rotating file handler that creates `LOG_FILE_PATH` if it does not exist yet."""

    def __init__(self, filename: str, *args: object, **kwargs: object) -> None:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(filename, *args, **kwargs)  # type: ignore[arg-type]
