"""Billing fixtures: the platform's PayPal app in the sandbox, plans, and helpers that play the
buyer (the approval page) and PayPal (signed webhook deliveries)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, User
from billing.catalog import plans_sync_paypal
from billing.models import Plan, Subscription
from sandbox import ProviderSandbox

WEBHOOK_ID = "8PT597110X687430LKGECATA"


@pytest.fixture
def paypal(provider_sandbox: ProviderSandbox, settings: Any) -> Any:
    """The platform's PayPal app and its webhook (what the operator sets up once)."""
    app = provider_sandbox.paypal.create_app()
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET = app["client_id"], app["secret"]
    provider_sandbox.paypal.register_webhook(
        app["client_id"], "http://testserver/webhooks/paypal/", webhook_id=WEBHOOK_ID
    )
    settings.PAYPAL_WEBHOOK_ID = WEBHOOK_ID
    return provider_sandbox.paypal


@pytest.fixture
def plans(db: None) -> dict[str, Plan]:
    trial = Plan.objects.create(
        code="trial",
        name="Trial",
        trial_days=14,
        is_signup_plan=True,
        included_minutes=60,
        concurrent_calls=1,
        agents=1,
        contacts=100,
        campaigns=1,
        sort_order=0,
    )
    starter = Plan.objects.create(
        code="starter",
        name="Starter",
        monthly_price=Decimal("29.00"),
        included_minutes=500,
        concurrent_calls=2,
        agents=3,
        contacts=1000,
        campaigns=2,
        payment_failure_threshold=2,
        sort_order=1,
    )
    pro = Plan.objects.create(
        code="pro",
        name="Pro",
        monthly_price=Decimal("99.00"),
        included_minutes=3000,
        concurrent_calls=10,
        agents=20,
        contacts=50000,
        campaigns=20,
        overage_price_per_minute=Decimal("0.05"),
        sort_order=2,
    )
    return {"trial": trial, "starter": starter, "pro": pro}


@pytest.fixture
def synced(plans: dict[str, Plan], paypal: Any) -> dict[str, Plan]:
    plans_sync_paypal()
    for plan in plans.values():
        plan.refresh_from_db()
    return plans


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def approve(sandbox: ProviderSandbox, approve_url: str, client: Client, *, decision: str = "approve") -> Any:
    """The buyer on PayPal's approval page, then back on our return URL."""
    import requests

    page = requests.get(approve_url, timeout=5)
    assert page.status_code == 200, page.text
    token = re.search(r'name="ba_token" value="([^"]+)"', page.text).group(1)
    root = sandbox.base_urls["paypal"]
    answer = requests.post(
        f"{root}/webapps/billing/subscriptions",
        data={"ba_token": token, "decision": decision},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    back = answer.headers["Location"]
    assert back.startswith("http://testserver/app/billing/")
    return client.get(back.removeprefix("http://testserver"))


def approve_url(response: Any) -> str:
    """The PayPal link on our "Continue to PayPal" page (a page, not a redirect: CSP form-action)."""
    assert response.status_code == 200, response
    url = re.search(r'<a class="btn btn--primary" href="([^"]+)"', response.content.decode()).group(1)
    url = url.replace("&amp;", "&")
    assert "/webapps/billing/subscriptions?ba_token=" in url
    assert f'content="0;url={url}' in response.content.decode().replace("&amp;", "&")
    return url


def subscribe(sandbox: ProviderSandbox, user: User, plan: Plan) -> Subscription:
    client = login(user)
    back = approve(sandbox, approve_url(client.post("/app/billing/subscribe/", {"plan": plan.code})), client)
    assert back.status_code == 302
    return Subscription.objects.get(account=user.account, plan=plan)


def deliver(paypal: Any, deliveries: list[dict[str, Any]] | None = None, client: Client | None = None) -> list[int]:
    """POST PayPal's pending (or the given) signed deliveries to our webhook, as PayPal would."""
    client = client or Client()
    statuses = []
    for delivery in paypal.take_deliveries() if deliveries is None else deliveries:
        statuses.append(post_delivery(client, delivery["headers"], delivery["body"]))
    return statuses


def post_delivery(client: Client, headers: dict[str, str], body: bytes) -> int:
    response = client.post("/webhooks/paypal/", body, content_type="application/json", headers=headers)
    return response.status_code


def fresh(account: Account) -> Account:
    return Account.objects.select_related("billing__plan").get(pk=account.pk)
