"""The team rules on every member route, API and dashboard, as owner alice, admin dave, member
bob and another tenant's owner charlie; the last owner under concurrency; invitations."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.db import connections, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts import members
from accounts.models import Account, AuditEvent, Invitation, User
from tests.conftest import PASSWORD, api_client_for

USERS = "/api/v1/account/users/"
INVITATIONS = "/api/v1/account/invitations/"


@pytest.fixture
def olivia(alice_account: Account) -> User:
    """A second owner of Alice Co."""
    return User.objects.create_user("olivia@example.com", PASSWORD, account=alice_account, role=User.Role.OWNER)


@pytest.fixture
def erin(alice_account: Account) -> User:
    """A second admin of Alice Co."""
    return User.objects.create_user("erin@example.com", PASSWORD, account=alice_account, role=User.Role.ADMIN)


@pytest.fixture
def team(alice: User, bob: User, dave: User, olivia: User, erin: User, charlie: User) -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in (alice, bob, dave, olivia, erin, charlie)}


def as_(team: dict[str, User], name: str) -> APIClient:
    return api_client_for(team[name])


# --- reads ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["alice", "dave", "bob"])
def test_every_member_reads_the_team(team: dict[str, User], actor: str) -> None:
    client = as_(team, actor)
    listed = {u["email"] for u in client.get(USERS).json()["results"]}
    assert listed == {f"{n}@example.com" for n in ("alice", "bob", "dave", "olivia", "erin")}
    assert client.get(f"{USERS}{team['olivia'].pk}/").status_code == 200
    assert client.get(INVITATIONS).status_code == 200


def test_charlie_sees_only_his_own_team(team: dict[str, User]) -> None:
    client = as_(team, "charlie")
    assert {u["email"] for u in client.get(USERS).json()["results"]} == {"charlie@example.com"}
    for path in (f"{USERS}{team['bob'].pk}/", f"{USERS}{team['olivia'].pk}/"):
        assert client.get(path).status_code == 404
        assert client.patch(path, {"role": "admin"}).status_code == 404
        assert client.delete(path).status_code == 404
    assert User.objects.filter(account=team["alice"].account).count() == 5


# --- role changes, deactivation, removal ---------------------------------------------------------

# (actor, target, change) -> expected status
ROLE_CASES = [
    ("alice", "bob", {"role": "owner"}, 200),
    ("alice", "olivia", {"role": "member"}, 200),
    ("alice", "olivia", {"is_active": False}, 200),
    ("dave", "bob", {"role": "admin"}, 200),
    ("dave", "erin", {"role": "member"}, 200),
    ("dave", "erin", {"is_active": False}, 200),
    ("dave", "bob", {"role": "owner"}, 403),  # an admin cannot make an owner
    ("dave", "dave", {"role": "owner"}, 403),  # ...not even themselves
    ("dave", "olivia", {"role": "admin"}, 403),  # ...nor demote one
    ("dave", "olivia", {"is_active": False}, 403),  # ...nor deactivate one
    ("dave", "olivia", {"name": "Renamed"}, 403),  # ...nor edit one
    ("bob", "bob", {"role": "admin"}, 403),
    ("bob", "erin", {"role": "member"}, 403),
]


@pytest.mark.parametrize(("actor", "target", "change", "status"), ROLE_CASES)
def test_role_changes_follow_the_rules(
    team: dict[str, User], actor: str, target: str, change: dict[str, Any], status: int
) -> None:
    member = team[target]
    before = (member.role, member.is_active, member.name)
    response = as_(team, actor).patch(f"{USERS}{member.pk}/", change)
    assert response.status_code == status, response.content
    member.refresh_from_db()
    if status == 200:
        assert all(getattr(member, k) == v for k, v in change.items())
    else:
        assert (member.role, member.is_active, member.name) == before
        assert set(response.json()["error"]) == {"code", "message", "fields", "request_id"}


@pytest.mark.parametrize(
    ("actor", "target", "status"),
    [("alice", "olivia", 204), ("alice", "bob", 204), ("dave", "bob", 204), ("dave", "erin", 204),
     ("dave", "olivia", 403), ("dave", "alice", 403), ("bob", "erin", 403)],
)  # fmt: skip
def test_removal_follows_the_rules(team: dict[str, User], actor: str, target: str, status: int) -> None:
    response = as_(team, actor).delete(f"{USERS}{team[target].pk}/")
    assert response.status_code == status, response.content
    assert User.objects.filter(pk=team[target].pk).exists() == (status != 204)


def test_the_last_active_owner_stays(alice: User, bob: User) -> None:
    client = api_client_for(alice)
    for change in ({"role": "member"}, {"is_active": False}):
        response = client.patch(f"{USERS}{alice.pk}/", change)
        assert response.status_code == 400
        assert response.json()["error"]["code"] in ("last_owner", "invalid")
    alice.refresh_from_db()
    assert (alice.role, alice.is_active) == ("owner", True)


def test_an_owner_may_step_down_when_another_owner_is_active(alice: User, olivia: User) -> None:
    assert api_client_for(alice).patch(f"{USERS}{alice.pk}/", {"role": "admin"}).status_code == 200
    # Now olivia is the last one.
    response = api_client_for(olivia).patch(f"{USERS}{olivia.pk}/", {"role": "member"})
    assert response.json()["error"]["code"] == "last_owner"


def test_an_inactive_owner_does_not_count(alice: User, olivia: User) -> None:
    User.objects.filter(pk=olivia.pk).update(is_active=False)
    response = api_client_for(olivia).delete(f"{USERS}{alice.pk}/")
    assert response.status_code == 401  # olivia's tokens died with her
    services_response = api_client_for(alice).patch(f"{USERS}{alice.pk}/", {"role": "member"})
    assert services_response.json()["error"]["code"] == "last_owner"


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner() -> None:
    account = Account.objects.create(name="Race Co", slug="race-co", email="race@example.com")
    ann = User.objects.create_user("ann@race.test", PASSWORD, account=account, role=User.Role.OWNER)
    ben = User.objects.create_user("ben@race.test", PASSWORD, account=account, role=User.Role.OWNER)
    results: dict[str, str] = {}
    first_done = threading.Event()

    def demote_ann_slowly() -> None:
        # ann's demotion keeps its transaction open while ben's demotion runs.
        try:
            with transaction.atomic():
                members.member_update(actor=ann, member=ann, changes={"role": "member"})
                first_done.set()
                time.sleep(0.5)
            results["ann"] = "ok"
        except Exception as exc:  # noqa: BLE001 - the test reports what happened
            results["ann"] = type(exc).__name__
        finally:
            first_done.set()
            connections.close_all()

    def demote_ben() -> None:
        first_done.wait(5)
        try:
            members.member_update(actor=ben, member=ben, changes={"role": "member"})
            results["ben"] = "ok"
        except Exception as exc:  # noqa: BLE001
            results["ben"] = getattr(exc, "code", type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=demote_ann_slowly), threading.Thread(target=demote_ben)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"ann": "ok", "ben": "last_owner"}
    assert User.objects.filter(account=account, role=User.Role.OWNER, is_active=True).count() == 1


# --- invitations through the API --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "role", "status"),
    [("alice", "owner", 201), ("alice", "admin", 201), ("dave", "admin", 201), ("dave", "member", 201),
     ("dave", "owner", 403), ("bob", "member", 403)],
)  # fmt: skip
def test_invitations_follow_the_rules(team: dict[str, User], actor: str, role: str, status: int) -> None:
    response = as_(team, actor).post(USERS, {"email": "new@example.com", "role": role})
    assert response.status_code == status, response.content
    assert Invitation.objects.filter(email="new@example.com").exists() == (status == 201)
    assert not User.objects.filter(email="new@example.com").exists()


def test_the_api_no_longer_takes_a_password_chosen_by_someone_else(alice: User) -> None:
    response = api_client_for(alice).post(USERS, {"email": "new@example.com", "password": "chosen for you 123"})
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]
    assert not Invitation.objects.exists() and not User.objects.filter(email="new@example.com").exists()


def test_inviting_answers_the_same_for_an_address_known_elsewhere(
    alice: User, charlie: User, django_capture_on_commit_callbacks
) -> None:
    client = api_client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(USERS, {"email": "charlie@example.com", "role": "member"})
        unknown = client.post(USERS, {"email": "nobody@example.com", "role": "member"})
    assert known.status_code == unknown.status_code == 201
    strip = {"id", "email", "created_at", "expires_at"}
    assert {k: v for k, v in known.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    # The email decides: an invitation link for the new address, a notice for charlie.
    by_address = {m.to[0]: m.body for m in mail.outbox}
    assert "/app/invitations/" in by_address["nobody@example.com"]
    assert "/app/invitations/" not in by_address["charlie@example.com"]
    assert "already has a PrixAgent login" in by_address["charlie@example.com"]
    charlie.refresh_from_db()
    assert charlie.account.slug == "charlie-ltd"


def test_it_says_when_the_address_is_already_in_this_account(alice: User, bob: User) -> None:
    response = api_client_for(alice).post(USERS, {"email": "BOB@example.com"})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]


def invite(client: APIClient, email: str, role: str = "member") -> dict[str, Any]:
    response = client.post(USERS, {"email": email, "role": role})
    assert response.status_code == 201, response.content
    return response.json()


def test_invitations_are_listed_and_revoked(team: dict[str, User]) -> None:
    owner_invite = invite(as_(team, "alice"), "boss@example.com", "owner")
    member_invite = invite(as_(team, "dave"), "helper@example.com")
    listed = {i["email"]: i["state"] for i in as_(team, "bob").get(INVITATIONS).json()["results"]}
    assert listed == {"boss@example.com": "pending", "helper@example.com": "pending"}
    assert as_(team, "charlie").get(INVITATIONS).json()["results"] == []
    assert as_(team, "charlie").delete(f"{INVITATIONS}{member_invite['id']}/").status_code == 404
    assert as_(team, "bob").delete(f"{INVITATIONS}{member_invite['id']}/").status_code == 403
    assert as_(team, "dave").delete(f"{INVITATIONS}{owner_invite['id']}/").status_code == 403
    assert as_(team, "dave").delete(f"{INVITATIONS}{member_invite['id']}/").status_code == 204
    assert as_(team, "alice").delete(f"{INVITATIONS}{owner_invite['id']}/").status_code == 204
    states = {i["email"]: i["state"] for i in as_(team, "alice").get(INVITATIONS).json()["results"]}
    assert states == {"boss@example.com": "revoked", "helper@example.com": "revoked"}


# --- accepting an invitation ------------------------------------------------------------------------


def invitation_link(email: str) -> str:
    message = next(m for m in mail.outbox if m.to == [email])
    return re.search(r"https?://[^/\s]+(/app/invitations/\S+/)", message.body).group(1)


def test_the_invitee_chooses_their_own_password(alice: User, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invite(api_client_for(alice), "New.Person@Example.com", "admin")
    link = invitation_link("new.person@example.com")
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    assert "Alice Co" in page.content.decode()
    bad = client.post(link, {"name": "Nia", "password": "password", "password_again": "password"})
    assert bad.status_code == 200 and "password" in bad.context["form"].errors
    r = client.post(link, {"name": "Nia", "password": "nia's own passphrase", "password_again": "nia's own passphrase"})
    assert r.status_code == 302 and r.url == "/app/"
    user = User.objects.get(email="new.person@example.com")
    assert (user.account, user.role, user.name) == (alice.account, "admin", "Nia")
    assert user.check_password("nia's own passphrase")
    assert client.get("/app/").status_code == 200
    # The link works once.
    assert Client().get(link).status_code == 400
    assert AuditEvent.objects.filter(action="member.joined", target="new.person@example.com").exists()


def test_a_revoked_or_forged_invitation_link_does_nothing(alice: User, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        body = invite(api_client_for(alice), "later@example.com")
    link = invitation_link("later@example.com")
    api_client_for(alice).delete(f"{INVITATIONS}{body['id']}/")
    assert Client().get(link).status_code == 400
    form = {"password": "a long passphrase", "password_again": "a long passphrase"}
    assert Client().post(link, form).status_code == 400
    assert Client().post("/app/invitations/forged-token/", form).status_code == 400
    assert not User.objects.filter(email="later@example.com").exists()


# --- the dashboard Team page -------------------------------------------------------------------------


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("actor", ["alice", "dave", "bob"])
def test_the_team_page_lists_members_and_pending_invitations(team: dict[str, User], actor: str) -> None:
    Invitation.objects.create(
        account=team["alice"].account, email="pending@example.com", expires_at="2999-01-01T00:00Z"
    )
    body = web(team[actor]).get("/app/team/").content.decode()
    assert "olivia@example.com" in body and "pending@example.com" in body
    assert ("Send invitation" in body) == (actor != "bob")
    assert "charlie@example.com" not in body


# (actor, url builder, data, expected status)
DASHBOARD_CASES = [
    ("alice", "role", "bob", {"role": "owner"}, 302),
    ("dave", "role", "bob", {"role": "admin"}, 302),
    ("dave", "role", "bob", {"role": "owner"}, 403),
    ("dave", "role", "olivia", {"role": "member"}, 403),
    ("bob", "role", "erin", {"role": "member"}, 403),
    ("charlie", "role", "bob", {"role": "owner"}, 404),
    ("alice", "remove", "olivia", {}, 302),
    ("dave", "remove", "erin", {}, 302),
    ("dave", "remove", "olivia", {}, 403),
    ("bob", "remove", "erin", {}, 403),
    ("charlie", "remove", "bob", {}, 404),
]


@pytest.mark.parametrize(("actor", "action", "target", "data", "status"), DASHBOARD_CASES)
def test_dashboard_team_actions_follow_the_rules(
    team: dict[str, User], actor: str, action: str, target: str, data: dict[str, str], status: int
) -> None:
    member = team[target]
    before = (member.role, User.objects.filter(pk=member.pk).exists())
    response = web(team[actor]).post(f"/app/team/{member.pk}/{action}/", data)
    assert response.status_code == status
    if status != 302:
        after_role = User.objects.filter(pk=member.pk).values_list("role", flat=True).first()
        assert (after_role, User.objects.filter(pk=member.pk).exists()) == before
    elif action == "role":
        member.refresh_from_db()
        assert member.role == data["role"]
    else:
        assert not User.objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize(
    ("actor", "role", "status"),
    [("alice", "owner", 302), ("dave", "admin", 302), ("dave", "owner", 403), ("bob", "member", 403)],
)
def test_dashboard_invitations_follow_the_rules(team: dict[str, User], actor: str, role: str, status: int) -> None:
    response = web(team[actor]).post("/app/team/invite/", {"email": "fresh@example.com", "role": role})
    assert response.status_code == status
    assert Invitation.objects.filter(email="fresh@example.com").exists() == (status == 302)


def test_dashboard_revokes_invitations_within_the_rules(team: dict[str, User]) -> None:
    account = team["alice"].account
    owner_inv = Invitation.objects.create(account=account, email="o@x.io", role="owner", expires_at="2999-01-01T00:00Z")
    member_inv = Invitation.objects.create(account=account, email="m@x.io", expires_at="2999-01-01T00:00Z")
    assert web(team["charlie"]).post(f"/app/team/invitations/{member_inv.pk}/revoke/").status_code == 404
    assert web(team["bob"]).post(f"/app/team/invitations/{member_inv.pk}/revoke/").status_code == 403
    assert web(team["dave"]).post(f"/app/team/invitations/{owner_inv.pk}/revoke/").status_code == 403
    assert web(team["dave"]).post(f"/app/team/invitations/{member_inv.pk}/revoke/").status_code == 302
    owner_inv.refresh_from_db()
    member_inv.refresh_from_db()
    assert (owner_inv.state, member_inv.state) == ("pending", "revoked")


def test_the_team_forms_need_csrf(team: dict[str, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["alice"])
    assert client.post("/app/team/invite/", {"email": "x@example.com"}).status_code == 403
    assert client.post(f"/app/team/{team['bob'].pk}/remove/").status_code == 403
    assert User.objects.filter(pk=team["bob"].pk).exists()


def test_the_team_page_speaks_spanish(alice: User) -> None:
    client = web(alice)
    client.cookies["django_language"] = "es"
    body = client.get("/app/team/").content.decode()
    assert "Invitaciones pendientes" in body and "Enviar invitación" in body
    assert ">Equipo<" in body and ">Actividad<" in body
