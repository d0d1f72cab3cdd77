from __future__ import annotations

from rest_framework.test import APIClient


def test_it_registers_then_logs_in_and_reads_me(api: APIClient, db: None) -> None:
    r = api.post(
        "/api/v1/auth/register/", {"account_name": "Acme", "email": "Owner@Acme.test", "password": "long enough pass 1"}
    )
    assert r.status_code == 202, r.content
    tokens = api.post("/api/v1/auth/token/", {"email": "owner@acme.test", "password": "long enough pass 1"}).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "owner@acme.test"
    assert me.json()["account"]["slug"] == "acme"
    assert me.json()["account"]["email_verified"] is False
