"""A Celery task that does nothing, for bench/campaigns_dialer.py's yardstick: the throughput of
the broker and the workers alone (workers load it with `-I _campaigns_noop`). Not a benchmark
(bench/run.py skips files starting with "_")."""

from __future__ import annotations

from celery import shared_task

NAME = "bench.campaigns.noop"


@shared_task(name=NAME, ignore_result=True)
def noop() -> None:
    return None
