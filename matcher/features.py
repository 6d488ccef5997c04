"""Pair features of (worker, commitment), vectorised over many pairs at once.

Everything here works on arrays: a worker and a commitment are positions in
:class:`WorkerArrays` and :class:`CommitmentArrays`, a pair is two position arrays plus the day
the decision is made. No Python loop runs over pairs.

Time matters. A feature of a referral made on day ``t`` may use only what was known before
``t``: graduations completed by ``t``, and outcomes of earlier referrals recorded before
``t`` (a hire is known on its ``hired_on``; any other outcome ``OUTCOME_LAG_DAYS`` after the
referral). :class:`TrackRecord` answers "hire rate as known before day t" for many keys and
days with two binary searches, so training rows never see their own future.

Protected attributes (gender, ethnicity, disability, age) are not read by anything in this
module: :class:`WorkerArrays` does not even hold them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matcher.places import haversine_km
from matcher.taxonomy import EDUCATION_CODES, TRADE_CODES
from matcher.wages import MINIMUM_WAGE_SCHEDULES, minimum_wage_for, regions_of_wards

#: The model's inputs, in column order.
FEATURES: tuple[str, ...] = (
    "trade_match",
    "graduated_trade_course",
    "graduated_linked_course",
    "skill_coverage",
    "distance_km",
    "commute_excess_km",
    "log_wage_ratio",
    "wage_over_minimum",
    "education_gap",
    "experience_years",
    "availability_gap_days",
    "enterprise_hire_rate",
    "enterprise_hire_lift",
    "enterprise_referrals_log",
    "course_hire_rate",
)
#: Column of each feature in a feature matrix.
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURES)}

#: Direction common sense demands (+1 never hurts, -1 never helps, 0 free).
MONOTONIC: dict[str, int] = {
    "trade_match": 1,
    "graduated_trade_course": 1,
    "graduated_linked_course": 1,
    "skill_coverage": 1,
    "distance_km": -1,
    "commute_excess_km": -1,
    "log_wage_ratio": 1,
    "wage_over_minimum": 1,
    "education_gap": 1,
    "experience_years": 0,
    "availability_gap_days": -1,
    "enterprise_hire_rate": 1,
    "enterprise_hire_lift": 1,
    "enterprise_referrals_log": 0,
    "course_hire_rate": 1,
}

#: Days after a referral by which a non-hire outcome is taken to be on record.
OUTCOME_LAG_DAYS = 14
#: Weight (in referrals) of the overall hire rate when smoothing a track record.
PRIOR_REFERRALS = 20.0
#: Pseudo-count that keeps a hire lift near 0 until an enterprise has some history.
LIFT_PRIOR = 5.0
#: A fixed, hand-set log-odds of a referral's hire from its own merits (trade, training,
#: skills, distance, wage). An enterprise's "hire lift" compares its hires with what these
#: merits expected, so an enterprise is not credited for being sent strong candidates.
MERIT_INTERCEPT = -1.5
MERIT_WEIGHTS = {
    "trade_match": 1.0,
    "graduated_trade_course": 0.5,
    "graduated_linked_course": 0.8,
    "skill_coverage": 0.8,
    "distance_km": -0.04,
    "commute_excess_km": -0.08,
    "log_wage_ratio": 1.2,
}
NEUTRAL_RATE, NEUTRAL_WEIGHT = 0.3, 200.0
EDUCATION_RANK = {code: rank for rank, code in enumerate(EDUCATION_CODES) if code != "unspecified"}
TRADE_INDEX = {code: i for i, code in enumerate(TRADE_CODES)}
_EPOCH = dt.date(1970, 1, 1)
_KEY_SCALE = 1_000_000  # day numbers stay below this for millennia


def day_numbers(values: Any) -> np.ndarray:
    """Convert dates (date objects, datetime64, strings, None/NaT) to float days since 1970."""
    # A handful of dates (one worker's, per request): plain Python beats pandas here.
    small = isinstance(values, list | tuple) and len(values) <= 64
    if small and all(v is None or type(v) is dt.date for v in values):
        return np.array(
            [np.nan if v is None else float((v - _EPOCH).days) for v in values], dtype=float
        )
    series = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
    days = (series - pd.Timestamp(_EPOCH)).dt.days.to_numpy(dtype=float, na_value=np.nan)
    return days


def day_of(date: dt.date) -> float:
    return float((date - _EPOCH).days)


def trade_bits(trade_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """Encode each worker's trades of interest as a 6-bit mask."""
    out = np.zeros(len(trade_lists), dtype=np.int64)
    for code, index in TRADE_INDEX.items():
        has = np.fromiter((code in (t or ()) for t in trade_lists), dtype=bool, count=len(out))
        out[has] |= 1 << index
    return out


