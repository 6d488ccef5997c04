"""Regressions found in review: each test failed before its fix."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from api.auth import create_token
from api.extensions import db
from api.models import Commitment, Referral, Worker
from matcher import clock
from tests import factories

TODAY = clock.today()
DAY = (TODAY - dt.timedelta(days=5)).isoformat()


def _import(client, headers, kind: str, text: str) -> dict:
    response = client.post(
        f"/api/v1/imports/{kind}",
        data={"file": (io.BytesIO(text.encode()), f"{kind}.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def two_commitments(world):
    small_a = factories.commitment(world.enterprise, external_id="A", slots=1)
    small_b = factories.commitment(world.enterprise, external_id="B", slots=1)
    db.session.commit()
    return small_a, small_b


def test_import_cannot_repoint_referral_to_another_commitment(client, auth, world, two_commitments):
    head = "external_id,worker_external_id,commitment_external_id,referred_on,outcome\n"
    w = world.worker.external_id
    _import(client, auth("caseworker"), "referrals", head + f"RA,{w},A,{DAY},pending\n")
    report = _import(client, auth("caseworker"), "referrals", head + f"RA,{w},B,{DAY},pending\n")
    assert report["updated"] == 0 and report["rejected"] == 1
    assert report["errors"][0]["column"] == "commitment_external_id"


def test_import_applies_outcome_change_along_allowed_transitions(
    client, auth, world, two_commitments
):
    head = "external_id,worker_external_id,commitment_external_id,referred_on,outcome,hired_on\n"
    w = world.worker.external_id
    _import(client, auth("caseworker"), "referrals", head + f"RA,{w},A,{DAY},pending,\n")
    report = _import(
        client, auth("caseworker"), "referrals", head + f"RA,{w},A,{DAY},hired,{DAY}\n"
    )
    assert report["updated"] == 1, report
    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(Commitment.slots_filled).where(Commitment.external_id == "A"))
        == 1
    )
    report = _import(client, auth("caseworker"), "referrals", head + f"RA,{w},A,{DAY},declined,\n")
    assert report["rejected"] == 1 and report["errors"][0]["column"] == "outcome"


def test_import_row_without_id_keeps_existing_id_and_conflicting_id_is_row_error(
    client, auth, world, two_commitments
):
    w = world.worker.external_id
    with_id = "external_id,worker_external_id,commitment_external_id,referred_on,outcome\n"
    _import(client, auth("caseworker"), "referrals", with_id + f"RA,{w},A,{DAY},pending\n")
    no_id = "worker_external_id,commitment_external_id,referred_on,outcome\n"
    report = _import(client, auth("caseworker"), "referrals", no_id + f"{w},A,{DAY},pending\n")
    assert report["unchanged"] == 1
    assert db.session.scalar(sa.select(Referral.external_id).where(Referral.external_id == "RA"))
    report = _import(
        client, auth("caseworker"), "referrals", with_id + f"OTHER,{w},A,{DAY},pending\n"
    )
    assert report["rejected"] == 1 and report["errors"][0]["column"] == "external_id"


def test_import_left_on_without_hired_on_is_row_error(client, auth, world, two_commitments):
    head = "worker_external_id,commitment_external_id,referred_on,outcome,left_on\n"
    report = _import(
        client,
        auth("caseworker"),
        "referrals",
        head + f"{world.worker.external_id},A,{DAY},hired,{TODAY}\n",
    )
    assert report["rejected"] == 1


def test_province_scoped_caseworker_cannot_write_other_province(client, world):
    clear, _ = create_token("caseworker", province_code="01")
    db.session.commit()
    headers = {"Authorization": f"Bearer {clear}"}
    text = "external_id,full_name,birth_year,ward_code\n"
    text += f"{world.worker.external_id},Bị Ghi Đè,1990,00004\n"
    report = _import(client, headers, "workers", text)
    assert report["updated"] == 0 and report["rejected"] == 1
    db.session.expire_all()
    assert db.session.get(Worker, world.worker.id).full_name == world.worker.full_name
    response = client.post(
        "/api/v1/enrollments",
        json={
            "worker_external_id": world.worker.external_id,
            "course_external_id": world.course.external_id,
            "status": "enrolled",
        },
        headers=headers,
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/workers", {"cursor": "999999999999"}),
        ("/api/v1/courses", {"provider": "a\x00b"}),
        ("/api/v1/access-log", {"since": "9999-12-31T23:00:00-14:00"}),
        ("/api/v1/workers", {"updated_since": "0001-01-01T00:00:00+14:00"}),
        ("/api/v1/workers", {"limit": "100000"}),
        ("/api/v1/workers", {"trade_code": "garment"}),
    ],
)
def test_odd_query_is_422_not_500(client, auth, world, url, params):
    response = client.get(url, query_string=params, headers=auth("admin"))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]


def test_nul_in_body_is_422(client, auth, world):
    response = client.post(
        "/api/v1/referrals",
        json={"worker_id": world.worker.id, "commitment_id": world.commitment.id, "note": "a\x00b"},
        headers=auth("caseworker"),
    )
    assert response.status_code == 422


def test_patch_keeps_place_source_and_enterprise_move_moves_default_sites(client, auth, world):
    response = client.patch(
        f"/api/v1/workers/{world.worker.id}",
        json={"phone": "0912000111"},
        headers=auth("caseworker"),
    )
    assert response.status_code == 200 and response.get_json()["place_source"] == "ward_code"
    default_site = factories.commitment(world.enterprise, site_from_enterprise=True)
    db.session.commit()
    response = client.patch(
        f"/api/v1/enterprises/{world.enterprise.id}",
        json={"ward_code": "11953"},
        headers=auth("admin"),
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Commitment, default_site.id).ward_code == "11953"
    assert db.session.get(Commitment, world.commitment.id).ward_code == "11983"


def test_left_on_on_hire_without_hired_on_is_422(client, auth, world):
    world.referral.status = "hired"
    db.session.commit()
    response = client.patch(
        f"/api/v1/referrals/{world.referral.id}",
        json={"left_on": TODAY.isoformat()},
        headers=auth("enterprise"),
    )
    assert response.status_code == 422
