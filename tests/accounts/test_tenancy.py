"""The caller's account comes from the token; other tenants' objects answer 404."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Invitation, User
from accounts.services import account_set_status
from prixagent.tenancy import TenantModelViewSet


def test_it_lists_only_the_callers_users(alice_api: APIClient, bob: User, charlie: User) -> None:
    emails = {u["email"] for u in alice_api.get("/api/v1/account/users/").json()["results"]}
    assert emails == {"alice@example.com", "bob@example.com"}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_charlie_gets_404_for_alices_user(charlie_api: APIClient, bob: User, method: str) -> None:
    response = getattr(charlie_api, method)(f"/api/v1/account/users/{bob.pk}/", {"role": "owner"})
    unknown = getattr(charlie_api, method)(
        "/api/v1/account/users/00000000-0000-0000-0000-000000000000/", {"role": "owner"}
    )
    assert response.status_code == unknown.status_code == 404
    assert response.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
    bob.refresh_from_db()
    assert bob.role == "member"


def test_it_ignores_an_account_in_the_body(alice_api: APIClient, alice: User, charlie_account: Account) -> None:
    response = alice_api.post(
        "/api/v1/account/users/", {"email": "new@example.com", "account": str(charlie_account.pk)}
    )
    assert response.status_code == 201
    assert Invitation.objects.get(email="new@example.com").account_id == alice.account_id


def test_it_edits_only_the_callers_account(alice_api: APIClient, alice: User, charlie_account: Account) -> None:
    response = alice_api.patch(
        "/api/v1/account/", {"name": "Alice Company", "id": str(charlie_account.pk), "status": "active"}
    )
    assert response.status_code == 200
    assert response.json()["id"] == str(alice.account_id)
    charlie_account.refresh_from_db()
    assert charlie_account.name == "Charlie Ltd"


def test_members_read_but_cannot_change(bob_api: APIClient, alice: User) -> None:
    assert bob_api.get("/api/v1/account/").status_code == 200
    response = bob_api.patch("/api/v1/account/", {"name": "Bob's now"})
    assert response.status_code == 403
    assert bob_api.post("/api/v1/account/users/", {"email": "e@x.io"}).status_code == 403


def test_the_last_owner_cannot_be_demoted(alice_api: APIClient, alice: User) -> None:
    response = alice_api.patch(f"/api/v1/account/users/{alice.pk}/", {"role": "member"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "last_owner"


def test_a_suspended_account_sees_why_and_can_do_nothing_else(alice_api: APIClient, alice: User) -> None:
    account_set_status(account=alice.account, change="suspend", reason="unpaid invoice")
    account = alice_api.get("/api/v1/account/")
    assert account.status_code == 200
    assert account.json()["status_reason"] == "unpaid invoice"
    assert alice_api.get("/api/v1/me/").status_code == 200
    refused = alice_api.get("/api/v1/account/users/")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_inactive"
    assert "unpaid invoice" in refused.json()["error"]["message"]
    assert alice_api.patch("/api/v1/account/", {"name": "x"}).status_code == 403


def test_platform_staff_cannot_use_tenant_endpoints(db: None) -> None:
    staff = User.objects.create_superuser("ops@example.com", "an operator passphrase")
    from tests.conftest import api_client_for

    assert api_client_for(staff).get("/api/v1/account/users/").status_code == 403


def test_subclasses_cannot_override_get_queryset() -> None:
    with pytest.raises(TypeError, match="filter_tenant_queryset"):

        class Leaky(TenantModelViewSet):
            def get_queryset(self):  # type: ignore[no-untyped-def]
                return User.objects.all()
