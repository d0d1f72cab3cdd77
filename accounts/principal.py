"""Who is calling: the user and their account for an API request, without a database query per
request.

An authenticated API request needs the user (active? password changed? logged out everywhere?)
and their account (suspended?). Loading them costs a query with a join over ~40 columns, which
was half of a small API request's time (bench/api_stack.py). Each process keeps the last rows it
loaded, and a version number per user in Redis says whether they are still current:

- Every change to a user or an account row bumps the versions of the users concerned: `save()`
  and `delete()` through signals, queryset `update()`/`bulk_update()`/`delete()` through
  `PrincipalQuerySet`. The bump happens at once *and* again after the transaction commits, so a
  request that reloads the old row between the change and the commit cannot keep it.
- A request reads the version first (one Redis GET), then uses the kept rows only when their
  version matches; otherwise it loads the rows and keeps them under the version it read.
- Kept rows are the raw column values (secrets stay sealed); every request gets fresh model
  instances, so nothing one request changes leaks into another.
- Without Redis (`make run`, one process), the versions live in the process itself.
- If Redis cannot answer, nothing is kept or trusted: the rows come from the database.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import models, transaction
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

MAX_KEPT = 4096
KEY = "prixagent:principal:{}"

_lock = threading.Lock()
_kept: OrderedDict[str, _Kept] = OrderedDict()
_local_versions: dict[str, int] = {}
_client: redis.Redis | None = None


@dataclass(frozen=True)
class _Kept:
    version: int
    user: tuple[Any, ...]
    account: tuple[Any, ...] | None


def _redis() -> redis.Redis | None:
    global _client
    if not settings.REDIS_URL:
        return None
    if _client is None:
        # Fail fast, no retries: when Redis is slow the database answers instead.
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
    return _client


def _version(user_id: str) -> int | None:
    client = _redis()
    if client is None:
        return _local_versions.get(user_id, 0)
    try:
        return int(client.get(KEY.format(user_id)) or 0)
    except redis.RedisError:
        return None


def _bump(user_ids: list[str]) -> None:
    with _lock:
        for user_id in user_ids:
            _kept.pop(user_id, None)
            _local_versions[user_id] = _local_versions.get(user_id, 0) + 1
    client = _redis()
    if client is None or not user_ids:
        return
    try:
        with client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.incr(KEY.format(user_id))
                pipe.expire(KEY.format(user_id), 7 * 86400)
            pipe.execute()
    except redis.RedisError:
        # Other processes may keep stale rows until Redis answers again; say so loudly.
        logger.error("could not invalidate cached principals %s", user_ids)


def principal_invalidate(user_ids: Iterable[object]) -> None:
    """The rows of these users (or their account) changed: forget them now and after commit."""
    ids = sorted({str(u) for u in user_ids if u})
    if not ids:
        return
    _bump(ids)
    transaction.on_commit(lambda: _bump(ids))


def _columns(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _values(instance: models.Model) -> tuple[Any, ...]:
    # The raw attribute values: encrypted columns stay `Sealed` (no decrypting here).
    return tuple(instance.__dict__.get(name) for name in _columns(type(instance)))


def _instance(model: type[models.Model], values: tuple[Any, ...]) -> models.Model:
    fresh = tuple(copy.deepcopy(v) if isinstance(v, dict | list) else v for v in values)
    return model.from_db("default", _columns(model), fresh)


def principal_get(user_id: object) -> Any:
    """The user (with their account loaded) for `user_id`, or None when there is none."""
    from accounts.models import Account, User

    key = str(user_id)
    version = _version(key)
    kept = _kept.get(key)
    if kept is not None and version is not None and kept.version == version:
        user = _instance(User, kept.user)
        if kept.account is not None:
            User.account.field.set_cached_value(user, _instance(Account, kept.account))
        return user
    user = User.objects.filter(pk=user_id).first()
    if user is not None and version is not None:
        account = user.account if user.account_id else None
        with _lock:
            _kept[key] = _Kept(version, _values(user), _values(account) if account else None)
            _kept.move_to_end(key)
            while len(_kept) > MAX_KEPT:
                _kept.popitem(last=False)
    return user


def users_of_accounts(account_ids: Iterable[object]) -> list[object]:
    from accounts.models import User

    ids = [a for a in account_ids if a]
    if not ids:
        return []
    return list(User.objects.select_related(None).filter(account_id__in=ids).values_list("id", flat=True))


class PrincipalQuerySet(models.QuerySet):
    """Bulk writes of users and accounts invalidate the kept principals they touch."""

    def _affected_users(self) -> list[object]:
        if self.model._meta.model_name == "user":
            return list(self.select_related(None).values_list("id", flat=True))
        return users_of_accounts(self.values_list("id", flat=True))

    def update(self, **kwargs: Any) -> int:
        affected = self._affected_users()
        count = super().update(**kwargs)
        principal_invalidate(affected)
        return count

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        count = super().bulk_update(objs, fields, batch_size=batch_size)
        if self.model._meta.model_name == "user":
            principal_invalidate(o.pk for o in objs)
        else:
            principal_invalidate(users_of_accounts(o.pk for o in objs))
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        affected = self._affected_users()
        result = super().delete()
        principal_invalidate(affected)
        return result


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    principal_invalidate([instance.pk])


def _account_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    principal_invalidate(users_of_accounts([instance.pk]))


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from accounts.models import Account, User

    for signal in (post_save, post_delete):
        signal.connect(_user_changed, sender=User, dispatch_uid=f"principal-user-{signal}")
        signal.connect(_account_changed, sender=Account, dispatch_uid=f"principal-account-{signal}")
