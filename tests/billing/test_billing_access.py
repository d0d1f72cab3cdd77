"""Who may do what on the billing pages, and charlie gets 404 on alice's subscription."""

from __future__ import annotations

import pytest

from billing.models import Payment, Subscription
from tests.billing.conftest import deliver, fresh, login, subscribe

pytestmark = pytest.mark.django_db
ACTIONS = [("/app/billing/subscribe/", {"plan": "pro"}), ("/app/billing/cancel/", {}), ("/app/billing/pay/", {})]


@pytest.fixture
def active(synced, paypal, provider_sandbox, alice):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    deliver(paypal)
    return subscription


def paypal_writes(sandbox):
    return [r for r in sandbox.requests("paypal") if r.method in ("POST", "PATCH") and "/oauth2/" not in r.path]


@pytest.mark.parametrize("persona", ["bob", "dave"])
@pytest.mark.parametrize(("url", "data"), ACTIONS)
def test_only_owners_subscribe_change_cancel_or_pay(active, provider_sandbox, request, persona, url, data):
    user = request.getfixturevalue(persona)
    writes = len(paypal_writes(provider_sandbox))
    assert login(user).post(url, data).status_code == 403
    assert len(paypal_writes(provider_sandbox)) == writes
    active.refresh_from_db()
    assert (active.status, active.plan.code) == ("ACTIVE", "starter")


@pytest.mark.parametrize(
    ("persona", "sees_payments", "sees_buttons"), [("alice", True, True), ("dave", True, False), ("bob", False, False)]
)
def test_everyone_sees_usage_managers_see_payments_owners_get_buttons(
    active, request, persona, sees_payments, sees_buttons
):
    page = login(request.getfixturevalue(persona)).get("/app/billing/")
    html = page.content.decode()
    assert page.status_code == 200 and "Minutes in" in html and "Starter" in html
    assert ("Payment history" in html) is sees_payments
    assert ("Cancel the subscription" in html) is sees_buttons
    assert ("Upgrade with PayPal" in html) is sees_buttons


def test_charlie_gets_404_on_alices_subscription(active, charlie, provider_sandbox):
    reads = len(provider_sandbox.requests("paypal"))
    response = login(charlie).get(f"/app/billing/return/?subscription_id={active.paypal_subscription_id}")
    assert response.status_code == 404
    assert len(provider_sandbox.requests("paypal")) == reads  # not even asked


def test_charlie_sees_and_changes_only_his_own_billing(active, charlie, provider_sandbox):
    page = login(charlie).get("/app/billing/").content.decode()
    assert active.paypal_subscription_id not in page
    assert Payment.objects.get().reference not in page
    # Cancelling or paying as charlie touches no one's subscription (he has none).
    for url, data in ACTIONS[1:]:
        response = login(charlie).post(url, data, follow=True)
        assert response.status_code == 200
    active.refresh_from_db()
    assert active.status == "ACTIVE"
    assert not paypal_writes(provider_sandbox)[-1].path.endswith(("/cancel", "/capture"))


def test_anonymous_visitors_are_sent_to_log_in(db):
    from django.test import Client

    for url in ["/app/billing/", "/app/billing/return/?subscription_id=I-X"]:
        assert Client().get(url)["Location"].startswith("/app/login/")


def test_a_charlie_subscription_id_in_alices_return_url_changes_nothing(
    synced, paypal, provider_sandbox, alice, charlie
):
    theirs = subscribe(provider_sandbox, charlie, synced["pro"])
    response = login(alice).get(f"/app/billing/return/?subscription_id={theirs.paypal_subscription_id}")
    assert response.status_code == 404
    assert fresh(alice.account).subscription_plan == "trial"
    assert Subscription.objects.filter(account=alice.account).count() == 0
