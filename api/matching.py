"""Matching as a service: the registry in memory, the current model, and the three questions.

- matches for a worker: open commitments near them, best hire probability first;
- candidates for a commitment: available workers who can reach it;
- pathways for a worker: courses starting soon whose graduates enterprises committed to hire.

State is kept per app (one per gunicorn worker): the indexes are rebuilt when the data
versions of the tables they read change (api.versions); track records at most every
``TRACK_TTL_S`` seconds; the model when the models directory's CURRENT changes, so a
promotion reaches running servers without a restart.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import Flask, current_app

from api.extensions import db
from api.models import Commitment, Course, Enrollment, Enterprise, Referral, Worker
from api.queries import employed_worker_ids, ranked_page
from api.schemas import CandidateQuery, MatchQuery, PathwayQuery
from api.versions import current as data_versions
from matcher import clock, model_store
from matcher.features import (
    EDUCATION_RANK,
    FEATURES,
    TRADE_INDEX,
    CommitmentArrays,
    Context,
    CourseTable,
    Graduations,
    SkillCodec,
    WorkerArrays,
    day_numbers,
    day_of,
    pair_features,
    trade_bits,
)
from matcher.places import haversine_km
from matcher.reasons import outside_trades, reasons
from matcher.retrieval import (
    CommitmentIndex,
    WorkerIndex,
    in_reach,
    match_worker,
    shortlist_workers,
)
from matcher.scoring import RuleScorer, feature_effects, hire_probability_of
from matcher.snapshot import Snapshot
from matcher.taxonomy import taxonomy

TRACK_TTL_S = 60.0
DISTANCE = FEATURES.index("distance_km")
PATHWAY_HORIZON_DAYS = 120


# ---------------------------------------------------------------- reading the registry


def _frame(stmt: sa.Select) -> pd.DataFrame:
    result = db.session.execute(stmt)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def snapshot_from_db() -> Snapshot:
    """Read the registry into typed frames (no personal or protected columns), in id order:
    positions in the arrays then follow ids, so equal scores rank by id on every database
    (PostgreSQL returns rows in heap order otherwise, which moves with each UPDATE)."""
    w, c, e = Worker.__table__.c, Commitment.__table__.c, Enterprise.__table__.c
    workers = _frame(
        sa.select(
            w.id, w.external_id, w.lat, w.lon, w.ward_code, w.trades, w.skills, w.education,
            w.experience_years, w.expected_wage_vnd, w.max_commute_km, w.available_from,
            w.province_code,
        ).where(w.erased_at.is_(None)).order_by(w.id)
    )  # fmt: skip
    commitments = _frame(
        sa.select(
            c.id, c.external_id, c.enterprise_id, c.trade, c.lat, c.lon, c.ward_code, c.wage_vnd,
            c.start_date, c.expires_on, c.min_education, c.required_skills, c.course_id,
            c.slots, c.slots_filled,
        ).order_by(c.id)
    )  # fmt: skip
    courses = _frame(
        sa.select(
            Course.id, Course.external_id, Course.name, Course.provider, Course.trade,
            Course.lat, Course.lon, Course.start_date, Course.end_date, Course.capacity,
        ).order_by(Course.id)
    )  # fmt: skip
    enrollments = _frame(
        sa.select(
            Enrollment.worker_id, Enrollment.course_id, Enrollment.status, Enrollment.completed_on
        ).order_by(Enrollment.id)
    )
    referrals = _frame(
        sa.select(
            Referral.id, Referral.worker_id, Referral.commitment_id, Referral.referred_on,
            Referral.status, Referral.hired_on, Referral.left_on,
        ).order_by(Referral.id)
    )  # fmt: skip
    enterprises = _frame(sa.select(e.id, e.external_id, e.name).order_by(e.id))
    return Snapshot(workers, enterprises, courses, enrollments, commitments, referrals)


# ---------------------------------------------------------------- the current scorer


@dataclass
class ActiveScorer:
    """What scores pairs now: a trained model version, or the rule scorer."""

    name: str  # "model" or "rules"
    version: str
    model: Any
    reference: np.ndarray | None

    def predict(self, X: np.ndarray) -> np.ndarray:
        return hire_probability_of(self.model)(X)


RULES = RuleScorer()


class ModelHolder:
    """Serve the models directory's CURRENT version; notice a promotion by the file's mtime."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._stamp: tuple[int, str | None] | None = None
        self._active = self._rules()
        self.error: str | None = None

    @staticmethod
    def _rules() -> ActiveScorer:
        return ActiveScorer("rules", RULES.version, RULES, None)

    def _stamp_now(self) -> tuple[int, str | None]:
        path = self.root / model_store.CURRENT
        try:
            return path.stat().st_mtime_ns, model_store.current_version(self.root)
        except FileNotFoundError:
            return 0, None

    def get(self) -> ActiveScorer:
        stamp = self._stamp_now()
        if stamp == self._stamp:
            return self._active
        with self._lock:
            if stamp != self._stamp:
                self._active = self._load(stamp[1])
                self._stamp = stamp
        return self._active

    def _load(self, version: str | None) -> ActiveScorer:
        if version is None:
            self.error = None
            return self._rules()
        try:
            stored = model_store.load(self.root, version)
        except model_store.ModelError as error:
            # Never serve a model we cannot vouch for; say why on /models and in the log.
            self.error = str(error)
            current_app.logger.error("model %s refused: %s", version, error)
            return self._rules()
        if stored.metadata.get("features") != list(FEATURES):
            # Same library, other code: the columns would be read as the wrong features.
            self.error = (
                f"model {version} was trained on features {stored.metadata.get('features')}; "
                f"this server computes {list(FEATURES)}. Retrain it with `caunoi train`."
            )
            current_app.logger.error(self.error)
            return self._rules()
        self.error = None
        reference = getattr(stored.model, "reference_", None)
        return ActiveScorer("model", version, stored.model, reference)


