"""CSV imports through the service: what files are accepted, what each row becomes, what is refused.

Runs on PostgreSQL (the COPY path) with tasks in-process.
"""

from __future__ import annotations

import io
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from accounts.models import Account
from contacts import imports
from contacts.csvfile import LineSource, iter_records
from contacts.import_rows import BatchWriter
from contacts.models import Contact, DoNotCallEntry, ImportJob, ImportRowError
from prixagent.errors import ApplicationError
from tests.contacts.conftest import committed, csv_bytes, run_import

HEADER_EN = ["First name", "Last name", "Phone", "Email", "Tags", "Time zone", "Favourite colour"]


def rows_of(account: Account) -> dict[str, Contact]:
    return {c.phone: c for c in Contact.objects.filter(account=account).prefetch_related("tags")}


def errors_of(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(ImportRowError.objects.filter(job=job).order_by("row").values_list("row", "column", "reason"))


def create(account: Account, content: bytes, **kw) -> ImportJob:
    return imports.import_job_create(
        account=account, source=io.BytesIO(content), file_name="f.csv", actor="system", **kw
    )


# --- mapping in both languages --------------------------------------------------------------------


def test_it_maps_english_headers(alice_account: Account) -> None:
    job = create(alice_account, csv_bytes([HEADER_EN, ["Ann", "Lee", "+14155550100", "a@x.com", "vip", "", "red"]]))
    assert job.mapping == ["first_name", "last_name", "phone", "email", "tags", "time_zone", "custom:Favourite colour"]
    assert job.status == "mapping" and job.preview[0][0] == "Ann"


def test_it_maps_spanish_headers_with_accents(alice_account: Account) -> None:
    header = ["Nombre", "Apellidos", "Teléfono móvil", "Correo electrónico", "Etiquetas", "Zona horaria", "Empresa"]
    job = create(alice_account, csv_bytes([header, ["Ana", "García", "600 111 222", "a@x.es", "", "", ""]]))
    assert job.mapping == ["first_name", "last_name", "phone", "email", "tags", "time_zone", "company"]


def test_a_lone_name_column_is_the_full_name(alice_account: Account) -> None:
    job = create(alice_account, csv_bytes([["Nombre", "Móvil"], ["Ana María García", "+34600111222"]]))
    assert job.mapping == ["full_name", "phone"]
    with committed():
        imports.import_job_start(job=job)
    contact = Contact.objects.get(account=alice_account)
    assert (contact.first_name, contact.last_name) == ("Ana", "María García")


def test_the_user_corrects_the_mapping_and_unknown_columns_become_custom_fields(alice_account: Account) -> None:
    content = csv_bytes([["Who", "Digits", "Notes"], ["Ann", "+14155550100", "likes mornings"]])
    job = create(alice_account, content)
    assert job.mapping == ["custom:Who", "custom:Digits", "custom:Notes"]
    with pytest.raises(ApplicationError) as refused:
        imports.import_job_start(job=job)  # no phone column: refused, nothing imported
    assert "phone" in refused.value.message
    with committed():
        imports.import_job_start(job=job, mapping=["first_name", "phone", "custom:Notes"])
    job.refresh_from_db()
    contact = Contact.objects.get(account=alice_account)
    assert job.status == "done" and contact.first_name == "Ann"
    assert contact.custom_fields == {"Notes": "likes mornings"}


def test_a_field_chosen_twice_is_refused(alice_account: Account) -> None:
    job = create(alice_account, csv_bytes([["a", "b"], ["+14155550100", "+14155550101"]]))
    with pytest.raises(ApplicationError, match="two columns"):
        imports.import_job_start(job=job, mapping=["phone", "phone"])


# --- encodings and delimiters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [("utf-8", b"", "utf-8"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"), ("cp1252", b"", "cp1252")],
)
def test_it_reads_utf8_with_and_without_bom_and_windows_1252(
    alice_account: Account, encoding: str, bom: bytes, expected: str
) -> None:
    rows = [["Nombre", "Apellido", "Teléfono"], ["José", "Muñoz", "+34600111222"]]
    job = run_import(alice_account, bom + csv_bytes(rows, encoding=encoding))
    assert job.encoding == expected and job.status == "done"
    contact = Contact.objects.get(account=alice_account)
    assert (contact.first_name, contact.last_name) == ("José", "Muñoz")


