"""The API principal (user + account) is kept per process and checked against a version in
Redis: a repeated request costs no query, and every way of changing a user or an account makes
the next request see the change — in this process and in others."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts import principal
from accounts.models import Account, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh() -> None:
    principal._kept.clear()


def test_a_repeated_request_does_not_load_the_user_again(alice_api, django_assert_max_num_queries):
    assert alice_api.get("/api/v1/me/").status_code == 200
    with django_assert_max_num_queries(0):
        response = alice_api.get("/api/v1/me/")
    assert response.json()["account"]["name"] == "Alice Co"


@pytest.mark.parametrize(
    "change",
    [
        lambda u: User.objects.filter(pk=u.pk).update(is_active=False),
        lambda u: (setattr(u, "is_active", False), u.save()),
        lambda u: u.delete(),
        lambda u: User.objects.filter(pk=u.pk).delete(),
    ],
    ids=["queryset update", "save", "delete", "queryset delete"],
)
def test_a_deactivated_or_deleted_user_is_refused_at_once(alice, alice_api, change):
    assert alice_api.get("/api/v1/me/").status_code == 200
    change(alice)
    assert alice_api.get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize(
    "suspend",
    [
        lambda a: Account.objects.filter(pk=a.pk).update(status=Account.Status.SUSPENDED),
        lambda a: (setattr(a, "status", Account.Status.SUSPENDED), a.save(update_fields=["status"])),
    ],
    ids=["queryset update", "save"],
)
def test_a_suspended_account_is_seen_at_once(alice, alice_api, suspend):
    assert alice_api.get("/api/v1/integrations/").status_code == 200
    suspend(alice.account)
    response = alice_api.get("/api/v1/integrations/")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "account_inactive")


def test_a_version_bumped_elsewhere_discards_the_kept_row(alice, alice_api):
    alice_api.get("/api/v1/me/")
    kept = principal._kept[str(alice.pk)]
    # Simulate another process's change: the database row and the Redis version move, the
    # local copy does not.
    User.objects.filter(pk=alice.pk).update(name="Elsewhere")
    principal._kept[str(alice.pk)] = kept  # put the stale copy back, as another process would hold it
    assert alice_api.get("/api/v1/me/").json()["name"] == "Elsewhere"


def test_without_redis_nothing_is_trusted(alice, alice_api, monkeypatch, django_assert_max_num_queries):
    alice_api.get("/api/v1/me/")
    monkeypatch.setattr(principal, "_client", redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0)))
    monkeypatch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/0")
    assert principal._version(str(alice.pk)) is None
    User.objects.filter(pk=alice.pk).update(name="Fresh")  # the bump cannot reach Redis
    user = principal.principal_get(alice.pk)
    assert user.name == "Fresh"  # loaded from the database, not the kept row


def test_secrets_stay_sealed_in_the_kept_rows(alice, alice_api):
    account = alice.account
    account.twilio_auth_token = "0123456789abcdef0123456789abcdef"
    account.save(update_fields=["twilio_auth_token"])
    alice_api.get("/api/v1/me/")
    kept = principal._kept[str(alice.pk)]
    assert "0123456789abcdef0123456789abcdef" not in repr(kept)
