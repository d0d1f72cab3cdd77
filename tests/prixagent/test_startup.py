"""The WSGI entry point (what gunicorn loads) fails with one line on a bad .env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prixagent.config import BASE_DIR


def test_wsgi_stops_with_one_readable_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")}
    env.update(NODE_ENV="development", ENCRYPTION_KEY="abc", SESSION_SECRET="x" * 50, JWT_SECRET="y" * 50)
    env.update(JWT_REFRESH_SECRET="z" * 50)
    result = subprocess.run(
        [sys.executable, "-c", "import prixagent.wsgi"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1
    assert lines[0].startswith("PrixAgent configuration error: ENCRYPTION_KEY:")


def test_a_celery_worker_stops_with_one_readable_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")}
    env.update(NODE_ENV="development", ENCRYPTION_KEY="abc", SESSION_SECRET="x" * 50, JWT_SECRET="y" * 50)
    env.update(JWT_REFRESH_SECRET="z" * 50)
    celery = str(Path(sys.executable).with_name("celery"))
    result = subprocess.run(
        [celery, "-A", "prixagent.worker", "worker", "--pool=solo"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert lines == [lines[0]]
    assert lines[0].startswith("PrixAgent configuration error: ENCRYPTION_KEY:")


def test_a_celery_worker_keeps_the_secret_scrubbing_filter() -> None:
    """Celery sets up its logging when a worker starts; it must not replace ours (the root
    logger's handlers and their scrubbing filter), or a provider error would log a credential."""
    secret = "sk_live_" + "7" * 32
    env = {**os.environ, "NODE_ENV": "test", "LOG_LEVEL": "info"}
    script = (
        "import logging\n"
        "from prixagent.worker import app\n"
        "app.log.setup(loglevel='INFO')\n"  # what `celery worker` does at start-up
        f"logging.getLogger('campaigns.dialer').warning('provider echoed api_key=%s', '{secret}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "provider echoed api_key=[redacted]" in result.stderr
    assert secret not in result.stderr