class SkillCodec:
    """Skill codes as bits in uint64 words, so coverage is a popcount of an AND."""

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes = tuple(sorted(codes))
        self.position = {code: i for i, code in enumerate(self.codes)}
        self.words = max(1, -(-len(self.codes) // 64))

    def encode(self, skill_lists: Sequence[Sequence[str]]) -> np.ndarray:
        masks = np.zeros((len(skill_lists), self.words), dtype=np.uint64)
        rows, bits = [], []
        for row, skills in enumerate(skill_lists):
            for code in skills or ():
                position = self.position.get(code)
                if position is not None:
                    rows.append(row)
                    bits.append(position)
        if rows:
            row_array = np.asarray(rows, dtype=np.intp)
            bit_array = np.asarray(bits, dtype=np.int64)
            np.bitwise_or.at(
                masks,
                (row_array, bit_array // 64),
                np.left_shift(np.uint64(1), (bit_array % 64).astype(np.uint64)),
            )
        return masks


def _float(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=default)


def _ranks(values: Sequence[Any]) -> np.ndarray:
    return np.array([EDUCATION_RANK.get(v, np.nan) for v in values], dtype=float)


class _Columns:
    """Parallel arrays, position i of each being the same record."""

    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, positions: np.ndarray) -> Any:
        """The records at these positions, as the same kind of columns."""
        return type(self)(**{k: v[positions] for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class WorkerArrays(_Columns):
    """Workers as arrays; position i of every array is the same worker."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    trade_bits: np.ndarray
    skill_bits: np.ndarray
    education_rank: np.ndarray
    experience_years: np.ndarray
    expected_wage_vnd: np.ndarray
    max_commute_km: np.ndarray
    available_day: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, codec: SkillCodec) -> WorkerArrays:
        """Build from a frame with columns id, lat, lon, trades, skills, education,
        experience_years, expected_wage_vnd, max_commute_km, available_from."""
        return cls(
            ids=frame["id"].to_numpy(dtype=np.int64),
            lat=frame["lat"].to_numpy(dtype=float),
            lon=frame["lon"].to_numpy(dtype=float),
            trade_bits=trade_bits(list(frame["trades"])),
            skill_bits=codec.encode(list(frame["skills"])),
            education_rank=_ranks(list(frame["education"])),
            experience_years=_float(frame, "experience_years"),
            expected_wage_vnd=_float(frame, "expected_wage_vnd"),
            max_commute_km=_float(frame, "max_commute_km", 30.0),
            available_day=day_numbers(frame["available_from"]),
        )


@dataclass(frozen=True)
class CommitmentArrays(_Columns):
    """Commitments as arrays, with the regional minimum wage of each site already looked up."""

    ids: np.ndarray
    enterprise_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    trade_index: np.ndarray
    skill_bits: np.ndarray
    required_count: np.ndarray
    min_education_rank: np.ndarray
    wage_vnd: np.ndarray
    minimum_wage_vnd: np.ndarray
    start_day: np.ndarray
    expires_day: np.ndarray
    course_ids: np.ndarray

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, codec: SkillCodec, gazetteer: Any = None
    ) -> CommitmentArrays:
        """Build from a frame with columns id, enterprise_id, lat, lon, ward_code, trade,
        required_skills, min_education, wage_vnd, start_date, expires_on, course_id."""
        skill_bits = codec.encode(list(frame["required_skills"]))
        start_day = day_numbers(frame["start_date"])
        regions = regions_of_wards(list(frame["ward_code"]), gazetteer, default=3)
        first = day_of(MINIMUM_WAGE_SCHEDULES[0].effective_from)
        wage_day = np.where(np.isnan(start_day), first, np.maximum(start_day, first))
        minimum = minimum_wage_for(
            regions.astype(np.int64) if len(regions) else np.array([], dtype=np.int64),
            wage_day.astype(np.int64).astype("datetime64[D]"),
        )
        return cls(
            ids=frame["id"].to_numpy(dtype=np.int64),
            enterprise_ids=frame["enterprise_id"].to_numpy(dtype=np.int64),
            lat=frame["lat"].to_numpy(dtype=float),
            lon=frame["lon"].to_numpy(dtype=float),
            trade_index=np.array([TRADE_INDEX.get(t, -1) for t in frame["trade"]], dtype=np.int64),
            skill_bits=skill_bits,
            required_count=np.bitwise_count(skill_bits).sum(axis=1).astype(np.int64),
            min_education_rank=_ranks(list(frame["min_education"])),
            wage_vnd=_float(frame, "wage_vnd"),
            minimum_wage_vnd=minimum.astype(float),
            start_day=start_day,
            expires_day=day_numbers(frame["expires_on"]),
            course_ids=pd.to_numeric(frame["course_id"], errors="coerce")
            .fillna(-1)
            .to_numpy(dtype=np.int64),
        )


@dataclass(frozen=True)
class CourseTable:
    """Course id → trade and end day, sorted by id for binary search."""

    ids: np.ndarray
    trade: np.ndarray
    end_day: np.ndarray

    @classmethod
    def from_frame(cls, courses: pd.DataFrame) -> CourseTable:
        ids = courses["id"].to_numpy(dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        trade = np.array([TRADE_INDEX.get(t, -1) for t in courses["trade"]], dtype=np.int64)
        return cls(ids[order], trade[order], day_numbers(courses["end_date"])[order])

    def lookup(self, course_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Trade (-1) and end day (NaN) of each course id."""
        if not len(self.ids):
            return np.full(len(course_ids), -1), np.full(len(course_ids), np.nan)
        pos = np.minimum(np.searchsorted(self.ids, course_ids), len(self.ids) - 1)
        found = self.ids[pos] == course_ids
        return np.where(found, self.trade[pos], -1), np.where(found, self.end_day[pos], np.nan)


def _first_per_key(keys: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and the earliest day of each."""
    order = np.lexsort((days, keys))
    keys, days = keys[order], days[order]
    first = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    return keys[first], days[first]


class Graduations:
    """Who graduated from which course (and so in which trade), and from which day."""

    def __init__(self, enrollments: pd.DataFrame, courses: pd.DataFrame | CourseTable) -> None:
        table = courses if isinstance(courses, CourseTable) else CourseTable.from_frame(courses)
        graduated = enrollments[enrollments["status"] == "graduated"]
        self._index(
            graduated["worker_id"].to_numpy(dtype=np.int64),
            graduated["course_id"].to_numpy(dtype=np.int64),
            day_numbers(graduated["completed_on"]),
            table,
        )

    @classmethod
    def from_arrays(
        cls, worker: np.ndarray, course: np.ndarray, completed_day: np.ndarray, table: CourseTable
    ) -> Graduations:
        """Build from graduated enrollments given as arrays (the serving fast path)."""
        self = cls.__new__(cls)
        self._index(
            np.asarray(worker, dtype=np.int64),
            np.asarray(course, dtype=np.int64),
            np.asarray(completed_day, dtype=float),
            table,
        )
        return self

    def _index(
        self, worker: np.ndarray, course: np.ndarray, day: np.ndarray, table: CourseTable
    ) -> None:
        trade, end_day = table.lookup(course)
        # A graduation without a date counts from the course's end.
        day = np.where(np.isnan(day), end_day, day)
        keep = ~np.isnan(day) & (trade >= 0)
        self.worker, self.course = worker[keep], course[keep]
        self.trade, self.day = trade[keep], day[keep]
        self._course_key, self._course_day = _first_per_key(
            self.worker * _KEY_SCALE + self.course, self.day
        )
        self._trade_key, self._trade_day = _first_per_key(self.worker * 8 + self.trade, self.day)
        # (worker, trade, day) sorted, for "latest course of this trade by day t" searches.
        latest_key = self.worker * 8 + self.trade
        order = np.lexsort((self.day, latest_key))
        self._latest_key = latest_key[order]
        self._latest_combined = latest_key[order] * _KEY_SCALE + self.day[order]
        self._latest_course = self.course[order]

    @staticmethod
    def _known(keys: np.ndarray, days: np.ndarray, index: np.ndarray, first: np.ndarray):
        if not len(index):
            return np.zeros(len(keys), dtype=bool)
        pos = np.minimum(np.searchsorted(index, keys), len(index) - 1)
        return (index[pos] == keys) & (first[pos] <= days)

    def linked(self, worker_ids: np.ndarray, course_ids: np.ndarray, days: np.ndarray):
        """Whether each worker had graduated from that course by that day."""
        keys = worker_ids * _KEY_SCALE + np.maximum(course_ids, 0)
        return self._known(keys, days, self._course_key, self._course_day) & (course_ids >= 0)

    def in_trade(self, worker_ids: np.ndarray, trade_index: np.ndarray, days: np.ndarray):
        """Whether each worker had graduated from a course of that trade by that day."""
        keys = worker_ids * 8 + np.maximum(trade_index, 0)
        return self._known(keys, days, self._trade_key, self._trade_day) & (trade_index >= 0)

    def latest_course(self, worker_ids: np.ndarray, trade_index: np.ndarray, days: np.ndarray):
        """The course of that trade each worker graduated from last by that day (-1 if none)."""
        if not len(self._latest_key) or not len(worker_ids):
            return np.full(len(worker_ids), -1, dtype=np.int64)
        keys = worker_ids * 8 + np.maximum(trade_index, 0)
        query = keys * _KEY_SCALE + np.nan_to_num(days, nan=-1.0)
        pos = np.searchsorted(self._latest_combined, query, side="right") - 1
        safe = np.maximum(pos, 0)
        found = (pos >= 0) & (self._latest_key[safe] == keys) & (trade_index >= 0)
        return np.where(found, self._latest_course[safe], -1)


class TrackRecord:
    """Smoothed hire rates per key (enterprise, course) from outcomes known before a day."""

    def __init__(
        self,
        keys: np.ndarray,
        known_days: np.ndarray,
        hired: np.ndarray,
        prior_weight: float = PRIOR_REFERRALS,
        expected: np.ndarray | None = None,
    ) -> None:
        keep = ~np.isnan(known_days) & (keys >= 0)
        if expected is None:
            expected = np.full(len(keys), np.nan)
        keys, known_days, hired = keys[keep], known_days[keep], hired[keep].astype(float)
        expected = expected[keep]
        order = np.lexsort((known_days, keys))
        self._combined = keys[order] * _KEY_SCALE + known_days[order]
        self._cum_hired = np.concatenate([[0.0], np.cumsum(hired[order])])
        self._has_expected = not np.isnan(expected).any()
        self._cum_expected = np.concatenate([[0.0], np.cumsum(np.nan_to_num(expected[order]))])
        all_order = np.argsort(known_days, kind="stable")
        self._all_days = known_days[all_order]
        self._all_hired = np.concatenate([[0.0], np.cumsum(hired[all_order])])
        self.prior_weight = prior_weight

    def overall_rate(self, days: np.ndarray) -> np.ndarray:
        n = np.searchsorted(self._all_days, days, side="left")
        hires = self._all_hired[n]
        # Early on, few outcomes are known (hires sooner than refusals): lean on a neutral
        # 30 % until there are enough of them.
        return (hires + NEUTRAL_RATE * NEUTRAL_WEIGHT) / (n + NEUTRAL_WEIGHT)

    def counts(self, keys: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Referrals and hires per (key, day) known strictly before the day."""
        start = np.searchsorted(self._combined, keys * _KEY_SCALE, side="left")
        end = np.searchsorted(self._combined, keys * _KEY_SCALE + days, side="left")
        n = (end - start).astype(float)
        return n, self._cum_hired[end] - self._cum_hired[start]

    def lift(self, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
        """log((hires + k) / (expected hires + k)) per key before each day (NaN for key -1).

        Expected hires are the sum of the referrals' merit probabilities; without them the
        overall rate stands in.
        """
        safe_keys = np.maximum(keys, 0)
        start = np.searchsorted(self._combined, safe_keys * _KEY_SCALE, side="left")
        end = np.searchsorted(self._combined, safe_keys * _KEY_SCALE + days, side="left")
        hires = self._cum_hired[end] - self._cum_hired[start]
        if self._has_expected:
            expected = self._cum_expected[end] - self._cum_expected[start]
        else:
            expected = (end - start) * self.overall_rate(days)
        lift = np.log((hires + LIFT_PRIOR) / (expected + LIFT_PRIOR))
        return np.where(keys >= 0, lift, np.nan)

    def rate(self, keys: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed rate (NaN for key -1) and the number of referrals it rests on."""
        safe_keys = np.maximum(keys, 0)
        n, hires = self.counts(safe_keys, days)
        prior = self.overall_rate(days)
        rate = (hires + self.prior_weight * prior) / (n + self.prior_weight)
        return np.where(keys >= 0, rate, np.nan), np.where(keys >= 0, n, 0.0)


def outcome_known_days(referrals: pd.DataFrame) -> np.ndarray:
    """The day each referral's outcome went on record (NaN while pending)."""
    referred = day_numbers(referrals["referred_on"])
    hired_on = day_numbers(referrals["hired_on"])
    status = referrals["status"].to_numpy()
    known = np.where(
        status == "hired",
        np.where(np.isnan(hired_on), referred + OUTCOME_LAG_DAYS, hired_on),
        referred + OUTCOME_LAG_DAYS,
    )
    return np.where(status == "pending", np.nan, known)


@dataclass
class Context:
    """What pair features need beyond the two parties: graduations and track records."""

    graduations: Graduations
    enterprise_track: TrackRecord
    course_track: TrackRecord

    @classmethod
    def build(
        cls,
        enrollments: pd.DataFrame,
        courses: pd.DataFrame,
        referrals: pd.DataFrame,
        commitments: pd.DataFrame,
        worker_arrays: WorkerArrays | None = None,
        commitment_arrays: CommitmentArrays | None = None,
    ) -> Context:
        """Index graduations and outcomes; referral course keys are taken at referral time.

        With the worker and commitment arrays, each referral's merit probability (from
        MERIT_WEIGHTS) is the yardstick of its enterprise's hire lift.
        """
        graduations = Graduations(enrollments, courses)
        known = outcome_known_days(referrals)
        hired = (referrals["status"] == "hired").to_numpy()
        enterprise_of = pd.Series(
            commitments["enterprise_id"].to_numpy(dtype=np.int64),
            index=commitments["id"].to_numpy(dtype=np.int64),
        )
        trade_of = pd.Series(
            commitments["trade"].map(TRADE_INDEX).fillna(-1).to_numpy(dtype=np.int64),
            index=commitments["id"].to_numpy(dtype=np.int64),
        )
        commitment_ids = referrals["commitment_id"].to_numpy(dtype=np.int64)
        enterprise_keys = enterprise_of.reindex(commitment_ids).fillna(-1).to_numpy(np.int64)
        course_keys = graduations.latest_course(
            referrals["worker_id"].to_numpy(dtype=np.int64),
            trade_of.reindex(commitment_ids).fillna(-1).to_numpy(np.int64),
            day_numbers(referrals["referred_on"]),
        )
        expected = None
        if worker_arrays is not None and commitment_arrays is not None:
            expected = merit_probability(
                worker_arrays,
                pd.Index(worker_arrays.ids).get_indexer(referrals["worker_id"].to_numpy()),
                commitment_arrays,
                pd.Index(commitment_arrays.ids).get_indexer(commitment_ids),
                day_numbers(referrals["referred_on"]),
                graduations,
            )
        return cls(
            graduations=graduations,
            enterprise_track=TrackRecord(enterprise_keys, known, hired, expected=expected),
            course_track=TrackRecord(course_keys, known, hired),
        )


def _merit_columns(
    workers: WorkerArrays,
    w: np.ndarray,
    commitments: CommitmentArrays,
    c: np.ndarray,
    days: np.ndarray,
    graduations: Graduations,
) -> dict[str, np.ndarray]:
    """The features that describe the pair itself (no track records)."""
    worker_ids = workers.ids[w]
    trade = commitments.trade_index[c]
    bit = np.where(trade >= 0, np.left_shift(1, np.maximum(trade, 0)), 0)
    needed = commitments.required_count[c]
    held = np.bitwise_count(workers.skill_bits[w] & commitments.skill_bits[c]).sum(axis=1)
    distance = haversine_km(workers.lat[w], workers.lon[w], commitments.lat[c], commitments.lon[c])
    wage = commitments.wage_vnd[c]
    expected = workers.expected_wage_vnd[w]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, wage / expected, np.nan)
        log_ratio = np.log(np.clip(ratio, 0.2, 5.0))
        over_minimum = wage / commitments.minimum_wage_vnd[c]
    gap = workers.available_day[w] - commitments.start_day[c]
    return {
        "trade_match": ((workers.trade_bits[w] & bit) != 0).astype(float),
        "graduated_trade_course": graduations.in_trade(worker_ids, trade, days).astype(float),
        "graduated_linked_course": graduations.linked(
            worker_ids, commitments.course_ids[c], days
        ).astype(float),
        "skill_coverage": np.where(needed > 0, held / np.maximum(needed, 1), 1.0),
        "distance_km": distance,
        "commute_excess_km": np.maximum(distance - workers.max_commute_km[w], 0.0),
        "log_wage_ratio": log_ratio,
        "wage_over_minimum": over_minimum,
        "education_gap": workers.education_rank[w] - commitments.min_education_rank[c],
        "experience_years": workers.experience_years[w],
        "availability_gap_days": np.where(np.isnan(gap), 0.0, np.clip(gap, 0.0, 365.0)),
    }


def merit_probability(
    workers: WorkerArrays,
    w: np.ndarray,
    commitments: CommitmentArrays,
    c: np.ndarray,
    days: np.ndarray,
    graduations: Graduations,
) -> np.ndarray:
    """Hire probability of pairs from their own merits under the fixed MERIT_WEIGHTS.

    Pairs with an unknown worker or commitment (position -1) get the neutral rate.
    """
    w = np.asarray(w, dtype=np.intp)
    c = np.asarray(c, dtype=np.intp)
    valid = (w >= 0) & (c >= 0)
    out = np.full(len(w), NEUTRAL_RATE)
    if not valid.any():
        return out
    columns = _merit_columns(
        workers, w[valid], commitments, c[valid], np.asarray(days, dtype=float)[valid], graduations
    )
    logit = np.full(int(valid.sum()), MERIT_INTERCEPT)
    for name, weight in MERIT_WEIGHTS.items():
        logit += weight * np.nan_to_num(columns[name])
    out[valid] = 1.0 / (1.0 + np.exp(-logit))
    return out


def pair_features(
    workers: WorkerArrays,
    w: np.ndarray,
    commitments: CommitmentArrays,
    c: np.ndarray,
    days: np.ndarray,
    context: Context,
) -> np.ndarray:
    """Compute FEATURES for pairs (workers[w[k]], commitments[c[k]]) decided on days[k].

    Returns a float array of shape (len(w), len(FEATURES)); NaN marks an unknown value.
    """
    w = np.asarray(w, dtype=np.intp)
    c = np.asarray(c, dtype=np.intp)
    days = np.broadcast_to(np.asarray(days, dtype=float), w.shape)
    out = np.empty((len(w), len(FEATURES)), dtype=float)
    column = FEATURE_INDEX
    for name, values in _merit_columns(
        workers, w, commitments, c, days, context.graduations
    ).items():
        out[:, column[name]] = values
    enterprise = commitments.enterprise_ids[c]
    rate, n = context.enterprise_track.rate(enterprise, days)
    out[:, column["enterprise_hire_rate"]] = rate
    out[:, column["enterprise_hire_lift"]] = context.enterprise_track.lift(enterprise, days)
    out[:, column["enterprise_referrals_log"]] = np.log1p(n)
    course = context.graduations.latest_course(workers.ids[w], commitments.trade_index[c], days)
    out[:, column["course_hire_rate"]] = context.course_track.rate(course, days)[0]
    return out
