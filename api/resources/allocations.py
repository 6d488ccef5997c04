"""Allocation rounds over HTTP: propose, read (planners: summary only), confirm, export."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app

from api.allocations import confirm, submit, wait
from api.auth import current_principal
from api.errors import Conflict, Forbidden, NotFound
from api.exports import XLSX_MIME, table_response
from api.extensions import db
from api.models import AllocationPair, AllocationRun, Commitment, Enterprise, Worker
from api.openapi import json_response, operation
from api.queries import in_province_scope
from api.schemas import (
    AllocationIn,
    AllocationListQuery,
    AllocationOut,
    AllocationPage,
    AllocationQuery,
    ConfirmIn,
    ConfirmOut,
    ExportQuery,
    encode_cursor,
)
from matcher import labels

bp = Blueprint("allocations", __name__, url_prefix="/api/v1")

PROPOSERS = ("planner", "caseworker", "admin")
STAFF = ("caseworker", "admin")


def _run(run_id: int) -> AllocationRun:
    """The round if the caller's scope covers the one it was made in; 404 otherwise."""
    principal = current_principal()
    run = db.session.execute(
        sa.select(AllocationRun).where(
            AllocationRun.id == run_id,
            in_province_scope(principal, AllocationRun.province_scope),
        )
    ).scalar()
    if run is None:
        raise NotFound(f"Không có lượt phân bổ #{run_id} / no allocation #{run_id}")
    return run


def _pairs(run: AllocationRun, after_id: int, limit: int) -> tuple[list[dict], str | None]:
    # A worker who moved out of the caller's province since the round is no longer shown.
    scope = in_province_scope(current_principal(), Worker.province_code)
    rows = db.session.execute(
        sa.select(AllocationPair, Worker.external_id, Commitment.external_id, Enterprise.name)
        .join(Worker, Worker.id == AllocationPair.worker_id)
        .join(Commitment, Commitment.id == AllocationPair.commitment_id)
        .join(Enterprise, Enterprise.id == Commitment.enterprise_id)
        .where(AllocationPair.run_id == run.id, AllocationPair.id > after_id, scope)
        .order_by(AllocationPair.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": pair.id,
            "worker_id": pair.worker_id,
            "worker_external_id": worker_ext,
            "commitment_id": pair.commitment_id,
            "commitment_external_id": commitment_ext,
            "enterprise_name": enterprise_name,
            "probability": round(pair.probability, 4),
            "distance_km": round(pair.distance_km, 2),
            "reasons": pair.reasons,
            "referral_id": pair.referral_id,
        }
        for pair, worker_ext, commitment_ext, enterprise_name in rows
    ]
    return items, encode_cursor(rows[-1][0].id) if more and rows else None


def allocation_out(
    run: AllocationRun, after_id: int = 0, limit: int = 100, *, with_pairs: bool = True
) -> dict[str, Any]:
    show_pairs = with_pairs and current_principal().role in STAFF and run.status == "done"
    pairs, cursor = _pairs(run, after_id, limit) if show_pairs else (None, None)
    return {
        "id": run.id,
        "created_at": run.created_at,
        "policy": run.policy,
        "params": run.params,
        "scorer": run.scorer,
        "model_version": run.model_version,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "job_id": run.job_id,
        "summary": run.summary,
        "pairs": pairs,
        "next_cursor": cursor,
    }


@operation(
    bp,
    "/allocations",
    "POST",
    summary="Propose an allocation round",
    roles=PROPOSERS,
    body=AllocationIn,
    response=AllocationOut,
    status=201,
    also={202: (AllocationOut, "Still running after a few seconds: poll its Location")},
)
def create_allocation(body: AllocationIn) -> Any:
    """One proposal for a population: each worker to at most one commitment, each commitment
    at most floor(open slots × over_referral_factor) workers; max_hires maximises expected
    hires exactly, stable is worker-optimal and stable. A background job does the round;
    one done within about 2 seconds is answered 201, a longer one 202 with its Location:
    poll GET /allocations/{id} for `progress`. Nothing is referred until a caseworker
    confirms."""
    principal = current_principal()
    params = body.model_dump(mode="json")
    scope = principal.province_code
    if scope is not None:
        if body.province_code not in (None, scope):
            raise Forbidden(
                f"Mã truy cập chỉ dùng cho tỉnh {scope}, không thể phân bổ cho tỉnh"
                f" {body.province_code} / this token is limited to province {scope}; it cannot"
                f" allocate for province {body.province_code}"
            )
        params["province_code"] = scope
    run = AllocationRun(
        policy=body.policy,
        params=params,
        token_id=principal.token_id,
        role=principal.role,
        province_scope=scope,
        status="running",
        progress=0.0,
        message="Đang chờ / queued",
    )
    db.session.add(run)
    db.session.commit()
    submit(run, principal)
    if wait(run, float(current_app.config["ALLOCATION_WAIT_S"])):
        return allocation_out(run)
    response = json_response(
        AllocationOut.model_validate(allocation_out(run)).model_dump(mode="json"), 202
    )
    response.headers["Location"] = f"/api/v1/allocations/{run.id}"
    return response


