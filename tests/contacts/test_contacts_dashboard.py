"""`/app/contacts/`: list, contact page, forms, import wizard, do-not-call list; plain HTML forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Account, User
from contacts import services
from contacts.models import Contact, DoNotCallEntry, ImportJob, Tag
from tests.contacts.conftest import committed, csv_bytes, run_import, web

PAGE = "/app/contacts/"


def make(account: Account, phone: str, **data: Any) -> Contact:
    return services.contact_create(account=account, data={"phone": phone, **data}, actor="system")


@pytest.fixture
def alice_web(alice: User) -> Client:
    return web(alice)


def test_the_nav_links_to_contacts(alice_web: Client) -> None:
    html = alice_web.get("/app/").content.decode()
    assert 'href="/app/contacts/"' in html


def test_the_list_shows_searches_and_filters(alice_web: Client, alice_account: Account) -> None:
    make(alice_account, "+14155550100", first_name="Ann", tags=["vip"])
    make(alice_account, "+12125550101", first_name="Bob")
    html = alice_web.get(PAGE).content.decode()
    assert "Ann" in html and "Bob" in html and "+14155550100" in html
    assert 'aria-current="page"' in html
    html = alice_web.get(PAGE, {"q": "ann"}).content.decode()
    assert "Ann" in html and "+12125550101" not in html
    html = alice_web.get(PAGE, {"tag": "vip"}).content.decode()
    assert "+12125550101" not in html
    bad = alice_web.get(PAGE, {"created_after": "soon"})
    assert bad.status_code == 200 and "Use a date" in bad.content.decode()


def test_add_and_edit_a_contact(alice_web: Client, alice_account: Account) -> None:
    r = alice_web.post(
        f"{PAGE}new/",
        {
            "first_name": "Ann",
            "phone": "415 555 0100",
            "tags": "vip, lead",
            "consent_status": "granted",
            "custom_fields": "Color = red",
        },
    )
    contact = Contact.objects.get(account=alice_account)
    assert r.status_code == 302 and r["Location"] == f"{PAGE}{contact.pk}/"
    assert contact.phone == "+14155550100" and contact.custom_fields == {"Color": "red"}
    assert contact.consent_status == "granted" and contact.consent_source == "alice@example.com"
    page = alice_web.get(f"{PAGE}{contact.pk}/").content.decode()
    assert "vip" in page and "Color" in page and "=== CALLS" not in page  # the marker is a template comment
    assert 'id="calls"' in page
    r = alice_web.post(
        f"{PAGE}{contact.pk}/edit/",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "+14155550100",
            "tags": "vip",
            "consent_status": "granted",
            "custom_fields": "",
        },
    )
    assert r.status_code == 302
    contact.refresh_from_db()
    assert contact.last_name == "Lee" and [t.name for t in contact.tags.all()] == ["vip"]


def test_form_errors_stay_on_the_page(alice_web: Client, alice_account: Account) -> None:
    r = alice_web.post(f"{PAGE}new/", {"phone": "+14155550100", "consent_status": "unknown", "custom_fields": "oops"})
    assert r.status_code == 400 and "name = value" in r.content.decode()
    r = alice_web.post(f"{PAGE}new/", {"phone": "12", "consent_status": "unknown", "email": "nope"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "not valid for its country" in html and "Enter a valid email address." in html
    assert not Contact.objects.exists()


def test_do_not_call_and_tags_from_the_contact_page(alice_web: Client, alice_account: Account) -> None:
    contact = make(alice_account, "+14155550100")
    alice_web.post(f"{PAGE}{contact.pk}/do-not-call/", {"action": "add", "reason": "rude"})
    assert DoNotCallEntry.objects.get(account=alice_account).reason == "rude"
    assert "Allow calls again" in alice_web.get(f"{PAGE}{contact.pk}/").content.decode()
    alice_web.post(f"{PAGE}{contact.pk}/do-not-call/", {"action": "remove"})
    assert not DoNotCallEntry.objects.exists()
    alice_web.post(f"{PAGE}{contact.pk}/tags/", {"action": "add", "name": "hot"})
    tag = Tag.objects.get(name="hot")
    assert list(contact.tags.all()) == [tag]
    alice_web.post(f"{PAGE}{contact.pk}/tags/", {"action": "remove", "tag": tag.pk})
    assert not contact.tags.exists()


def test_bulk_delete_asks_once_more(alice_web: Client, alice_account: Account) -> None:
    a = make(alice_account, "+14155550100", tags=["x"])
    b = make(alice_account, "+14155550101")
    r = alice_web.post(f"{PAGE}bulk/", {"action": "delete", "scope": "filter", "tag": "x"})
    assert r.status_code == 200 and "This deletes 1 contact" in r.content.decode()
    assert Contact.objects.count() == 2
    r = alice_web.post(f"{PAGE}bulk/", {"action": "delete", "scope": "filter", "tag": "x", "confirm": "on"})
    assert r.status_code == 302 and r["Location"] == f"{PAGE}?tag=x"
    assert list(Contact.objects.values_list("pk", flat=True)) == [b.pk]
    alice_web.post(f"{PAGE}bulk/", {"action": "tag", "tags": "new", "scope": "selected", "ids": [b.pk, a.pk + 999]})
    assert [t.name for t in Contact.objects.get(pk=b.pk).tags.all()] == ["new"]


def test_export_from_the_dashboard(alice_web: Client, alice_account: Account) -> None:
    make(alice_account, "+14155550100", first_name="@Ann")
    r = alice_web.get(f"{PAGE}export.csv")
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    assert r["Content-Type"].startswith("text/csv") and "'@Ann" in text


# --- the import wizard --------------------------------------------------------------------------------


def test_the_import_wizard_upload_mapping_progress_report(alice_web: Client, alice_account: Account) -> None:
    content = csv_bytes([["Nombre", "Móvil", "Notas"], ["Ana", "+34911234567", "hola"], ["Mal", "123", ""]])
    r = alice_web.post(f"{PAGE}imports/", {"file": SimpleUploadedFile("gente.csv", content), "kind": "contacts"})
    job = ImportJob.objects.get(account=alice_account)
    assert r.status_code == 302 and r["Location"] == f"{PAGE}imports/{job.pk}/"
    html = alice_web.get(r["Location"]).content.decode()
    assert "Match the columns" in html and "Ana" in html and "hola" in html  # preview rows
    assert re.search(r'<option value="phone" selected>', html)
    with committed():
        r = alice_web.post(
            f"{PAGE}imports/{job.pk}/", {"col_0": "first_name", "col_1": "phone", "col_2": "", "policy": "skip"}
        )
    assert r.status_code == 302
    status = alice_web.get(f"{PAGE}imports/{job.pk}/status.json").json()
    assert status["finished"] and (status["created"], status["invalid"], status["percent"]) == (1, 1, 100)
    html = alice_web.get(f"{PAGE}imports/{job.pk}/").content.decode()
    assert "<progress" in html and 'value="100"' in html and "http-equiv" not in html
    assert "Download the report of 1 problem" in html
    report = alice_web.get(f"{PAGE}imports/{job.pk}/errors.csv")
    assert "3,Móvil,123," in b"".join(report.streaming_content).decode("utf-8-sig")
    assert Contact.objects.get(account=alice_account).custom_fields == {}


def test_a_running_import_refreshes_itself_without_javascript(alice_web: Client, alice_account: Account) -> None:
    job = ImportJob.objects.create(
        account=alice_account,
        file_name="x.csv",
        encoding="utf-8",
        delimiter=",",
        header=["Phone"],
        mapping=["phone"],
        status="running",
        file_size=1000,
        bytes_done=420,
    )
    html = alice_web.get(f"{PAGE}imports/{job.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
    assert 'value="42"' in html and f'data-status-url="{PAGE}imports/{job.pk}/status.json"' in html
    assert "js/contacts.js" in html


def test_a_bad_file_is_refused_on_the_upload_page(alice_web: Client, alice_account: Account) -> None:
    r = alice_web.post(f"{PAGE}imports/", {"file": SimpleUploadedFile("x.csv", b"Name,Phone\n"), "kind": "contacts"})
    assert r.status_code == 400 and "header row but no contacts" in r.content.decode()
    assert not ImportJob.objects.exists()


def test_the_do_not_call_page(alice_web: Client, alice_account: Account) -> None:
    r = alice_web.post(f"{PAGE}do-not-call/", {"phone": "(415) 555-0100", "reason": "STOP"})
    assert r.status_code == 302
    entry = DoNotCallEntry.objects.get(account=alice_account)
    assert entry.phone == "+14155550100" and entry.added_by == "alice@example.com"
    assert "+14155550100" in alice_web.get(f"{PAGE}do-not-call/").content.decode()
    alice_web.post(f"{PAGE}do-not-call/{entry.pk}/remove/")
    assert not DoNotCallEntry.objects.exists()


def test_the_ghl_card_invites_to_connect(alice_web: Client) -> None:
    assert "Connect GoHighLevel" in alice_web.get(PAGE).content.decode()


# --- roles and isolation -------------------------------------------------------------------------------


def post_routes(account: Account) -> list[tuple[str, dict[str, Any]]]:
    contact = make(account, "+14155550100", tags=["t"])
    tag = Tag.objects.get(account=account)
    entry = services.dnc_add(account=account, phone="+14155550999")
    job = run_import(account, csv_bytes([["Phone"], ["+14155550177"]]))
    mapping = ImportJob.objects.create(
        account=account, file_name="y.csv", encoding="utf-8", delimiter=",", header=["Phone"], mapping=["phone"]
    )
    return [
        (f"{PAGE}new/", {"phone": "+14155550111", "consent_status": "unknown"}),
        (f"{PAGE}{contact.pk}/edit/", {"phone": "+14155550100", "first_name": "X", "consent_status": "unknown"}),
        (f"{PAGE}{contact.pk}/do-not-call/", {"action": "add"}),
        (f"{PAGE}{contact.pk}/tags/", {"action": "remove", "tag": tag.pk}),
        (f"{PAGE}bulk/", {"action": "tag", "tags": "b", "scope": "selected", "ids": [contact.pk]}),
        (f"{PAGE}do-not-call/", {"phone": "+14155550888"}),
        (f"{PAGE}do-not-call/{entry.pk}/remove/", {}),
        (f"{PAGE}imports/{mapping.pk}/", {"col_0": "phone", "policy": "update"}),
        (f"{PAGE}imports/{job.pk}/resume/", {}),
        (f"{PAGE}imports/{mapping.pk}/cancel/", {}),
        (f"{PAGE}ghl-sync/", {}),
        (f"{PAGE}{contact.pk}/delete/", {}),
    ]


def test_members_see_but_cannot_change(bob: User, alice_account: Account) -> None:
    client = web(bob)
    routes = post_routes(alice_account)
    for url, data in routes:
        assert client.post(url, data).status_code == 403, url
    r = client.post(f"{PAGE}imports/", {"file": SimpleUploadedFile("x.csv", b"Phone\n+14155550100\n")})
    assert r.status_code == 403
    assert Contact.objects.get(account=alice_account, phone="+14155550100").first_name == ""
    html = client.get(PAGE).content.decode()
    assert client.get(PAGE).status_code == 200 and "Add contact" not in html and 'name="ids"' not in html


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_owners_and_admins_change(persona: str, request: Any, alice_account: Account) -> None:
    client = web(request.getfixturevalue(persona))
    for url, data in post_routes(alice_account):
        with committed():
            r = client.post(url, data)
        assert r.status_code == 302, (url, r.status_code, r.content[:300])


def test_charlie_gets_404_on_alices_pages(charlie: User, alice_account: Account) -> None:
    client = web(charlie)
    routes = post_routes(alice_account)
    job = ImportJob.objects.filter(account=alice_account, status="done").first()
    contact = Contact.objects.filter(account=alice_account).first()
    for url in (
        f"{PAGE}{contact.pk}/",
        f"{PAGE}{contact.pk}/edit/",
        f"{PAGE}imports/{job.pk}/",
        f"{PAGE}imports/{job.pk}/status.json",
        f"{PAGE}imports/{job.pk}/errors.csv",
    ):
        assert client.get(url).status_code == 404, url
    for url, data in routes:
        if url.rstrip("/").endswith(("new", "bulk", "do-not-call", "ghl-sync")):
            continue  # collections: charlie works in his own account
        assert client.post(url, data).status_code == 404, url
    assert Contact.objects.filter(account=alice_account).count() == 2
    assert "+14155550100" not in client.get(PAGE).content.decode()
    export = b"".join(client.get(f"{PAGE}export.csv").streaming_content).decode()
    assert "+1415555" not in export


@pytest.fixture
def spanish() -> Any:
    yield
    from django.utils import translation

    translation.deactivate()  # the test client leaves the last request's language active


def test_the_pages_speak_spanish(alice: User, alice_account: Account, spanish: None) -> None:
    client = web(alice)
    client.cookies["django_language"] = "es"
    html = client.get(PAGE).content.decode()
    assert "Contactos" in html and "Importar CSV" in html and "Lista de no llamar" in html
    r = client.post(f"{PAGE}imports/", {"file": SimpleUploadedFile("x.csv", b"Nombre,Tel\n"), "kind": "contacts"})
    assert "El archivo tiene la fila de encabezado pero ningún contacto debajo." in r.content.decode()
    html = client.get(f"{PAGE}imports/").content.decode()
    assert "Importar desde un archivo CSV" in html and "Subir y continuar" in html