def model_holder(app: Flask | None = None) -> ModelHolder:
    app = app or current_app
    holder = app.extensions.get("caunoi_models")
    if holder is None:
        holder = ModelHolder(Path(app.config["MODELS_DIR"]))
        app.extensions["caunoi_models"] = holder
    return holder


# ---------------------------------------------------------------- the in-memory indexes


@dataclass
class ServingState:
    versions: dict[str, int]
    codec: SkillCodec
    commitments: CommitmentIndex
    commitment_info: pd.DataFrame  # by position: external_id, enterprise name, course name...
    commitment_lists: dict[str, list[Any]]  # the same columns as lists, read per item
    workers: WorkerIndex
    trade_bits: np.ndarray  # per worker: trades registered or trained in (bit per trade)
    worker_info: pd.DataFrame
    context: Context
    context_built: float
    snapshot: Snapshot
    courses: CourseTable


class Serving:
    """Build the indexes once, rebuild when the data they read changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: ServingState | None = None

    def get(self) -> ServingState:
        versions = data_versions()
        state = self._state
        if state is not None and state.versions == versions:
            return state
        with self._lock:
            state = self._state
            if state is None or _structure_changed(state.versions, versions):
                self._state = self._build(versions)
            elif time.monotonic() - state.context_built > TRACK_TTL_S:
                # Only outcomes or enrollments moved: refresh track records now and then.
                self._state = self._build(versions)
            return self._state

    def _build(self, versions: dict[str, int]) -> ServingState:
        snapshot = snapshot_from_db()
        codec = SkillCodec([s.code for s in taxonomy().skills()])
        snapshot._codec = codec
        commitments = CommitmentArrays.from_frame(snapshot.commitments, codec)
        workers = WorkerArrays.from_frame(snapshot.workers, codec)
        # The arrays just built serve the merit yardstick too; snapshot.context() would
        # rebuild both from the frames.
        context = Context.build(
            snapshot.enrollments, snapshot.courses, snapshot.referrals, snapshot.commitments,
            workers, commitments,
        )  # fmt: skip
        names = snapshot.enterprises.set_index("id")["name"]
        course_names = snapshot.courses.set_index("id")["name"]
        info = pd.DataFrame(
            {
                "external_id": snapshot.commitments["external_id"].to_numpy(),
                "enterprise_id": snapshot.commitments["enterprise_id"].to_numpy(),
                "enterprise_name": names.reindex(snapshot.commitments["enterprise_id"]).to_numpy(),
                "trade": snapshot.commitments["trade"].to_numpy(),
                "wage_vnd": snapshot.commitments["wage_vnd"].to_numpy(),
                "start_date": snapshot.commitments["start_date"].to_numpy(),
                "expires_on": snapshot.commitments["expires_on"].to_numpy(),
                "course_id": snapshot.commitments["course_id"].to_numpy(),
                "course_name": course_names.reindex(
                    pd.to_numeric(snapshot.commitments["course_id"], errors="coerce")
                ).to_numpy(),
            }
        )
        worker_info = pd.DataFrame(
            {
                "external_id": snapshot.workers["external_id"].to_numpy(),
                "available_from": snapshot.workers["available_from"].to_numpy(),
                "province_code": snapshot.workers["province_code"].to_numpy(),
            }
        )
        # Only commitments open when the index is built are indexed: a full or expired one
        # can only reopen by an edit, which rebuilds the index; one filled since is caught
        # by the live check.
        slots = pd.to_numeric(snapshot.commitments["slots"], errors="coerce").to_numpy(float)
        filled = pd.to_numeric(snapshot.commitments["slots_filled"], errors="coerce")
        expires = commitments.expires_day
        eligible = (filled.fillna(0).to_numpy(float) < slots) & (
            np.isnan(expires) | (expires >= day_of(clock.today()))
        )
        graduated = np.zeros(len(workers), dtype=np.int64)
        grads = context.graduations
        if len(grads.worker):
            position = pd.Index(workers.ids).get_indexer(grads.worker)
            ok = position >= 0
            np.bitwise_or.at(graduated, position[ok], np.left_shift(1, grads.trade[ok]))
        return ServingState(
            versions=versions,
            trade_bits=workers.trade_bits | graduated,
            codec=codec,
            commitments=CommitmentIndex(commitments, eligible),
            commitment_info=info,
            commitment_lists={
                column: info[column].tolist()
                for column in (
                    "external_id",
                    "enterprise_id",
                    "enterprise_name",
                    "trade",
                    "wage_vnd",
                    "start_date",
                    "expires_on",
                    "course_name",
                )
            },  # fmt: skip
            workers=WorkerIndex(workers),
            worker_info=worker_info,
            context=context,
            context_built=time.monotonic(),
            snapshot=snapshot,
            courses=CourseTable.from_frame(snapshot.courses),
        )


def _structure_changed(old: dict[str, int], new: dict[str, int]) -> bool:
    return any(old[k] != new[k] for k in ("workers", "enterprises", "courses", "commitments"))


def serving(app: Flask | None = None) -> Serving:
    app = app or current_app
    found = app.extensions.get("caunoi_serving")
    if found is None:
        found = Serving()
        app.extensions["caunoi_serving"] = found
    return found


# ---------------------------------------------------------------- answering


def _nan(value: Any) -> float:
    return np.nan if value is None else float(value)


def _worker_arrays(worker: Worker, codec: SkillCodec) -> WorkerArrays:
    """One worker as arrays, built directly: a DataFrame per request costs more than scoring."""
    return WorkerArrays(
        ids=np.array([worker.id], dtype=np.int64),
        lat=np.array([worker.lat]),
        lon=np.array([worker.lon]),
        trade_bits=trade_bits([worker.trades or []]),
        skill_bits=codec.encode([worker.skills or []]),
        education_rank=np.array([EDUCATION_RANK.get(worker.education, np.nan)]),
        experience_years=np.array([_nan(worker.experience_years)]),
        expected_wage_vnd=np.array([_nan(worker.expected_wage_vnd)]),
        max_commute_km=np.array([_nan(worker.max_commute_km)]),
        available_day=day_numbers([worker.available_from]),
    )


def _worker_context(worker_id: int, state: ServingState) -> Context:
    """Shared track records, with this worker's graduations read fresh from the database."""
    rows = db.session.execute(
        sa.select(Enrollment.course_id, Enrollment.completed_on).where(
            Enrollment.worker_id == worker_id, Enrollment.status == "graduated"
        )
    ).all()
    graduations = Graduations.from_arrays(
        np.full(len(rows), worker_id),
        np.array([r[0] for r in rows], dtype=np.int64),
        day_numbers([r[1] for r in rows]),
        state.courses,
    )
    return Context(graduations, state.context.enterprise_track, state.context.course_track)


