"""The accounts/auth variables of `.env`: TRUSTED_PROXY_COUNT and APP_URL (one-line errors)."""

from __future__ import annotations

import pytest

from prixagent.config import ConfigError, load_config
from tests.prixagent.test_config import good_env


def error_for(**overrides: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(good_env(**overrides))
    return info.value


def test_clients_connect_directly_unless_told_otherwise() -> None:
    assert load_config(good_env()).trusted_proxy_count == 0
    assert load_config(good_env(TRUSTED_PROXY_COUNT="2")).trusted_proxy_count == 2


def test_production_assumes_its_tls_proxy() -> None:
    env = good_env(NODE_ENV="production", ADMIN_PASSWORD="a very long production operator passphrase")
    env.update({k: v * 2 for k, v in env.items() if k.endswith("SECRET")})
    assert load_config(env).trusted_proxy_count == 1
    assert load_config({**env, "TRUSTED_PROXY_COUNT": "0"}).trusted_proxy_count == 0


@pytest.mark.parametrize("value", ["-1", "one", "9"])
def test_it_refuses_a_bad_proxy_count(value: str) -> None:
    error = error_for(TRUSTED_PROXY_COUNT=value)
    assert error.variable == "TRUSTED_PROXY_COUNT"
    assert "\n" not in str(error)


def test_app_url_defaults_to_the_origin_of_the_api() -> None:
    assert load_config(good_env(API_URL="http://localhost:3000/api/v1")).app_url == "http://localhost:3000"
    assert load_config(good_env(APP_URL="https://app.example.com/")).app_url == "https://app.example.com"


@pytest.mark.parametrize("value", ["ftp://app.example.com", "https://app.example.com/app/", "not a url"])
def test_it_refuses_a_bad_app_url(value: str) -> None:
    assert error_for(APP_URL=value).variable == "APP_URL"


def test_production_needs_an_https_app_url() -> None:
    error = error_for(
        NODE_ENV="production",
        APP_URL="http://app.example.com",
        SESSION_SECRET="s" * 60,
        JWT_SECRET="j" * 60,
        JWT_REFRESH_SECRET="r" * 60,
        ADMIN_PASSWORD="a very long production operator passphrase",
    )
    assert error.variable == "APP_URL"
    assert "https" in str(error)
