"""Every route × every role (and no token, and a bad token): deny by default, scope by owner.

The policy below is written out by hand, independently of the code's own role lists, so a
route added without a decision here fails `test_policy_covers_every_route`.
"""

from __future__ import annotations

from typing import Any

import pytest

import api.resources  # noqa: F401  (registers every operation)
from api import jobs
from api.openapi import REGISTRY

CW, ENT, PLAN, ADMIN = "caseworker", "enterprise", "planner", "admin"
ALL = {CW, ENT, PLAN, ADMIN}
STAFF = {CW, ADMIN}

POLICY: dict[tuple[str, str], set[str]] = {
    ("get", "/api/v1/taxonomy/trades"): ALL,
    ("get", "/api/v1/taxonomy/skills"): ALL,
    ("get", "/api/v1/taxonomy/skills/normalize"): ALL,
    ("get", "/api/v1/places"): ALL,
    ("get", "/api/v1/places/{ward_code}"): ALL,
    ("get", "/api/v1/workers"): {CW, ENT, ADMIN},
    ("post", "/api/v1/workers"): STAFF,
    ("get", "/api/v1/workers/{worker_id}"): {CW, ENT, ADMIN},
    ("patch", "/api/v1/workers/{worker_id}"): STAFF,
    ("delete", "/api/v1/workers/{worker_id}"): STAFF,
    ("get", "/api/v1/enterprises"): ALL,
    ("post", "/api/v1/enterprises"): STAFF,
    ("get", "/api/v1/enterprises/{enterprise_id}"): ALL,
    ("patch", "/api/v1/enterprises/{enterprise_id}"): {CW, ENT, ADMIN},
    ("delete", "/api/v1/enterprises/{enterprise_id}"): {ADMIN},
    ("get", "/api/v1/courses"): ALL,
    ("post", "/api/v1/courses"): STAFF,
    ("get", "/api/v1/courses/{course_id}"): ALL,
    ("patch", "/api/v1/courses/{course_id}"): STAFF,
    ("delete", "/api/v1/courses/{course_id}"): STAFF,
    ("get", "/api/v1/enrollments"): STAFF,
    ("post", "/api/v1/enrollments"): STAFF,
    ("get", "/api/v1/enrollments/{enrollment_id}"): STAFF,
    ("patch", "/api/v1/enrollments/{enrollment_id}"): STAFF,
    ("delete", "/api/v1/enrollments/{enrollment_id}"): STAFF,
    ("get", "/api/v1/commitments"): ALL,
    ("post", "/api/v1/commitments"): {CW, ENT, ADMIN},
    ("get", "/api/v1/commitments/{commitment_id}"): ALL,
    ("patch", "/api/v1/commitments/{commitment_id}"): {CW, ENT, ADMIN},
    ("delete", "/api/v1/commitments/{commitment_id}"): {CW, ENT, ADMIN},
    ("get", "/api/v1/referrals"): {CW, ENT, ADMIN},
    ("post", "/api/v1/referrals"): STAFF,
    ("get", "/api/v1/referrals/{referral_id}"): {CW, ENT, ADMIN},
    ("patch", "/api/v1/referrals/{referral_id}"): {CW, ENT, ADMIN},
    ("post", "/api/v1/imports/{kind}"): STAFF,
    ("get", "/api/v1/tokens"): {ADMIN},
    ("post", "/api/v1/tokens"): {ADMIN},
    ("delete", "/api/v1/tokens/{token_id}"): {ADMIN},
    ("get", "/api/v1/access-log"): {ADMIN},
    ("get", "/api/v1/workers/{worker_id}/matches"): STAFF,
    ("get", "/api/v1/workers/{worker_id}/pathways"): STAFF,
    ("get", "/api/v1/commitments/{commitment_id}/candidates"): {CW, ENT, ADMIN},
    ("get", "/api/v1/models"): {ADMIN},
    ("post", "/api/v1/models/train"): {ADMIN},
    ("post", "/api/v1/models/{version}/promote"): {ADMIN},
    ("get", "/api/v1/jobs"): ALL,
    ("get", "/api/v1/jobs/{job_id}"): ALL,
    ("post", "/api/v1/jobs/{job_id}/cancel"): ALL,
    ("post", "/api/v1/allocations"): {PLAN, CW, ADMIN},
    ("get", "/api/v1/allocations"): {PLAN, CW, ADMIN},
    ("get", "/api/v1/allocations/{run_id}"): {PLAN, CW, ADMIN},
    ("post", "/api/v1/allocations/{run_id}/confirm"): STAFF,
    ("get", "/api/v1/allocations/{run_id}/export"): STAFF,
    ("get", "/api/v1/planning/series"): {PLAN, ADMIN},
    ("get", "/api/v1/planning/forecasts"): {PLAN, ADMIN},
    ("get", "/api/v1/planning/gaps"): {PLAN, ADMIN},
    ("get", "/api/v1/planning/course-plan"): {PLAN, ADMIN},
    ("get", "/api/v1/planning/placement-results"): {PLAN, ADMIN},
    ("get", "/api/v1/planning/fairness"): {PLAN, ADMIN},
}

