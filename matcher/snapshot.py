"""The registry as the engine sees it: typed frames keyed by database-style integer ids.

The api builds a :class:`Snapshot` from the database; tests and notebooks build one from the
demo's contract files with :func:`from_contract_frames`, which reads them with the importer's
own rules (matcher.ingest), so both paths see the same typed values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matcher import ingest
from matcher.features import (
    FEATURES,
    CommitmentArrays,
    Context,
    SkillCodec,
    WorkerArrays,
    day_numbers,
    pair_features,
)
from matcher.places import gazetteer as load_gazetteer
from matcher.taxonomy import taxonomy as load_taxonomy

WORKER_COLUMNS = (
    "id", "external_id", "lat", "lon", "ward_code", "trades", "skills", "education",
    "experience_years", "expected_wage_vnd", "max_commute_km", "available_from",
)  # fmt: skip
COMMITMENT_COLUMNS = (
    "id", "external_id", "enterprise_id", "trade", "lat", "lon", "ward_code", "wage_vnd",
    "start_date", "expires_on", "min_education", "required_skills", "course_id", "slots",
    "slots_filled",
)  # fmt: skip


@dataclass
class Snapshot:
    """Typed frames: workers, enterprises, courses, enrollments, commitments, referrals."""

    workers: pd.DataFrame
    enterprises: pd.DataFrame
    courses: pd.DataFrame
    enrollments: pd.DataFrame
    commitments: pd.DataFrame
    referrals: pd.DataFrame
    _codec: SkillCodec | None = field(default=None, repr=False)

    @property
    def codec(self) -> SkillCodec:
        if self._codec is None:
            self._codec = SkillCodec([s.code for s in load_taxonomy().skills()])
        return self._codec

    def worker_arrays(self) -> WorkerArrays:
        return WorkerArrays.from_frame(self.workers, self.codec)

    def commitment_arrays(self) -> CommitmentArrays:
        return CommitmentArrays.from_frame(self.commitments, self.codec)

    def context(
        self,
        referrals: pd.DataFrame | None = None,
        *,
        workers: WorkerArrays | None = None,
        commitments: CommitmentArrays | None = None,
    ) -> Context:
        """Graduations and track records from these referrals (default: all of them).

        ``workers`` and ``commitments``: this snapshot's arrays when the caller has built
        them already (they are rebuilt otherwise).
        """
        return Context.build(
            self.enrollments,
            self.courses,
            self.referrals if referrals is None else referrals,
            self.commitments,
            self.worker_arrays() if workers is None else workers,
            self.commitment_arrays() if commitments is None else commitments,
        )


@dataclass
class TrainingSet:
    """Decided referrals as model rows, oldest first."""

    X: np.ndarray
    y: np.ndarray
    days: np.ndarray
    referral_ids: np.ndarray
    worker_ids: np.ndarray
    commitment_ids: np.ndarray
    feature_names: tuple[str, ...] = FEATURES

    def __len__(self) -> int:
        return len(self.y)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.X, columns=list(self.feature_names))


def training_set(snapshot: Snapshot) -> TrainingSet:
    """Build one row per decided referral, with features as known on its referral day."""
    referrals = snapshot.referrals
    decided = referrals[referrals["status"] != "pending"]
    days = day_numbers(decided["referred_on"])
    order = np.argsort(days, kind="stable")
    decided = decided.iloc[order]
    days = days[order]
    workers = snapshot.worker_arrays()
    commitments = snapshot.commitment_arrays()
    w = pd.Index(workers.ids).get_indexer(decided["worker_id"].to_numpy(dtype=np.int64))
    c = pd.Index(commitments.ids).get_indexer(decided["commitment_id"].to_numpy(dtype=np.int64))
    keep = (w >= 0) & (c >= 0)
    X = pair_features(workers, w[keep], commitments, c[keep], days[keep], snapshot.context())
    return TrainingSet(
        X=X,
        y=(decided["status"].to_numpy()[keep] == "hired").astype(np.int64),
        days=days[keep],
        referral_ids=decided["id"].to_numpy(dtype=np.int64)[keep],
        worker_ids=decided["worker_id"].to_numpy(dtype=np.int64)[keep],
        commitment_ids=decided["commitment_id"].to_numpy(dtype=np.int64)[keep],
    )


def from_contract_frames(
    frames: dict[str, pd.DataFrame], *, today: dt.date, gazetteer: Any = None, taxonomy: Any = None
) -> Snapshot:
    """Read contract-format frames (as the demo writes them) into a typed snapshot.

    Ids are assigned 1..n per kind in file order; each frame keeps its external_id so
    results can be joined back. Rows the importer would reject raise ValueError.
    """
    gazetteer = gazetteer or load_gazetteer()
    taxonomy = taxonomy or load_taxonomy()
    typed: dict[str, pd.DataFrame] = {}
    for kind in ingest.KINDS:
        frame = frames[kind]
        table = ingest.Table(
            header=list(frame.columns),
            rows=frame.astype(str).to_numpy().tolist(),
            row_numbers=list(range(2, len(frame) + 2)),
        )
        batch = ingest.validate(kind, table, today=today, gazetteer=gazetteer, taxonomy=taxonomy)
        if batch.errors:
            first = batch.errors[0]
            raise ValueError(f"{kind} row {first.row} {first.column}: {first.reason}")
        typed[kind] = pd.DataFrame([r.values for r in batch.records])
    ids = {k: _ids(typed[k]) for k in ("workers", "enterprises", "courses", "commitments")}

    enterprises = typed["enterprises"].assign(id=ids["enterprises"].to_numpy())
    courses = typed["courses"].assign(id=ids["courses"].to_numpy())
    workers = typed["workers"].assign(id=ids["workers"].to_numpy())
    commitments = typed["commitments"].assign(id=ids["commitments"].to_numpy())
    commitments["enterprise_id"] = (
        ids["enterprises"].reindex(commitments["enterprise_external_id"]).to_numpy()
    )
    commitments["course_id"] = (
        ids["courses"].reindex(commitments["course_external_id"]).astype("Int64").to_numpy()
    )
    site = enterprises.set_index("id")
    no_site = commitments["ward_code"].isna()
    for column in ("ward_code", "lat", "lon"):
        fallback = site[column].reindex(commitments.loc[no_site, "enterprise_id"]).to_numpy()
        commitments.loc[no_site, column] = fallback
    commitments["slots_filled"] = 0
    enrollments = typed["enrollments"].assign(
        worker_id=ids["workers"].reindex(typed["enrollments"]["worker_external_id"]).to_numpy(),
        course_id=ids["courses"].reindex(typed["enrollments"]["course_external_id"]).to_numpy(),
    )
    referrals = typed["referrals"].rename(columns={"outcome": "status"})
    referrals = referrals.assign(
        id=np.arange(1, len(referrals) + 1),
        worker_id=ids["workers"].reindex(referrals["worker_external_id"]).to_numpy(),
        commitment_id=ids["commitments"].reindex(referrals["commitment_external_id"]).to_numpy(),
    )
    hires = referrals[referrals["status"] == "hired"].groupby("commitment_id").size()
    commitments["slots_filled"] = hires.reindex(commitments["id"]).fillna(0).astype(int).to_numpy()
    return Snapshot(
        workers=workers,
        enterprises=enterprises,
        courses=courses,
        enrollments=enrollments,
        commitments=commitments,
        referrals=referrals,
    )


def _ids(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(np.arange(1, len(frame) + 1), index=frame["external_id"].to_numpy())