def _live_open(commitment_ids: list[int], today: dt.date) -> dict[int, int]:
    """Open slots now, read from the database, for the few commitments about to be shown."""
    if not commitment_ids:
        return {}
    rows = db.session.execute(
        sa.select(Commitment.id, Commitment.slots - Commitment.slots_filled).where(
            Commitment.id.in_(commitment_ids),
            Commitment.slots_filled < Commitment.slots,
            sa.or_(Commitment.expires_on.is_(None), Commitment.expires_on >= today),
        )
    )
    return dict(rows.all())


def _explain(active: ActiveScorer, features: np.ndarray) -> np.ndarray:
    if not len(features):
        return np.zeros_like(features)
    return feature_effects(active.model, features, active.reference)


def _envelope(active: ActiveScorer, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"scorer": active.name, "model_version": active.version, "items": items, **extra}


def matches_for_worker(worker: Worker, query: MatchQuery) -> dict[str, Any]:
    """Open commitments with slots left, not expired, within reach, best first
    (:func:`matcher.retrieval.match_worker`, the served ranking), one page of it."""
    radius_km, trade = query.radius_km, query.trade
    state = serving().get()
    active = model_holder().get()
    today = clock.today()
    day = day_of(today)
    arrays = _worker_arrays(worker, state.codec)
    context = _worker_context(worker.id, state)
    index = state.commitments
    open_now: dict[int, int] = {}

    def confirm(positions: np.ndarray) -> np.ndarray:
        ids = index.commitments.ids[positions]
        open_now.update(_live_open([int(i) for i in ids], today))
        return np.fromiter((int(i) in open_now for i in ids), dtype=bool, count=len(ids))

    ranked = match_worker(
        index, arrays, day, context, active.predict, limit=query.depth, radius_km=radius_km,
        trades=[TRADE_INDEX[trade]] if trade else None, confirm=confirm,
    )  # fmt: skip
    chosen, cursor = ranked_page(
        ranked.scores, index.commitments.ids[ranked.positions], query, complete=False
    )
    positions, scores = ranked.positions[chosen], ranked.scores[chosen]
    features = ranked.features[chosen]
    effects = _explain(active, features)
    stated = float(worker.max_commute_km)
    # Registered or trained trades, with this worker's graduations read fresh.
    trained = np.left_shift(1, context.graduations.trade)
    mine = int(arrays.trade_bits[0]) | int(np.bitwise_or.reduce(trained, initial=0))
    info = state.commitment_lists
    items = []
    for k, position in enumerate(positions.tolist()):
        commitment_id = int(index.commitments.ids[position])
        course_name = info["course_name"][position]
        trade_code = info["trade"][position]
        details = {
            "trade": trade_code,
            "course_name": course_name if isinstance(course_name, str) else None,
            "required_count": int(index.commitments.required_count[position]),
            "outside_trades": outside_trades(mine, TRADE_INDEX.get(trade_code, -1)),
        }
        items.append(
            {
                "commitment_id": commitment_id,
                "commitment_external_id": info["external_id"][position],
                "enterprise_id": int(info["enterprise_id"][position]),
                "enterprise_name": info["enterprise_name"][position],
                "trade": trade_code,
                "score": round(float(scores[k]), 4),
                "distance_km": round(float(features[k, DISTANCE]), 2),
                "wage_vnd": int(info["wage_vnd"][position]),
                "start_date": info["start_date"][position],
                "expires_on": _date_or_none(info["expires_on"][position]),
                "slots_open": open_now[commitment_id],
                "reasons": reasons(features[k], effects[k], details),
            }
        )
    return _envelope(
        active, items, radius_km=stated if radius_km is None else radius_km,
        reach_km=round(ranked.reach_km, 2), candidates_considered=ranked.considered,
        next_cursor=cursor,
    )  # fmt: skip


