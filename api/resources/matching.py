"""Matches for a worker, candidates for a commitment, train-to-hire pathways."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.auth import current_principal, log_personal_access
from api.extensions import db
from api.matching import candidates_for_commitment, matches_for_worker, pathways_for_worker
from api.models import Commitment, Worker
from api.openapi import operation
from api.queries import get_scoped
from api.schemas import (
    CandidateList,
    CandidateQuery,
    MatchList,
    MatchQuery,
    PathwayList,
    PathwayQuery,
)

bp = Blueprint("matching", __name__, url_prefix="/api/v1")

STAFF = ("caseworker", "admin")


@operation(
    bp,
    "/workers/<int:worker_id>/matches",
    summary="Best hiring commitments for a worker",
    roles=STAFF,
    query=MatchQuery,
    response=MatchList,
)
def get_worker_matches(worker_id: int, query: MatchQuery) -> dict[str, Any]:
    """Open commitments with slots left, not expired, within the worker's commute radius (or
    radius_km), in the worker's trades (or `trade`), ranked by the probability that a
    referral ends in a hire. Each item carries 2–4 reasons in Vietnamese and English."""
    worker = get_scoped(Worker, worker_id, current_principal())
    return matches_for_worker(worker, query)


@operation(
    bp,
    "/commitments/<int:commitment_id>/candidates",
    summary="Shortlist of available workers for a commitment",
    roles=("caseworker", "enterprise", "admin"),
    query=CandidateQuery,
    response=CandidateList,
)
def get_commitment_candidates(commitment_id: int, query: CandidateQuery) -> dict[str, Any]:
    """Available workers (not in a job, not already referred here) of the commitment's trade
    who can reach the site, best first. Items are pseudonymous: no name, no external id;
    `worker_ref` names a worker on this shortlist only, and enterprises (who see shortlists
    of their own commitments only) get no `worker_id`."""
    principal = current_principal()
    commitment = get_scoped(Commitment, commitment_id, principal)
    result = candidates_for_commitment(commitment, query, province=principal.province_code)
    log_personal_access([item["worker_id"] for item in result["items"]], "shortlist")
    db.session.commit()
    if principal.role == "enterprise":
        for item in result["items"]:
            item["worker_id"] = None
    return result


@operation(
    bp,
    "/workers/<int:worker_id>/pathways",
    summary="Courses that lead to committed jobs, for a worker not yet trained",
    roles=STAFF,
    query=PathwayQuery,
    response=PathwayList,
)
def get_worker_pathways(worker_id: int, query: PathwayQuery) -> dict[str, Any]:
    """Courses starting in the next 120 days within reach, in trades the worker has not
    trained in, whose graduates nearby enterprises have committed to hire; ranked by the
    hire probability expected after graduating, with the commitments each leads to."""
    worker = get_scoped(Worker, worker_id, current_principal())
    return pathways_for_worker(worker, query)
