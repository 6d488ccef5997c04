"""First contact: the app builds, the OpenAPI document is valid, a worker round-trips."""

from __future__ import annotations


def test_openapi_document_lists_every_operation(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/workers/{worker_id}" in spec["paths"]


def test_create_worker_returns_normalised_record(client, auth):
    response = client.post(
        "/api/v1/workers",
        json={
            "external_id": "HY-1",
            "full_name": "Trần Văn Nam",
            "birth_year": 1995,
            "ward_code": "11983",
            "phone": "0912 345 678",
            "skills": ["may công nghiệp"],
            "trades": ["garment"],
        },
        headers=auth("caseworker"),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["phone"] == "+84912345678"
    assert body["ward_code"] == "11983"
    assert body["skills"], body