def _date_or_none(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return None
    return value


def shortlist_pseudonym(commitment_id: int, worker_id: int) -> str:
    """An opaque name for a worker on one commitment's shortlist.

    The enterprise needs to say "candidate UV-… please" without learning who it is or
    recognising the same person on another shortlist: a keyed hash of the pair, stable across
    processes (the install's SECRET_KEY), different per commitment.
    """
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{commitment_id}:{worker_id}".encode(), hashlib.sha256).digest()
    return "UV-" + base64.b32encode(digest[:10]).decode()[:12]


def candidates_for_commitment(
    commitment: Commitment, query: CandidateQuery, province: str | None = None
) -> dict[str, Any]:
    """Available workers (not erased, not in a job) who can reach the site, best first; one
    page of them."""
    state = serving().get()
    active = model_holder().get()
    today = clock.today()
    day = day_of(today)
    position = pd.Index(state.commitments.commitments.ids).get_indexer([commitment.id])
    commitment_arrays = state.commitments.commitments.take(position)
    index = state.workers
    eligible = None
    if province is not None:  # a province-scoped caller sees its province's workers only
        eligible = state.worker_info["province_code"].to_numpy() == province

    def confirm(positions: np.ndarray) -> np.ndarray:
        """Not in a job, not already referred here (read now, for the few to be shown)."""
        worker_ids = [int(i) for i in index.workers.ids[positions]]
        referred = {
            r[0]
            for r in db.session.execute(
                sa.select(Referral.worker_id).where(
                    Referral.commitment_id == commitment.id, Referral.worker_id.in_(worker_ids)
                )
            )
        }
        busy = employed_worker_ids(worker_ids, today) | referred
        return np.array([w not in busy for w in worker_ids], dtype=bool)

    ranked = shortlist_workers(
        index, commitment_arrays, day, state.context, active.predict, limit=query.depth,
        radius_km=query.radius_km, eligible=eligible, confirm=confirm,
    )  # fmt: skip
    chosen, cursor = ranked_page(
        ranked.scores, index.workers.ids[ranked.positions], query, complete=False
    )
    positions, scores = ranked.positions[chosen], ranked.scores[chosen]
    features = ranked.features[chosen]
    effects = _explain(active, features)
    details = {
        "trade": commitment.trade,
        "course_name": commitment.course.name if commitment.course else None,
        "required_count": int(commitment_arrays.required_count[0]),
    }
    trade = TRADE_INDEX.get(commitment.trade, -1)
    items = []
    for k, p in enumerate(positions):
        worker_id = int(index.workers.ids[p])
        details["outside_trades"] = outside_trades(int(state.trade_bits[p]), trade)
        items.append(
            {
                "worker_id": worker_id,
                "worker_ref": shortlist_pseudonym(commitment.id, worker_id),
                "score": round(float(scores[k]), 4),
                "distance_km": round(float(features[k, DISTANCE]), 2),
                "expected_wage_vnd": _int_or_none(index.workers.expected_wage_vnd[p]),
                "available_from": _date_or_none(state.worker_info["available_from"].iloc[p]),
                "reasons": reasons(features[k], effects[k], details),
            }
        )
    return _envelope(active, items, commitment_id=commitment.id, next_cursor=cursor)


def _int_or_none(value: float) -> int | None:
    return None if value is None or np.isnan(value) else int(value)


def pathways_for_worker(worker: Worker, query: PathwayQuery) -> dict[str, Any]:
    """Courses starting soon near the worker, linked to commitments nearby, for trades the
    worker has not trained in; ranked by the hire probability expected after graduating;
    one page of them."""
    radius_km = query.radius_km
    state = serving().get()
    active = model_holder().get()
    today = clock.today()
    arrays = _worker_arrays(worker, state.codec)
    stated = float(worker.max_commute_km)
    radius = radius_km if radius_km is not None else stated
    context = _worker_context(worker.id, state)
    trained = {int(t) for t in context.graduations.trade}
    courses = state.snapshot.courses
    start = pd.to_datetime(courses["start_date"]).dt.date
    soon = (start >= today) & (start <= today + dt.timedelta(days=PATHWAY_HORIZON_DAYS))
    untrained = ~courses["trade"].map(TRADE_INDEX).isin(trained)
    distance = np.asarray(
        haversine_km(worker.lat, worker.lon, courses["lat"], courses["lon"]), dtype=float
    )
    candidate = soon.to_numpy() & untrained.to_numpy()
    chosen = courses[in_reach(distance, stated, radius_km, candidate=candidate)]
    if chosen.empty:
        return _envelope(active, [], radius_km=radius, next_cursor=None)
    commitments = state.snapshot.commitments
    linked = commitments[
        commitments["course_id"].isin(chosen["id"])
        & ((commitments["slots"] - commitments["slots_filled"]) > 0)
    ]
    if linked.empty:
        return _envelope(active, [], radius_km=radius, next_cursor=None)
    index = state.commitments.commitments
    positions = pd.Index(index.ids).get_indexer(linked["id"].to_numpy())
    course_of = linked["course_id"].to_numpy(dtype=np.int64)
    end_day = (
        pd.to_datetime(chosen.set_index("id")["end_date"].reindex(course_of)) - pd.Timestamp(0)
    ).dt.days.to_numpy(dtype=float)
    expires = index.expires_day[positions]
    usable = np.isnan(expires) | (expires >= end_day)
    positions, course_of, end_day = positions[usable], course_of[usable], end_day[usable]
    if not len(positions):
        return _envelope(active, [], radius_km=radius, next_cursor=None)
    features = pair_features(
        arrays, np.zeros(len(positions), dtype=np.intp), index, positions, end_day, context
    )
    # As if graduated: the linked course and its trade count as done.
    features[:, FEATURES.index("graduated_linked_course")] = 1.0
    features[:, FEATURES.index("graduated_trade_course")] = 1.0
    features[:, FEATURES.index("trade_match")] = 1.0
    scores = active.predict(features)
    effects = _explain(active, features)
    info = state.commitment_info
    by_course: dict[int, list[int]] = {}
    for k, course_id in enumerate(course_of):
        by_course.setdefault(int(course_id), []).append(k)
    items, best_scores = [], []
    course_rows = chosen.set_index("id")
    for course_id, ks in by_course.items():
        ks = sorted(ks, key=lambda k: (-scores[k], int(index.ids[positions[k]])))
        row = course_rows.loc[course_id]
        best = ks[0]
        best_scores.append(scores[best])
        items.append(
            {
                "course_id": course_id,
                "course_external_id": row["external_id"],
                "course_name": row["name"],
                "provider": row["provider"],
                "trade": row["trade"],
                "start_date": row["start_date"],
                "end_date": row["end_date"],
                "distance_km": round(
                    float(haversine_km(worker.lat, worker.lon, row["lat"], row["lon"])), 2
                ),
                "expected_hire_probability": round(float(scores[best]), 4),
                "commitments": [
                    {
                        "commitment_id": int(index.ids[positions[k]]),
                        "commitment_external_id": info["external_id"].iloc[positions[k]],
                        "enterprise_name": info["enterprise_name"].iloc[positions[k]],
                        "score": round(float(scores[k]), 4),
                        "distance_km": round(float(features[k, DISTANCE]), 2),
                        "wage_vnd": int(info["wage_vnd"].iloc[positions[k]]),
                        "start_date": info["start_date"].iloc[positions[k]],
                    }
                    for k in ks[:5]
                ],
                "reasons": reasons(
                    features[best],
                    effects[best],
                    {
                        "trade": row["trade"],
                        "course_name": row["name"],
                        "required_count": int(index.required_count[positions[best]]),
                        "pathway": True,
                    },
                ),
            }
        )
    page, cursor = ranked_page(
        np.asarray(best_scores, dtype=float), np.fromiter(by_course, dtype=np.int64), query,
        complete=True,
    )  # fmt: skip
    return _envelope(active, [items[k] for k in page], radius_km=radius, next_cursor=cursor)
