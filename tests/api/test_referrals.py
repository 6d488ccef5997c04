"""Referrals: allowed transitions only, a hire fills exactly one slot, never more than open."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from api.extensions import db
from api.models import Commitment
from matcher import clock
from tests import factories

TODAY = clock.today()


def _patch(client, auth, referral_id: int, role: str = "caseworker", **body):
    return client.patch(f"/api/v1/referrals/{referral_id}", json=body, headers=auth(role))


def test_create_referral_stores_what_caseworker_saw(client, world, auth):
    response = client.post(
        "/api/v1/referrals",
        json={
            "worker_id": world.worker.id,
            "commitment_id": world.commitment.id,
            "score": 0.62,
            "scorer": "rules",
            "model_version": "rules-1",
            "reasons": [{"vi": "Cách nhà 8 km", "en": "8 km from home"}],
        },
        headers=auth("caseworker"),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["score"] == 0.62
    assert body["reasons"][0]["vi"] == "Cách nhà 8 km"
    assert [h["to_status"] for h in body["history"]] == ["pending"]


def test_duplicate_pending_referral_is_conflict(client, world, auth):
    payload = {"worker_id": world.referred_worker.id, "commitment_id": world.commitment.id}
    assert (
        client.post("/api/v1/referrals", json=payload, headers=auth("caseworker")).status_code
        == 409
    )


def test_hire_fills_one_slot_and_records_history(client, world, auth):
    response = _patch(client, auth, world.referral.id, role="enterprise", status="hired")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "hired" and body["hired_on"] == TODAY.isoformat()
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [("pending", "hired")]
    commitment = client.get(f"/api/v1/commitments/{world.commitment.id}", headers=auth("admin"))
    assert commitment.get_json()["slots_filled"] == 1
    assert commitment.get_json()["slots_open"] == 9


@pytest.mark.parametrize("final", ["hired", "not_hired", "declined", "no_show"])
def test_decided_referral_cannot_move_again(client, world, auth, final):
    assert _patch(client, auth, world.referral.id, status=final).status_code == 200
    for other in ("pending", "hired", "not_hired"):
        if other != final:
            response = _patch(client, auth, world.referral.id, status=other)
            assert response.status_code == 409, (final, other)


def test_left_on_records_retention_after_hire(client, world, auth):
    _patch(
        client,
        auth,
        world.referral.id,
        status="hired",
        hired_on=(TODAY - dt.timedelta(days=2)).isoformat(),
    )
    response = _patch(client, auth, world.referral.id, left_on=TODAY.isoformat())
    assert response.status_code == 200 and response.get_json()["left_on"] == TODAY.isoformat()
    bad = _patch(
        client, auth, world.referral.id, left_on=(TODAY - dt.timedelta(days=30)).isoformat()
    )
    assert bad.status_code == 422


def test_hire_on_full_commitment_is_conflict(client, world, auth):
    world.commitment.slots = 1
    world.commitment.slots_filled = 1
    db.session.commit()
    response = _patch(client, auth, world.referral.id, status="hired")
    assert response.status_code == 409
    db.session.expire_all()
    assert (
        client.get(f"/api/v1/referrals/{world.referral.id}", headers=auth("admin")).get_json()[
            "status"
        ]
        == "pending"
    )


def test_database_refuses_overfilled_commitment(app, world):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.update(Commitment)
            .where(Commitment.id == world.commitment.id)
            .values(slots_filled=11)
        )
        db.session.flush()
    db.session.rollback()


def test_referral_to_expired_commitment_is_conflict(client, world, auth):
    world.commitment.expires_on = TODAY - dt.timedelta(days=1)
    world.commitment.start_date = TODAY - dt.timedelta(days=30)
    db.session.commit()
    payload = {"worker_id": world.worker.id, "commitment_id": world.commitment.id}
    assert (
        client.post("/api/v1/referrals", json=payload, headers=auth("caseworker")).status_code
        == 409
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_fifty_concurrent_hires_fill_exactly_ten_slots(live_server, world):
    """Given 50 pending referrals to a commitment with 10 open slots, when 50 hires race over
    HTTP, then exactly 10 succeed, 40 get 409, and slots_filled is 10."""
    commitment = factories.commitment(world.enterprise, slots=10)
    referrals = [factories.referral(factories.worker(), commitment) for _ in range(50)]
    db.session.commit()
    token = world.tokens["caseworker"]

    def hire(referral_id: int) -> int:
        response = requests.patch(
            f"{live_server.url}/api/v1/referrals/{referral_id}",
            json={"status": "hired"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(hire, [r.id for r in referrals]))
    assert codes.count(200) == 10, codes
    assert codes.count(409) == 40, codes
    db.session.expire_all()
    assert db.session.get(Commitment, commitment.id).slots_filled == 10
    hired = db.session.scalar(
        sa.text("SELECT count(*) FROM referrals WHERE commitment_id = :c AND status = 'hired'"),
        {"c": commitment.id},
    )
    assert hired == 10
