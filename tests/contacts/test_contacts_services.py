"""Services other issues build on (inbound callers, do-not-call, updates), the commands, the admin,
the sign-up default country, and the whole import on the embedded SQLite of `make run`."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Account, User
from accounts.services import account_signup
from contacts import services
from contacts.models import Contact, DoNotCallEntry
from contacts.phones import country_for_language
from prixagent.errors import ApplicationError
from tests.contacts.conftest import committed, csv_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_an_unknown_inbound_caller_becomes_a_contact(alice_account: Account) -> None:
    with committed():
        contact = services.contact_get_or_create_inbound(account=alice_account, phone="+1 (415) 555-0100")
    assert (contact.phone, contact.source) == ("+14155550100", "inbound")
    again = services.contact_get_or_create_inbound(account=alice_account, phone="4155550100")
    assert again.pk == contact.pk and Contact.objects.count() == 1


def test_an_inbound_caller_on_the_list_is_flagged(alice_account: Account) -> None:
    services.dnc_add(account=alice_account, phone="+14155550100", reason="asked", source="opt_out")
    contact = services.contact_get_or_create_inbound(account=alice_account, phone="+14155550100")
    assert contact.do_not_call and contact.do_not_call_reason == "asked"


def test_dnc_add_is_idempotent_and_keeps_the_first_reason(alice_account: Account) -> None:
    first = services.dnc_add(account=alice_account, phone="+14155550100", reason="STOP", source="opt_out")
    second = services.dnc_add(account=alice_account, phone="415 555 0100", reason="other")
    assert first.pk == second.pk and second.reason == "STOP" and DoNotCallEntry.objects.count() == 1
    assert services.dnc_contains(account=alice_account, phone="+14155550100")
    assert services.dnc_remove(account=alice_account, phone="+14155550100") is True
    assert services.dnc_remove(account=alice_account, phone="+14155550100") is False


def test_changing_the_number_follows_the_list(alice_account: Account) -> None:
    contact = services.contact_create(account=alice_account, data={"phone": "+14155550100"})
    services.dnc_add(account=alice_account, phone="+14155550199")
    services.contact_update(contact=contact, data={"phone": "+14155550199"})
    assert Contact.objects.get(pk=contact.pk).do_not_call is True
    services.contact_update(contact=contact, data={"phone": "+33612345678"})
    contact.refresh_from_db()
    assert not contact.do_not_call and contact.time_zone == "Europe/Paris"


def test_a_zone_given_by_the_user_survives_a_new_number(alice_account: Account) -> None:
    contact = services.contact_create(account=alice_account, data={"phone": "+14155550100", "time_zone": "Asia/Tokyo"})
    services.contact_update(contact=contact, data={"phone": "+33612345678"})
    assert (contact.time_zone, contact.time_zone_source) == ("Asia/Tokyo", "record")
    services.contact_update(contact=contact, data={"time_zone": ""})  # cleared: derived again
    assert (contact.time_zone, contact.time_zone_source) == ("Europe/Paris", "number")


def test_update_refuses_unknown_fields(alice_account: Account) -> None:
    contact = services.contact_create(account=alice_account, data={"phone": "+14155550100"})
    with pytest.raises(ApplicationError) as refused:
        services.contact_update(contact=contact, data={"account": "x", "source": "ghl"})
    assert set(refused.value.fields) == {"account", "source"}


def test_bulk_refuses_an_unknown_action(alice_account: Account) -> None:
    with pytest.raises(ApplicationError):
        services.contacts_bulk(account=alice_account, action="explode", contacts=Contact.objects.all(), tags=["x"])


@pytest.mark.parametrize(
    ("language", "country"), [("es", "ES"), ("es-MX", "MX"), ("en", "US"), ("", "US"), ("fr", "FR")]
)
def test_country_for_language(language: str, country: str) -> None:
    assert country_for_language(language) == country


def test_signup_takes_the_default_country_from_the_owners_language(db: None) -> None:
    from django.utils import translation

    with translation.override("es"):
        account = account_signup(account_name="Taller Ana", email="ana@example.es", password="una clave larga 123")
    assert account.default_country == "ES"
    with translation.override("en"):
        account = account_signup(account_name="Ann's", email="ann@example.com", password="a long password 123")
    assert account.default_country == "US"


# --- commands -----------------------------------------------------------------------------------------


def test_import_contacts_command(alice_account: Account, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([["Name", "Mobile", "Fax"], ["Ann Lee", "+14155550100", "1"], ["Bad", "x", ""]]))
    out = io.StringIO()
    errors = tmp_path / "errors.csv"
    call_command(
        "import_contacts", "--account", "alice-co", str(path), "--map", "Fax=", "--errors", str(errors), stdout=out
    )
    text = out.getvalue()
    assert "Mobile" in text and "-> phone" in text and "Fax" in text and "(ignored)" in text
    assert "[##############################] 100%" in text
    assert "Done: 2 rows read, 1 created, 0 updated, 0 skipped, 1 invalid" in text
    assert "3,Mobile,x," in errors.read_text(encoding="utf-8-sig")
    assert Contact.objects.get(account=alice_account).custom_fields == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "nobody", "x.csv"], "No account with the slug 'nobody'."),
        (["--account", "alice-co", "missing.csv"], "No such file: missing.csv"),
        (["--account", "alice-co", "EMPTY"], "The file is empty."),
        (["--account", "alice-co", "NOPHONE"], "Choose the column that holds the phone number."),
        (["--account", "alice-co", "NOPHONE", "--map", "Nope=phone"], "--map 'Nope=phone': no column 'Nope'"),
    ],
)
def test_import_command_fails_with_one_line(
    alice_account: Account, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "EMPTY").write_bytes(b"")
    (tmp_path / "NOPHONE").write_bytes(b"Name\nAnn\n")
    args = [str(tmp_path / a) if a in ("EMPTY", "NOPHONE") else a for a in args]
    with pytest.raises(CommandError) as failed:
        call_command("import_contacts", *args, stdout=io.StringIO())
    assert str(failed.value).startswith(message) and "\n" not in str(failed.value)
    assert not Contact.objects.exists()


def test_sync_command_needs_ghl(alice_account: Account) -> None:
    with pytest.raises(CommandError, match="has not connected GoHighLevel"):
        call_command("sync_ghl_contacts", "--account", "alice-co")


# --- admin --------------------------------------------------------------------------------------------


def test_the_admin_lists_and_searches_contacts(alice_account: Account, db: None) -> None:
    staff = User.objects.create_superuser("ops@example.com", "an operator password 1")
    services.contact_create(account=alice_account, data={"phone": "+14155550100", "first_name": "Ann"})
    client = Client()
    client.force_login(staff)
    for url in (
        "/admin/contacts/contact/?q=alice-co",
        "/admin/contacts/importjob/",
        "/admin/contacts/donotcallentry/",
        "/admin/contacts/ghlsyncstate/",
        "/admin/contacts/tag/",
    ):
        assert client.get(url).status_code == 200, url
    html = client.get("/admin/contacts/contact/?q=ann").content.decode()
    assert "+14155550100" in html
    contact = Contact.objects.get()
    assert client.get(f"/admin/contacts/contact/{contact.pk}/change/").status_code == 200
    r = client.post("/admin/contacts/contact/", {"action": "add_to_dnc", "_selected_action": [contact.pk]})
    assert r.status_code == 302 and DoNotCallEntry.objects.filter(account=alice_account).exists()


# --- the embedded SQLite of `make run` -------------------------------------------------------------------


SQLITE_SCRIPT = """
import io
from accounts.models import Account
from contacts import imports, selectors
from contacts.export import contact_rows
from contacts.models import Contact
a = Account.objects.create(name="S", slug="s", email="s@example.com")
def run(content, policy):
    job = imports.import_job_create(account=a, source=io.BytesIO(content), file_name="f.csv", actor="system")
    imports.import_job_start(job=job, policy=policy)
    job.refresh_from_db()
    return (job.status, job.created, job.updated, job.skipped, job.invalid)
