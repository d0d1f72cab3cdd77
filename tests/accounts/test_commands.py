"""Operator commands: create / list / suspend / reactivate accounts, key rotation,
the security self-check and the super admin bootstrap."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from accounts.models import PROVIDER_SECRETS, Account, User
from prixagent.config import BASE_DIR
from prixagent.crypto import key_id
from prixagent.fields import Sealed
from prixagent.keycheck import key_usage, missing_keys

SECRET_COLUMNS = [column for columns, _flag in PROVIDER_SECRETS.values() for column in columns]


def run(command: str, *args: str, stdin: str | None = None, **options: object) -> str:
    out = StringIO()
    if stdin is not None:
        options["stdin"] = StringIO(stdin)
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# --- create_account -------------------------------------------------------------------------


def test_it_creates_an_account_reading_the_password_from_stdin(db: None) -> None:
    out = run("create_account", name="Delta Inc", email="Owner@Delta.test", stdin="long enough pass 1\n")
    assert out == "delta-inc\n"
    account = Account.objects.get(slug="delta-inc")
    owner = User.objects.get(account=account)
    assert owner.email == "owner@delta.test" and owner.role == User.Role.OWNER
    assert owner.password.startswith("argon2")
    assert authenticate(username="owner@delta.test", password="long enough pass 1") == owner


def test_it_never_takes_the_password_as_an_argument(db: None) -> None:
    with pytest.raises(TypeError, match="Unknown option"):
        call_command("create_account", name="Delta", email="d@delta.test", password="long enough pass 1")


def test_it_refuses_an_empty_password(db: None) -> None:
    with pytest.raises(CommandError, match="no password given"):
        run("create_account", name="Delta", email="d@delta.test", stdin="")


def test_it_refuses_a_weak_password_in_one_line(db: None) -> None:
    with pytest.raises(CommandError) as excinfo:
        run("create_account", name="Delta", email="d@delta.test", stdin="password\n")
    assert "\n" not in str(excinfo.value)
    assert "password:" in str(excinfo.value)
    assert not Account.objects.filter(slug="delta").exists()


def test_it_refuses_an_email_already_in_use(alice: User) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("create_account", name="Another", email="alice@example.com", stdin="long enough pass 1\n")


def test_it_keeps_slugs_unique(alice_account: Account) -> None:
    assert run("create_account", name="Alice Co", email="x@alice2.test", stdin="long enough pass 1\n") == "alice-co-2\n"


# --- list_accounts, suspend_account, reactivate_account -----------------------------------


def test_it_lists_accounts_as_a_table(alice_account: Account, charlie_account: Account) -> None:
    alice_account.twilio_auth_token = "canary-token-" + uuid.uuid4().hex
    alice_account.twilio_configured = alice_account.calcom_configured = True
    alice_account.subscription_plan = "pro"
    alice_account.save()
    lines = run("list_accounts").splitlines()
    assert lines[0].split() == ["slug", "name", "email", "status", "plan", "integrations"]
    alice_line = next(line for line in lines if line.startswith("alice-co"))
    assert alice_line.split() == ["alice-co", "Alice", "Co", "alice@example.com", "active", "pro", "twilio,calcom"]
    assert any(line.startswith("charlie-ltd") and line.rstrip().endswith("-") for line in lines)
    assert lines[-1] == "2 accounts"
    assert "canary-token" not in "\n".join(lines)


def test_it_filters_the_list_by_status(alice_account: Account, charlie_account: Account) -> None:
    run("suspend_account", "charlie-ltd", reason="Unpaid")
    out = run("list_accounts", status="suspended")
    assert "charlie-ltd" in out and "alice-co" not in out
    assert out.splitlines()[-1] == "1 account (suspended)"


def test_it_suspends_and_reactivates_an_account(alice_account: Account) -> None:
    assert run("suspend_account", "alice-co", reason="Chargeback") == "Account alice-co: suspended (Chargeback)\n"
    alice_account.refresh_from_db()
    assert (alice_account.status, alice_account.status_reason) == ("suspended", "Chargeback")
    assert run("reactivate_account", "alice-co") == "Account alice-co: active\n"
    alice_account.refresh_from_db()
    assert (alice_account.status, alice_account.status_reason) == ("active", "")


def test_it_requires_a_reason_to_suspend(alice_account: Account) -> None:
    with pytest.raises(CommandError, match="--reason"):
        run("suspend_account", "alice-co", reason="  ")


def test_it_reports_an_unknown_slug(db: None) -> None:
    with pytest.raises(CommandError, match="no account with slug 'nope'"):
        run("suspend_account", "nope", reason="x")
    with pytest.raises(CommandError, match="no account with slug 'nope'"):
        run("reactivate_account", "nope")


def test_it_does_not_reactivate_a_cancelled_account(alice_account: Account) -> None:
    alice_account.status = Account.Status.CANCELLED
    alice_account.save()
    with pytest.raises(CommandError, match="cancelled account cannot be reactivated"):
        run("reactivate_account", "alice-co")


# --- rotate_encryption_key ----------------------------------------------------------------


@pytest.fixture
def k1(settings) -> bytes:
    key = secrets.token_bytes(32)
    settings.ENCRYPTION_KEY = key
    settings.ENCRYPTION_RETIRED_KEYS = ()
    return key


@pytest.fixture
def stored(db: None, k1: bytes) -> dict[tuple[str, str], str]:
    """Five accounts with every credential column set under k1: {(slug, column): plaintext}."""
    values = {}
    for n in range(5):
        account = Account(name=f"Tenant {n}", slug=f"tenant-{n}", email=f"t{n}@example.com")
        for column in SECRET_COLUMNS:
            values[(account.slug, column)] = f"canary-{column}-{uuid.uuid4().hex}"
            setattr(account, column, values[(account.slug, column)])
        account.save()
    return values


def switch_to(settings, k1: bytes) -> bytes:
    k2 = secrets.token_bytes(32)
    settings.ENCRYPTION_KEY = k2
    settings.ENCRYPTION_RETIRED_KEYS = (k1,)
    return k2


def raw_values() -> dict[tuple[str, str], str]:
    return {
        (a.slug, c): a.__dict__[c].ciphertext
        for a in Account.objects.all()
        for c in SECRET_COLUMNS
        if isinstance(a.__dict__[c], Sealed)
    }


def assert_all_readable(values: dict[tuple[str, str], str]) -> None:
    for account in Account.objects.all():
        for column in SECRET_COLUMNS:
            assert getattr(account, column) == values[(account.slug, column)]


def test_it_re_encrypts_every_secret_under_the_new_key(settings, k1: bytes, stored: dict) -> None:
    assert key_usage() == {key_id(k1): 25}
    k2 = switch_to(settings, k1)
    settings.ENCRYPTION_RETIRED_KEYS = ()
    assert missing_keys() == {key_id(k1): 25}  # dropping k1 before rotating is refused
    settings.ENCRYPTION_RETIRED_KEYS = (k1,)
    out = run("rotate_encryption_key")
    assert key_usage() == {key_id(k2): 25}
    assert_all_readable(stored)
    assert f"Current key: {key_id(k2)}" in out
    assert "  accounts.twilio_auth_token: 5 re-encrypted" in out
    assert out.splitlines()[-1] == "re-encrypted 25 secrets in 5 rows; 0 remain on retired keys"
    assert not any(value in out for value in stored.values())
    # The old key can now be dropped: start-up no longer finds rows that need it.
    settings.ENCRYPTION_RETIRED_KEYS = ()
    assert missing_keys() == {}


def test_it_changes_nothing_on_a_second_run(settings, k1: bytes, stored: dict) -> None:
    switch_to(settings, k1)
    run("rotate_encryption_key")
    before = raw_values()
    out = run("rotate_encryption_key")
    assert raw_values() == before
    assert out.splitlines()[-1] == "re-encrypted 0 secrets in 0 rows; 0 remain on retired keys"


def test_it_can_be_stopped_and_resumed(settings, k1: bytes, stored: dict) -> None:
    k2 = switch_to(settings, k1)
    out = run("rotate_encryption_key", batch_size=1, limit=7)
    assert out.splitlines()[-2] == "re-encrypted 7 secrets in 5 rows; 18 remain on retired keys"
    assert key_usage() == {key_id(k2): 7, key_id(k1): 18}
    assert_all_readable(stored)  # half-way through, everything still decrypts
    out = run("rotate_encryption_key", batch_size=2)
    assert "re-encrypted 18 secrets in 5 rows; 0 remain on retired keys" in out
    assert key_usage() == {key_id(k2): 25}
    assert_all_readable(stored)


def test_it_keeps_committed_batches_when_a_run_fails_midway(settings, k1: bytes, stored: dict) -> None:
    k2 = switch_to(settings, k1)
    # A value sealed with a key nobody has: the run stops there with a readable error.
    broken = Account.objects.get(slug="tenant-3")
    Account.objects.filter(pk=broken.pk).update(calcom_api_key=Sealed("pa1:deadbeef:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
    with pytest.raises(CommandError, match="sealed with key deadbeef, which is not configured"):
        run("rotate_encryption_key", batch_size=1)
    usage = key_usage()
    # Every column before calcom_api_key finished (5 rows x 4 columns), calcom stopped part way.
    assert usage[key_id(k2)] >= 20 and usage["deadbeef"] == 1
    Account.objects.filter(pk=broken.pk).update(calcom_api_key=None)  # the operator clears it
    out = run("rotate_encryption_key", batch_size=1)
    assert out.splitlines()[-1].endswith("0 remain on retired keys")
    assert key_usage() == {key_id(k2): 24}


def test_it_refuses_a_bad_batch_size(db: None) -> None:
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run("rotate_encryption_key", batch_size=0)


@pytest.mark.django_db(transaction=True)
def test_it_skips_rows_locked_by_other_work_and_finishes_on_the_next_run(settings) -> None:
    k1 = secrets.token_bytes(32)
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_RETIRED_KEYS = k1, ()
    accounts = []
    for n in range(3):
        account = Account(name=f"Locked {n}", slug=f"locked-{n}", email=f"l{n}@example.com")
        account.twilio_auth_token = f"token-{uuid.uuid4().hex}"
        account.save()
        accounts.append(account)
    k2 = switch_to(settings, k1)
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        # Another connection (a tenant saving its credentials) holds one row.
        with transaction.atomic():
            Account.objects.select_for_update().get(pk=accounts[0].pk)
            locked.set()
            release.wait(timeout=30)
        connection.close()

    worker = threading.Thread(target=hold_lock)
    worker.start()
    try:
        assert locked.wait(timeout=10)
        out = run("rotate_encryption_key")
    finally:
        release.set()
        worker.join()
    assert out.splitlines()[-2] == "re-encrypted 2 secrets in 2 rows; 1 remains on retired keys"
    out = run("rotate_encryption_key")
    assert out.splitlines()[-1] == "re-encrypted 1 secrets in 1 rows; 0 remain on retired keys"
    assert key_usage() == {key_id(k2): 3}


# --- security_check -------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git checkout with the project's .gitignore and an untracked, private .env."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(BASE_DIR / ".gitignore", tmp_path / ".gitignore")
    env = tmp_path / ".env"
    env.write_text("NODE_ENV=production\n")
    env.chmod(0o600)
    return tmp_path


@pytest.fixture
def good_settings(settings) -> None:
    settings.NODE_ENV = "production"
    settings.DEBUG = False
    settings.ADMIN_PASSWORD = "a strong operator passphrase"
    settings.SECRET_KEY = secrets.token_urlsafe(48)
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": secrets.token_urlsafe(48)}
    settings.JWT_REFRESH_SECRET = secrets.token_urlsafe(48)
    settings.ENCRYPTION_KEY = secrets.token_bytes(32)
    settings.ENCRYPTION_RETIRED_KEYS = ()
    settings.ELEVENLABS_API_KEY = settings.ELEVENLABS_VOICE_ID = ""
    settings.PAYPAL_CLIENT_ID = settings.PAYPAL_SECRET = ""


def security_check(repo: Path) -> tuple[str, str | None]:
    out = StringIO()
    try:
        call_command("security_check", repo_dir=str(repo), stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def test_it_passes_the_security_check_on_a_good_config(repo: Path, good_settings: None) -> None:
    out, error = security_check(repo)
    assert error is None, out
    lines = out.splitlines()
    assert len(lines) == 8 and all(line.startswith("OK ") for line in lines[:-1])
    assert lines[-1] == "security check: 7 checks, no findings"


def test_it_fails_on_a_tracked_env_file(repo: Path, good_settings: None) -> None:
    subprocess.run(["git", "-C", str(repo), "add", "-f", ".env"], check=True)
    out, error = security_check(repo)
    assert error == "security check: 1 finding (.env not tracked by git)"
    assert "FAIL .env not tracked by git: .env is committed; run `git rm --cached .env`" in out


def test_it_fails_without_gitignore_rules(repo: Path, good_settings: None) -> None:
    (repo / ".gitignore").write_text("*.pyc\n.env\n!.env\n")
    out, error = security_check(repo)
    assert error is not None and ".gitignore has .env rules" in error
    assert "not ignored: .env, .env.local, .env.production.local" in out


def test_it_fails_on_a_placeholder_secret(repo: Path, good_settings: None, settings) -> None:
    settings.PAYPAL_SECRET = "your-paypal-secret"
    out, error = security_check(repo)
    assert error == "security check: 1 finding (no placeholder secrets)"
    assert "FAIL no placeholder secrets: PAYPAL_SECRET still hold" in out
    assert "your-paypal-secret" not in out


def test_it_fails_on_short_secrets_and_keys(repo: Path, good_settings: None, settings) -> None:
    settings.JWT_REFRESH_SECRET = "x" * 40  # enough for development, too short for production
    settings.ENCRYPTION_KEY = b"k" * 16
    out, error = security_check(repo)
    assert error == "security check: 1 finding (key sizes)"
    assert "ENCRYPTION_KEY must be 32 bytes" in out
    assert "JWT_REFRESH_SECRET has 40 characters, needs 50" in out


def test_it_fails_on_debug_in_production(repo: Path, good_settings: None, settings) -> None:
    settings.DEBUG = True
    _out, error = security_check(repo)
    assert error == "security check: 1 finding (DEBUG off in production)"


@pytest.mark.parametrize("password", ["changeme", "Password", "short-pass1"])
def test_it_fails_on_a_weak_admin_password(repo: Path, good_settings: None, settings, password: str) -> None:
    settings.ADMIN_PASSWORD = password
    out, error = security_check(repo)
    assert error == "security check: 1 finding (ADMIN_PASSWORD not weak)"
    assert password not in out


def test_it_reports_the_seed_admin_password_as_weak_and_a_placeholder(
    repo: Path, good_settings: None, settings
) -> None:
    settings.ADMIN_PASSWORD = "admin123"
    _out, error = security_check(repo)
    assert error == "security check: 2 findings (no placeholder secrets, ADMIN_PASSWORD not weak)"


def test_it_fails_on_a_world_readable_env_file(repo: Path, good_settings: None) -> None:
    os.chmod(repo / ".env", 0o644)
    out, error = security_check(repo)
    assert error == "security check: 1 finding (.env readable only by its owner)"
    assert "run `chmod 600 .env`" in out


def test_it_skips_the_git_check_outside_a_checkout(tmp_path: Path, good_settings: None) -> None:
    shutil.copy(BASE_DIR / ".gitignore", tmp_path / ".gitignore")
    out, error = security_check(tmp_path)
    assert error is None
    assert "SKIP .env not tracked by git" in out


# --- bootstrap_admin ------------------------------------------------------------------------


def test_it_bootstraps_the_admin_idempotently(db: None, settings) -> None:
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = "ops@prixagent.test", "first operator passphrase"
    assert run("bootstrap_admin") == "Platform admin ops@prixagent.test: created\n"
    first_hash = User.objects.get(email="ops@prixagent.test").password
    assert run("bootstrap_admin") == "Platform admin ops@prixagent.test: unchanged\n"
    assert User.objects.get(email="ops@prixagent.test").password == first_hash

    settings.ADMIN_PASSWORD = "second operator passphrase"
    assert run("bootstrap_admin") == "Platform admin ops@prixagent.test: updated\n"
    admin = User.objects.get(email="ops@prixagent.test")
    assert admin.is_superuser and admin.is_staff and admin.account is None
    assert admin.password.startswith("argon2$") and "operator passphrase" not in admin.password
    assert authenticate(username="ops@prixagent.test", password="second operator passphrase") == admin
    assert authenticate(username="ops@prixagent.test", password="first operator passphrase") is None
    assert User.objects.filter(is_superuser=True).count() == 1


def test_it_refuses_to_bootstrap_without_a_password(db: None, settings) -> None:
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = "ops@prixagent.test", ""
    with pytest.raises(CommandError, match="ADMIN_EMAIL and ADMIN_PASSWORD must both be set"):
        run("bootstrap_admin")
