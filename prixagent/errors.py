"""One error shape for the whole API, and the application's own error type.

Every API error body is ``{"error": {"code", "message", "fields", "request_id"}}``;
`fields` maps a field name to its messages (validation errors only). Services raise
`ApplicationError`; views never build error responses by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from prixagent.logging import request_id_var

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A failure the caller can act on: bad input, a refused action, a provider problem."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code

    def add_to_form(self, form: Any) -> None:
        """Show this error on a dashboard form: field messages next to their inputs."""
        for name, messages in self.fields.items():
            for text in messages:
                form.add_error(name if name in form.fields else None, text)
        if not self.fields:
            form.add_error(None, self.message)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": fields or {},
            "request_id": request_id_var.get(),
        }
    }


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(m) for m in (value if isinstance(value, list) else [value])]
            if not isinstance(value, dict)
            else [str(v) for vs in _flatten(value).values() for v in vs]
            for key, value in detail.items()
        }
    messages = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(m) for m in messages]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 answers with the generic shape
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        body = error_body("invalid", "Some fields are invalid.", fields)
    else:
        detail = getattr(exc, "detail", "")
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
        body = error_body(str(code), str(detail))
    response.data = body
    return response


SERVER_ERROR_MESSAGE = "Something went wrong on our side. Quote the request id."


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
    """handler500: JSON for API paths, the plain error page elsewhere; never a traceback."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


def not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    if request.path.startswith(("/api/", "/webhooks/")):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


class ApiErrorMiddleware:
    """An unexpected exception on an API or webhook path becomes the generic JSON 500.

    Also under DEBUG: API clients (mobile apps, providers calling webhooks) never get
    Django's technical page. The traceback goes to the log, tagged with the request id.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        if not request.path.startswith(("/api/", "/webhooks/")):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
