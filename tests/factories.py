"""Record factories for tests: real rows through the real models, with sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from api.auth import create_token
from api.extensions import db
from api.models import (
    AllocationPair,
    AllocationRun,
    Commitment,
    Course,
    Enrollment,
    Enterprise,
    Job,
    Referral,
    Worker,
)
from matcher import clock
from matcher.places import gazetteer
from matcher.text import fold

_seq = itertools.count(1)
#: The run's day (tests/conftest.py fixes it for the whole run; CAUNOI_TODAY sets it).
TODAY = clock.today()
# Phường Sơn Nam and a few Hưng Yên communes: real 2025 codes.
HUNG_YEN_WARD = "11983"


def _place(ward_code: str) -> dict[str, Any]:
    ward = gazetteer().get(ward_code)
    assert ward is not None, ward_code
    return {
        "ward_code": ward.code,
        "province_code": ward.province_code,
        "lat": ward.lat,
        "lon": ward.lon,
        "place_source": "ward_code",
    }


def enterprise(**overrides: Any) -> Enterprise:
    n = next(_seq)
    values = {
        "external_id": f"ENT-{n}",
        "name": f"Công ty TNHH May Phố Nối {n}",
        "tax_code": f"{900000000 + n:010d}",
        "contact_email": f"hr{n}@example.vn",
        "contact_phone": "0221389" + f"{n:04d}"[-4:],
        **_place(overrides.pop("ward_code", HUNG_YEN_WARD)),
        **overrides,
    }
    values["name_key"] = fold(values["name"])
    row = Enterprise(**values)
    db.session.add(row)
    db.session.flush()
    return row


def course(**overrides: Any) -> Course:
    n = next(_seq)
    values = {
        "external_id": f"CRS-{n}",
        "name": f"May công nghiệp khóa {n}",
        "trade": "garment",
        "provider": "Trường Cao đẳng Nghề Hưng Yên",
        "level": "elementary",
        "start_date": TODAY - dt.timedelta(days=120),
        "end_date": TODAY - dt.timedelta(days=30),
        "capacity": 30,
        **_place(overrides.pop("ward_code", HUNG_YEN_WARD)),
        **overrides,
    }
    values["name_key"] = fold(values["name"])
    row = Course(**values)
    db.session.add(row)
    db.session.flush()
    return row


def worker(**overrides: Any) -> Worker:
    n = next(_seq)
    values = {
        "external_id": f"W-{n}",
        "full_name": f"Nguyễn Thị Hoa {n}",
        "birth_year": TODAY.year - 25,
        "gender": "female",
        "ethnic_minority": False,
        "disability": False,
        "phone": f"+8491{n:07d}"[-12:],
        "education": "upper_secondary",
        "trades": ["garment"],
        "skills": [],
        "experience_years": 1.0,
        "expected_wage_vnd": 7_000_000,
        "max_commute_km": 30.0,
        **_place(overrides.pop("ward_code", HUNG_YEN_WARD)),
        **overrides,
    }
    values["name_key"] = fold(values["full_name"]) if values["full_name"] else None
    row = Worker(**values)
    db.session.add(row)
    db.session.flush()
    return row


def commitment(enterprise_row: Enterprise, **overrides: Any) -> Commitment:
    n = next(_seq)
    values = {
        "external_id": f"CMT-{n}",
        "enterprise_id": enterprise_row.id,
        "trade": "garment",
        "slots": 10,
        "slots_filled": 0,
        "wage_vnd": 8_000_000,
        "start_date": TODAY - dt.timedelta(days=10),
        "expires_on": TODAY + dt.timedelta(days=90),
        "required_skills": [],
        **_place(overrides.pop("ward_code", enterprise_row.ward_code)),
        **overrides,
    }
    row = Commitment(**values)
    db.session.add(row)
    db.session.flush()
    return row


def enrollment(worker_row: Worker, course_row: Course, **overrides: Any) -> Enrollment:
    values = {"status": "enrolled", **overrides}
    row = Enrollment(worker_id=worker_row.id, course_id=course_row.id, **values)
    db.session.add(row)
    db.session.flush()
    return row


def referral(worker_row: Worker, commitment_row: Commitment, **overrides: Any) -> Referral:
    values = {"referred_on": TODAY - dt.timedelta(days=3), "status": "pending", **overrides}
    row = Referral(worker_id=worker_row.id, commitment_id=commitment_row.id, **values)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass
class World:
    """A small registry with one token per role and two enterprises with commitments."""

    tokens: dict[str, str]
    enterprise: Enterprise
    other_enterprise: Enterprise
    commitment: Commitment
    other_commitment: Commitment
    course: Course
    worker: Worker
    referred_worker: Worker
    referral: Referral


def build_world() -> World:
    """Two enterprises, each with a commitment; one worker referred to the first, one not."""
    ent = enterprise()
    other = enterprise()
    crs = course()
    cmt = commitment(ent, course_id=crs.id)
    other_cmt = commitment(other)
    plain_worker = worker()
    referred = worker()
    enrollment(referred, crs, status="graduated", completed_on=TODAY - dt.timedelta(days=30))
    ref = referral(referred, cmt)
    # A finished allocation round with one proposed pair, so every route has a record to read.
    run = AllocationRun(policy="max_hires", params={}, status="done", progress=1.0)
    db.session.add(run)
    db.session.flush()
    db.session.add(
        AllocationPair(
            run_id=run.id, worker_id=plain_worker.id, commitment_id=other_cmt.id,
            probability=0.5, distance_km=3.0, reasons=None,
        )
    )  # fmt: skip
    tokens, rows = {}, {}
    for role in ("caseworker", "planner", "admin"):
        tokens[role], rows[role] = create_token(role, label=f"test {role}")
    tokens["enterprise"], _ = create_token("enterprise", enterprise=ent, label="test enterprise")
    # A finished job of the planner's, so every job route has a record its asker may read.
    db.session.add(Job(kind="train", params={}, token_id=rows["planner"].id, role="planner",
                       status="done", progress=1.0, attempts=1))  # fmt: skip
    db.session.commit()
    return World(
        tokens=tokens,
        enterprise=ent,
        other_enterprise=other,
        commitment=cmt,
        other_commitment=other_cmt,
        course=crs,
        worker=plain_worker,
        referred_worker=referred,
        referral=ref,
    )
