"""The API's JSON parser: a body that cannot be stored is refused at the door with a 400.

`json.load` raises RecursionError (not ValueError) on deeply nested input, which DRF's parser
does not catch: an anonymous request could turn it into a 500 with a traceback in the log. And
JSON can carry what PostgreSQL cannot store (`\\u0000`) or UTF-8 cannot encode (lone surrogates
such as `\\ud800`): accepted here, they would fail deep inside a save. So every parsed body is
walked once, iteratively, for its depth and for those characters, in keys and values alike.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any shape the API accepts; far below what json or PostgreSQL would choke on.
MAX_JSON_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON is nested too deeply.")) from None
        check_json(data)
        return data


def check_json(data: Any) -> None:
    """Raise ParseError if `data` is nested deeper than MAX_JSON_DEPTH or holds unstorable text."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise ParseError(_("Text may not contain NUL characters or unpaired surrogates."))
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ParseError(_("JSON is nested too deeply (at most %(depth)d levels).") % {"depth": MAX_JSON_DEPTH})
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        for key, item in items:
            if key is not None:
                stack.append((key, depth))
            stack.append((item, depth + 1))
