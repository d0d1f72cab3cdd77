"""The strict Content-Security-Policy breaks nothing: the landing page, the dashboard, the admin
and the Swagger UI render and work in a real Chromium with zero policy violations."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def violations(page: object, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations"), *[m for m in console if "Content Security Policy" in m]]


@pytest.fixture
def watched(page: object) -> tuple[object, list[str]]:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    return page, console


def test_landing_and_dashboard_work_under_the_policy(watched: tuple[object, list[str]], alice: User) -> None:
    page, console = watched
    response = page.goto("/")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert page.locator("link[rel=stylesheet]").count() >= 1
    assert page.evaluate("getComputedStyle(document.body).margin") != ""  # our stylesheet loaded
    assert violations(page, console) == []

    page.goto("/app/login/")
    page.get_by_label("Email", exact=True).fill(alice.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/app/")
    page.goto("/app/integrations/")
    assert page.get_by_role("heading", name="Twilio").is_visible()
    assert violations(page, console) == []


def test_the_admin_works_under_the_policy(watched: tuple[object, list[str]]) -> None:
    page, console = watched
    User.objects.create_superuser("ops@example.com", "operator password 123")
    page.goto("/admin/login/")
    page.fill("#id_username", "ops@example.com")
    page.fill("#id_password", "operator password 123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.goto("/admin/accounts/account/")
    assert page.locator("#changelist").is_visible()
    assert violations(page, console) == []


def test_the_swagger_ui_works_under_the_policy(watched: tuple[object, list[str]]) -> None:
    page, console = watched
    page.goto("/api/v1/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "PrixAgent API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-tag-section").first.wait_for()
    assert violations(page, console) == []
