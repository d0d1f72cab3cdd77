from __future__ import annotations

from rest_framework.test import APIClient


def test_it_registers_and_reads_me(api: APIClient, db: None) -> None:
    r = api.post(
        "/api/v1/auth/register/", {"account_name": "Acme", "email": "Owner@Acme.test", "password": "long enough pass 1"}
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["account"]["slug"] == "acme"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "owner@acme.test"
