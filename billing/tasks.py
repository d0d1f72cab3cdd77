"""Billing's background work: the nightly reconciliation with PayPal."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from billing.services import billing_reconcile
from prixagent import periodic


@shared_task(name="billing.tasks.billing_reconcile_task", ignore_result=True)
def billing_reconcile_task() -> dict[str, int]:
    return asdict(billing_reconcile())


periodic.register("billing-reconcile", "billing.tasks.billing_reconcile_task", seconds=24 * 3600)
