"""The plan's contact limit holds at every door: manual create, and imports (which keep what
fits and stop with a clear message, never taking the account past its plan)."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from contacts import imports
from contacts.models import Contact, ImportJob
from prixagent.errors import ApplicationError
from tests.contacts.conftest import csv_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/contacts/"


def _created(account: Account, content: bytes) -> ImportJob:
    return imports.import_job_create(
        account=account, source=io.BytesIO(content), file_name="t.csv", kind="contacts", actor="system"
    )


def _limit(account: Account, contacts: int) -> None:
    Account.objects.filter(pk=account.pk).update(limits={"contacts": contacts})
    account.refresh_from_db()


def test_a_create_past_the_plan_is_refused(alice_api: APIClient, alice_account: Account) -> None:
    _limit(alice_account, 1)
    assert alice_api.post(URL, {"phone": "+14155550100"}, format="json").status_code == 201
    r = alice_api.post(URL, {"phone": "+14155550101"}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "plan_limit")
    assert Contact.objects.filter(account=alice_account).count() == 1


def test_an_import_keeps_what_fits_and_stops_with_the_reason(alice_account: Account) -> None:
    _limit(alice_account, 3)
    rows = [["phone"]] + [[f"+1415555{n:04d}"] for n in range(10)]
    job = _created(alice_account, csv_bytes(rows))
    imports.import_job_start(job=job)  # the dispatch waits for a commit that never comes here
    job = imports.import_job_run(job_id=job.pk, batch_size=2)
    assert job.status == "failed"
    assert "allows 3 contacts: the import stopped before row 4" in job.message
    # Batches of two: the first fitted; the second would have made four and was rolled back.
    assert Contact.objects.filter(account=alice_account).count() == 2


def test_an_import_into_a_full_account_does_not_start(alice_account: Account) -> None:
    Contact.objects.create(account=alice_account, phone="+14155550100", time_zone="America/Los_Angeles")
    _limit(alice_account, 1)
    job = _created(alice_account, csv_bytes([["phone"], ["+14155550101"]]))
    with pytest.raises(ApplicationError, match="allows 1"):
        imports.import_job_start(job=job)
    job.refresh_from_db()
    assert job.status == "mapping"
