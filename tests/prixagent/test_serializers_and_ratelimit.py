"""The speed-ups of the API stack change no output: cached serializer fields, the hand-written
event rendering, and the fixed-window rate limit counter."""

from __future__ import annotations

from django.core.cache import caches
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import User
from accounts.serializers import AccountSerializer, MeSerializer, UserSerializer
from integrations.audit import integration_event_record
from integrations.serializers import IntegrationEventSerializer
from prixagent import ratelimit


def plain(serializer_class: type[serializers.ModelSerializer]) -> type[serializers.ModelSerializer]:
    """The same serializer with DRF's own field building (no prototype cache)."""
    return type(
        f"Plain{serializer_class.__name__}", (serializer_class,), {"get_fields": serializers.ModelSerializer.get_fields}
    )


def test_cached_fields_render_exactly_like_drf(alice: User, bob: User) -> None:
    for serializer_class, instance in (
        (MeSerializer, alice),
        (UserSerializer, bob),
        (AccountSerializer, alice.account),
    ):
        assert serializer_class(instance).data == plain(serializer_class)(instance).data
        assert serializer_class(instance).data == serializer_class(instance).data  # the cached copy, again


def test_each_serializer_instance_gets_its_own_bound_fields(alice: User, bob: User) -> None:
    first, second = MeSerializer(alice), MeSerializer(bob)
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert first.fields["account"].fields["integrations"].parent is first.fields["account"]
    assert first.data["email"] == "alice@example.com" and second.data["email"] == "bob@example.com"


def test_event_rendering_matches_the_field_by_field_rendering(alice: User) -> None:
    event = integration_event_record(
        account=alice.account, provider="ghl", actor=alice, action="test", outcome="failed", message="nope"
    )
    fast = IntegrationEventSerializer(event).data
    assert fast == serializers.ModelSerializer.to_representation(IntegrationEventSerializer(event), event)
    assert fast["created_at"].endswith("Z") and fast["actor"] == "alice@example.com"


def test_the_rate_limit_counts_one_window_with_an_expiry(db: None, settings: object) -> None:
    counts = [ratelimit.hit("bench-test-key", 60) for _ in range(3)]
    assert [c for c, _ttl in counts] == [1, 2, 3]
    assert all(0 < ttl <= 60 for _c, ttl in counts)
    full_key = caches["default"].make_and_validate_key("bench-test-key")
    assert 0 < ratelimit._redis().ttl(full_key) <= 60  # never a counter without an expiry
    ratelimit._redis().delete(full_key)
    assert ratelimit.hit("bench-test-key", 60)[0] == 1  # a new window


def test_the_throttle_answers_429_with_the_windows_remaining_seconds(alice_api: APIClient, settings: object) -> None:
    settings.RATE_LIMIT_MAX_REQUESTS = 2
    settings.RATE_LIMIT_WINDOW_SECONDS = 120
    codes = [alice_api.get("/api/v1/me/") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert 0 < int(codes[-1]["Retry-After"]) <= 120
