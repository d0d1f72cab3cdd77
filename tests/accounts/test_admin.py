"""The operator admin: login boundary, accounts changelist, masked credentials, actions, users."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.models import Account, User
from tests.conftest import PASSWORD

ADMIN_EMAIL = "ops@prixagent.test"
ADMIN_PASSWORD = "operator pass phrase 2024"


@pytest.fixture
def operator(db: None, settings) -> User:
    settings.ADMIN_EMAIL = ADMIN_EMAIL
    settings.ADMIN_PASSWORD = ADMIN_PASSWORD
    call_command("bootstrap_admin", stdout=None)
    return User.objects.get(email=ADMIN_EMAIL)


@pytest.fixture
def operator_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def canaries(alice_account: Account) -> dict[str, str]:
    """Unique plaintexts stored in every credential column of Alice Co."""
    values = {
        "twilio_account_sid": f"AC{uuid.uuid4().hex}",
        "twilio_auth_token": f"canary-twilio-{uuid.uuid4().hex}",
        "ghl_api_key": f"canary-ghl-{uuid.uuid4().hex}",
        "elevenlabs_api_key": f"canary-11l-{uuid.uuid4().hex}",
        "calcom_api_key": f"canary-cal-{uuid.uuid4().hex}",
    }
    for column, value in values.items():
        setattr(alice_account, column, value)
    alice_account.twilio_configured = alice_account.ghl_configured = True
    alice_account.elevenlabs_configured = alice_account.calcom_configured = True
    alice_account.save()
    return values


def admin_login(client: Client, email: str, password: str):
    return client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})


# --- Login boundary -------------------------------------------------------------------------


def test_it_logs_the_bootstrapped_admin_in_through_the_login_page(operator: User) -> None:
    client = Client()
    response = admin_login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "PrixAgent platform admin" in index.content.decode()


def test_it_refuses_a_wrong_admin_password(operator: User) -> None:
    client = Client()
    response = admin_login(client, ADMIN_EMAIL, "not the password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_refuses_a_tenant_user_at_the_admin_login(alice: User) -> None:
    client = Client()
    response = admin_login(client, alice.email, PASSWORD)
    assert response.status_code == 200
    assert "Please enter the correct" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_the_database_refuses_a_tenant_user_flagged_staff(alice: User) -> None:
    # A tenant user with is_staff would reach the operator admin: the constraint forbids it.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(is_staff=True)


def test_it_keeps_a_dashboard_session_of_a_tenant_user_out_of_the_admin(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/admin/accounts/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_rate_limits_admin_login_attempts_per_email(operator: User, settings) -> None:
    settings.LOGIN_ATTEMPTS_PER_EMAIL = 3
    client = Client()
    for _ in range(3):
        assert admin_login(client, ADMIN_EMAIL, "wrong password").status_code == 200
    response = admin_login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 200
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_rate_limits_admin_login_attempts_per_ip(operator: User, settings) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 2
    client = Client()
    admin_login(client, "someone@example.com", "x")
    admin_login(client, "someone-else@example.com", "x")
    response = admin_login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert "Too many login attempts" in response.content.decode()


# --- Accounts changelist ----------------------------------------------------------------------


@pytest.fixture
def several_accounts(alice_account: Account, charlie_account: Account, canaries: dict[str, str]) -> None:
    charlie_account.status = Account.Status.SUSPENDED
    charlie_account.subscription_plan = "pro"
    charlie_account.save()
    Account.objects.create(name="Delta Inc", slug="delta-inc", email="delta@example.com", subscription_plan="pro")


def changelist_slugs(client: Client, query: str = "") -> set[str]:
    response = client.get(f"/admin/accounts/account/{query}")
    assert response.status_code == 200
    return {a.slug for a in response.context["cl"].result_list}


def test_it_lists_accounts_with_integration_icons(operator_client: Client, several_accounts: None) -> None:
    response = operator_client.get("/admin/accounts/account/")
    html = response.content.decode()
    assert response.status_code == 200
    assert {"alice-co", "charlie-ltd", "delta-inc"} <= {a.slug for a in response.context["cl"].result_list}
    assert "icon-yes.svg" in html and "icon-no.svg" in html
    for header in ("Twilio", "GHL", "ElevenLabs", "Cal.com"):
        assert header in html


def test_it_filters_accounts_by_status_plan_and_integration(operator_client: Client, several_accounts: None) -> None:
    assert changelist_slugs(operator_client, "?status__exact=suspended") == {"charlie-ltd"}
    assert changelist_slugs(operator_client, "?subscription_plan=pro") == {"charlie-ltd", "delta-inc"}
    assert changelist_slugs(operator_client, "?twilio_configured__exact=1") == {"alice-co"}
    assert changelist_slugs(operator_client, "?calcom_configured__exact=0") == {"charlie-ltd", "delta-inc"}


def test_it_searches_accounts_by_name_email_and_slug(operator_client: Client, several_accounts: None) -> None:
    assert changelist_slugs(operator_client, "?q=Delta") == {"delta-inc"}
    assert changelist_slugs(operator_client, "?q=charlie@example.com") == {"charlie-ltd"}
    assert changelist_slugs(operator_client, "?q=alice-co") == {"alice-co"}


def test_it_shows_only_masked_hints_and_never_the_secret(
    operator_client: Client, alice_account: Account, canaries: dict[str, str]
) -> None:
    change = operator_client.get(f"/admin/accounts/account/{alice_account.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    for value in canaries.values():
        assert f"••••{value[-4:]}" in html
    # Save the form once so the history has an entry, then scan every page for the canaries.
    form = change.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data.update({"settings": "{}", "limits": "{}", "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": "0"})
    data["name"] = "Alice Company"
    saved = operator_client.post(f"/admin/accounts/account/{alice_account.pk}/change/", data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    pages = [
        "/admin/accounts/account/",
        f"/admin/accounts/account/{alice_account.pk}/change/",
        f"/admin/accounts/account/{alice_account.pk}/history/",
        f"/admin/accounts/account/{alice_account.pk}/delete/",
        "/admin/",
    ]
    for page in pages:
        response = operator_client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        for value in canaries.values():
            assert value not in body, page
        assert "pa1:" not in body, page
    # Saving through the admin did not touch the credentials.
    alice_account.refresh_from_db()
    assert alice_account.name == "Alice Company"
    assert alice_account.twilio_auth_token == canaries["twilio_auth_token"]


def test_it_has_no_form_field_for_status_or_credentials(operator_client: Client, alice_account: Account) -> None:
    form = operator_client.get(f"/admin/accounts/account/{alice_account.pk}/change/").context["adminform"].form
    assert "status" not in form.fields
    assert not any(name.endswith(("_api_key", "_auth_token", "_account_sid")) for name in form.fields)


# --- Actions ---------------------------------------------------------------------------------


def run_action(client: Client, action: str, accounts: list[Account], reason: str = ""):
    return client.post(
        "/admin/accounts/account/",
        {"action": action, "_selected_action": [str(a.pk) for a in accounts], "reason": reason, "index": 0},
        follow=True,
    )


def test_it_suspends_accounts_with_a_reason(
    operator_client: Client, alice_account: Account, charlie_account: Account
) -> None:
    response = run_action(operator_client, "suspend_accounts", [alice_account, charlie_account], "Unpaid invoice")
    assert "2 accounts suspended." in response.content.decode()
    for account in (alice_account, charlie_account):
        account.refresh_from_db()
        assert account.status == Account.Status.SUSPENDED
        assert account.status_reason == "Unpaid invoice"
    assert LogEntry.objects.filter(object_id=str(alice_account.pk), change_message__contains="Unpaid").exists()


def test_it_reactivates_a_suspended_account(operator_client: Client, alice_account: Account) -> None:
    run_action(operator_client, "suspend_accounts", [alice_account])
    alice_account.refresh_from_db()
    assert alice_account.status_reason == "Suspended by the platform operator."
    response = run_action(operator_client, "reactivate_accounts", [alice_account])
    assert "1 account reactivated." in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.status == Account.Status.ACTIVE
    assert alice_account.status_reason == ""


def test_it_cancels_and_then_refuses_to_reactivate(operator_client: Client, alice_account: Account) -> None:
    run_action(operator_client, "cancel_accounts", [alice_account], "Asked to close")
    alice_account.refresh_from_db()
    assert alice_account.status == Account.Status.CANCELLED
    response = run_action(operator_client, "reactivate_accounts", [alice_account])
    assert "Not reactivated: alice-co: A cancelled account cannot be reactivated." in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.status == Account.Status.CANCELLED


def test_it_offers_no_bulk_delete_of_accounts(operator_client: Client, alice_account: Account) -> None:
    html = operator_client.get("/admin/accounts/account/").content.decode()
    assert "suspend_accounts" in html
    assert "delete_selected" not in html


# --- Users -----------------------------------------------------------------------------------


def test_it_lists_and_searches_users(operator_client: Client, alice: User, bob: User, charlie: User) -> None:
    response = operator_client.get("/admin/accounts/user/?q=Alice Co")
    assert response.status_code == 200
    assert {u.email for u in response.context["cl"].result_list} == {"alice@example.com", "bob@example.com"}
    staff = operator_client.get("/admin/accounts/user/?is_staff__exact=1")
    assert {u.email for u in staff.context["cl"].result_list} == {ADMIN_EMAIL}


def test_it_changes_a_password_through_the_admin_form(operator_client: Client, bob: User) -> None:
    new = "a brand new pass phrase"
    response = operator_client.post(
        f"/admin/accounts/user/{bob.pk}/password/", {"password1": new, "password2": new, "usable_password": "true"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    bob.refresh_from_db()
    assert bob.password.startswith("argon2")
    assert authenticate(username="bob@example.com", password=new) is not None
    assert authenticate(username="bob@example.com", password=PASSWORD) is None


def test_it_adds_a_tenant_user_from_the_admin(operator_client: Client, alice_account: Account) -> None:
    response = operator_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Member@Example.com",
            "account": str(alice_account.pk),
            "role": "member",
            "usable_password": "true",
            "password1": "another long pass phrase",
            "password2": "another long pass phrase",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(email="new.member@example.com")
    assert user.account == alice_account and not user.is_staff
    assert user.password.startswith("argon2")


def test_it_refuses_a_staff_user_inside_a_tenant(operator_client: Client, alice_account: Account) -> None:
    response = operator_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "sneaky@example.com",
            "account": str(alice_account.pk),
            "role": "owner",
            "is_staff": "on",
            "usable_password": "true",
            "password1": "another long pass phrase",
            "password2": "another long pass phrase",
        },
    )
    assert response.status_code == 200
    assert "Platform staff belong to no account" in response.content.decode()
    assert not User.objects.filter(email="sneaky@example.com").exists()