# Fields that identify or describe a person; planners must never receive a non-null one.
PERSONAL_FIELDS = {
    "full_name",
    "phone",
    "birth_year",
    "gender",
    "ethnic_minority",
    "disability",
    "contact_email",
    "contact_phone",
    "worker_id",
    "worker_external_id",
}

OPERATIONS = sorted({(op.method, op.path) for op in REGISTRY if not op.public})


def test_policy_covers_every_route():
    assert set(POLICY) == set(OPERATIONS)
    for op in REGISTRY:
        assert set(op.roles) == POLICY[(op.method, op.path)], (op.method, op.path)


def _url(path: str, world: Any) -> str:
    """Fill path parameters with records the enterprise token owns (or may see)."""
    ids = {
        "worker_id": world.referred_worker.id,
        "enterprise_id": world.enterprise.id,
        "course_id": world.course.id,
        "commitment_id": world.commitment.id,
        "referral_id": world.referral.id,
        "enrollment_id": 1,
        "token_id": 1,
        "ward_code": "11983",
        "kind": "workers",
        "version": "no-such-version",
        "run_id": 1,
        "job_id": 1,
    }
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def _call(client, method: str, url: str, headers: dict[str, str]):
    query = {"q": "may"} if url.endswith(("/normalize", "/places")) else None
    if method in ("post", "patch"):
        return client.open(url, method=method.upper(), json={}, headers=headers, query_string=query)
    return client.open(url, method=method.upper(), headers=headers, query_string=query)


@pytest.mark.parametrize("role", [None, "bad"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_call_without_valid_token_is_unauthorized(client, world, auth, method, path, role):
    response = _call(client, method, _url(path, world), auth(role))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_call_with_role_is_allowed_or_forbidden_by_policy(client, world, auth, method, path, role):
    response = _call(client, method, _url(path, world), auth(role))
    if role in POLICY[(method, path)]:
        assert response.status_code not in (401, 403, 500), response.get_json()
    else:
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"


def _personal_values(payload: Any, found: set[str]) -> set[str]:
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in PERSONAL_FIELDS and value is not None:
                found.add(key)
            _personal_values(value, found)
    elif isinstance(payload, list):
        for item in payload:
            _personal_values(item, found)
    return found


@pytest.mark.parametrize(
    "path", sorted(p for (m, p), roles in POLICY.items() if m == "get" and PLAN in roles)
)
def test_planner_responses_hold_no_personal_fields(client, world, auth, path):
    url, headers = _url(path, world), auth(PLAN)
    response = _call(client, "get", url, headers)
    if path.startswith("/api/v1/planning/") and response.status_code == 202:
        assert _personal_values(response.get_json(), set()) == set()  # the refresh job
        jobs.execute(response.get_json()["id"])  # as a consumer would
        response = _call(client, "get", url, headers)
    assert response.status_code == 200, response.get_json()
    assert _personal_values(response.get_json(), set()) == set()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/commitments/{other_commitment}",
        "/api/v1/enterprises/{other_enterprise}",
        "/api/v1/workers/{worker}",
        "/api/v1/commitments/{other_commitment}/candidates",
    ],
)
def test_enterprise_asking_for_others_record_gets_404(client, world, auth, path):
    url = (
        path.replace("{other_commitment}", str(world.other_commitment.id))
        .replace("{other_enterprise}", str(world.other_enterprise.id))
        .replace("{worker}", str(world.worker.id))
    )
    methods = ("GET",) if url.endswith("/candidates") else ("GET", "PATCH")
    for method in methods:
        response = client.open(url, method=method, json={}, headers=auth(ENT))
        if method == "PATCH" and "/workers/" in url:
            assert response.status_code == 403
        else:
            assert response.status_code == 404, (method, url, response.get_json())