first = b"Name,Phone,Tags\\nAnn,+14155550100,vip\\nBob,+14155550101,\\n"
print(run(first + b"Ann B,(415) 555-0100,lead\\nX,12,\\n", "update"))
print(run(b"Name,Phone\\nAnna,+14155550100\\n", "skip"))
print(run(b"Name,Phone\\nAnna,+14155550100\\n", "update"))
c = Contact.objects.get(phone="+14155550100")
print(c.first_name, sorted(t.name for t in c.tags.all()))
flt = selectors.contact_filter_parse({"q": "anna"})
print(selectors.contacts_filtered(account=a, flt=flt).count())
print(len(list(contact_rows(Contact.objects.filter(account=a)))))
rows = selectors.contact_values_with_tags(Contact.objects.filter(account=a).order_by("id"), ["id", "phone"])
print([r["tag_names"] for r in selectors.contact_rows_tagged(list(rows))])
"""


def test_the_whole_import_works_on_sqlite(tmp_path: Path) -> None:
    """`make run` without DATABASE_URL: migrations, the portable write path, search and export."""
    env = {
        **os.environ,
        "NODE_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "CONTACTS_UPLOAD_DIR": str(tmp_path / "uploads"),
        "CONTACTS_BACKGROUND_THREADS": "",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "LOG_LEVEL": "warning",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    script = "from django.conf import settings; settings.CONTACTS_BACKGROUND_THREADS = False\n" + SQLITE_SCRIPT
    result = subprocess.run(
        [*manage, "shell", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()[-7:]
    assert lines == [
        "('done', 2, 1, 0, 1)",
        "('done', 0, 0, 1, 0)",
        "('done', 0, 1, 0, 0)",
        "Anna ['lead', 'vip']",
        "1",
        "3",
        "[['lead', 'vip'], []]",
    ]
