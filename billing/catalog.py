"""Mirror the operator's plans to PayPal: one catalog product, one billing plan per paid plan.

Safe to run again: a plan whose name, description, price and failure threshold are what was last
sent is not sent again; a changed one is patched in place (a new price applies to existing
subscribers from their next cycle, as PayPal does); a changed currency or trial length cannot be
patched at PayPal, so the plan gets a new PayPal plan (current subscribers keep the old one).
Creates carry a `PayPal-Request-Id` derived from the plan's content, so a run interrupted between
PayPal's answer and our save creates nothing twice when it is run again (PayPal keeps ids 72 h).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import Plan
from billing.services import ID_NAMESPACE
from integrations.providers import paypal

logger = logging.getLogger(__name__)
PRODUCT_NAME = "PrixAgent"


def _fingerprint(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "description": plan.description,
        "price": f"{plan.monthly_price:.2f}",
        "currency": plan.currency.upper(),
        "trial_days": plan.trial_days,
        "threshold": plan.payment_failure_threshold,
    }


def _request_id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(str(p) for p in (settings.PAYPAL_CLIENT_ID, *parts))))


def _plan_body(plan: Plan, product_id: str) -> dict[str, Any]:
    price = {"fixed_price": {"value": f"{plan.monthly_price:.2f}", "currency_code": plan.currency.upper()}}
    regular = {
        "frequency": {"interval_unit": "MONTH", "interval_count": 1},
        "tenure_type": "REGULAR",
        "sequence": 2 if plan.trial_days else 1,
        "total_cycles": 0,
        "pricing_scheme": price,
    }
    cycles = [regular]
    if plan.trial_days:
        trial = {
            "frequency": {"interval_unit": "DAY", "interval_count": plan.trial_days},
            "tenure_type": "TRIAL",
            "sequence": 1,
            "total_cycles": 1,
            "pricing_scheme": {"fixed_price": {"value": "0", "currency_code": plan.currency.upper()}},
        }
        cycles = [trial, regular]
    return {
        "product_id": product_id,
        "name": plan.name,
        "description": plan.description or plan.name,
        "status": "ACTIVE",
        "billing_cycles": cycles,
        "payment_preferences": {
            "auto_bill_outstanding": True,
            "setup_fee_failure_action": "CONTINUE",
            "payment_failure_threshold": plan.payment_failure_threshold,
        },
    }


def product_ensure() -> str:
    existing = Plan.objects.exclude(paypal_product_id="").values_list("paypal_product_id", flat=True).first()
    if existing:
        return existing
    product = paypal.product_create(
        name=PRODUCT_NAME, description="AI voice agents on the phone", request_id=_request_id("product")
    )
    return str(product["id"])


def plans_sync_paypal(*, report: Callable[[str], None] = lambda line: None) -> dict[str, int]:
    """Create or update the PayPal product and plans. Returns counts by outcome."""
    counts = {"created": 0, "updated": 0, "unchanged": 0, "free": 0}
    paid = list(Plan.objects.filter(monthly_price__gt=0).order_by("sort_order", "id"))
    for plan in Plan.objects.filter(monthly_price__lte=0):
        counts["free"] += 1
        report(f"{plan.code}: free, no PayPal plan")
    if not paid:
        return counts
    product_id = product_ensure()
    for plan in paid:
        outcome = _sync_one(plan, product_id)
        counts[outcome] += 1
        report(f"{plan.code}: {outcome} ({plan.paypal_plan_id})")
    return counts


def _sync_one(plan: Plan, product_id: str) -> str:
    wanted = _fingerprint(plan)
    sent = plan.paypal_fingerprint or {}
    if plan.paypal_plan_id and sent == wanted:
        return "unchanged"
    replace = (
        not plan.paypal_plan_id
        or sent.get("currency") != wanted["currency"]
        or (sent.get("trial_days") != wanted["trial_days"])
    )
    if replace:
        body = _plan_body(plan, product_id)
        created = paypal.plan_create(body=body, request_id=_request_id("plan", plan.code, *wanted.values()))
        plan.paypal_plan_id = str(created["id"])
        outcome = "created"
    else:
        sequence = 2 if plan.trial_days else 1
        price = {"fixed_price": {"value": wanted["price"], "currency_code": wanted["currency"]}}
        paypal.plan_update(
            plan_id=plan.paypal_plan_id,
            name=plan.name,
            description=plan.description or plan.name,
            threshold=plan.payment_failure_threshold,
            price={"pricing_schemes": [{"billing_cycle_sequence": sequence, "pricing_scheme": price}]},
        )
        outcome = "updated"
    with transaction.atomic():
        Plan.objects.filter(pk=plan.pk).update(
            paypal_plan_id=plan.paypal_plan_id,
            paypal_product_id=product_id,
            paypal_fingerprint=wanted,
            paypal_synced_at=timezone.now(),
        )
    plan.paypal_product_id, plan.paypal_fingerprint = product_id, wanted
    logger.info("PayPal plan %s %s for %s", plan.paypal_plan_id, outcome, plan.code)
    return outcome
