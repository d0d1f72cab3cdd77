"""The API's default pagination: DRF's limit/offset, without the COUNT query when the page
itself tells the total.

A first page that comes back shorter than the limit holds every row, so its length is the
count; most tenant lists (users, integrations, a new account's contacts) fit in one page, and
the COUNT was a second database round trip on every request. Other pages count as usual.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class CountSavingLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 200

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: APIView | None = None) -> Any:
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        page = list(queryset[self.offset : self.offset + self.limit])
        if self.offset == 0 and len(page) < self.limit:
            self.count = len(page)
        else:
            self.count = self.get_count(queryset)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return page