def test_enterprise_lists_only_its_own_records(client, world, auth):
    commitments = client.get("/api/v1/commitments", headers=auth(ENT)).get_json()["items"]
    assert {c["enterprise_id"] for c in commitments} == {world.enterprise.id}
    enterprises = client.get("/api/v1/enterprises", headers=auth(ENT)).get_json()["items"]
    assert [e["id"] for e in enterprises] == [world.enterprise.id]
    workers = client.get("/api/v1/workers", headers=auth(ENT)).get_json()["items"]
    assert [w["id"] for w in workers] == [world.referred_worker.id]
    referrals = client.get(
        "/api/v1/referrals",
        query_string={"commitment_id": world.other_commitment.id},
        headers=auth(ENT),
    ).get_json()["items"]
    assert referrals == []


def test_enterprise_sees_referred_worker_without_protected_attributes(client, world, auth):
    body = client.get(f"/api/v1/workers/{world.referred_worker.id}", headers=auth(ENT)).get_json()
    assert body["full_name"] == world.referred_worker.full_name
    assert body["phone"] is not None
    assert body["gender"] is None and body["birth_year"] is None
    assert body["ethnic_minority"] is None and body["disability"] is None


def test_enterprise_cannot_post_commitment_for_another_enterprise(client, world, auth):
    response = client.post(
        "/api/v1/commitments",
        json={
            "external_id": "X-1",
            "enterprise_external_id": world.other_enterprise.external_id,
            "trade": "garment",
            "slots": 3,
            "wage_vnd": 7_000_000,
            "start_date": "2026-12-01",
        },
        headers=auth(ENT),
    )
    assert response.status_code == 403


def test_reading_worker_writes_access_log(client, world, auth):
    client.get(f"/api/v1/workers/{world.worker.id}", headers=auth(CW))
    client.get("/api/v1/workers", headers=auth(ENT))
    log = client.get("/api/v1/access-log", headers=auth(ADMIN)).get_json()["items"]
    entries = {(e["role"], e["worker_id"], e["action"]) for e in log}
    assert (CW, world.worker.id, "read") in entries
    assert (ENT, world.referred_worker.id, "list") in entries
    assert all(e["endpoint"].startswith("/api/v1/workers") for e in log)


def test_revoked_token_is_refused(client, world, auth):
    tokens = client.get("/api/v1/tokens", headers=auth(ADMIN)).get_json()["items"]
    planner = next(t for t in tokens if t["role"] == PLAN)
    assert client.delete(f"/api/v1/tokens/{planner['id']}", headers=auth(ADMIN)).status_code == 204
    assert client.get("/api/v1/courses", headers=auth(PLAN)).status_code == 401


def test_caseworker_with_province_scope_sees_only_that_province(client, world, auth, app):
    from api.auth import create_token
    from api.extensions import db
    from tests import factories

    elsewhere = factories.worker(ward_code="00004")  # Hà Nội
    clear, _ = create_token(CW, province_code="33")
    db.session.commit()
    headers = {"Authorization": f"Bearer {clear}"}
    ids = {w["id"] for w in client.get("/api/v1/workers", headers=headers).get_json()["items"]}
    assert elsewhere.id not in ids and world.worker.id in ids
    assert client.get(f"/api/v1/workers/{elsewhere.id}", headers=headers).status_code == 404
