"""Sign up, log out and log in again in a real Chromium against the live server."""

from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "owner@panaderia.test"
PASSWORD = "pan de masa madre 2024"


def test_it_signs_up_logs_out_and_logs_in(page, live_server) -> None:
    page.goto("/")
    page.get_by_role("link", name="Create your account").first.click()
    page.wait_for_url("**/app/signup/")

    page.get_by_label("Business name").fill("Panadería Luna")
    page.get_by_label("Your name").fill("Lucía")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # The same answer for a new and a known address: check the inbox, then log in.
    page.wait_for_url("**/app/signup/sent/")
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    page.get_by_role("link", name="Log in").last.click()
    page.wait_for_url("**/app/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url("**/app/")
    assert page.get_by_role("heading", name="Welcome, Lucía").is_visible()
    assert "Panadería Luna" in page.locator("header").inner_text()
    page.screenshot(path="/tmp/prixagent-dashboard.png", full_page=True)
    assert User.objects.get(email=EMAIL).account.name == "Panadería Luna"

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text("You have been logged out.").is_visible()

    page.get_by_role("link", name="Log in").first.click()
    page.wait_for_url("**/app/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Enter a correct email and password.").is_visible()

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/app/")
    page.get_by_role("link", name="Account").click()
    page.wait_for_url("**/app/account/")
    assert page.get_by_role("heading", name="Panadería Luna").is_visible()
    assert page.get_by_role("cell", name=EMAIL).is_visible()


def test_it_switches_to_spanish_in_the_browser(page) -> None:
    page.goto("/app/login/")
    page.get_by_role("button", name="ES", exact=True).click()
    page.wait_for_url("**/app/login/")
    assert page.get_by_role("heading", name="Inicia sesión en PrixAgent").is_visible()
    assert page.locator("html").get_attribute("lang") == "es"
    # Remembered by the cookie on the next visit.
    page.goto("/")
    assert page.get_by_role("link", name="Crea tu cuenta").first.is_visible()
