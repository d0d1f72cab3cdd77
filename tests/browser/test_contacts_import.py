"""The import wizard in a real Chromium: upload, check the mapping, start, watch the bar move."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from contacts.models import Contact
from tests.browser.test_integrations import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROWS = 60_000


def people_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Nombre", "Apellido", "Teléfono", "Etiquetas"])
    areas = ("212", "646", "718", "917", "347", "929")
    for n in range(ROWS):
        writer.writerow([f"Ana {n}", "García", f"({areas[n // 10_000]}) 555-{n % 10_000:04d}", "csv"])
    return out.getvalue().encode()


def test_the_progress_bar_moves_while_the_import_runs(page: Any, alice: User, settings: Any, tmp_path: Path) -> None:
    settings.CONTACTS_UPLOAD_DIR = str(tmp_path / "uploads")
    settings.CONTACTS_BACKGROUND_THREADS = True  # as under `make run`: the job runs behind the page
    log_in(page, alice)
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files({"name": "gente.csv", "mimeType": "text/csv", "buffer": people_csv()})
    page.get_by_role("button", name="Upload and continue").click()
    page.get_by_role("heading", name="Match the columns").wait_for()
    assert page.get_by_label("Teléfono").input_value() == "phone"
    assert page.get_by_label("Nombre").input_value() == "first_name"
    page.get_by_role("button", name="Start the import").click()

    bar = page.locator("progress.import-bar")
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not page.locator(".import-done:not([hidden])").count():
        if bar.count():
            seen.append(int(float(bar.get_attribute("value") or 0)))
        time.sleep(0.05)
    assert page.locator(".import-done:not([hidden])").count(), "the import did not finish in time"
    moving = sorted(set(v for v in seen if 0 < v < 100))
    assert moving, f"the bar never showed a value between 0 and 100: {sorted(set(seen))}"
    assert seen == sorted(seen)  # it only moves forward
    assert bar.get_attribute("value") == "100"
    assert page.locator('[data-field="created"]').inner_text() == f"{ROWS}"
    assert Contact.objects.filter(account_id=alice.account_id).count() == ROWS
