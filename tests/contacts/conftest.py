"""Fixtures for the contacts tests: a private upload directory per test, CSV builders, GHL connected."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, TestCase

from accounts.models import Account, User
from contacts import imports
from contacts.models import ImportJob
from integrations import services as integration_services


@pytest.fixture(autouse=True)
def uploads_dir(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "uploads"
    settings.CONTACTS_UPLOAD_DIR = str(folder)
    return folder


def csv_bytes(rows: Iterable[Iterable[Any]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def committed() -> Any:
    """Run the on-commit callbacks (task dispatch, file deletion) registered inside the block, as a
    real commit would: the test's own transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def run_import(
    account: Account, content: bytes, *, kind: str = "contacts", policy: str = "update", mapping: Any = None
) -> ImportJob:
    """Upload and run an import in-process (tasks run eagerly in the suite); the finished job."""
    job = imports.import_job_create(
        account=account, source=io.BytesIO(content), file_name="t.csv", kind=kind, actor="system"
    )
    with committed():
        imports.import_job_start(job=job, mapping=mapping, policy=policy)
    job.refresh_from_db()
    return job


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ghl_location(provider_sandbox: Any) -> dict[str, str]:
    return provider_sandbox.ghl.create_location(name="Alice GHL", timezone="America/New_York")


@pytest.fixture
def ghl_account(alice_account: Account, alice: User, ghl_location: dict[str, str]) -> Account:
    integration_services.integration_connect(
        account=alice_account,
        provider="ghl",
        credentials={"api_key": ghl_location["token"], "location_id": ghl_location["location_id"]},
        actor=alice,
    )
    alice_account.refresh_from_db()
    return alice_account
