"""Limit/offset pagination answers the same counts and links as DRF's, and skips the COUNT query
when the first page already holds every row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def _get(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    return response.json(), counts


def test_a_first_page_shorter_than_the_limit_needs_no_count(alice_api, bob, dave):
    body, counts = _get(alice_api, "/api/v1/account/users/")
    assert body["count"] == 3
    assert len(body["results"]) == 3
    assert body["next"] is None
    assert counts == []


def test_a_full_page_counts_and_links_the_next(alice_api, bob, dave):
    body, counts = _get(alice_api, "/api/v1/account/users/?limit=2")
    assert (body["count"], len(body["results"])) == (3, 2)
    assert "offset=2" in body["next"]
    assert len(counts) == 1
    body, counts = _get(alice_api, "/api/v1/account/users/?limit=2&offset=2")
    assert (body["count"], len(body["results"]), body["next"]) == (3, 1, None)
    assert len(counts) == 1  # a later page cannot know what came before it


def test_an_offset_past_the_end_is_an_empty_page_with_the_real_count(alice_api, bob):
    body, _counts = _get(alice_api, "/api/v1/account/users/?offset=10")
    assert (body["count"], body["results"]) == (2, [])


def test_the_limit_is_capped(alice_api, alice):
    from integrations.models import IntegrationEvent

    IntegrationEvent.objects.bulk_create(
        IntegrationEvent(account=alice.account, actor_label="system", provider="twilio", action="test", outcome="ok")
        for _ in range(250)
    )
    body, _counts = _get(alice_api, "/api/v1/integrations/events/?limit=100000")
    assert (body["count"], len(body["results"])) == (250, 200)
