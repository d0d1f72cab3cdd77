"""The usage page: minutes this month against the plan, a per-day chart drawn here (SVG, no
script, no CDN, nothing the strict CSP would block), the plan and the renewal date."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from billing import usage
from tests.billing.conftest import fresh, login

pytestmark = pytest.mark.django_db


def test_minutes_against_the_plan_and_a_bar_per_day(plans, alice):
    now = datetime.now(UTC)
    account = fresh(alice.account)
    for day, seconds in ((1, 600), (1, 61), (2, 1800)):
        usage.usage_record_call(account=account, call_id=uuid.uuid4(), seconds=seconds, ended_at=now.replace(day=day))
    html = login(alice).get("/app/billing/").content.decode()
    assert "<strong>42</strong> of 60 minutes" in html  # 10 + 2 + 30, each call rounded up
    assert '<progress class="billing-meter" max="100" value="70">' in html
    bars = re.findall(r'<rect class="billing-chart__bar"[^>]*><title>(\d+): (\d+) min</title>', html)
    assert bars[:3] == [("1", "12"), ("2", "30"), ("3", "0")]
    assert len(bars) == len({d for d, _m in bars}) >= 28
    heights = re.findall(r'<rect class="billing-chart__bar" x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"', html)
    assert float(heights[1]) > float(heights[0]) > float(heights[2]) == 0.0
    assert " style=" not in html and "<script>" not in html and "https://" not in html


def test_the_page_in_spanish(plans, alice):
    alice.language = "es"
    alice.save()
    client = login(alice)
    html = client.get("/app/billing/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Facturación" in html and "Minutos por día este mes" in html


def test_used_up_without_overage_says_new_calls_are_stopped(plans, alice):
    usage.usage_record_call(
        account=fresh(alice.account), call_id=uuid.uuid4(), seconds=3600, ended_at=datetime.now(UTC)
    )
    html = login(alice).get("/app/billing/").content.decode()
    assert "new calls are stopped until next month" in html
