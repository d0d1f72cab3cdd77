"""CSV import of 100,000 contacts end to end (HTTP upload to job done, a real Celery worker), in rows/s,
against the floor measured in the same run: the same numbers parsed with `phonenumbers` (parse,
validate, format E.164) plus a COPY of the same rows into contacts_contact. Also the worker's
peak memory, after that import and after a 100 MB file.

Everything runs on this machine: PostgreSQL (a throwaway database), Redis (REDIS_URL, the broker),
gunicorn (2 workers) for the API and one Celery worker (solo pool, so its peak memory is the task's).
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import phonenumbers
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contacts_common import (  # noqa: E402
    ROOT,
    SERVER,
    bench_env,
    drop_database,
    free_port,
    manage,
    recreate_database,
    shell,
    start_gunicorn,
    stop,
)

DB_NAME = "prixagent_bench_contacts_import"
ROWS = 100_000
ROUNDS = 3
BIG_FILE_BYTES = 100 * 1024 * 1024
AREAS = ["212", "305", "312", "415", "512", "617", "702", "713", "818", "917", "646", "718", "347"]
FORMATS = ["({a}) 555-{n:04d}", "+1 {a} 555 {n:04d}", "{a}.555.{n:04d}", "1-{a}-555-{n:04d}"]
SETUP_CODE = (
    "from accounts.models import Account, User; from accounts.tokens import RefreshToken;"
    "floor = Account.objects.create(name='Floor', slug='floor', email='floor@example.com');"
    "a = Account.objects.create(name='Bench', slug='bench', email='bench@example.com');"
    "u = User.objects.create_user('bench@example.com', 'bench password 123', account=a, role='owner');"
    "print(floor.pk, RefreshToken.for_user(u).access_token)"
)
COPY_FLOOR = (
    "COPY contacts_contact (account_id, first_name, last_name, company, phone, email, time_zone, time_zone_source,"
    " custom_fields, source, consent_status, consent_source, do_not_call, do_not_call_reason, ghl_contact_id,"
    " ghl_push_pending, created_at, updated_at) FROM STDIN"
)


def write_csv(path: Path, rows: int, start: int = 0, tags: bool = False) -> None:
    """A typical contact list (names, phone in mixed national/international formats, email,
    company); with `tags`, half the rows also carry a tag, which the floor does not write."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Last name", "Phone", "Email", "Company", *(["Tags"] if tags else [])])
        for i in range(start, start + rows):
            area, n = AREAS[(i // 10_000) % len(AREAS)], i % 10_000
            phone = FORMATS[i % len(FORMATS)].format(a=area, n=n)
            tag = [("vip" if i % 3 == 0 else "lead") if i % 2 == 0 else ""] if tags else []
            writer.writerow([f"Name{i}", "García", phone, f"person{i}@example.com", "Acme Inc", *tag])


def write_big_csv(path: Path) -> int:
    """About 100 MB of rows (numbers repeat: the import updates; memory is what we measure)."""
    line_rows = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Last name", "Phone", "Email", "Company", "Tags", "Notes"])
        while out.tell() < BIG_FILE_BYTES:
            i = line_rows
            area, n = AREAS[(i // 10_000) % len(AREAS)], i % 10_000
            writer.writerow([f"Name{i}", "García", f"+1{area}555{n:04d}", f"p{i}@example.com", "Acme", "vip", "x" * 40])
            line_rows += 1
    return line_rows


def floor(path: Path, db_url: str, account_id: str) -> float:
    """phonenumbers (parse + validate + format E.164) and one COPY of the same rows: rows/s."""
    start = time.perf_counter()
    with psycopg.connect(db_url) as conn, open(path, newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        next(reader)
        with conn.cursor().copy(COPY_FLOOR) as copy:
            for first, last, raw, email, company in reader:
                number = phonenumbers.parse(raw, "US")
                if not phonenumbers.is_valid_number(number):
                    continue
                phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                copy.write_row(
                    (
                        account_id,
                        first,
                        last,
                        company,
                        phone,
                        email,
                        "America/New_York",
                        "number",
                        "{}",
                        "csv",
                        "unknown",
                        "",
                        False,
                        "",
                        "",
                        False,
                        "now()",
                        "now()",
                    )
                )
        conn.commit()
    return ROWS / (time.perf_counter() - start)


def truncate(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE contacts_contact, contacts_contact_tags, contacts_importrowerror CASCADE")
        conn.execute("VACUUM ANALYZE contacts_contact")


def import_over_http(base: str, token: str, path: Path) -> tuple[float, dict[str, int]]:
    """Upload, start, poll until done: (seconds, the job's figures)."""
    headers = {"Authorization": f"Bearer {token}"}
    start, wall_start = time.perf_counter(), time.time()
    with open(path, "rb") as upload:
        r = requests.post(
            f"{base}/api/v1/contacts/imports/",
            files={"file": (path.name, upload, "text/csv")},
            data={"start": "true", "policy": "update"},
            headers=headers,
            timeout=600,
        )
    r.raise_for_status()
    uploaded = time.perf_counter() - start
    url = f"{base}/api/v1/contacts/imports/{r.json()['id']}/"
    while True:
        job = requests.get(url, headers=headers, timeout=30).json()
        if job["status"] in ("done", "failed", "cancelled"):
            break
        # Polling is the client's business: rarely, so it does not take CPU from the worker. The
        # end of the job is read from the job itself (same machine, same clock).
        time.sleep(0.5)
    if job["status"] != "done":
        raise SystemExit(f"import {job['status']}: {job['message']}")
    figures = {k: job[k] for k in ("rows_read", "created", "updated", "skipped", "invalid")}
    started, finished = (datetime.fromisoformat(job[k].replace("Z", "+00:00")) for k in ("started_at", "finished_at"))
    figures["upload_s"] = round(uploaded, 2)
    figures["job_run_s"] = round((finished - started).total_seconds(), 2)
    return finished.timestamp() - wall_start, figures


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "prixagent.worker", "worker", "--pool", "solo"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def main() -> None:
    recreate_database(DB_NAME)
    tmp = Path(tempfile.mkdtemp(prefix="prix-import-bench-"))
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    env = bench_env(DB_NAME, REDIS_URL=redis_url, PRIXAGENT_CELERY_EAGER="0", CONTACTS_UPLOAD_DIR=str(tmp / "uploads"))
    db_url = f"{SERVER}/{DB_NAME}"
    server = worker = None
    try:
        manage(env, "migrate", "-v0")
        floor_account, token = shell(env, SETUP_CODE).split()
        path = tmp / "contacts-100k.csv"
        write_csv(path, ROWS)
        warmup = tmp / "warmup.csv"
        write_csv(warmup, 50, start=900_000)
        worker = start_worker(env)
        port = free_port()
        server = start_gunicorn(env, port)
        base = f"http://127.0.0.1:{port}"
        import_over_http(base, token, warmup)  # the worker is up, connections are open
        idle_rss = memory_kb(worker.pid, "VmRSS")
        floors, imports, figures = [], [], {}
        for _ in range(ROUNDS):
            truncate(db_url)
            floors.append(floor(path, db_url, floor_account))
            truncate(db_url)
            seconds, figures = import_over_http(base, token, path)
            imports.append(ROWS / seconds)
            print(f"  round: floor {floors[-1]:.0f} rows/s, import {imports[-1]:.0f} rows/s {figures}", flush=True)
        peak_100k = memory_kb(worker.pid, "VmHWM")
        size_mb = path.stat().st_size / 1024 / 1024
        floor_rps, import_rps = statistics.median(floors), statistics.median(imports)
        print(f"file: {ROWS:,} rows, {size_mb:.1f} MB; job figures: {figures}")
        runs = {"floor": [round(f) for f in floors], "import": [round(i) for i in imports]}
        print(f"floor (phonenumbers parse+validate+E.164, COPY)  : {floor_rps:8.0f} rows/s  runs {runs['floor']}")
        print(f"import end to end (upload -> job done, Celery)  : {import_rps:8.0f} rows/s  runs {runs['import']}")
        print(f"import / floor ratio                             : {import_rps / floor_rps:8.2f}  (target >= 0.8)")
        print(f"worker memory: idle {idle_rss / 1024:.0f} MB, peak during 100k import {peak_100k / 1024:.0f} MB")
        tagged = tmp / "contacts-100k-tags.csv"
        write_csv(tagged, ROWS, tags=True)
        truncate(db_url)
        seconds, figures = import_over_http(base, token, tagged)
        print(
            f"with a Tags column on half the rows (50,000 tag links the floor does not write): "
            f"{ROWS / seconds:,.0f} rows/s, {ROWS / seconds / floor_rps:.2f} of the floor"
        )
        if os.environ.get("BENCH_SKIP_100MB"):
            return
        big = tmp / "contacts-100mb.csv"
        big_rows = write_big_csv(big)
        path.unlink()
        seconds, figures = import_over_http(base, token, big)
        peak_big = memory_kb(worker.pid, "VmHWM")
        big_mb = big.stat().st_size / 1024 / 1024
        print(
            f"100 MB file ({big_rows:,} rows, {big_mb:.0f} MB): {big_rows / seconds:,.0f} rows/s,"
            f" worker peak {peak_big / 1024:.0f} MB (bounded: the file is streamed)"
        )
    finally:
        stop(server)
        stop(worker)
        drop_database(DB_NAME)
        for item in sorted(tmp.rglob("*"), reverse=True):
            item.unlink() if item.is_file() else item.rmdir()
        tmp.rmdir()


if __name__ == "__main__":
    main()
