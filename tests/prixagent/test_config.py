"""Every bad .env case fails with one line naming the variable (and the fix)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from prixagent.config import BASE_DIR, ConfigError, load_config, parse_duration

GOOD_KEY = secrets.token_hex(32)


def good_env(**overrides: str) -> dict[str, str]:
    env = {
        "NODE_ENV": "development",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": GOOD_KEY,
        "ADMIN_EMAIL": "ops@example.com",
        "ADMIN_PASSWORD": "a long operator passphrase",
        "API_URL": "https://api.example.com/api/v1",
    }
    env.update(overrides)
    return env


def error_for(**overrides: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(good_env(**overrides))
    return info.value


def test_it_accepts_a_good_env() -> None:
    config = load_config(good_env(JWT_EXPIRES_IN="30m", JWT_REFRESH_EXPIRES_IN="7d"))
    assert config.jwt_expires_in == timedelta(minutes=30)
    assert config.jwt_refresh_expires_in == timedelta(days=7)
    assert config.encryption_key == bytes.fromhex(GOOD_KEY)
    assert "api.example.com" in config.allowed_hosts


def test_it_keeps_secrets_out_of_the_config_repr() -> None:
    env = good_env()
    text = repr(load_config(env))
    for name in ("SESSION_SECRET", "JWT_SECRET", "JWT_REFRESH_SECRET", "ENCRYPTION_KEY", "ADMIN_PASSWORD"):
        assert env[name] not in text


@pytest.mark.parametrize("value", ["", "your-32-character-encryption-key-here", "abc123", "zz" * 32, "00" * 32])
def test_it_refuses_a_bad_encryption_key(value: str) -> None:
    error = error_for(ENCRYPTION_KEY=value)
    assert error.variable == "ENCRYPTION_KEY"
    assert "secrets.token_hex(32)" in str(error)


def test_it_refuses_another_algorithm() -> None:
    error = error_for(ENCRYPTION_ALGORITHM="aes-128-cbc")
    assert error.variable == "ENCRYPTION_ALGORITHM"
    assert "aes-256-gcm" in str(error)


@pytest.mark.parametrize("variable", ["JWT_EXPIRES_IN", "JWT_REFRESH_EXPIRES_IN"])
@pytest.mark.parametrize("value", ["24 hours", "1y", "h", "0", "-5m"])
def test_it_refuses_durations_that_do_not_parse(variable: str, value: str) -> None:
    error = error_for(**{variable: value})
    assert error.variable == variable
    assert "e.g. 24h" in str(error)


@pytest.mark.parametrize(("raw", "seconds"), [("15m", 900), ("24h", 86400), ("7d", 604800), ("30s", 30), ("90", 90)])
def test_it_parses_durations(raw: str, seconds: int) -> None:
    assert parse_duration("X", raw).total_seconds() == seconds


def test_it_refuses_unknown_node_env() -> None:
    assert error_for(NODE_ENV="staging").variable == "NODE_ENV"


@pytest.mark.parametrize("variable", ["SESSION_SECRET", "JWT_SECRET", "JWT_REFRESH_SECRET"])
def test_it_refuses_placeholder_secrets(variable: str) -> None:
    placeholders = {
        "SESSION_SECRET": "your-session-secret-key",
        "JWT_SECRET": "your-super-secret-jwt-key-change-in-production",
        "JWT_REFRESH_SECRET": "your-refresh-token-secret",
    }
    assert error_for(**{variable: placeholders[variable]}).variable == variable


def test_it_refuses_short_secrets_in_production() -> None:
    error = error_for(NODE_ENV="production", JWT_SECRET="short-but-not-placeholder")
    assert error.variable == "JWT_SECRET"
    assert "production" in str(error)


@pytest.mark.parametrize("password", ["admin123", "short", "password"])
def test_it_refuses_a_weak_admin_password_in_production(password: str) -> None:
    assert error_for(NODE_ENV="production", ADMIN_PASSWORD=password).variable == "ADMIN_PASSWORD"


def test_it_allows_a_weak_admin_password_in_development() -> None:
    assert load_config(good_env(ADMIN_PASSWORD="admin123")).admin_password == "admin123"


def test_it_refuses_reused_secrets() -> None:
    shared = secrets.token_urlsafe(48)
    assert error_for(JWT_SECRET=shared, JWT_REFRESH_SECRET=shared).variable == "JWT_REFRESH_SECRET"


def test_it_refuses_the_current_key_among_retired_keys() -> None:
    assert error_for(ENCRYPTION_RETIRED_KEYS=GOOD_KEY).variable == "ENCRYPTION_RETIRED_KEYS"


def test_it_refuses_a_bad_cors_origin() -> None:
    assert error_for(CORS_ORIGIN="http://localhost:3001,not a url").variable == "CORS_ORIGIN"


def test_it_requires_https_api_url_in_production() -> None:
    assert error_for(NODE_ENV="production", API_URL="http://example.com/api/v1").variable == "API_URL"


def test_it_uses_postgres_for_tests_when_database_url_is_not_postgres() -> None:
    config = load_config(good_env(NODE_ENV="test", DATABASE_URL=""))
    assert config.database_url.startswith("postgresql://")


def test_it_uses_embedded_sqlite_when_no_database_is_configured() -> None:
    assert load_config(good_env(DATABASE_URL="")).database_url.startswith("sqlite:///")


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_stops_manage_py_with_one_readable_line(tmp_path: Path) -> None:
    result = _manage(good_env(ENCRYPTION_KEY="your-32-character-encryption-key-here"), "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("PrixAgent configuration error: ENCRYPTION_KEY:")


def test_it_reports_nothing_on_check_deploy_in_production() -> None:
    env = good_env(
        NODE_ENV="production",
        SESSION_SECRET=secrets.token_urlsafe(64),
        JWT_SECRET=secrets.token_urlsafe(64),
        JWT_REFRESH_SECRET=secrets.token_urlsafe(64),
        ADMIN_PASSWORD="a very long production operator passphrase",
        DATABASE_URL=os.environ.get("DATABASE_URL", "") or "postgresql://postgres@127.0.0.1:5432/prixagent",
    )
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- fail-closed production defaults (issue 6, item 4) ---------------------------------------


def production_env(**overrides: str) -> dict[str, str]:
    return good_env(
        NODE_ENV="production",
        SESSION_SECRET=secrets.token_urlsafe(64),
        JWT_SECRET=secrets.token_urlsafe(64),
        JWT_REFRESH_SECRET=secrets.token_urlsafe(64),
        **overrides,
    )


def production_error(**overrides: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(production_env(**overrides))
    return info.value


def test_production_without_a_surface_serves_the_public_ones_never_the_admin() -> None:
    from prixagent.surfaces import serves

    surface = load_config(production_env()).surface
    assert surface == "public"
    assert not serves(surface, "admin")
    assert all(serves(surface, s) for s in ("landing", "client", "api", "agency"))
    assert load_config(good_env()).surface == "all"  # development: one port, everything


def test_production_refuses_to_serve_every_surface_from_one_process() -> None:
    error = production_error(PRIXAGENT_SURFACE="all")
    assert error.variable == "PRIXAGENT_SURFACE"
    assert load_config(production_env(PRIXAGENT_SURFACE="admin")).surface == "admin"


def test_it_refuses_an_unknown_surface() -> None:
    assert error_for(PRIXAGENT_SURFACE="everything").variable == "PRIXAGENT_SURFACE"


@pytest.mark.parametrize(
    "url",
    [
        "http://api.twilio-proxy.example.com",  # not https
        "https://127.0.0.1:8900",
        "https://127.1:8900",  # the resolver's shorthand for 127.0.0.1
        "https://2130706433",  # 127.0.0.1 as one number
        "https://0x7f.0.0.1",
        "https://[::1]:8900",
        "https://[::ffff:10.0.0.5]",
        "https://10.1.2.3",
        "https://172.16.0.9",
        "https://192.168.1.20",
        "https://169.254.169.254",  # the cloud metadata address
        "https://100.64.0.1",  # carrier-grade NAT
        "https://0.0.0.0",
        "https://[fe80::1]",
        "https://[fd00::1]",
        "https://localhost:8900",
        "https://LOCALHOST.",
        "https://sandbox.localhost",
        "https://printer.local",
        "https://metadata.google.internal",
        "https://sandbox",  # a bare name only resolves on the local network
    ],
)
@pytest.mark.parametrize("provider", ["TWILIO", "ELEVENLABS", "GHL", "CALCOM", "PAYPAL"])
def test_production_refuses_a_provider_base_url_that_is_not_public_https(provider: str, url: str) -> None:
    variable = f"{provider}_BASE_URL"
    assert production_error(**{variable: url}).variable == variable


def test_production_accepts_a_public_https_provider_base_url() -> None:
    config = load_config(production_env(TWILIO_BASE_URL="https://api.twilio.com/", GHL_BASE_URL=""))
    assert config.provider_base_urls["twilio"] == "https://api.twilio.com"
    assert config.provider_base_urls["ghl"] == ""


def test_development_accepts_the_local_sandbox() -> None:
    config = load_config(good_env(TWILIO_BASE_URL="http://127.0.0.1:8900"))
    assert config.provider_base_urls["twilio"] == "http://127.0.0.1:8900"
    assert error_for(TWILIO_BASE_URL="ftp://127.0.0.1").variable == "TWILIO_BASE_URL"


@pytest.mark.parametrize("value", ["2h", "1d", "7d", "86400"])
def test_it_bounds_the_access_token_lifetime(value: str) -> None:
    error = error_for(JWT_EXPIRES_IN=value)
    assert error.variable == "JWT_EXPIRES_IN"
    assert "at most 1h" in str(error)
    assert load_config(good_env(JWT_EXPIRES_IN="1h")).jwt_expires_in == timedelta(hours=1)


def test_serve_refuses_all_surfaces_in_production() -> None:
    env = production_env(
        ADMIN_PASSWORD="a very long production operator passphrase",
        DATABASE_URL=os.environ.get("DATABASE_URL", "") or "postgresql://postgres@127.0.0.1:5432/prixagent",
    )
    result = _manage(env, "serve", "all", "--noreload")
    assert result.returncode != 0
    assert "serve all is for development" in result.stderr
