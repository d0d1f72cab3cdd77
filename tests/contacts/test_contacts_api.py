"""`/api/v1/contacts/`: CRUD, search and filters, pagination, bulk actions, export, tags, do-not-call,
imports; roles (alice owner, dave admin, bob member) and isolation (charlie, another tenant)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Account
from contacts import services
from contacts.models import Contact, DoNotCallEntry, ImportJob, ImportRowError, Tag
from tests.contacts.conftest import committed, csv_bytes, run_import

URL = "/api/v1/contacts/"


def make(account: Account, phone: str, **data: Any) -> Contact:
    return services.contact_create(account=account, data={"phone": phone, **data}, actor="system")


def export_rows(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# --- create, read, update, delete --------------------------------------------------------------------


def test_it_creates_a_contact_in_e164_with_its_zone(alice_api: APIClient, alice_account: Account) -> None:
    r = alice_api.post(URL, {"first_name": "Ann", "phone": "(415) 555-0100", "tags": ["vip", "VIP", "lead"]})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["phone"] == "+14155550100"
    assert (body["time_zone"], body["time_zone_source"]) == ("America/Los_Angeles", "number")
    assert body["tags"] == ["lead", "vip"] and body["source"] == "api"
    assert Contact.objects.get(account=alice_account).phone == "+14155550100"


def test_national_numbers_follow_the_account_country(alice_api: APIClient, alice_account: Account) -> None:
    alice_account.default_country = "GB"
    alice_account.save()
    r = alice_api.post(URL, {"phone": "020 7946 0018"})
    assert r.status_code == 201 and r.json()["phone"] == "+442079460018"


def test_bad_input_is_a_400_with_field_messages(alice_api: APIClient) -> None:
    r = alice_api.post(URL, {"phone": "12", "email": "nope", "time_zone": "Mars/Base", "custom_fields": [1]})
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert set(fields) >= {"phone", "email", "time_zone", "custom_fields"}
    assert not Contact.objects.exists()


def test_a_number_is_one_contact_per_account(alice_api: APIClient, alice_account: Account) -> None:
    make(alice_account, "+14155550100")
    r = alice_api.post(URL, {"phone": "+1 415 555 0100"})
    assert r.status_code == 400 and "already has this number" in r.json()["error"]["fields"]["phone"][0]


def test_it_reads_updates_and_deletes(alice_api: APIClient, alice_account: Account) -> None:
    contact = make(alice_account, "+14155550100", first_name="Ann")
    assert alice_api.get(f"{URL}{contact.pk}/").json()["first_name"] == "Ann"
    r = alice_api.patch(f"{URL}{contact.pk}/", {"last_name": "Lee", "time_zone": "Europe/Paris"})
    assert r.status_code == 200, r.content
    assert (r.json()["last_name"], r.json()["time_zone_source"]) == ("Lee", "record")
    assert alice_api.delete(f"{URL}{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_marking_do_not_call_is_the_same_act_as_listing_the_number(
    alice_api: APIClient, alice_account: Account
) -> None:
    contact = make(alice_account, "+14155550100")
    r = alice_api.patch(f"{URL}{contact.pk}/", {"do_not_call": True, "do_not_call_reason": "asked"})
    assert r.json()["do_not_call"]["active"] is True
    assert DoNotCallEntry.objects.get(account=alice_account).reason == "asked"
    assert services.dnc_contains(account=alice_account, phone="+14155550100")
    r = alice_api.delete(f"{URL}{contact.pk}/do-not-call/")
    assert r.json()["do_not_call"]["active"] is False
    assert not DoNotCallEntry.objects.exists()
    r = alice_api.post(f"{URL}{contact.pk}/do-not-call/", {"reason": "opted out"})
    assert r.json()["do_not_call"] == {"active": True, "reason": "opted out", "at": r.json()["do_not_call"]["at"]}


# --- list: search, filters, pagination, queries ----------------------------------------------------------


@pytest.fixture
def people(alice_account: Account) -> dict[str, Contact]:
    return {
        "ann": make(alice_account, "+14155550100", first_name="Ann", last_name="García", tags=["vip"]),
        "bob": make(alice_account, "+12125550101", first_name="Bob", email="bob@acme.example", tags=["lead"]),
        "eva": make(alice_account, "+33612345678", first_name="Eva", company="Acme", tags=["vip", "lead"]),
    }


def names(response: Any) -> list[str]:
    return sorted(c["first_name"] for c in response.json()["results"])


def test_it_searches_names_email_company_and_digits(alice_api: APIClient, people: dict[str, Contact]) -> None:
    assert names(alice_api.get(URL, {"q": "garcía"})) == ["Ann"]
    assert names(alice_api.get(URL, {"q": "ann garc"})) == ["Ann"]
    assert names(alice_api.get(URL, {"q": "acme"})) == ["Bob", "Eva"]  # email and company
    assert names(alice_api.get(URL, {"q": "(212) 555"})) == ["Bob"]
    assert names(alice_api.get(URL, {"q": "100%"})) == []  # LIKE wildcards are literal


def test_it_filters(alice_api: APIClient, alice_account: Account, people: dict[str, Contact]) -> None:
    services.dnc_add(account=alice_account, phone="+12125550101")
    assert names(alice_api.get(URL, {"tag": "VIP"})) == ["Ann", "Eva"]
    assert names(alice_api.get(URL, {"tag": ["vip", "lead"]})) == ["Eva"]
    assert names(alice_api.get(URL, {"do_not_call": "true"})) == ["Bob"]
    assert names(alice_api.get(URL, {"time_zone": "Europe/Paris"})) == ["Eva"]
    assert names(alice_api.get(URL, {"source": "api"})) == []
    assert names(alice_api.get(URL, {"created_after": "2000-01-01", "created_before": "2999-12-31"})) == [
        "Ann",
        "Bob",
        "Eva",
    ]
    bad = alice_api.get(URL, {"created_after": "yesterday", "do_not_call": "maybe"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"created_after", "do_not_call"}


def test_it_pages_50_at_a_time_newest_first(
    alice_api: APIClient, alice_account: Account, django_assert_max_num_queries: Any
) -> None:
    run_import(alice_account, csv_bytes([["Phone", "Tags"]] + [[f"+1415555{n:04d}", "t"] for n in range(120)]))
    with django_assert_max_num_queries(4):
        first = alice_api.get(URL).json()
    assert len(first["results"]) == 50 and first["results"][0]["phone"] == "+14155550119"
    assert first["results"][0]["tags"] == ["t"]
    seen = [c["id"] for c in first["results"]]
    url = first["next"]
    while url:
        with django_assert_max_num_queries(4):
            page = alice_api.get(url).json()
        seen += [c["id"] for c in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 120
    with django_assert_max_num_queries(4):
        assert alice_api.get(URL, {"q": "555", "tag": "t"}).status_code == 200


# --- bulk actions ----------------------------------------------------------------------------------------


def test_bulk_tag_untag_delete_by_ids(alice_api: APIClient, people: dict[str, Contact]) -> None:
    ids = [people["ann"].pk, people["bob"].pk]
    r = alice_api.post(f"{URL}bulk/", {"action": "tag", "tags": ["hot"], "ids": ids}, format="json")
    assert r.json() == {"action": "tag", "affected": 2}
    assert sorted(Tag.objects.get(name="hot").contacts.values_list("first_name", flat=True)) == ["Ann", "Bob"]
    alice_api.post(f"{URL}bulk/", {"action": "untag", "tags": ["HOT"], "ids": ids}, format="json")
    assert not Tag.objects.get(name="hot").contacts.exists()
    alice_api.post(f"{URL}bulk/", {"action": "delete", "ids": [people["eva"].pk]}, format="json")
    assert not Contact.objects.filter(pk=people["eva"].pk).exists()


def test_bulk_by_the_current_filter(alice_api: APIClient, people: dict[str, Contact]) -> None:
    r = alice_api.post(
        f"{URL}bulk/", {"action": "tag", "tags": ["paris"], "filter": {"time_zone": "Europe/Paris"}}, format="json"
    )
    assert r.json()["affected"] == 1
    assert list(Tag.objects.get(name="paris").contacts.values_list("first_name", flat=True)) == ["Eva"]
    r = alice_api.post(f"{URL}bulk/", {"action": "delete", "filter": {"tag": ["lead"]}}, format="json")
    assert r.json()["affected"] == 2
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ann"]


def test_bulk_needs_ids_or_a_filter(alice_api: APIClient) -> None:
    r = alice_api.post(f"{URL}bulk/", {"action": "delete"}, format="json")
    assert r.status_code == 400


def test_bulk_with_another_accounts_ids_changes_nothing(
    charlie_api: APIClient, charlie_account: Account, people: dict[str, Contact]
) -> None:
    own = make(charlie_account, "+14155550100")
    before = list(Contact.objects.order_by("id").values_list("id", "account_id", "first_name"))
    alice_ids = [c.pk for c in people.values()]
    r = charlie_api.post(f"{URL}bulk/", {"action": "tag", "tags": ["x"], "ids": alice_ids}, format="json")
    assert r.json()["affected"] == 0
    r = charlie_api.post(f"{URL}bulk/", {"action": "delete", "ids": [*alice_ids, own.pk]}, format="json")
    assert r.json()["affected"] == 1
    after = list(Contact.objects.order_by("id").values_list("id", "account_id", "first_name"))
    assert after == [row for row in before if row[0] != own.pk]
    assert not Tag.objects.filter(name="x", contacts__isnull=False).exists()
    # "By the current filter" is charlie's contacts only, even with a filter that matches alice's.
    r = charlie_api.post(f"{URL}bulk/", {"action": "delete", "filter": {"tag": ["vip"]}}, format="json")
    assert r.json()["affected"] == 0 and Contact.objects.filter(account__slug="alice-co").count() == 3


# --- export ------------------------------------------------------------------------------------------------


def test_export_streams_the_current_filter_with_formulas_neutralised(
    alice_api: APIClient, alice_account: Account, people: dict[str, Contact]
) -> None:
    services.contact_update(contact=people["ann"], data={"company": '=HYPERLINK("http://x","y")'})
    r = alice_api.get(f"{URL}export/", {"tag": "vip"}, HTTP_ACCEPT="text/csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = export_rows(r)
    assert sorted(row["First name"] for row in rows) == ["Ann", "Eva"]
    ann = next(row for row in rows if row["First name"] == "Ann")
    assert ann["Company"] == '\'=HYPERLINK("http://x","y")'
    assert ann["Phone"] == "+14155550100"  # a plain E.164 number is not a formula


def test_export_of_what_was_imported_is_equal_up_to_formatting(alice_api: APIClient, alice_account: Account) -> None:
    original = [
        ["Nombre", "Apellido", "Teléfono", "Correo", "Empresa", "Etiquetas", "Color", "Zona horaria"],
        ["Ana", "García", "(415) 555-0100", "ANA@EXAMPLE.COM", "=cmd|' /C calc'!A0", "vip; lead", "rojo", ""],
        ["Luis", "Pérez", "+34 911 234 567", "", "+Corp", "", "", "Europe/Madrid"],
        ["Zoë", "", "212-555-0101", "zoe@example.com", "", "lead", "azul", "America/New_York"],
    ]
    run_import(alice_account, csv_bytes(original))
    exported = export_rows(alice_api.get(f"{URL}export/"))
    assert len(exported) == 3
    by_phone = {row["Phone"]: row for row in exported}
    assert set(by_phone) == {"+14155550100", "+34911234567", "+12125550101"}
    ana = by_phone["+14155550100"]
    assert (ana["First name"], ana["Last name"], ana["Email"]) == ("Ana", "García", "ana@example.com")
    assert ana["Company"] == "'=cmd|' /C calc'!A0" and ana["Color"] == "rojo"
    assert sorted(ana["Tags"].split(", ")) == ["lead", "vip"]
    assert by_phone["+34911234567"]["Company"] == "'+Corp"
    assert by_phone["+34911234567"]["Time zone"] == "Europe/Madrid"
    # And the export imports back to the same contacts (the apostrophes come off again).
    out = io.StringIO()
    csv.writer(out).writerows([list(exported[0])] + [list(r.values()) for r in exported])
    again = run_import(alice_account, out.getvalue().encode(), policy="update")
    assert (again.created, again.updated, again.invalid) == (0, 0, 0)
    assert Contact.objects.get(phone="+14155550100").company == "=cmd|' /C calc'!A0"


# --- tags and the do-not-call list ----------------------------------------------------------------------------


def test_tags_list_rename_delete(alice_api: APIClient, people: dict[str, Contact]) -> None:
    tags = {t["name"]: t for t in alice_api.get(f"{URL}tags/").json()}
    assert (tags["vip"]["contact_count"], tags["lead"]["contact_count"]) == (2, 2)
    r = alice_api.patch(f"{URL}tags/{tags['vip']['id']}/", {"name": "VIP clients"})
    assert r.json()["name"] == "VIP clients"
    assert alice_api.patch(f"{URL}tags/{tags['lead']['id']}/", {"name": "vip CLIENTS"}).status_code == 400
    assert alice_api.delete(f"{URL}tags/{tags['lead']['id']}/").status_code == 204
    assert alice_api.post(f"{URL}tags/", {"name": "new"}).status_code == 201


def test_do_not_call_list_add_and_remove(alice_api: APIClient, alice_account: Account) -> None:
    contact = make(alice_account, "+14155550100")
    r = alice_api.post(f"{URL}do-not-call/", {"phone": "415-555-0100", "reason": "STOP"})
    assert r.status_code == 201 and r.json()["phone"] == "+14155550100" and r.json()["source"] == "api"
    contact.refresh_from_db()
    assert contact.do_not_call
    assert alice_api.post(f"{URL}do-not-call/", {"phone": "+14155559999"}).status_code == 201  # no contact needed
    assert [e["phone"] for e in alice_api.get(f"{URL}do-not-call/", {"q": "9999"}).json()["results"]] == [
        "+14155559999"
    ]
    assert alice_api.delete(f"{URL}do-not-call/{r.json()['id']}/").status_code == 204
    contact.refresh_from_db()
    assert not contact.do_not_call


# --- imports through the API ----------------------------------------------------------------------------------


def upload(client: APIClient, content: bytes, **fields: Any) -> Any:
    with committed():
        return client.post(
            f"{URL}imports/",
            {"file": SimpleUploadedFile("people.csv", content, "text/csv"), **fields},
            format="multipart",
        )


def test_api_upload_map_and_start(alice_api: APIClient, alice_account: Account) -> None:
    content = csv_bytes([["Who", "Tel", "Notes"], ["Ann", "+14155550100", "x"], ["Bob", "nope", ""]])
    r = upload(alice_api, content)
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["status"] == "mapping" and job["header"] == ["Who", "Tel", "Notes"]
    assert job["preview"][0] == ["Ann", "+14155550100", "x"] and "phone" in job["targets"]
    with committed():
        r = alice_api.post(
            f"{URL}imports/{job['id']}/start/",
            {"mapping": {"Who": "first_name", "Tel": "phone", "Notes": ""}, "policy": "skip"},
            format="json",
        )
    assert r.status_code == 200, r.content
    done = alice_api.get(f"{URL}imports/{job['id']}/").json()
    assert (done["status"], done["created"], done["invalid"], done["percent"]) == ("done", 1, 1, 100)
    assert done["preview"] == []
    report = alice_api.get(done["errors_url"], HTTP_ACCEPT="text/csv")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == "row,column,value,reason" and "3,Tel,nope," in text
    assert alice_api.post(f"{URL}imports/{job['id']}/start/", {}, format="json").status_code == 409


def test_api_upload_and_start_at_once(alice_api: APIClient, alice_account: Account) -> None:
    r = upload(alice_api, csv_bytes([["Phone"], ["+14155550100"]]), start="true")
    assert r.json()["status"] == "queued"  # it runs after the upload's transaction commits
    assert alice_api.get(f"{URL}imports/{r.json()['id']}/").json()["status"] == "done"
    assert Contact.objects.filter(account=alice_account).count() == 1


def test_api_refuses_bad_files_and_keeps_nothing(alice_api: APIClient, uploads_dir: Any) -> None:
    r = upload(alice_api, b"")
    assert r.status_code == 400 and r.json()["error"]["fields"]["file"]
    r = upload(alice_api, csv_bytes([["Name"], ["Ann"]]), start="true")
    assert r.status_code == 400 and "phone" in r.json()["error"]["message"]
    assert not ImportJob.objects.exists() and not any(p.is_file() for p in uploads_dir.rglob("*"))


# --- roles: every changing route as owner, admin, member ---------------------------------------------------------


def changing_routes(account: Account) -> list[tuple[str, str, Any]]:
    contact = make(account, "+14155550100", tags=["t"])
    tag = Tag.objects.get(account=account, name="t")
    entry = services.dnc_add(account=account, phone="+14155550999")
    job = ImportJob.objects.create(
        account=account, file_name="x.csv", encoding="utf-8", delimiter=",", header=["Phone"], mapping=["phone"]
    )
    return [
        ("post", URL, {"phone": "+14155550111"}),
        ("patch", f"{URL}{contact.pk}/", {"first_name": "X"}),
        ("post", f"{URL}{contact.pk}/do-not-call/", {}),
        ("delete", f"{URL}{contact.pk}/do-not-call/", {}),
        ("post", f"{URL}bulk/", {"action": "tag", "tags": ["b"], "ids": [contact.pk]}),
        ("post", f"{URL}tags/", {"name": "n"}),
        ("patch", f"{URL}tags/{tag.pk}/", {"name": "m"}),
        ("post", f"{URL}do-not-call/", {"phone": "+14155550888"}),
        ("post", f"{URL}imports/{job.pk}/cancel/", {}),
        ("post", f"{URL}imports/{job.pk}/resume/", {}),
        ("post", f"{URL}imports/{job.pk}/start/", {}),
        ("delete", f"{URL}do-not-call/{entry.pk}/", {}),
        ("delete", f"{URL}tags/{tag.pk}/", {}),
        ("delete", f"{URL}{contact.pk}/", {}),
    ]


def test_members_cannot_change_anything(bob_api: APIClient, alice_account: Account) -> None:
    for method, url, data in changing_routes(alice_account):
        r = getattr(bob_api, method)(url, data, format="json")
        assert r.status_code == 403, (method, url, r.status_code)
    assert upload(bob_api, csv_bytes([["Phone"], ["+14155550100"]])).status_code == 403
    assert bob_api.post(f"{URL}ghl-sync/").status_code == 403
    assert Contact.objects.get(account=alice_account).first_name == ""
    assert bob_api.get(URL).status_code == 200  # members read


@pytest.mark.parametrize("persona", ["alice_api", "dave_api"])
def test_owners_and_admins_can_change_everything(persona: str, request: Any, alice_account: Account) -> None:
    client: APIClient = request.getfixturevalue(persona)
    expected = {"post": {200, 201, 409}, "patch": {200}, "delete": {200, 204}}
    for method, url, data in changing_routes(alice_account):
        with committed():
            r = getattr(client, method)(url, data, format="json")
        # resume/start of a cancelled job are refused with 409: the role passed, the state did not
        assert r.status_code in expected[method], (method, url, r.status_code, r.content)
    assert upload(client, csv_bytes([["Phone"], ["+14155550100"]])).status_code == 201


# --- isolation: charlie gets 404 on everything of alice's ---------------------------------------------------------


def test_charlie_gets_404_on_alices_objects(
    charlie_api: APIClient, alice_account: Account, charlie_account: Account
) -> None:
    routes = changing_routes(alice_account)
    contact = Contact.objects.get(account=alice_account)
    job = run_import(alice_account, csv_bytes([["Phone"], ["nope"]]))
    assert ImportRowError.objects.filter(job=job).exists()
    reads = [
        f"{URL}{contact.pk}/",
        f"{URL}imports/{job.pk}/",
        f"{URL}imports/{job.pk}/errors/",
        f"{URL}tags/{Tag.objects.get(account=alice_account).pk}/",
        f"{URL}do-not-call/{DoNotCallEntry.objects.filter(account=alice_account).first().pk}/",
    ]
    for url in reads:
        assert charlie_api.get(url).status_code == 404, url
    for method, url, data in routes:
        if url in (URL, f"{URL}bulk/", f"{URL}tags/", f"{URL}do-not-call/"):
            continue  # collections: charlie acts on his own account (covered by the bulk test)
        r = getattr(charlie_api, method)(url, data, format="json")
        assert r.status_code == 404, (method, url, r.status_code)
    assert Contact.objects.get(pk=contact.pk).first_name == ""
    assert DoNotCallEntry.objects.filter(account=alice_account).count() == 1
    assert charlie_api.get(URL).json()["results"] == []
    assert export_rows(charlie_api.get(f"{URL}export/")) == []
    assert charlie_api.get(f"{URL}imports/").json()["results"] == []
    assert charlie_api.get(f"{URL}do-not-call/").json()["results"] == []
    assert charlie_api.get(f"{URL}tags/").json() == []