def test_it_reads_latin1_files_with_bytes_windows_1252_leaves_undefined(alice_account: Account) -> None:
    content = "Name;Phone\nJos\xe9 \x81;+34600111222\n".encode("latin-1")
    job = run_import(alice_account, content)
    assert (job.encoding, job.delimiter) == ("latin-1", ";")
    assert Contact.objects.get(account=alice_account).first_name == "José"  # "\x81" is the "last name"


def test_a_utf8_file_with_one_windows_1252_line_past_the_sample_loses_nothing(alice_account: Account) -> None:
    rows = [["Name", "Phone"]] + [[f"Ann {n}", f"+1415555{n:04d}"] for n in range(3000)]
    content = csv_bytes(rows) + "Zoë,+14155559999\r\n".encode("cp1252")
    job = run_import(alice_account, content)
    assert job.encoding == "utf-8" and job.invalid == 0
    assert Contact.objects.get(account=alice_account, phone="+14155559999").first_name == "Zoë"


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_it_detects_the_delimiter(alice_account: Account, delimiter: str, name: str) -> None:
    content = csv_bytes([["Name", "Phone", "Company"], ["Lee, Ann", "+14155550100", "A; B"]], delimiter=delimiter)
    job = run_import(alice_account, content)
    assert job.delimiter == delimiter
    contact = Contact.objects.get(account=alice_account)
    assert (contact.first_name, contact.last_name, contact.company) == ("Lee,", "Ann", "A; B")


def test_national_numbers_use_the_accounts_country(alice_account: Account) -> None:
    alice_account.default_country = "ES"
    alice_account.save()
    run_import(alice_account, csv_bytes([["Nombre", "Teléfono"], ["Ana", "91 123 45 67"], ["Eva", "600 11 12 22"]]))
    ana, eva = Contact.objects.filter(account=alice_account).order_by("first_name")
    assert (ana.phone, ana.time_zone, ana.time_zone_source) == ("+34911234567", "Europe/Madrid", "number")
    # Spanish mobiles ring in Madrid or the Canaries: the account's zone, marked as such.
    assert (eva.phone, eva.time_zone, eva.time_zone_source) == ("+34600111222", alice_account.time_zone, "account")


# --- bad files: a clear message, nothing changed -------------------------------------------------------


def assert_refused(account: Account, content: bytes, message: str, uploads_dir: Path) -> None:
    with pytest.raises(ApplicationError) as refused:
        create(account, content)
    assert message in refused.value.message
    assert refused.value.fields["file"]
    assert not ImportJob.objects.filter(account=account).exists()
    assert not Contact.objects.filter(account=account).exists()
    assert not any(p.is_file() for p in uploads_dir.rglob("*"))  # the upload is not kept


def test_a_zero_byte_file_is_refused(alice_account: Account, uploads_dir: Path) -> None:
    assert_refused(alice_account, b"", "The file is empty.", uploads_dir)


