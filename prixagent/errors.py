"""One error shape for the whole API, and the application's own error type.

Every API error body is ``{"error": {"code", "message", "fields", "request_id"}}``;
`fields` maps a field name to its messages (validation errors only). Services raise
`ApplicationError`; views never build error responses by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import debug
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


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "items.0.name": [...]}: only strings, never
    the repr of a dict or an ErrorDetail."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            for name, messages in _flatten(value, f"{prefix}{key}.").items():
                fields.setdefault(name, []).extend(messages)
        return fields
    name = prefix[:-1] or "non_field_errors"
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {name: [str(item) for item in detail]}
        fields = {}
        for index, item in enumerate(detail):
            child = f"{prefix}{index}." if isinstance(item, dict | list) else prefix
            for key, messages in _flatten(item, child).items():
                fields.setdefault(key, []).extend(messages)
        return fields
    return {name: [str(detail)]}


def _message(detail: Any) -> str:
    """One human sentence out of an exception's detail (simplejwt puts a dict there)."""
    if isinstance(detail, dict):
        return _message(detail.get("detail", next(iter(detail.values()), "")))
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    return str(detail)


def too_large_message() -> str:
    return _("The request body is too large (at most %(size)d bytes).") % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", too_large_message()), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", _("The request could not be read.")), status=400)
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
        body = error_body(str(code), _message(detail))
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

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        api = request.path.startswith(("/api/", "/webhooks/"))
        if isinstance(exception, RequestDataTooBig):
            return _too_large(request)
        if not api:
            return None  # Django's own handling: 400 for SuspiciousOperation, the 500 page otherwise
        if isinstance(exception, SuspiciousOperation):
            return JsonResponse(error_body("bad_request", _("The request could not be read.")), status=400)
        # A plain Django view under /api/ or /webhooks/ (a webhook, a recording proxy) raising
        # Http404 / PermissionDenied means what it says, in the one error shape, not a 500.
        if isinstance(exception, Http404):
            return JsonResponse(error_body("not_found", "Not found."), status=404)
        if isinstance(exception, DjangoPermissionDenied):
            return JsonResponse(error_body("permission_denied", _("You may not do this.")), status=403)
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)


def _too_large(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(("/api/", "/webhooks/")):
        return JsonResponse(error_body("too_large", too_large_message()), status=413)
    return HttpResponse(too_large_message(), status=413, content_type="text/plain; charset=utf-8")


def _bad_query(request: HttpRequest) -> HttpResponse:
    message = _("The query string may not contain NUL characters.")
    if request.path.startswith(("/api/", "/webhooks/")):
        return JsonResponse(error_body("bad_request", message), status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class RequestGuardMiddleware:
    """Refuses, before any view or middleware reads them, requests that could only fail later:

    - a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 (Django would raise RequestDataTooBig
      wherever the body is first read, a CSRF check or a throttle, and answer 400 or 500).
      Multipart bodies are left to Django: their files do not count against the limit.
    - a NUL character in the query string: 400 (PostgreSQL cannot compare text with it).
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.META.get("QUERY_STRING", ""):
            return _bad_query(request)
        if _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE and not request.content_type.startswith(
            "multipart/"
        ):
            return _too_large(request)
        return self.get_response(request)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class SafeExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    """Crash reports hide `sensitive_variables` / `sensitive_post_parameters` also under DEBUG.

    Django's filter is inactive when DEBUG is on, so the technical 500 page of a development
    server (which anyone who can reach it may trigger) would show decrypted credentials held
    in local variables. Here the marking always applies; everything else stays visible.
    """

    def is_active(self, request: HttpRequest | None) -> bool:
        return True
