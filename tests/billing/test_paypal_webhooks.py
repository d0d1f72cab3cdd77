"""PayPal webhooks through the pipeline: verified by PayPal (the sandbox really checks the
signature over the raw body), fresh, processed once per event, the subscription re-fetched
before acting; payment failures suspend, a payment reactivates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from accounts.models import Account
from billing import signals
from billing.models import Payment, Subscription
from billing.services import billing_reconcile
from tests.billing.conftest import WEBHOOK_ID, deliver, fresh, login, post_delivery, subscribe
from webhooks.models import InboundWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(synced, paypal, provider_sandbox, alice) -> Subscription:
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    assert deliver(paypal) == [200, 200, 200]  # created, activated, first sale
    return subscription


@pytest.fixture
def heard() -> Any:
    events: list[tuple[str, str]] = []

    def suspended(sender: Any, account: Account, reason: str, **kwargs: Any) -> None:
        events.append(("suspended", account.slug))

    def reactivated(sender: Any, account: Account, **kwargs: Any) -> None:
        events.append(("reactivated", account.slug))

    signals.account_suspended.connect(suspended)
    signals.account_reactivated.connect(reactivated)
    yield events
    signals.account_suspended.disconnect(suspended)
    signals.account_reactivated.disconnect(reactivated)


def verify_calls(sandbox: Any) -> list[Any]:
    return [r for r in sandbox.requests("paypal") if r.path == "/v1/notifications/verify-webhook-signature"]


def snapshot(account: Account) -> tuple[Any, ...]:
    account = fresh(account)
    subs = list(Subscription.objects.values_list("status", "failed_payments", "plan__code").order_by("id"))
    return (account.status, account.subscription_status, account.subscription_plan, subs, Payment.objects.count())


# --- the verification call ---------------------------------------------------------------------


def test_the_raw_body_is_spliced_into_the_verification_unchanged(active, paypal, provider_sandbox):
    provider_sandbox.paypal.charge(active.paypal_subscription_id)
    delivery = paypal.take_deliveries()[0]
    assert post_delivery(Client(), delivery["headers"], delivery["body"]) == 200
    call = verify_calls(provider_sandbox)[-1]
    assert delivery["body"] in call.raw_body
    assert call.body["webhook_id"] == WEBHOOK_ID
    assert call.body["transmission_sig"] == delivery["headers"]["PAYPAL-TRANSMISSION-SIG"]
    assert call.body["auth_algo"] == "SHA256withRSA"


def test_a_sale_is_recorded_and_the_subscription_refetched(active, paypal, provider_sandbox):
    before = len([r for r in provider_sandbox.requests("paypal") if r.method == "GET"])
    provider_sandbox.paypal.charge(active.paypal_subscription_id)
    assert deliver(paypal) == [200]
    gets = [r for r in provider_sandbox.requests("paypal") if r.method == "GET"]
    assert gets[-1].path == f"/v1/billing/subscriptions/{active.paypal_subscription_id}"
    assert len(gets) == before + 1
    assert Payment.objects.filter(account=active.account, kind="sale").count() == 2
    record = InboundWebhook.objects.filter(event_type="PAYMENT.SALE.COMPLETED").latest("id")
    assert (record.status, record.account_id) == ("processed", active.account_id)


# --- refused or ignored, with nothing changed ----------------------------------------------------


def _next_delivery(paypal: Any, provider_sandbox: Any, active: Subscription) -> dict[str, Any]:
    provider_sandbox.paypal.fail_payment(active.paypal_subscription_id)
    return paypal.take_deliveries()[0]


def test_a_forged_signature_is_refused_and_changes_nothing(active, paypal, provider_sandbox, alice):
    delivery = _next_delivery(paypal, provider_sandbox, active)
    before = snapshot(alice.account)
    headers = {
        **delivery["headers"],
        "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk" + delivery["headers"]["PAYPAL-TRANSMISSION-SIG"][8:],
    }
    assert post_delivery(Client(), headers, delivery["body"]) == 403
    assert snapshot(alice.account) == before
    assert InboundWebhook.objects.filter(status="rejected").count() == 1


def test_a_tampered_body_is_refused(active, paypal, provider_sandbox, alice):
    delivery = _next_delivery(paypal, provider_sandbox, active)
    before = snapshot(alice.account)
    body = delivery["body"].replace(b'"failed_payments_count":1', b'"failed_payments_count":9')
    assert body != delivery["body"]
    assert post_delivery(Client(), delivery["headers"], body) == 403
    assert snapshot(alice.account) == before


def test_a_reserialised_body_fails_verification(active, paypal, provider_sandbox, alice):
    delivery = _next_delivery(paypal, provider_sandbox, active)
    before = snapshot(alice.account)
    same_json = json.dumps(json.loads(delivery["body"])).encode()  # same data, other spacing
    assert json.loads(same_json) == json.loads(delivery["body"])
    assert post_delivery(Client(), delivery["headers"], same_json) == 403
    assert snapshot(alice.account) == before
    # The untouched body verifies.
    assert post_delivery(Client(), delivery["headers"], delivery["body"]) == 200


@pytest.mark.parametrize("age", [timedelta(minutes=11), timedelta(days=2), -timedelta(minutes=6)])
def test_a_stale_or_future_transmission_is_refused_before_asking_paypal(active, paypal, provider_sandbox, alice, age):
    provider_sandbox.paypal.fail_payment(active.paypal_subscription_id)
    body = paypal.take_deliveries()[0]["body"]
    moment = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = provider_sandbox.paypal.sign(WEBHOOK_ID, body, transmission_time=moment)  # genuinely signed
    before, calls = snapshot(alice.account), len(verify_calls(provider_sandbox))
    assert post_delivery(Client(), headers, body) == 403
    assert snapshot(alice.account) == before
    assert len(verify_calls(provider_sandbox)) == calls
    assert "stale" in InboundWebhook.objects.get(status="rejected").error


@pytest.mark.parametrize("missing", ["PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL", "PAYPAL-TRANSMISSION-TIME"])
def test_missing_headers_are_refused(active, paypal, provider_sandbox, alice, missing):
    delivery = _next_delivery(paypal, provider_sandbox, active)
    headers = {k: v for k, v in delivery["headers"].items() if k != missing}
    before = snapshot(alice.account)
    assert post_delivery(Client(), headers, delivery["body"]) == 403
    assert snapshot(alice.account) == before


def test_without_our_webhook_id_everything_is_refused(active, paypal, provider_sandbox, alice, settings):
    delivery = _next_delivery(paypal, provider_sandbox, active)
    settings.PAYPAL_WEBHOOK_ID = ""
    before, calls = snapshot(alice.account), len(verify_calls(provider_sandbox))
    assert post_delivery(Client(), delivery["headers"], delivery["body"]) == 403
    assert snapshot(alice.account) == before and len(verify_calls(provider_sandbox)) == calls


def test_an_event_signed_for_another_webhook_is_refused(active, paypal, provider_sandbox, alice):
    provider_sandbox.paypal.fail_payment(active.paypal_subscription_id)
    body = paypal.take_deliveries()[0]["body"]
    headers = provider_sandbox.paypal.sign("SOMEONEELSESWEBHOOK1", body)
    before = snapshot(alice.account)
    assert post_delivery(Client(), headers, body) == 403
    assert snapshot(alice.account) == before


def test_paypal_unreachable_while_verifying_answers_503_so_paypal_retries(active, paypal, provider_sandbox, alice):
    delivery = _next_delivery(paypal, provider_sandbox, active)
    provider_sandbox.inject_fault("paypal", r"verify-webhook-signature", status=503, count=1)
    before = snapshot(alice.account)
    assert post_delivery(Client(), delivery["headers"], delivery["body"]) == 503
    assert snapshot(alice.account) == before
    assert post_delivery(Client(), delivery["headers"], delivery["body"]) == 200  # PayPal's retry
    assert fresh(alice.account).subscription_status == "past_due"


def test_an_unknown_subscription_is_acknowledged_and_ignored(active, paypal, provider_sandbox, charlie):
    # A subscription PayPal knows but we do not (created elsewhere with the same app).
    from integrations.providers import paypal as client

    other = client.subscription_create(body={"plan_id": active.paypal_plan_id}, request_id="other-1")
    provider_sandbox.paypal.approve_subscription(other["id"])
    statuses = deliver(paypal)
    assert set(statuses) == {200}
    assert not Subscription.objects.filter(paypal_subscription_id=other["id"]).exists()
    assert InboundWebhook.objects.filter(status="ignored").count() >= 2


# --- once, in any order ---------------------------------------------------------------------------


def test_the_same_event_ten_times_changes_nothing_twice(active, paypal, provider_sandbox, alice):
    provider_sandbox.paypal.charge(active.paypal_subscription_id)
    delivery = paypal.take_deliveries()[0]
    assert [post_delivery(Client(), delivery["headers"], delivery["body"]) for _ in range(10)] == [200] * 10
    assert Payment.objects.filter(account=alice.account).count() == 2  # the first cycle and this one
    record = InboundWebhook.objects.get(event_id=json.loads(delivery["body"])["id"])
    assert (record.deliveries, record.status) == (10, "processed")
    # Re-signed (a PayPal retry is a new transmission): still the same event, still once.
    again = provider_sandbox.paypal.sign(WEBHOOK_ID, delivery["body"])
    assert post_delivery(Client(), again, delivery["body"]) == 200
    assert Payment.objects.filter(account=alice.account).count() == 2


def test_events_out_of_order_end_in_paypals_current_state(synced, paypal, provider_sandbox, alice):
    client = login(alice)
    response = client.post("/app/billing/subscribe/", {"plan": "starter"})
    subscription = Subscription.objects.get()
    provider_sandbox.paypal.approve_subscription(subscription.paypal_subscription_id)
    from integrations.providers import paypal as api

    api.subscription_action(subscription_id=subscription.paypal_subscription_id, action="cancel", reason="bye")
    events = {json.loads(d["body"])["event_type"]: d for d in paypal.take_deliveries()}
    order = [
        "BILLING.SUBSCRIPTION.CANCELLED",
        "PAYMENT.SALE.COMPLETED",
        "BILLING.SUBSCRIPTION.ACTIVATED",
        "BILLING.SUBSCRIPTION.CREATED",
    ]
    assert deliver(paypal, [events[name] for name in order]) == [200] * 4
    subscription.refresh_from_db()
    account = fresh(alice.account)
    assert (subscription.status, account.subscription_status) == ("CANCELLED", "cancelled")  # never back to active
    assert Payment.objects.count() == 1
    assert response.status_code == 200


# --- payment failure, suspension, payment, reactivation -----------------------------------------


def test_payment_failure_suspends_then_payment_reactivates(
    active, paypal, provider_sandbox, alice, heard, django_capture_on_commit_callbacks
):
    sub_id = active.paypal_subscription_id
    provider_sandbox.paypal.fail_payment(sub_id)
    assert deliver(paypal) == [200]
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == ("active", "past_due")
    page = login(alice).get("/app/billing/").content.decode()
    assert "A payment is missing" in page and "Pay now with PayPal" in page
    # Second failure: the plan's threshold (2). PayPal suspends the subscription; so do we.
    provider_sandbox.paypal.fail_payment(sub_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(paypal) == [200, 200]
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == ("suspended", "suspended")
    assert "could not collect the payment" in account.status_reason
    assert heard == [("suspended", "alice-co")]  # the campaigns app pauses the account's campaigns
    # The users see why, and how to pay; other pages send them to the account page.
    assert "Go to Billing to pay" in login(alice).get("/app/account/").content.decode()
    assert login(alice).get("/app/billing/").status_code == 200
    # The owner pays: the outstanding balance is captured and the subscription resumed.
    with django_capture_on_commit_callbacks(execute=True):
        response = login(alice).post("/app/billing/pay/", follow=True)
    assert "Payment received" in response.content.decode()
    capture = next(r for r in provider_sandbox.requests("paypal") if r.path.endswith("/capture"))
    assert capture.body["amount"] == {"currency_code": "USD", "value": "58.00"}
    account = fresh(alice.account)
    assert (account.status, account.subscription_status, account.status_reason) == ("active", "active", "")
    assert heard == [("suspended", "alice-co"), ("reactivated", "alice-co")]
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(paypal) == [200, 200]  # the sale and the re-activation: nothing new happens
    assert Payment.objects.filter(account=alice.account, amount="58.00").count() == 1
    assert heard == [("suspended", "alice-co"), ("reactivated", "alice-co")]


def test_a_billing_payment_never_lifts_an_operators_suspension(active, paypal, provider_sandbox, alice):
    from accounts.services import account_set_status

    account_set_status(account=alice.account, change="suspend", reason="Abuse report")
    provider_sandbox.paypal.charge(active.paypal_subscription_id)
    assert deliver(paypal) == [200]
    account = fresh(alice.account)
    assert (account.status, account.status_reason) == ("suspended", "Abuse report")


def test_the_nightly_reconciliation_catches_missed_webhooks(active, paypal, provider_sandbox, alice):
    provider_sandbox.paypal.charge(active.paypal_subscription_id)
    provider_sandbox.paypal.fail_payment(active.paypal_subscription_id)
    provider_sandbox.paypal.fail_payment(active.paypal_subscription_id)
    paypal.take_deliveries()  # lost: never reach us
    result = billing_reconcile()
    assert (result.fetched, result.payments_found, result.failed) == (1, 1, 0)
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == ("suspended", "suspended")
    assert Payment.objects.filter(account=alice.account).count() == 2
    assert billing_reconcile().payments_found == 0  # and again: nothing new


def test_reconciliation_goes_on_when_paypal_fails_for_one(active, paypal, provider_sandbox, alice):
    provider_sandbox.inject_fault("paypal", r"^/v1/billing/subscriptions/I-", status=500, count=1)
    assert billing_reconcile().failed == 1
    assert billing_reconcile().fetched == 1