def test_a_binary_file_is_refused(alice_account: Account, uploads_dir: Path) -> None:
    assert_refused(alice_account, os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00", "binary", uploads_dir)


def test_an_excel_workbook_is_refused_with_a_hint(alice_account: Account, uploads_dir: Path) -> None:
    assert_refused(alice_account, b"PK\x03\x04" + b"x" * 200, "Excel workbook", uploads_dir)


def test_a_header_only_file_is_refused(alice_account: Account, uploads_dir: Path) -> None:
    assert_refused(alice_account, b"Name,Phone\r\n\r\n", "header row but no contacts", uploads_dir)


def test_a_header_of_10000_columns_is_refused(alice_account: Account, uploads_dir: Path) -> None:
    content = csv_bytes([[f"c{n}" for n in range(10_000)], ["x"] * 10_000])
    assert_refused(alice_account, content, "10,000 columns", uploads_dir)


def test_a_file_without_a_phone_column_cannot_start(alice_account: Account) -> None:
    job = create(alice_account, csv_bytes([["Name", "City"], ["Ann", "Paris"]]))
    with pytest.raises(ApplicationError, match="phone number"):
        imports.import_job_start(job=job)
    job.refresh_from_db()
    assert job.status == "mapping" and not Contact.objects.exists()


def test_bad_rows_are_refused_one_by_one_and_reported(alice_account: Account) -> None:
    rows = [
        ["Name", "Phone", "Email"],
        ["Good", "+14155550100", "good@example.com"],
        ["Wide", "+14155550101", "w@example.com", *(["x"] * 9_997)],  # a row of 10,000 columns
        ["Long", "+14155550102", "y" * 50_000],  # a 50,000-character cell
        ["NoPhone", "", ""],
        ["Letters", "call me", ""],
        ["BadEmail", "+14155550103", "not-an-email"],
    ]
    job = run_import(alice_account, csv_bytes(rows))
    assert (job.status, job.rows_read, job.created, job.invalid) == ("done", 6, 2, 4)
    assert set(rows_of(alice_account)) == {"+14155550100", "+14155550103"}
    assert rows_of(alice_account)["+14155550103"].email == ""  # imported, the bad email dropped
    reasons = errors_of(job)
    assert [r[0] for r in reasons] == [3, 4, 5, 6, 7]
    assert "10,000 columns" in reasons[0][2]
    assert reasons[1][1] == "Email" and "50,000 characters" in reasons[1][2]
    assert "no phone number" in reasons[2][2]
    assert reasons[3][1] == "Phone" and "not a phone number" in reasons[3][2]
    assert "imported without it" in reasons[4][2]
    report = list(imports.import_error_rows(job=job))
    assert report[0] == ("row", "column", "value", "reason")
    assert report[2][2].startswith("y" * 200) and len(report[2][2]) == 200  # values are cut in the report


def test_formula_cells_are_stored_as_text(alice_account: Account) -> None:
    formula = '=HYPERLINK("http://evil.example","Click")'
    run_import(alice_account, csv_bytes([["Name", "Phone", "Company"], [formula, "+14155550100", "@SUM(A1)"]]))
    contact = Contact.objects.get(account=alice_account)
    assert contact.first_name == formula
    assert contact.company == "@SUM(A1)"


# --- duplicates ---------------------------------------------------------------------------------------


def dupes() -> bytes:
    return csv_bytes(
        [
            ["Name", "Phone", "Email", "Tags"],
            ["Ann", "+14155550100", "", "a"],
            ["Bob", "+14155550101", "bob@example.com", ""],
            ["Ann Again", "(415) 555-0100", "ann@example.com", "b"],  # the same number, another format
        ]
    )


def test_duplicates_in_the_file_under_update(alice_account: Account) -> None:
    job = run_import(alice_account, dupes(), policy="update")
    assert (job.created, job.updated, job.skipped) == (2, 1, 0)
    ann = rows_of(alice_account)["+14155550100"]
    assert (ann.first_name, ann.last_name, ann.email) == ("Ann", "Again", "ann@example.com")
    assert sorted(t.name for t in ann.tags.all()) == ["a", "b"]


def test_duplicates_in_the_file_under_skip(alice_account: Account) -> None:
    job = run_import(alice_account, dupes(), policy="skip")
    assert (job.created, job.updated, job.skipped) == (2, 0, 1)
    ann = rows_of(alice_account)["+14155550100"]
    assert (ann.first_name, ann.email, [t.name for t in ann.tags.all()]) == ("Ann", "", ["a"])


def test_duplicates_in_the_database_under_both_policies(alice_account: Account) -> None:
    run_import(alice_account, csv_bytes([["Name", "Phone"], ["Old", "+14155550100"]]))
    again = csv_bytes([["Name", "Phone", "Tags"], ["New", "+14155550100", "fresh"], ["Other", "+14155550199", ""]])
    skipped = run_import(alice_account, again, policy="skip")
    assert (skipped.created, skipped.updated, skipped.skipped) == (1, 0, 1)
    assert rows_of(alice_account)["+14155550100"].first_name == "Old"
    updated = run_import(alice_account, again, policy="update")
    assert (updated.created, updated.updated, updated.skipped) == (0, 1, 1)  # Other is unchanged: skipped
    old = rows_of(alice_account)["+14155550100"]
    assert old.first_name == "New" and [t.name for t in old.tags.all()] == ["fresh"]
    assert Contact.objects.filter(account=alice_account).count() == 2


def test_another_accounts_contacts_are_not_duplicates(alice_account: Account, charlie_account: Account) -> None:
    run_import(charlie_account, csv_bytes([["Name", "Phone"], ["Charlie's", "+14155550100"]]))
    job = run_import(alice_account, csv_bytes([["Name", "Phone"], ["Alice's", "+14155550100"]]))
    assert job.created == 1
    assert Contact.objects.get(account=charlie_account).first_name == "Charlie's"


def test_the_portable_writer_gives_the_same_result(alice_account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite path (bulk_create, executemany), run here on PostgreSQL against the same cases."""
    original = BatchWriter.__init__

    def portable(self, job, account):  # noqa: ANN001
        original(self, job, account)
        self.postgres = False

    monkeypatch.setattr(BatchWriter, "__init__", portable)
    job = run_import(alice_account, dupes(), policy="update")
    assert (job.created, job.updated, job.skipped) == (2, 1, 0)
    ann = rows_of(alice_account)["+14155550100"]
    assert ann.email == "ann@example.com" and sorted(t.name for t in ann.tags.all()) == ["a", "b"]
    again = run_import(alice_account, csv_bytes([["Name", "Phone"], ["Bobby", "+14155550101"]]), policy="update")
    assert again.updated == 1 and rows_of(alice_account)["+14155550101"].first_name == "Bobby"


# --- time zones, do-not-call, consent --------------------------------------------------------------------


def test_time_zones_from_the_record_the_number_or_the_account(alice_account: Account) -> None:
    alice_account.time_zone = "America/Chicago"
    alice_account.save()
    rows = [
        ["Name", "Phone", "Time zone"],
        ["Record", "+14155550100", "Europe/Paris"],
        ["Number", "+33612345678", ""],
        ["Several", "+18005550100", ""],  # toll-free: no single zone
        ["Typo", "+14155550101", "Mars/Olympus"],
    ]
    job = run_import(alice_account, csv_bytes(rows))
    found = {c.first_name: (c.time_zone, c.time_zone_source) for c in Contact.objects.filter(account=alice_account)}
    assert found["Record"] == ("Europe/Paris", "record")
    assert found["Number"] == ("Europe/Paris", "number")
    assert found["Several"] == ("America/Chicago", "account")
    assert found["Typo"][1] != "record" and job.invalid == 0
    assert "IANA" in errors_of(job)[0][2]


def test_a_do_not_call_column_puts_numbers_on_the_list(alice_account: Account) -> None:
    content = csv_bytes([["Name", "Phone", "DNC"], ["Ann", "+14155550100", "yes"], ["Bob", "+14155550101", "no"]])
    run_import(alice_account, content)
    assert list(DoNotCallEntry.objects.filter(account=alice_account).values_list("phone", flat=True)) == [
        "+14155550100"
    ]
    assert rows_of(alice_account)["+14155550100"].do_not_call is True
    assert rows_of(alice_account)["+14155550101"].do_not_call is False


def test_a_number_already_on_the_list_is_imported_flagged(alice_account: Account) -> None:
    DoNotCallEntry.objects.create(account=alice_account, phone="+14155550100", reason="asked")
    run_import(alice_account, csv_bytes([["Name", "Phone"], ["Ann", "+14155550100"]]))
    contact = Contact.objects.get(account=alice_account)
    assert contact.do_not_call and contact.do_not_call_reason == "asked"


def test_the_do_not_call_list_imports_from_csv(alice_account: Account) -> None:
    run_import(alice_account, csv_bytes([["Name", "Phone"], ["Ann", "+14155550100"]]))
    content = csv_bytes([["Número", "Motivo"], ["(415) 555-0100", "pidió no llamar"], ["+14155550177", ""]])
    job = run_import(alice_account, content, kind="dnc")
    assert (job.kind, job.created) == ("dnc", 2)
    assert DoNotCallEntry.objects.get(account=alice_account, phone="+14155550100").reason == "pidió no llamar"
    assert Contact.objects.get(account=alice_account).do_not_call is True
    again = run_import(alice_account, content, kind="dnc")
    assert (again.created, again.skipped) == (0, 2)


def test_consent_column(alice_account: Account) -> None:
    content = csv_bytes([["Name", "Phone", "Consent"], ["Ann", "+14155550100", "sí"], ["Bob", "+14155550101", "no"]])
    run_import(alice_account, content)
    ann, bob = rows_of(alice_account)["+14155550100"], rows_of(alice_account)["+14155550101"]
    assert (ann.consent_status, bob.consent_status) == ("granted", "revoked")
    assert ann.consent_at is not None and "CSV import" in ann.consent_source


# --- the uploaded file ------------------------------------------------------------------------------------


def test_the_upload_is_private_and_deleted_when_the_job_ends(alice_account: Account, uploads_dir: Path) -> None:
    job = create(alice_account, csv_bytes([["Name", "Phone"], ["Ann", "+14155550100"]]))
    path = uploads_dir / job.file_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert str(alice_account.pk) in str(path)
    with committed():
        imports.import_job_start(job=job)
    job.refresh_from_db()
    assert job.status == "done" and job.file_path == "" and not path.exists()


def test_a_cancelled_upload_is_deleted(alice_account: Account, uploads_dir: Path) -> None:
    job = create(alice_account, csv_bytes([["Name", "Phone"], ["Ann", "+14155550100"]]))
    path = uploads_dir / job.file_path
    with committed():
        imports.import_job_cancel(job=job)
    assert not path.exists() and ImportJob.objects.get(pk=job.pk).status == "cancelled"


def test_the_sweep_drops_abandoned_uploads(alice_account: Account, uploads_dir: Path) -> None:
    from datetime import timedelta

    from django.utils import timezone

    job = create(alice_account, csv_bytes([["Name", "Phone"], ["Ann", "+14155550100"]]))
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=2))
    with committed():
        assert imports.import_jobs_sweep()["expired"] == 1
    assert not (uploads_dir / job.file_path).exists()


# --- streaming ----------------------------------------------------------------------------------------------


def test_reading_a_large_file_uses_bounded_memory(tmp_path: Path) -> None:
    """30 MB of rows stream through the reader with a few hundred kB of Python memory at most."""
    path = tmp_path / "big.csv"
    line = b"Ann,Lee,+14155550100,ann@example.com,vip;lead,some notes about this contact\r\n"
    with open(path, "wb") as out:
        out.write(b"a,b,c,d,e,f\r\n")
        for _ in range(30 * 1024 * 1024 // len(line) // 1000):
            out.write(line * 1000)
    tracemalloc.start()
    count = sum(1 for _r in iter_records(path, encoding="utf-8", delimiter=",", offset=0, first_row=1))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count > 390_000
    assert peak < 2 * 1024 * 1024


def test_a_line_longer_than_the_limit_is_refused_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"Name,Phone\n" + b"x" * (1024 * 1024 + 10) + b"\nAnn,+14155550100\n")
    records = list(iter_records(path, encoding="utf-8", delimiter=",", offset=0, first_row=1))
    assert records[1].cells is None and "1 MB" in records[1].problem
    assert records[2].cells == ["Ann", "+14155550100"] and records[2].number == 3
    assert records[-1].end_offset == path.stat().st_size


def test_line_positions_are_byte_offsets(tmp_path: Path) -> None:
    data = "Nombre,Teléfono\nJosé,+34600111222\n".encode()
    with io.BytesIO(data) as stream:
        lines = LineSource(stream, "utf-8")
        first = next(lines)
        assert lines.position == len(first.encode())


def test_cells_with_tabs_newlines_and_backslashes_survive_copy(alice_account: Account) -> None:
    tricky = {"Company": "Tab\there", "Notes": "line one\nline two\r\nend", "Path": "C:\\new\\N", "Null": "\\N"}
    rows = [["Phone", *tricky], ["+14155550100", *tricky.values()]]
    job = run_import(alice_account, csv_bytes(rows))
    contact = Contact.objects.get(account=alice_account)
    assert job.created == 1 and contact.company == "Tab\there"
    assert contact.custom_fields == {"Notes": "line one\nline two\r\nend", "Path": "C:\\new\\N", "Null": "\\N"}


@pytest.mark.parametrize("policy", ["update", "skip"])
def test_duplicates_across_batches_and_existing_numbers(alice_account: Account, policy: str) -> None:
    """Batches of two rows: the optimistic insert meets numbers of an earlier batch and of the
    database, and the batch is done again with look-ups; counts and rows stay exact."""
    run_import(alice_account, csv_bytes([["Name", "Phone"], ["Old", "+14155550199"]]))
    rows = [["Name", "Phone"], ["A", "+14155550101"], ["B", "+14155550102"], ["C", "+14155550103"]]
    rows += [["A2", "+14155550101"], ["D", "+14155550199"], ["E", "+14155550105"]]
    job = imports.import_job_create(
        account=alice_account, source=io.BytesIO(csv_bytes(rows)), file_name="f.csv", actor="system"
    )
    ImportJob.objects.filter(pk=job.pk).update(status="queued", policy=policy)
    done = imports.import_job_run(job_id=job.pk, batch_size=2)
    changed = 2 if policy == "update" else 0
    assert (done.created, done.updated, done.skipped) == (4, changed, 2 - changed)
    names = dict(Contact.objects.filter(account=alice_account).values_list("phone", "first_name"))
    assert len(names) == 5
    assert (names["+14155550101"], names["+14155550199"]) == (("A2", "D") if policy == "update" else ("A", "Old"))