@operation(
    bp,
    "/allocations",
    summary="Allocation rounds of the caller's scope, newest first (summaries, no pairs)",
    roles=PROPOSERS,
    query=AllocationListQuery,
    response=AllocationPage,
)
def list_allocations(query: AllocationListQuery) -> dict[str, Any]:
    stmt = sa.select(AllocationRun).where(
        in_province_scope(current_principal(), AllocationRun.province_scope)
    )
    if query.cursor:
        stmt = stmt.where(AllocationRun.id < query.after_id)
    runs = db.session.scalars(stmt.order_by(AllocationRun.id.desc()).limit(query.limit + 1)).all()
    more = len(runs) > query.limit
    runs = runs[: query.limit]
    items = [allocation_out(run, with_pairs=False) for run in runs]
    return {"items": items, "next_cursor": encode_cursor(runs[-1].id) if more and runs else None}


@operation(
    bp,
    "/allocations/<int:run_id>",
    summary="An allocation round: summary and pairs",
    roles=PROPOSERS,
    query=AllocationQuery,
    response=AllocationOut,
)
def get_allocation(run_id: int, query: AllocationQuery) -> dict[str, Any]:
    """Planners see the summary only; caseworkers and admins also the pairs (paginated),
    each with its probability, distance and reasons."""
    run = _run(run_id)
    db.session.refresh(run)
    return allocation_out(run, query.after_id, query.limit)


@operation(
    bp,
    "/allocations/<int:run_id>/confirm",
    "POST",
    summary="Refer the chosen pairs",
    roles=STAFF,
    body=ConfirmIn,
    response=ConfirmOut,
)
def confirm_allocation(run_id: int, body: ConfirmIn) -> dict[str, Any]:
    run = _run(run_id)
    if run.status != "done":
        raise Conflict(f"Lượt phân bổ đang ở trạng thái {run.status} / allocation is {run.status}")
    return confirm(run, body.pair_ids, current_principal())


@operation(
    bp,
    "/allocations/<int:run_id>/export",
    summary="The proposal as CSV or .xlsx",
    roles=STAFF,
    query=ExportQuery,
    response=AllocationOut,
    extra_codes=("409",),
    alt_content={
        "text/csv": "CSV",
        XLSX_MIME: ".xlsx",
    },
)
def export_allocation(run_id: int, query: ExportQuery) -> Response:
    run = _run(run_id)
    if run.status != "done":
        raise Conflict(f"Lượt phân bổ đang ở trạng thái {run.status} / allocation is {run.status}")
    header = [
        "pair_id", "worker_external_id", "commitment_external_id", "enterprise_name",
        "probability", "distance_km", "reasons_vi", "referral_id",
    ]  # fmt: skip
    rows, after = [], 0
    while True:
        page, cursor = _pairs(run, after, 5000)
        rows += [
            [
                p["id"],
                p["worker_external_id"],
                p["commitment_external_id"],
                p["enterprise_name"],
                p["probability"],
                p["distance_km"],
                "; ".join(r["vi"] for r in p["reasons"] or []),
                p["referral_id"] or "",
            ]  # fmt: skip
            for p in page
        ]
        if cursor is None:
            break
        after = int(cursor)
    confirmed = sum(1 for row in rows if row[-1])
    return table_response(
        header, rows, f"phan-bo-{run.id}", query.format, lang=query.lang,
        title=("Cặp đề xuất", "Proposed pairs"),
        summary=[
            ("Đợt phân bổ", "Allocation round", run.id),
            ("Cách phân bổ", "Policy", labels.label("allocation_policy", run.policy, query.lang)),
            ("Số cặp đề xuất", "Pairs proposed", len(rows)),
            ("Đã giới thiệu", "Referred", confirmed),
        ],
    )  # fmt: skip
