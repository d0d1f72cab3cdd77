"""The client dashboard (`/app/`): signup, login, logout, account page, password reset, languages."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import Account, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = {"account_name": "Dental Sonrisa", "name": "Dana", "email": "dana@sonrisa.test", "password": PASSWORD}


def login_post(client: Client, email: str, password: str = PASSWORD, **extra: str) -> object:
    return client.post("/app/login/", {"username": email, "password": password}, **extra)


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


# --- Landing ---------------------------------------------------------------------------------


def test_it_shows_the_landing_page_with_calls_to_action(client: Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "PrixAgent" in body
    assert 'href="/app/signup/"' in body
    assert 'href="/app/login/"' in body


# --- Signup ----------------------------------------------------------------------------------


def test_it_signs_up_then_logs_in(client: Client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/app/signup/", SIGNUP)
    assert r.status_code == 302
    assert r.url == "/app/signup/sent/"
    assert "Check your inbox" in client.get(r.url).content.decode()
    user = User.objects.get(email="dana@sonrisa.test")
    assert user.role == User.Role.OWNER
    assert user.account.name == "Dental Sonrisa"
    assert not user.account.email_verified
    assert [m.to for m in mail.outbox] == [["dana@sonrisa.test"]]
    assert login_post(client, "dana@sonrisa.test").status_code == 302
    home = client.get("/app/")
    assert home.status_code == 200
    assert "Dental Sonrisa" in home.content.decode()
    assert "Confirm your email dana@sonrisa.test" in home.content.decode()


def test_it_shows_inline_errors_for_invalid_signup(client: Client) -> None:
    r = client.post("/app/signup/", {"account_name": "", "email": "not-an-email", "password": "123"})
    assert r.status_code == 200
    form = r.context["form"]
    assert set(form.errors) >= {"account_name", "email"}
    body = r.content.decode()
    assert 'class="field field--error"' in body
    assert "Enter a valid email address." in body
    assert not Account.objects.exists()


def test_it_shows_the_service_password_error_next_to_the_field(client: Client) -> None:
    r = client.post("/app/signup/", {**SIGNUP, "password": "password"})
    assert r.status_code == 200
    assert "password" in r.context["form"].errors
    assert "This password is too common." in r.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()


def test_it_limits_signups_per_ip(client: Client, settings: object) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 2
    for n in range(2):
        assert client.post("/app/signup/", {**SIGNUP, "email": f"x{n}@example.com", "password": "1"}).status_code == 200
    r = client.post("/app/signup/", SIGNUP)
    assert r.status_code == 429
    assert "Too many attempts" in r.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()


# --- Login / logout --------------------------------------------------------------------------


def test_it_logs_in_by_email_and_records_the_login(client: Client, alice: User) -> None:
    r = login_post(client, "Alice@Example.com")
    assert r.status_code == 302
    assert r.url == "/app/"
    alice.refresh_from_db()
    alice.account.refresh_from_db()
    assert alice.last_login is not None
    assert alice.account.last_login is not None
    assert "Alice Co" in client.get("/app/").content.decode()


def test_it_refuses_a_wrong_password_with_a_message(client: Client, alice: User) -> None:
    r = login_post(client, "alice@example.com", "wrong password")
    assert r.status_code == 200
    assert "Enter a correct email and password." in r.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_requires_login_for_the_dashboard(client: Client) -> None:
    r = client.get("/app/account/")
    assert r.status_code == 302
    assert r.url == "/app/login/?next=/app/account/"


def test_it_logs_out_with_post(alice_client: Client) -> None:
    r = alice_client.post("/app/logout/")
    assert r.status_code == 302
    assert r.url == "/"
    assert alice_client.get("/app/").status_code == 302


def test_it_logs_out_to_the_login_page_when_the_dashboard_has_its_own_port(
    alice_client: Client, settings: object
) -> None:
    settings.SURFACE = "client"
    r = alice_client.post("/app/logout/")
    assert r.url == "/app/login/"
    assert alice_client.get(r.url).status_code == 200


def test_it_sends_platform_staff_to_the_admin(client: Client) -> None:
    User.objects.create_superuser("ops@prixagent.test", PASSWORD)
    r = login_post(client, "ops@prixagent.test")
    assert r.status_code == 302
    assert r.url == "/admin/"
    assert client.get("/app/").url == "/admin/"


def test_it_limits_login_attempts_per_email(client: Client, alice: User) -> None:
    for _ in range(settings.LOGIN_ATTEMPTS_PER_EMAIL):
        assert login_post(client, "alice@example.com", "wrong").status_code == 200
    # Over the limit even the right password is refused, from any IP.
    r = login_post(client, "alice@example.com", REMOTE_ADDR="10.9.9.9")
    assert r.status_code == 429
    assert "Too many attempts" in r.content.decode()
    assert "_auth_user_id" not in client.session
    # Another email from the first IP still gets its own budget.
    assert login_post(client, "bob@example.com", "wrong").status_code == 200


def test_it_limits_login_attempts_per_ip(client: Client, alice: User, settings: object) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    for n in range(3):
        assert login_post(client, f"nobody{n}@example.com", "wrong").status_code == 200
    assert login_post(client, "alice@example.com").status_code == 429
    assert login_post(client, "alice@example.com", REMOTE_ADDR="10.1.1.1").status_code == 302


# --- Account page ----------------------------------------------------------------------------


def test_it_shows_the_account_and_its_users(alice_client: Client, bob: User) -> None:
    r = alice_client.get("/app/account/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "Alice Co" in body
    assert "alice-co" in body
    assert "bob@example.com" in body
    assert "Member" in body


def test_it_shows_charlie_only_his_own_account(client: Client, alice: User, bob: User, charlie: User) -> None:
    client.force_login(charlie)
    for path in ("/app/", "/app/account/"):
        body = client.get(path).content.decode()
        assert "Charlie Ltd" in body
        assert "Alice Co" not in body
        assert "alice@example.com" not in body
        assert "bob@example.com" not in body


def test_it_never_shows_credentials_on_the_account_page(alice_client: Client, alice: User) -> None:
    account = alice.account
    account.twilio_auth_token = "twilio-secret-token-9876"
    account.twilio_configured = True
    account.save()
    body = alice_client.get("/app/").content.decode() + alice_client.get("/app/account/").content.decode()
    assert "twilio-secret-token" not in body
    assert "Connected" in body


def test_it_shows_why_a_suspended_account_is_suspended(alice_client: Client, alice: User) -> None:
    services.account_set_status(account=alice.account, change="suspend", reason="Unpaid invoice #42")
    r = alice_client.get("/app/")
    assert r.status_code == 302
    assert r.url == "/app/account/"
    body = alice_client.get("/app/account/").content.decode()
    assert "Your account is suspended." in body
    assert "Unpaid invoice #42" in body


def test_it_lets_users_of_a_cancelled_account_log_in_to_see_why(client: Client, alice: User) -> None:
    services.account_set_status(account=alice.account, change="cancel", reason="Closed at the owner's request")
    r = login_post(client, "alice@example.com")
    assert r.status_code == 302
    r = client.get(r.url, follow=True)
    assert r.redirect_chain[-1][0] == "/app/account/"
    body = r.content.decode()
    assert "Your account is cancelled." in body
    assert "Closed at the owner&#x27;s request" in body


def test_it_shows_no_banner_for_an_active_account(alice_client: Client) -> None:
    assert 'role="alert"' not in alice_client.get("/app/account/").content.decode()


# --- Password reset and change ---------------------------------------------------------------


def test_it_resets_a_password_by_email(client: Client, alice: User, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/app/password/reset/", {"email": "alice@example.com"})
    assert r.status_code == 302
    assert r.url == "/app/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert "PrixAgent" in message.subject
    link = re.search(re.escape(settings.APP_URL) + r"(/app/password/reset/\S+/)", message.body).group(1)

    r = client.get(link)  # Django swaps the token for a session value and redirects
    assert r.status_code == 302
    r = client.post(r.url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert r.status_code == 302
    assert r.url == "/app/password/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("a brand new passphrase")
    # The link works once.
    assert "This link no longer works" in client.get(link, follow=True).content.decode()


def test_it_sends_no_email_for_an_unknown_address(client: Client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/app/password/reset/", {"email": "nobody@example.com"})
    assert r.status_code == 302
    assert mail.outbox == []


def test_it_changes_the_password_from_the_account(alice_client: Client, alice: User) -> None:
    r = alice_client.post(
        "/app/password/change/",
        {"old_password": PASSWORD, "new_password1": "another long passphrase", "new_password2": "x"},
    )
    assert r.status_code == 200
    assert "new_password2" in r.context["form"].errors
    r = alice_client.post(
        "/app/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another long passphrase",
            "new_password2": "another long passphrase",
        },
    )
    assert r.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another long passphrase")


# --- Languages -------------------------------------------------------------------------------


def test_it_picks_spanish_from_the_browser(client: Client) -> None:
    r = client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    body = r.content.decode()
    assert '<html lang="es">' in body
    assert "Crea tu cuenta" in body


def test_it_speaks_english_by_default(client: Client) -> None:
    body = client.get("/").content.decode()
    assert '<html lang="en">' in body
    assert "Create your account" in body


def test_it_switches_language_and_remembers_it(client: Client) -> None:
    r = client.post("/i18n/setlang/", {"language": "es", "next": "/app/login/"})
    assert r.status_code == 302
    assert r.url == "/app/login/"
    assert r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    # The cookie stays with the client: the next page is Spanish without asking again.
    body = client.get("/app/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Iniciar sesión" in body
    assert "Contraseña" in body


def test_it_stores_the_language_of_a_logged_in_user(alice_client: Client, alice: User) -> None:
    alice_client.post("/i18n/setlang/", {"language": "es", "next": "/app/account/"})
    alice.refresh_from_db()
    assert alice.language == "es"
    assert "Detalles de la cuenta" in alice_client.get("/app/account/").content.decode()


def test_it_ignores_an_unknown_language(alice_client: Client, alice: User) -> None:
    alice_client.post("/i18n/setlang/", {"language": "xx", "next": "/app/"})
    alice.refresh_from_db()
    assert alice.language == ""


def test_it_applies_the_users_language_at_login(client: Client, alice: User) -> None:
    alice.language = "es"
    alice.save()
    r = login_post(client, "alice@example.com")
    assert r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    body = client.get("/app/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Te damos la bienvenida" in body


def test_it_translates_service_errors_on_signup(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    r = client.post("/app/signup/", {**SIGNUP, "password": "password"})
    assert "Esta contraseña es demasiado común." in r.content.decode()
