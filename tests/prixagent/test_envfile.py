"""`make run` on a fresh machine: the generated .env is valid and has fresh secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from prixagent.config import load_config
from prixagent.envfile import create_env


def read(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_it_creates_a_valid_env_with_fresh_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert create_env(first) and create_env(second)
    out = capsys.readouterr().out
    values = [read(first), read(second)]
    for env in values:
        config = load_config({**env, "NODE_ENV": "development"})
        assert config.database_url.startswith("sqlite:///")
        assert env["ADMIN_PASSWORD"] in out
    assert values[0]["ENCRYPTION_KEY"] != values[1]["ENCRYPTION_KEY"]
    assert values[0]["JWT_SECRET"] != values[1]["JWT_SECRET"]
    assert first.stat().st_mode & 0o077 == 0


def test_it_never_overwrites_an_existing_env(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    target.write_text("KEEP=me\n")
    assert create_env(target) is False
    assert target.read_text() == "KEEP=me\n"


def test_it_says_the_generated_env_is_a_development_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / ".env"
    create_env(target)
    text = target.read_text()
    assert text.startswith("# ====")
    assert "DEVELOPMENT SERVER CONFIGURATION" in text.splitlines()[1] and "NOT FOR PRODUCTION" in text
    assert read(target)["NODE_ENV"] == "development"
    assert "DEVELOPMENT server" in capsys.readouterr().out
