"""django-csp's middleware, with the policy string built once instead of on every response.

The policy comes from settings alone unless a view adjusts it (csp decorators) or a nonce is
used; django-csp rebuilds the same string twice per response (policy and report-only), which
showed up as a measurable share of a small API request (bench/api_stack.py). Anything other
than the plain case goes through django-csp unchanged.
"""

from __future__ import annotations

from typing import Any

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_built: dict[int, tuple[Any, str]] = {}


def _policy() -> str | None:
    config = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    if (
        not config
        or config.get("EXCLUDE_URL_PREFIXES")
        or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
    ):
        return None
    kept = _built.get(id(config))
    if kept is None or kept[0] is not config:  # settings overridden (tests): build for the new one
        kept = (config, build_policy())
        _built.clear()
        _built[id(config)] = kept
    return kept[1]


class CachedCSPMiddleware(CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        policy = _policy()
        plain = (
            policy
            and getattr(request, "_csp_nonce", None) is None
            and not any(getattr(response, name, None) for name in _PER_RESPONSE)
            and not getattr(response, "_csp_exempt", False)
            and HEADER not in response
            and not (settings.DEBUG and response.status_code in (404, 500))
        )
        if not plain:
            return super().process_response(request, response)
        response[HEADER] = policy
        # As django-csp does: asking for a nonce after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
