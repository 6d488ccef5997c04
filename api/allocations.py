"""Allocation rounds: one proposal for a whole population of workers at once.

The population (filters in the run's parameters) is matched against open commitments through
the same indexes and model as single matches (a batch candidate graph: each worker's best
candidates), then one policy assigns at most one commitment per worker and at most
``floor(open slots × over-referral factor)`` workers per commitment: the exact maximum of
expected hires (min-cost flow) or a worker-optimal stable matching. The greedy per-worker
ranking with the same capacities is computed on the same graph, so the summary shows the
gain. Nothing is referred until a caseworker confirms pairs.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from api import jobs
from api.auth import Principal
from api.extensions import db
from api.matching import model_holder, serving
from api.models import (
    AllocationPair,
    AllocationRun,
    Commitment,
    Enrollment,
    Job,
    Referral,
    ReferralEvent,
    Worker,
    utcnow,
)
from api.queries import referral_refusal
from api.versions import current as data_versions
from api.versions import touch
from matcher import allocation, clock
from matcher.features import FEATURE_INDEX, TRADE_INDEX, day_of
from matcher.reasons import outside_trades, reasons
from matcher.retrieval import candidate_graph
from matcher.scoring import feature_effects

# Worker-side preference for the stable policy: what workers say they value.
PREFERENCE = {"log_wage_ratio": 1.0, "distance_km": -0.03, "trade_match": 0.5}
REASONS_UP_TO = 50_000


def _population(params: dict[str, Any], today: dt.date) -> np.ndarray:
    """Ids of the workers the round is for: not erased, not in a job, matching the filters."""
    stmt = sa.select(Worker.id).where(Worker.erased_at.is_(None))
    if params.get("province_code"):
        stmt = stmt.where(Worker.province_code == params["province_code"])
    if params.get("ward_codes"):
        stmt = stmt.where(Worker.ward_code.in_(params["ward_codes"]))
    # Parameters are stored as JSON (dates as ISO text); PostgreSQL will not compare a date
    # column with text, so they become dates again here.
    if params.get("available_by"):
        available_by = dt.date.fromisoformat(params["available_by"])
        stmt = stmt.where(
            sa.or_(Worker.available_from.is_(None), Worker.available_from <= available_by)
        )
    if params.get("graduated_since"):
        graduated_since = dt.date.fromisoformat(params["graduated_since"])
        stmt = stmt.where(
            Worker.id.in_(
                sa.select(Enrollment.worker_id).where(
                    Enrollment.status == "graduated",
                    Enrollment.completed_on >= graduated_since,
                )
            )
        )
    employed = sa.select(Referral.worker_id).where(
        Referral.status == "hired", sa.or_(Referral.left_on.is_(None), Referral.left_on > today)
    )
    stmt = stmt.where(Worker.id.not_in(employed))
    return np.array(db.session.scalars(stmt).all(), dtype=np.int64)


def _summary(result: allocation.Allocation, p: np.ndarray, distance: np.ndarray) -> dict:
    chosen = result.edge
    return {
        "expected_hires": round(float(p[chosen].sum()), 3),
        "workers_placed": int(len(chosen)),
        "slots_used": int(len(chosen)),
        "commitments_used": int(len(np.unique(result.commitment))),
        "median_distance_km": round(float(np.median(distance[chosen])), 2) if len(chosen) else None,
        "seconds": round(result.seconds, 3),
    }


def execute(run: AllocationRun, progress=None) -> None:
    """Build the graph, solve, store the pairs and the summary (the caller commits)."""
    params = run.params
    today = clock.today()
    day = day_of(today)
    state = serving().get()
    active = model_holder().get()
    run.scorer, run.model_version = active.name, active.version
    run.data_versions = data_versions()

    def report(fraction: float, message: str) -> None:
        run.progress = round(min(max(fraction, 0.0), 1.0), 3)
        run.message = message[:500]
        if progress is not None:
            progress(run.progress, message)

    population = _population(params, today)
    all_workers = state.workers.workers
    positions = pd.Index(all_workers.ids).get_indexer(population)
    positions = positions[positions >= 0]
    workers = all_workers.take(positions)
    worker_trade_bits = state.trade_bits[positions]
    report(0.1, f"{len(workers)} người lao động / workers")
    trades = [TRADE_INDEX[params["trade"]]] if params.get("trade") else None
    graph = candidate_graph(
        workers, state.commitments, day, state.context, active.predict,
        per_worker=params["candidates_per_worker"], radius_km=params.get("max_distance_km"),
        trades=trades,
    )  # fmt: skip
    report(0.5, f"{len(graph.worker)} cặp ứng viên / candidate pairs")
    commitment_ids = state.commitments.commitments.ids
    used, local = np.unique(graph.commitment, return_inverse=True)
    open_slots = dict(
        db.session.execute(
            sa.select(Commitment.id, Commitment.slots - Commitment.slots_filled).where(
                Commitment.id.in_([int(i) for i in commitment_ids[used]])
            )
        ).all()
    )
    factor = float(params["over_referral_factor"])
    capacity = np.array(
        [int(np.floor(max(open_slots.get(int(i), 0), 0) * factor)) for i in commitment_ids[used]],
        dtype=np.int64,
    )
    p = graph.probability
    column = FEATURE_INDEX
    if run.policy == "stable":
        value = sum(
            weight * np.nan_to_num(graph.features[:, column[name]])
            for name, weight in PREFERENCE.items()
        )
        result = allocation.stable(graph.worker, local, p, capacity, value)
    else:
        result = allocation.max_hires(graph.worker, local, p, capacity)
    # The baseline the round must beat: each worker matched alone (top-1), same capacities.
    greedy = allocation.greedy_top1(graph.worker, local, p, capacity)
    sequential = allocation.greedy_sequential(graph.worker, local, p, capacity)
    report(0.8, "đã giải / solved")
    mine, baseline = _summary(result, p, graph.distance_km), _summary(greedy, p, graph.distance_km)
    gain = (
        (mine["expected_hires"] / baseline["expected_hires"] - 1.0) * 100
        if baseline["expected_hires"]
        else None
    )
    run.summary = {
        "population": int(len(workers)),
        "candidate_pairs": int(len(graph.worker)),
        "commitments": int(len(used)),
        "capacity": int(capacity.sum()),
        "policy": mine,
        "greedy_top1": baseline,
        "gain_percent": round(gain, 2) if gain is not None else None,
        "greedy_sequential": _summary(sequential, p, graph.distance_km),
    }
    chosen = result.edge
    effects = (
        feature_effects(active.model, graph.features[chosen], active.reference)
        if 0 < len(chosen) <= REASONS_UP_TO
        else None
    )
    info = state.commitment_info
    rows = []
    for k, edge in enumerate(chosen):
        c_position = graph.commitment[edge]
        trade = info["trade"].iloc[c_position]
        details = {
            "trade": trade,
            "course_name": None,
            "required_count": int(state.commitments.commitments.required_count[c_position]),
            "outside_trades": outside_trades(
                int(worker_trade_bits[graph.worker[edge]]), TRADE_INDEX.get(trade, -1)
            ),
        }
        rows.append(
            {
                "run_id": run.id,
                "worker_id": int(workers.ids[graph.worker[edge]]),
                "commitment_id": int(commitment_ids[c_position]),
                "probability": float(p[edge]),
                "distance_km": float(graph.distance_km[edge]),
                "reasons": reasons(graph.features[edge], effects[k], details)
                if effects is not None
                else None,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(AllocationPair), rows[start : start + 5000])
    run.status, run.finished_at = "done", utcnow()
    report(1.0, "xong / done")


def submit(run: AllocationRun, principal: Principal | None) -> Job:
    """Queue the round for a consumer (every size: a round can take minutes on a province,
    and a web process that restarts must not take it down)."""
    job = jobs.submit("allocation", {"run_id": run.id}, principal)
    run.job_id = job.id
    db.session.commit()
    return job


def wait(run: AllocationRun, seconds: float) -> bool:
    """Wait up to ``seconds`` for a consumer to finish the round; whether it has.

    A small round takes well under a second, so the caller can answer it directly (201)
    instead of sending the user to poll (202)."""
    deadline = time.monotonic() + seconds
    while True:
        db.session.refresh(run)
        if run.status != "running" or time.monotonic() >= deadline:
            return run.status != "running"
        db.session.rollback()  # end the read snapshot, so the next look sees the consumer's
        time.sleep(0.1)


@jobs.handler("allocation")
def allocation_job(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """A round as a background job; idempotent: a retry after a consumer died starts again
    from no pairs (a finished round is left as it is)."""
    run = db.session.get(AllocationRun, int(job.params["run_id"]))
    if run is None:
        raise LookupError(f"no allocation #{job.params['run_id']}")
    if run.status == "done":
        return {"run_id": run.id, "summary": run.summary}
    _drop_pairs(run)
    run.status, run.finished_at = "running", None

    def report(fraction: float, message: str) -> None:
        db.session.commit()  # the round's own progress, for GET /allocations/{id}
        progress(fraction, message)

    execute(run, report)
    db.session.commit()
    return {"run_id": run.id, "summary": run.summary}


@jobs.on_failure("allocation")
def allocation_failed(params: dict[str, Any], reason: str) -> None:
    """The job failed, was cancelled or was given up by the reaper: so is the round, with
    the reason (never ``running`` for ever)."""
    run = db.session.get(AllocationRun, int(params["run_id"]))
    if run is not None and run.status == "running":
        _drop_pairs(run)  # nothing half-written stays
        run.status, run.finished_at, run.message = "failed", utcnow(), reason[:500]
        db.session.commit()


def _drop_pairs(run: AllocationRun) -> None:
    db.session.execute(sa.delete(AllocationPair).where(AllocationPair.run_id == run.id))


def run_here(run: AllocationRun, progress: jobs.Progress | None = None) -> None:
    """Run a round in this process (``caunoi allocate``): the same work, no queue."""
    try:
        execute(run, progress)
    except Exception as error:
        db.session.rollback()
        allocation_failed({"run_id": run.id}, f"{type(error).__name__}: {error}")
        raise
    db.session.commit()


def confirm(run: AllocationRun, pair_ids: list[int] | None, principal: Principal) -> dict:
    """Create pending referrals for the chosen pairs (all when none are named).

    Each pair is checked again now by the rule of POST /referrals (scope, erasure, a job,
    a full or expired commitment, a pending referral): a round can be hours old.
    """
    today = clock.today()
    stmt = sa.select(AllocationPair).where(
        AllocationPair.run_id == run.id, AllocationPair.referral_id.is_(None)
    )
    if pair_ids is not None:
        stmt = stmt.where(AllocationPair.id.in_(pair_ids))
    pairs = db.session.scalars(stmt).all()
    created, skipped = 0, []
    for pair in pairs:  # confirmed pairs are few hundred at a time, each its own referral
        worker = db.session.get(Worker, pair.worker_id)
        commitment = db.session.get(Commitment, pair.commitment_id)
        refusal = referral_refusal(worker, commitment, principal, today)
        if refusal is not None:
            skipped.append({"pair_id": pair.id, "reason": refusal.detail})
            continue
        referral = Referral(
            worker_id=pair.worker_id,
            commitment_id=pair.commitment_id,
            referred_on=today,
            status="pending",
            score=pair.probability,
            scorer=run.scorer,
            model_version=run.model_version,
            reasons=pair.reasons,
        )
        try:
            with db.session.begin_nested():  # a clash undoes this pair only
                db.session.add(referral)
        except sa.exc.IntegrityError:
            skipped.append({"pair_id": pair.id, "reason": "đã giới thiệu hôm nay / already today"})
            continue
        db.session.add(
            ReferralEvent(
                referral_id=referral.id, to_status="pending", actor_token_id=principal.token_id,
                actor_role=principal.role, source="allocation", note=f"allocation #{run.id}",
            )
        )  # fmt: skip
        pair.referral_id = referral.id
        created += 1
    if created:
        touch("referrals")
    db.session.commit()
    return {"run_id": run.id, "created": created, "skipped": skipped}
