"""Security headers on every response class and surface, and production cookie attributes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from accounts.models import User
from prixagent.config import BASE_DIR


def csp_directives(response: object) -> dict[str, str]:
    parts = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
    return {name: value for name, value in parts}


def _assert_security_headers(response: object, *, hsts: bool = True) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = csp_directives(response)
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    if hsts:
        assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.fixture
def hsts(settings: object) -> None:
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True


@pytest.mark.parametrize(
    ("surface", "path"),
    [("api", "/admin/login/"), ("api", "/app/login/"), ("landing", "/api/v1/config/"), ("client", "/")],
)
def test_the_404_for_another_surfaces_path_carries_the_security_headers(
    db: None, settings: object, hsts: None, surface: str, path: str
) -> None:
    settings.SURFACE = surface
    response = Client().get(path, secure=True)
    assert response.status_code == 404
    _assert_security_headers(response)


@pytest.mark.parametrize("path", ["/", "/app/login/", "/admin/login/", "/api/v1/config/", "/api/v1/docs/", "/healthz"])
def test_every_surface_answers_with_the_security_headers(db: None, hsts: None, path: str) -> None:
    response = Client().get(path, secure=True)
    assert response.status_code == 200
    _assert_security_headers(response)


def test_the_dashboard_and_its_errors_carry_the_security_headers(alice: User, hsts: None) -> None:
    client = Client()
    client.force_login(alice)
    _assert_security_headers(client.get("/app/", secure=True))
    _assert_security_headers(client.get("/app/no-such-page/", secure=True))


def test_the_api_docs_need_no_inline_script_or_style(db: None) -> None:
    page = Client().get("/api/v1/docs/")
    html = page.content.decode()
    assert "<style>" not in html and "<script>" not in html
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def _production_probe(code: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")}
    env.update(
        NODE_ENV="production",
        SESSION_SECRET=secrets.token_urlsafe(64),
        JWT_SECRET=secrets.token_urlsafe(64),
        JWT_REFRESH_SECRET=secrets.token_urlsafe(64),
        ENCRYPTION_KEY=secrets.token_hex(32),
        ADMIN_PASSWORD="a very long production operator passphrase",
        API_URL="https://app.example.com/api/v1",
        DATABASE_URL=os.environ.get("DATABASE_URL", "") or "postgresql://postgres@127.0.0.1:5432/prixagent",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_are_secure_host_prefixed_and_same_site() -> None:
    probe = _production_probe(
        "import json; from django.test import Client\n"
        "c = Client(HTTP_HOST='app.example.com')\n"
        "r = c.post('/i18n/setlang/', {'language': 'es', 'next': '/'}, secure=True)\n"
        "lang = r.cookies['django_language']\n"
        "from django.http import HttpResponse; from django.middleware.csrf import CsrfViewMiddleware, get_token\n"
        "from django.test import RequestFactory\n"
        "req = RequestFactory().get('/app/login/', secure=True); get_token(req)\n"
        "out = CsrfViewMiddleware(lambda r: HttpResponse())(req)\n"
        "csrf = next(m for k, m in out.cookies.items() if 'csrf' in k)\n"
        "print(json.dumps({'lang_secure': bool(lang['secure']), 'lang_samesite': lang['samesite'],\n"
        "  'csrf_name': csrf.key, 'csrf_secure': bool(csrf['secure']), 'csrf_path': csrf['path'],\n"
        "  'session_name': __import__('django.conf').conf.settings.SESSION_COOKIE_NAME}))"
    )
    assert probe == {
        "lang_secure": True,
        "lang_samesite": "Lax",
        "csrf_name": "__Host-csrftoken",
        "csrf_secure": True,
        "csrf_path": "/",
        "session_name": "__Host-sessionid",
    }
