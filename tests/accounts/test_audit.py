"""The tenant audit trail: written by one service, never holding a secret, shown in the
dashboard, the API (read-only, tenant-scoped, paginated) and the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Account, AuditEvent, User
from accounts.services import account_set_status, audit_record
from tests.conftest import api_client_for
from tests.integrations.integration_helpers import connect_payload

URL = "/api/v1/account/audit-events/"


def actions(account: Account) -> list[str]:
    return list(AuditEvent.objects.filter(account=account).order_by("id").values_list("action", flat=True))


def test_team_and_account_changes_are_recorded(alice: User, bob: User, dave: User) -> None:
    owner = api_client_for(alice)
    owner.post("/api/v1/account/users/", {"email": "new@example.com", "role": "admin"})
    owner.patch(f"/api/v1/account/users/{bob.pk}/", {"role": "admin"})
    owner.patch(f"/api/v1/account/users/{dave.pk}/", {"is_active": False})
    owner.delete(f"/api/v1/account/users/{dave.pk}/")
    owner.patch("/api/v1/account/", {"name": "Alice Company", "time_zone": "Europe/Madrid"})
    account_set_status(account=alice.account, change="suspend", reason="Unpaid")
    assert actions(alice.account) == [
        "member.invited",
        "member.role_changed",
        "member.deactivated",
        "member.removed",
        "account.updated",
        "account.status_changed",
    ]
    role = AuditEvent.objects.get(action="member.role_changed")
    assert (role.actor, role.target, role.details) == (alice, bob.email, {"from": "member", "to": "admin"})
    assert role.ip == "127.0.0.1"
    updated = AuditEvent.objects.get(action="account.updated")
    assert sorted(updated.details["fields"]) == ["name", "time_zone"]


def test_the_trail_never_holds_a_secret(alice_account: Account) -> None:
    event = audit_record(
        account=alice_account,
        actor="system",
        action=AuditEvent.Action.ACCOUNT_UPDATED,
        details={
            "api_key": "sk_live_canary_123456",
            "auth_token": "x" * 32,
            "message": "401 for token=canary-abc-123456",
        },
    )
    event.refresh_from_db()
    assert "api_key" not in event.details and "auth_token" not in event.details
    assert "canary" not in str(event.details)


def test_the_api_lists_the_callers_trail_read_only(alice: User, bob: User, charlie: User) -> None:
    for n in range(3):
        audit_record(account=alice.account, actor=alice, action="account.updated", details={"fields": [f"f{n}"]})
    charlie_event = audit_record(account=charlie.account, actor=charlie, action="account.updated")
    page = api_client_for(bob).get(f"{URL}?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert set(page["results"][0]) == {"id", "action", "actor", "target", "details", "ip", "created_at"}
    assert page["results"][0]["details"] == {"fields": ["f2"]}  # newest first
    alice_api = api_client_for(alice)
    assert alice_api.get(f"{URL}{charlie_event.pk}/").status_code == 404
    assert alice_api.post(URL, {"action": "account.updated"}).status_code == 405
    first = page["results"][0]["id"]
    assert alice_api.delete(f"{URL}{first}/").status_code == 405
    assert api_client_for(charlie).get(URL).json()["count"] == 1


@pytest.fixture
def alice_web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_dashboard_shows_the_trail_in_pages(alice_web: Client, alice: User, charlie: User) -> None:
    for n in range(55):
        audit_record(account=alice.account, actor=alice, action="member.invited", target=f"p{n}@example.com")
    audit_record(account=charlie.account, actor=charlie, action="member.invited", target="charlies-secret-hire@x.io")
    first = alice_web.get("/app/activity/").content.decode()
    assert "p54@example.com" in first and "p0@example.com" not in first
    assert 'href="/app/activity/"' in first and 'aria-current="page"' in first
    second = alice_web.get("/app/activity/?page=2").content.decode()
    assert "p0@example.com" in second
    assert "charlies-secret-hire" not in first + second


def test_the_admin_shows_the_trail_read_only(alice: User, db: None) -> None:
    audit_record(account=alice.account, actor=alice, action="member.invited", target="seen@example.com")
    operator = User.objects.create_superuser("ops@prixagent.test", "operator pass phrase 2024")
    client = Client()
    client.force_login(operator)
    page = client.get("/admin/accounts/auditevent/?q=alice-co")
    assert page.status_code == 200
    assert "seen@example.com" in page.content.decode()
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert client.get("/admin/accounts/invitation/").status_code == 200


def test_integration_changes_join_the_trail_without_their_secrets(
    alice_api: APIClient, alice: User, provider_sandbox: object
) -> None:
    payload = connect_payload(provider_sandbox, "calcom")
    assert alice_api.put("/api/v1/integrations/calcom/", payload, format="json").status_code == 200
    assert alice_api.delete("/api/v1/integrations/calcom/").status_code == 204
    events = AuditEvent.objects.filter(account=alice.account, action="integration.changed").order_by("id")
    assert [(e.target, e.details["action"], e.details["outcome"], e.actor) for e in events] == [
        ("calcom", "connect", "ok", alice),
        ("calcom", "disconnect", "ok", alice),
    ]
    trail = str(list(events.values("details", "target")))
    assert payload["api_key"] not in trail
    listed = alice_api.get(URL).json()["results"]
    assert listed[0]["target"] == "calcom" and payload["api_key"] not in str(listed)
