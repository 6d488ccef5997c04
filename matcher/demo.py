"""Generate the Hưng Yên demo data set: seeded, deterministic, with a known hire probability.

:func:`generate` builds the six import files of the exchange contract (CONTRACT.md) for one
province, as data frames of the strings a caseworker's CSV would hold (``""`` for an empty
cell), so the demo goes through the same import path as real files. Load them in the order
of :data:`KINDS`. Beside them, :attr:`DemoData.truth` holds, for every referral, the true
probability of hire that its outcome was drawn from and the pair features it was computed
from, so a model's ranking and calibration can be checked against the truth.

Grounding (FACTS.md): the 104 wards and communes of Hưng Yên and their coordinates come from
:func:`matcher.places.gazetteer`; enterprises sit in the named industrial parks (the 2025 ward
of each park is found by resolving a pre-2025 commune the park lies in, see
:data:`HUNG_YEN_PARKS`) or are craft-village workshops and cooperatives in rural communes;
wages follow the regional minimum (:mod:`matcher.wages`) and the trade's going rate; the
trade mix, the share of women in garment work, turnover and the training levels follow the
facts file. Names, tax codes, phone numbers and e-mail addresses are invented.

The hire probability
--------------------
:func:`true_hire_probability` is a logistic function of the pair features made by
:func:`pair_features` (see its docstring for the exact formula and
:data:`HIRE_COEFFICIENTS`). Protected attributes (gender, ethnicity, disability, age) do not
enter it. An enterprise's latent quality enters it; a model can learn that only from the
enterprise's track record.

How referrals are made: candidate referrals come from job seekers (each worker is referred
from about six weeks before they are available, spread over their time on the books, to
open commitments of their trades nearby, sometimes to another trade or anywhere: the
contrast a model needs) and from courses (most trainees are referred to a commitment linked
to their course). They are then played in date order: a referral is not made when its
commitment is full or has :data:`REFERRALS_PER_SLOT` referrals per slot, nor, most of the
time, while the worker holds a job. Each referral made is drawn hired with probability
``p_true``; the rest split into not_hired, declined and no_show; the last three weeks are
pending. Hires leave at the trade's yearly rate (garment 20 %) or when they take a new job.

Hard constraints the importer enforces hold by construction: hires never exceed a
commitment's slots; a worker's jobs never overlap (a hire under
:data:`MIN_DAYS_BETWEEN_HIRES` days after the worker's previous one becomes ``declined``,
and a new job ends the previous one a few days before); no date is after ``today``; external
ids are unique per kind. ``truth.capped`` marks the draws that were changed (under 1 % of
referrals), and ``p_true`` is always the probability the draw was made with.

Sizes: the default (5,000 workers, 120 enterprises, 80 courses, 500 referrals a month, two
years) gives about 11,700 referrals, 31 % hired, and most hired workers are hired once, as a
labour market with the garment sector's 20 % yearly turnover would have. Pushing many more
referrals through few workers makes job switches implausibly frequent.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sqlite3
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from matcher import clock
from matcher.ingest import COLUMNS as CONTRACT_COLUMNS
from matcher.places import gazetteer as load_gazetteer
from matcher.places import haversine_km
from matcher.taxonomy import EDUCATION_CODES, TRADE_CODES
from matcher.taxonomy import taxonomy as load_taxonomy
from matcher.text import fold, strip_diacritics
from matcher.wages import MINIMUM_WAGE_SCHEDULES, minimum_wage_for, regions_of_wards

#: The import kinds in load order: each one refers only to kinds before it.
KINDS = ("enterprises", "courses", "workers", "enrollments", "commitments", "referrals")

#: The exact contract columns of each kind, in the contract's order.
COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(CONTRACT_COLUMNS[kind]) for kind in KINDS}
)

#: Pair features that :func:`true_hire_probability` reads, in the order of ``truth``.
PAIR_FEATURE_COLUMNS = (
    "trade_match",
    "graduated_linked_course",
    "graduated_trade_course",
    "skill_coverage",
    "distance_km",
    "commute_excess_km",
    "wage_ratio",
    "wage_over_minimum",
    "education_shortfall",
    "experience_years",
    "availability_gap_days",
    "enterprise_quality",
)

#: Intercept of the true hire model (log-odds); sets the average hire rate near 30 %.
HIRE_INTERCEPT = -1.7

#: Coefficients of the true hire model, by term; see :func:`true_hire_probability`.
HIRE_COEFFICIENTS: Mapping[str, float] = MappingProxyType(
    {
        "trade_match": 1.2,
        "graduated_linked_course": 1.0,
        "graduated_trade_course": 0.6,
        "skill_coverage": 1.0,
        "distance_km": -0.05,
        "commute_excess_km": -0.10,
        "log_wage_ratio": 1.5,
        "log_wage_over_minimum": 0.8,
        "education_shortfall": -0.5,
        "log1p_experience_years": 0.3,
        "availability_gap_days": -0.008,
        "enterprise_quality": 1.0,
    }
)

#: Referrals this recent are still pending on ``today``.
PENDING_DAYS = 21
#: Two hires of one worker closer than this are one too many: the later becomes "declined".
#: Two months, a probation period: with 14 days, job-hoppers hired every few months pushed the
#: share of workers hired four times or more over the plausible 3 % (seen as of 2027-06-15).
MIN_DAYS_BETWEEN_HIRES = 60
#: Caseworkers stop referring to a commitment after this many referrals per slot.
REFERRALS_PER_SLOT = 3
#: Share of referrals still made while the worker is employed (looking for a better job).
_EMPLOYED_REFERRAL_SHARE = 0.3
#: A worker without a stated maximum commute is taken to accept the contract's default.
DEFAULT_MAX_COMMUTE_KM = 30.0


@dataclass(frozen=True)
class IndustrialPark:
    """An industrial park: where its enterprises sit and what they make.

    ``legacy_address`` names a pre-2025 commune the park lies in; the gazetteer converts it
    to the 2025 ward. ``offset_km`` (north, east) moves the park's centre off the ward's.
    ``weight`` is the park's share of park enterprises: its area in hectares where FACTS.md
    gives it, a nominal 150 otherwise.
    """

    name: str
    legacy_address: str
    weight: float
    trade_mix: Mapping[str, float]
    offset_km: tuple[float, float]


HUNG_YEN_PARKS = (
    IndustrialPark(
        "Phố Nối A",
        "Xã Lạc Hồng, huyện Văn Lâm, tỉnh Hưng Yên",
        689,
        {"garment": 0.25, "electronics": 0.35, "electrical": 0.35, "textile": 0.05},
        (-1.2, 1.8),
    ),
    IndustrialPark(
        "Dệt may Phố Nối",
        "Xã Nghĩa Hiệp, huyện Yên Mỹ, tỉnh Hưng Yên",
        122,
        {"garment": 0.7, "textile": 0.3},
        (1.5, 1.0),
    ),
    IndustrialPark(
        "Thăng Long II",
        "Xã Liêu Xá, huyện Yên Mỹ, tỉnh Hưng Yên",
        526,
        {"electronics": 0.5, "electrical": 0.35, "garment": 0.15},
        (-1.0, 1.5),
    ),
    IndustrialPark(
        "Minh Đức",
        "Phường Minh Đức, thị xã Mỹ Hào, tỉnh Hưng Yên",
        198,
        {"electrical": 0.4, "electronics": 0.3, "garment": 0.3},
        (1.0, -0.8),
    ),
    IndustrialPark(
        "Minh Quang",
        "Phường Bạch Sam, thị xã Mỹ Hào, tỉnh Hưng Yên",
        150,
        {"electronics": 0.4, "electrical": 0.3, "garment": 0.3},
        (-1.2, -1.0),
    ),
    IndustrialPark(
        "Yên Mỹ",
        "Xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên",
        280,
        {"garment": 0.35, "electronics": 0.35, "electrical": 0.3},
        (1.2, 0.6),
    ),
    IndustrialPark(
        "Yên Mỹ II",
        "Xã Yên Phú, huyện Yên Mỹ, tỉnh Hưng Yên",
        313,
        {"electronics": 0.4, "electrical": 0.3, "garment": 0.3},
        (0.8, -1.2),
    ),
    # About ten parks in ex-Thái Bình (FACTS.md); four of them, sites approximate.
    IndustrialPark(
        "Phúc Khánh",
        "Phường Phú Khánh, thành phố Thái Bình, tỉnh Thái Bình",
        150,
        {"garment": 0.5, "electronics": 0.25, "electrical": 0.25},
        (0.8, 0.6),
    ),
    IndustrialPark(
        "Nguyễn Đức Cảnh",
        "Phường Tiền Phong, thành phố Thái Bình, tỉnh Thái Bình",
        150,
        {"garment": 0.45, "textile": 0.2, "electrical": 0.35},
        (-0.8, 1.0),
    ),
    IndustrialPark(
        "Tiền Hải",
        "Thị trấn Tiền Hải, huyện Tiền Hải, tỉnh Thái Bình",
        150,
        {"electrical": 0.5, "garment": 0.3, "textile": 0.2},
        (0.6, 1.2),
    ),
    IndustrialPark(
        "Cầu Nghìn",
        "Xã Quỳnh Hồng, huyện Quỳnh Phụ, tỉnh Thái Bình",
        150,
        {"garment": 0.6, "electronics": 0.2, "electrical": 0.2},
        (1.0, -0.5),
    ),
)

PARKS_BY_PROVINCE: Mapping[str, tuple[IndustrialPark, ...]] = MappingProxyType(
    {"33": HUNG_YEN_PARKS}
)


@dataclass(frozen=True)
class DemoConfig:
    """Seed, province, sizes and ``today`` of a demo data set.

    ``today`` defaults to the day the config is made (not the day this module was imported);
    give it explicitly for reproducible output. ``referrals_per_month`` is the target volume
    over the ``history_years`` before ``today``; the realised count is a few percent lower
    (duplicates and referrals that fit no open commitment are dropped).
    """

    seed: int = 20250701
    province_code: str = "33"
    today: dt.date = field(default_factory=clock.today)
    n_workers: int = 8000
    n_enterprises: int = 120
    n_courses: int = 300
    history_years: int = 4
    referrals_per_month: int = 350

    def __post_init__(self) -> None:
        """Refuse sizes that cannot make a data set."""
        if isinstance(self.today, dt.datetime):
            object.__setattr__(self, "today", self.today.date())
        for name in ("n_workers", "n_enterprises", "n_courses", "history_years"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if self.referrals_per_month < 0:
            raise ValueError("referrals_per_month must be ≥ 0")

    @property
    def history_start(self) -> dt.date:
        """Return the first day of the referral history."""
        return self.today - dt.timedelta(days=round(365.25 * self.history_years))


@dataclass
class DemoData:
    """The six import frames (strings, contract columns), the truth, and the latent effects."""

    enterprises: pd.DataFrame
    courses: pd.DataFrame
    workers: pd.DataFrame
    enrollments: pd.DataFrame
    commitments: pd.DataFrame
    referrals: pd.DataFrame
    truth: pd.DataFrame
    enterprise_quality: pd.Series
    config: DemoConfig | None = None

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return kind → frame in load order."""
        return {kind: getattr(self, kind) for kind in KINDS}

    def write_csv(self, folder: Path, *, include_truth: bool = False) -> dict[str, Path]:
        """Write ``<kind>.csv`` (UTF-8, no index) for each kind; return kind → path.

        With ``include_truth`` also write ``truth.csv`` and ``enterprise_quality.csv``, which
        are not import files.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        frames: dict[str, pd.DataFrame] = self.frames()
        if include_truth:
            frames["truth"] = self.truth
            frames["enterprise_quality"] = self.enterprise_quality.rename(
                "enterprise_quality"
            ).reset_index()
        paths = {}
        for kind, frame in frames.items():
            path = folder / f"{kind}.csv"
            frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
            paths[kind] = path
        return paths

    def pair_features(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Compute :func:`pair_features` for any (worker, commitment) pairs of this data set."""
        return pair_features(
            self.workers,
            self.commitments,
            self.enrollments,
            pairs,
            enterprises=self.enterprises,
            courses=self.courses,
            enterprise_quality=self.enterprise_quality,
        )

    def hire_probability(self, pairs: pd.DataFrame) -> np.ndarray:
        """Return the true hire probability of any (worker, commitment) pairs of this data set."""
        return true_hire_probability(self.pair_features(pairs))


# ============================================================================================
# The known hire-probability function


def hire_terms(features: pd.DataFrame) -> pd.DataFrame:
    """Return the terms of the true hire model (one column per coefficient) from features."""
    missing = [name for name in PAIR_FEATURE_COLUMNS if name not in features.columns]
    if missing:
        raise KeyError(f"pair features missing: {', '.join(missing)}")

    def column(name: str) -> np.ndarray:
        return features[name].to_numpy(dtype=float)

    return pd.DataFrame(
        {
            "trade_match": column("trade_match"),
            "graduated_linked_course": column("graduated_linked_course"),
            "graduated_trade_course": column("graduated_trade_course"),
            "skill_coverage": np.clip(column("skill_coverage"), 0.0, 1.0),
            "distance_km": np.maximum(column("distance_km"), 0.0),
            "commute_excess_km": np.maximum(column("commute_excess_km"), 0.0),
            "log_wage_ratio": np.log(np.clip(column("wage_ratio"), 0.5, 2.0)),
            "log_wage_over_minimum": np.log(np.clip(column("wage_over_minimum"), 1.0, 3.0)),
            "education_shortfall": np.maximum(column("education_shortfall"), 0.0),
            "log1p_experience_years": np.log1p(np.clip(column("experience_years"), 0.0, 20.0)),
            "availability_gap_days": np.clip(column("availability_gap_days"), 0.0, 180.0),
            "enterprise_quality": column("enterprise_quality"),
        },
        index=features.index,
    )


def true_hire_probability(pairs: pd.DataFrame) -> np.ndarray:
    """Return the true probability that a referral of each pair ends in a hire.

    ``pairs`` holds the columns of :data:`PAIR_FEATURE_COLUMNS` (as made by
    :func:`pair_features`). The probability is ``1 / (1 + exp(-z))`` with

    .. code-block:: text

        z = -1.7
            + 1.2   * trade_match               (commitment's trade among the worker's trades)
            + 1.0   * graduated_linked_course   (graduated from the course it is linked to)
            + 0.6   * graduated_trade_course    (graduated from any course of its trade)
            + 1.0   * skill_coverage            (share of required skills held; 1 if none)
            - 0.05  * distance_km               (home to site, great circle)
            - 0.10  * commute_excess_km         (km beyond the worker's max_commute_km)
            + 1.5   * ln(clip(wage_ratio, 0.5, 2))          (offered / expected wage)
            + 0.8   * ln(clip(wage_over_minimum, 1, 3))     (offered / regional minimum)
            - 0.5   * education_shortfall       (levels below min_education; 0 if unknown)
            + 0.3   * ln(1 + clip(experience_years, 0, 20))
            - 0.008 * clip(availability_gap_days, 0, 180)  (days available after the start)
            + 1.0   * enterprise_quality        (latent, drawn N(0, 0.5²) per enterprise)

    Farther never raises the probability, a higher wage never lowers it and more skill
    coverage never lowers it. No protected attribute (gender, ethnicity, disability, birth
    year) is an input.
    """
    terms = hire_terms(pairs)
    # Term by term, not a matrix product: BLAS may sum in an order that depends on the batch,
    # and a pair's probability must not depend on which other pairs are scored with it.
    logit = np.full(len(terms), HIRE_INTERCEPT)
    for name, coefficient in HIRE_COEFFICIENTS.items():
        logit = logit + coefficient * terms[name].to_numpy()
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0)))


# ============================================================================================
# Pair features from the import frames


def pair_features(
    workers: pd.DataFrame,
    commitments: pd.DataFrame,
    enrollments: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    enterprises: pd.DataFrame,
    courses: pd.DataFrame,
    enterprise_quality: pd.Series | Mapping[str, float] | None = None,
    gazetteer: Any = None,
    taxonomy: Any = None,
) -> pd.DataFrame:
    """Compute the features of (worker, commitment) pairs from contract-format frames.

    ``pairs`` has ``worker_external_id`` and ``commitment_external_id``, and optionally
    ``day`` (the referral date, ISO text or date): then a graduation counts only once it is
    completed by that day (``completed_on``, else the course's end date), as a caseworker or
    a model could know it. The other frames are
    import frames as :func:`generate` makes them (strings, ``""`` for empty). Places are read
    as the importer reads them: a ward code, else an address resolved by the gazetteer, then
    ``lat``/``lon`` override; a commitment without a site takes its enterprise's. Skill cells
    are normalised with the taxonomy, as on import. ``enterprise_quality`` maps enterprise
    external ids to their latent effect (0 where absent).

    Vectorised: merges and array arithmetic, no Python loop over pairs.

    Returns
    -------
    DataFrame
        ``worker_external_id``, ``commitment_external_id``, ``enterprise_external_id`` and
        :data:`PAIR_FEATURE_COLUMNS`, one row per pair in the order of ``pairs``.

    Raises
    ------
    KeyError
        When a pair names a worker or commitment that is not in the frames.
    """
    gazetteer = gazetteer if gazetteer is not None else load_gazetteer()
    taxonomy = taxonomy if taxonomy is not None else load_taxonomy()
    skill_index = _SkillIndex.of(taxonomy)
    education_rank = {level.code: level.rank for level in taxonomy.education_levels()}

    worker_ids = pd.Index(workers["external_id"].to_numpy(dtype=object))
    commitment_ids = pd.Index(commitments["external_id"].to_numpy(dtype=object))
    w = worker_ids.get_indexer(pairs["worker_external_id"].to_numpy(dtype=object))
    c = commitment_ids.get_indexer(pairs["commitment_external_id"].to_numpy(dtype=object))
    if (w < 0).any():
        unknown = pairs["worker_external_id"].to_numpy(dtype=object)[w < 0][0]
        raise KeyError(f"unknown worker_external_id {unknown!r}")
    if (c < 0).any():
        unknown = pairs["commitment_external_id"].to_numpy(dtype=object)[c < 0][0]
        raise KeyError(f"unknown commitment_external_id {unknown!r}")

    # Workers.
    home_lat, home_lon, _home_ward = _places(workers, gazetteer)
    worker_trades = _trade_bits(workers["trades"])
    worker_skills = skill_index.masks(workers["skills"])
    worker_education = _education_ranks(workers["education"], education_rank)
    experience = _numbers(workers["experience_years"], 0.0)
    expected_wage = _numbers(workers["expected_wage_vnd"], np.nan)
    max_commute = _numbers(workers["max_commute_km"], DEFAULT_MAX_COMMUTE_KM)
    available_from = _days(workers["available_from"])

    # Commitments, with their enterprise's site as the default.
    enterprise_ids = pd.Index(enterprises["external_id"].to_numpy(dtype=object))
    owner = enterprise_ids.get_indexer(commitments["enterprise_external_id"].to_numpy(dtype=object))
    site_lat, site_lon, site_ward = _places(commitments, gazetteer)
    ent_lat, ent_lon, ent_ward = _places(enterprises, gazetteer)
    has_owner = owner >= 0
    no_site = np.isnan(site_lat) & has_owner
    site_lat[no_site] = ent_lat[owner[no_site]]
    site_lon[no_site] = ent_lon[owner[no_site]]
    no_ward = (site_ward == "") & has_owner
    site_ward[no_ward] = ent_ward[owner[no_ward]]
    trade_code = commitments["trade"].to_numpy(dtype=object)
    trade_index = _trade_indices(trade_code)
    required = skill_index.masks(commitments["required_skills"])
    required_count = np.bitwise_count(required).sum(axis=1)
    min_education = _education_ranks(commitments["min_education"], education_rank)
    wage = _numbers(commitments["wage_vnd"], np.nan)
    start = _days(commitments["start_date"])
    # Sites without a known ward count as region III (the national default for communes).
    region = regions_of_wards(site_ward, gazetteer, default=3)
    # Dates before the first known schedule (or missing) use the first schedule.
    first_schedule = _to_days(MINIMUM_WAGE_SCHEDULES[0].effective_from)
    wage_day = np.where(np.isnan(start), first_schedule, np.maximum(start, first_schedule))
    minimum_wage = minimum_wage_for(region, wage_day.astype(np.int64).astype("datetime64[D]"))
    linked_course = commitments["course_external_id"].to_numpy(dtype=object)
    quality_by_enterprise = _quality_lookup(enterprise_quality)
    commitment_enterprise = commitments["enterprise_external_id"].to_numpy(dtype=object)
    quality = np.array(
        [quality_by_enterprise.get(e, 0.0) for e in commitment_enterprise], dtype=float
    )

    # Graduations: the (worker, course) pairs and each worker's graduated trades.
    graduated = enrollments[enrollments["status"].to_numpy(dtype=object) == "graduated"]
    grad_worker = worker_ids.get_indexer(graduated["worker_external_id"].to_numpy(dtype=object))
    course_ids = pd.Index(courses["external_id"].to_numpy(dtype=object))
    grad_course = course_ids.get_indexer(graduated["course_external_id"].to_numpy(dtype=object))
    known = (grad_worker >= 0) & (grad_course >= 0)
    grad_day = _days(graduated["completed_on"])
    course_end = _days(courses["end_date"])
    grad_day = np.where(np.isnan(grad_day), course_end[np.maximum(grad_course, 0)], grad_day)
    grad_worker, grad_course, grad_day = grad_worker[known], grad_course[known], grad_day[known]
    course_trade = _trade_indices(courses["trade"].to_numpy(dtype=object))
    n_courses = max(len(course_ids), 1)
    linked_index = course_ids.get_indexer(linked_course)
    pair_day = _days(pairs["day"].astype(str)) if "day" in pairs else np.full(len(pairs), np.inf)

    # Pair features.
    ti = trade_index[c]
    bit = np.where(ti >= 0, np.left_shift(1, np.maximum(ti, 0)), 0).astype(np.int64)
    trade_match = ((worker_trades[w] & bit) != 0).astype(float)
    pair_linked = linked_index[c]
    graduated_linked = _graduated_by(
        grad_worker.astype(np.int64) * n_courses + grad_course,
        grad_day,
        w.astype(np.int64) * n_courses + np.maximum(pair_linked, 0),
        pair_day,
    ) & (pair_linked >= 0)
    graduated_trade = _graduated_by(
        grad_worker.astype(np.int64) * 8 + course_trade[grad_course],
        np.where(course_trade[grad_course] >= 0, grad_day, np.nan),
        w.astype(np.int64) * 8 + np.maximum(ti, 0),
        pair_day,
    ) & (ti >= 0)
    held = np.bitwise_count(worker_skills[w] & required[c]).sum(axis=1)
    needed = required_count[c]
    skill_coverage = np.where(needed > 0, held / np.maximum(needed, 1), 1.0)
    distance = haversine_km(home_lat[w], home_lon[w], site_lat[c], site_lon[c])
    commute_excess = np.maximum(distance - max_commute[w], 0.0)
    offered = wage[c]
    wage_ratio = np.where(np.isnan(expected_wage[w]), 1.0, offered / expected_wage[w])
    wage_over_minimum = offered / minimum_wage[c]
    shortfall = min_education[c] - worker_education[w]
    education_shortfall = np.where(np.isnan(shortfall), 0.0, np.maximum(shortfall, 0.0))
    gap = available_from[w] - start[c]
    availability_gap = np.where(np.isnan(gap), 0.0, np.maximum(gap, 0.0))

    return pd.DataFrame(
        {
            "worker_external_id": worker_ids.to_numpy()[w],
            "commitment_external_id": commitment_ids.to_numpy()[c],
            "enterprise_external_id": commitment_enterprise[c],
            "trade_match": trade_match,
            "graduated_linked_course": graduated_linked.astype(float),
            "graduated_trade_course": graduated_trade.astype(float),
            "skill_coverage": skill_coverage,
            "distance_km": distance,
            "commute_excess_km": commute_excess,
            "wage_ratio": wage_ratio,
            "wage_over_minimum": wage_over_minimum,
            "education_shortfall": education_shortfall,
            "experience_years": experience[w],
            "availability_gap_days": availability_gap,
            "enterprise_quality": quality[c],
        }
    )


class _SkillIndex:
    """Skill codes as bits, and skill cells parsed into bit masks as the importer reads them."""

    def __init__(self, taxonomy: Any) -> None:
        self.taxonomy = taxonomy
        self.codes = tuple(sorted(skill.code for skill in taxonomy.skills()))
        self.position = {code: i for i, code in enumerate(self.codes)}
        self.words = max(1, -(-len(self.codes) // 64))
        self._items: dict[str, tuple[int, ...]] = {}

    @classmethod
    def of(cls, taxonomy: Any) -> _SkillIndex:
        return _skill_index(taxonomy)

    def item_positions(self, item: str) -> tuple[int, ...]:
        """Return the bit positions one ';'-separated item normalises to (cached)."""
        cached = self._items.get(item)
        if cached is None:
            taxonomy = self.taxonomy
            if taxonomy.is_skill_code(item):
                codes = [item.strip().lower()]
            else:
                codes = [n.match.code for n in taxonomy.normalize_list(item) if n.match]
            cached = tuple(self.position[code] for code in codes if code in self.position)
            self._items[item] = cached
        return cached

    def masks(self, cells: pd.Series) -> np.ndarray:
        """Return one row of uint64 words per cell, bit i set when the cell holds skill i."""
        masks = np.zeros((len(cells), self.words), dtype=np.uint64)
        exploded = cells.fillna("").astype(str).str.split(";").explode()
        items = exploded.str.strip()
        items = items[items != ""]
        if items.empty:
            return masks
        rows = np.asarray(items.index, dtype=np.intp)
        unique, inverse = np.unique(items.to_numpy(dtype=object).astype(str), return_inverse=True)
        positions = [self.item_positions(str(item)) for item in unique]
        counts = np.array([len(p) for p in positions], dtype=np.intp)
        flat = np.fromiter((p for group in positions for p in group), dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        per_row = counts[inverse]
        row_of = np.repeat(rows, per_row)
        offsets = np.repeat(starts[inverse], per_row) + _ranges(per_row)
        bits = flat[offsets] if len(offsets) else flat[:0]
        np.bitwise_or.at(
            masks,
            (row_of, bits // 64),
            np.left_shift(np.uint64(1), (bits % 64).astype(np.uint64)),
        )
        return masks


@lru_cache(maxsize=4)
def _skill_index(taxonomy: Any) -> _SkillIndex:
    return _SkillIndex(taxonomy)


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Return 0..n-1 for each n in counts, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.intp)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.intp) - starts


def _reset(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index(drop=True)


def _places(frame: pd.DataFrame, gazetteer: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return lat, lon (NaN when unknown) and ward code ("" when unknown) of each row."""
    frame = _reset(frame)
    n = len(frame)
    ward = _column(frame, "ward_code")
    address = _column(frame, "address")
    codes = np.where(ward != "", ward, "").astype(object)
    need_address = (ward == "") & (address != "")
    if need_address.any():
        unique = np.unique(address[need_address].astype(str))
        resolved = {}
        for text in unique:
            match = gazetteer.resolve_address(str(text))
            resolved[str(text)] = match.ward.code if match is not None else ""
        codes[need_address] = [resolved[str(text)] for text in address[need_address]]
    ward_lat, ward_lon = gazetteer.coordinates(list(codes)) if n else (np.zeros(0), np.zeros(0))
    lat, lon = ward_lat, ward_lon
    own_lat = _numbers(frame["lat"], np.nan) if "lat" in frame else np.full(n, np.nan)
    own_lon = _numbers(frame["lon"], np.nan) if "lon" in frame else np.full(n, np.nan)
    override = ~np.isnan(own_lat) & ~np.isnan(own_lon)
    lat = np.where(override, own_lat, lat)
    lon = np.where(override, own_lon, lon)
    codes = np.where(np.isnan(ward_lat), "", codes).astype(object)
    return lat.astype(float), lon.astype(float), codes


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[name].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _numbers(series: pd.Series, default: float) -> np.ndarray:
    text = series.fillna("").astype(str).str.strip().str.replace(",", ".", regex=False)
    values = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(values), default, values)


def _days(series: pd.Series) -> np.ndarray:
    """Return days since 1970-01-01 as floats, NaN for empty cells."""
    text = series.fillna("").astype(str).str.strip()
    parsed = pd.to_datetime(text.where(text != "", None), format="%Y-%m-%d", errors="coerce")
    days = parsed.to_numpy(dtype="datetime64[D]")
    result = days.astype(np.int64).astype(float)
    result[np.isnat(days)] = np.nan
    return result


def _graduated_by(
    keys: np.ndarray, days: np.ndarray, query_keys: np.ndarray, query_days: np.ndarray
) -> np.ndarray:
    """Whether each query key had a graduation on or before its query day (vectorised)."""
    if not len(keys):
        return np.zeros(len(query_keys), dtype=bool)
    first = pd.Series(days).groupby(keys).min()
    index, earliest = first.index.to_numpy(), first.to_numpy()
    pos = np.minimum(np.searchsorted(index, query_keys), len(index) - 1)
    return (index[pos] == query_keys) & (earliest[pos] <= query_days)


def _trade_indices(codes: np.ndarray) -> np.ndarray:
    lookup = {code: i for i, code in enumerate(TRADE_CODES)}
    return np.array([lookup.get(str(code).strip().lower(), -1) for code in codes], dtype=np.intp)


def _trade_bits(cells: pd.Series) -> np.ndarray:
    bits = np.zeros(len(cells), dtype=np.int64)
    exploded = cells.fillna("").astype(str).str.lower().str.split(";").explode().str.strip()
    index = _trade_indices(exploded.to_numpy(dtype=object))
    rows = np.asarray(exploded.index, dtype=np.intp)
    valid = index >= 0
    np.bitwise_or.at(bits, rows[valid], np.left_shift(1, index[valid]).astype(np.int64))
    return bits


def _education_ranks(cells: pd.Series, ranks: Mapping[str, int | None]) -> np.ndarray:
    codes = cells.fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    return np.array(
        [np.nan if ranks.get(code) is None else float(ranks[code]) for code in codes],
        dtype=float,
    )


def _quality_lookup(quality: pd.Series | Mapping[str, float] | None) -> dict[str, float]:
    if quality is None:
        return {}
    return {str(k): float(v) for k, v in quality.items()}


# ============================================================================================
# Generation


def generate(config: DemoConfig | None = None) -> DemoData:
    """Generate the demo data set for ``config`` (default: :class:`DemoConfig()`).

    The same config gives identical frames. Work is vectorised over workers and referrals;
    only enterprises, courses and months are looped over.

    Raises
    ------
    ValueError
        When the history reaches back before the first known minimum wage (2022-07-01), or
        the province has no wards.
    """
    config = config if config is not None else DemoConfig()
    earliest = MINIMUM_WAGE_SCHEDULES[0].effective_from + dt.timedelta(days=90)
    if config.history_start < earliest:
        raise ValueError(
            f"history starts {config.history_start}; the demo needs minimum wages from"
            f" {earliest} on (history_years too large for today={config.today})"
        )
    build = _Builder(config)
    enterprises = build.enterprises()
    courses = build.courses()
    workers = build.workers()
    enrollments = build.enrollments()
    build.finish_workers()
    commitments = build.commitments()
    workers = build.worker_frame()
    referrals, truth = build.referrals(enterprises, courses, workers, enrollments, commitments)
    return DemoData(
        enterprises=enterprises,
        courses=courses,
        workers=workers,
        enrollments=enrollments,
        commitments=commitments,
        referrals=referrals,
        truth=truth,
        enterprise_quality=build.quality_series(),
        config=config,
    )


# ----- reference lists --------------------------------------------------------------------

_FAMILY_NAMES = {
    "Nguyễn": 38, "Trần": 11, "Lê": 9.5, "Phạm": 7, "Hoàng": 5, "Vũ": 4.5, "Phan": 3,
    "Đặng": 2.5, "Bùi": 2.5, "Đỗ": 2.5, "Ngô": 1.5, "Dương": 1, "Đào": 1, "Đinh": 1,
    "Lương": 0.7, "Mai": 0.7, "Trịnh": 0.7, "Lưu": 0.5, "Cao": 0.5, "Tạ": 0.5, "Hà": 0.5,
    "Đoàn": 0.5, "Tô": 0.4, "Chu": 0.4, "Phùng": 0.4,
}  # fmt: skip
_FEMALE_MIDDLE = {
    "Thị": 60, "Thu": 5, "Ngọc": 6, "Thanh": 6, "Minh": 4, "Hồng": 5, "Phương": 4,
    "Khánh": 3, "Hải": 3, "Diệu": 2, "Bảo": 2,
}  # fmt: skip
_FEMALE_GIVEN = (
    "Hoa", "Lan", "Hương", "Hằng", "Linh", "Trang", "Thảo", "Huyền", "Nga", "Mai", "Hà",
    "Phương", "Ngọc", "Yến", "Dung", "Thúy", "Hạnh", "Nhung", "Loan", "Quỳnh", "Vân", "Anh",
    "Giang", "Nhàn", "Hiền", "Oanh", "Thơm", "Liên", "Huệ", "Xuân", "Duyên", "Ly", "Chi",
    "Vy", "Nhi", "Trâm",
)  # fmt: skip
_MALE_MIDDLE = {
    "Văn": 50, "Đức": 8, "Minh": 7, "Quang": 6, "Hữu": 5, "Công": 5, "Xuân": 4, "Đình": 5,
    "Tiến": 3, "Thành": 3, "Mạnh": 2, "Ngọc": 2,
}  # fmt: skip
_MALE_GIVEN = (
    "Hùng", "Dũng", "Tuấn", "Nam", "Long", "Hải", "Sơn", "Thắng", "Cường", "Hoàng", "Huy",
    "Đức", "Minh", "Tùng", "Phong", "Quân", "Kiên", "Trung", "Hiếu", "Tâm", "Thành", "Vinh",
    "Tú", "Khánh", "Bình", "Toàn", "Lâm", "Hưng", "Đạt", "Phúc", "Việt", "An", "Duy", "Quý",
    "Thịnh", "Sang",
)  # fmt: skip

# Vietnamese mobile prefixes (Viettel, Vinaphone, MobiFone, Vietnamobile, Gmobile).
_MOBILE_PREFIXES = (
    "086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039",
    "088", "091", "094", "081", "082", "083", "084", "085", "089", "090", "093", "070",
    "076", "077", "078", "079", "092", "056", "058", "099", "059",
)  # fmt: skip

_BRAND_WORDS = (
    "Hưng Phát", "Minh Anh", "Thành Công", "Phúc Lộc", "Tân Tiến", "Hòa Bình", "Sao Mai",
    "Bình Minh", "Hồng Hà", "Kim Long", "Thành Đạt", "Vạn Xuân", "Trường Thịnh", "An Khang",
    "Phú Cường", "Nam Việt", "Đại Dương", "Việt Hưng", "Hưng Thịnh", "Quang Minh",
    "Thiên Phú", "Đông Á", "Hải Âu", "Phương Đông", "Tiến Đạt", "Ngọc Lan", "Thăng Long",
    "Phố Nối", "Hưng Long", "Thái Hà", "Toàn Thắng", "Đức Thành", "Hoàng Gia", "Minh Khang",
    "Gia Bảo", "An Bình", "Lạc Hồng", "Kim Ngân", "Hồng Phúc", "Sông Hồng",
)  # fmt: skip

_PARK_NAME_TEMPLATES = {
    "garment": ("Công ty TNHH May {b}", "Công ty CP May {b}", "Công ty TNHH Thời trang {b}"),
    "electronics": (
        "Công ty TNHH Điện tử {b}",
        "Công ty CP Linh kiện điện tử {b}",
        "Công ty TNHH Công nghệ {b}",
    ),
    "electrical": (
        "Công ty TNHH Thiết bị điện {b}",
        "Công ty CP Dây và cáp điện {b}",
        "Công ty TNHH Cơ điện {b}",
    ),
    "textile": ("Công ty TNHH Dệt {b}", "Công ty CP Sợi {b}", "Công ty TNHH Dệt kim {b}"),
    "carpentry": ("Công ty TNHH Đồ gỗ {b}",),
    "handicraft": ("Công ty TNHH Thủ công mỹ nghệ {b}",),
}
_CRAFT_NAME_TEMPLATES = {
    "handicraft": (
        "HTX Mây tre đan {c}",
        "HTX Thủ công mỹ nghệ {c}",
        "Tổ hợp tác Thêu ren {c}",
        "Cơ sở Chiếu cói {c}",
    ),
    "textile": ("HTX Dệt {c}", "Cơ sở Dệt khăn {c}"),
    "carpentry": ("Cơ sở Mộc mỹ nghệ {c}", "HTX Đồ gỗ {c}", "Xưởng mộc {c}"),
}
_SECTORS = {
    "garment": "May mặc",
    "electronics": "Điện tử",
    "electrical": "Thiết bị điện",
    "textile": "Dệt",
    "carpentry": "Mộc, đồ gỗ",
    "handicraft": "Thủ công mỹ nghệ",
}
# Seasons and trends of demand (places committed, by the month they start). Factory hiring
# peaks after Tết (late January or February), when about 10 % of workers switch jobs
# (FACTS.md), and again before the autumn export season; craft workshops hire before Tết for
# the holiday trade. Multipliers for January..December, mean 1.
_FACTORY_SEASON = (0.55, 1.45, 1.65, 1.15, 0.9, 0.85, 0.9, 1.15, 1.2, 0.95, 0.75, 0.5)
_CRAFT_SEASON = (0.6, 0.7, 0.9, 0.9, 0.85, 0.85, 0.9, 1.05, 1.25, 1.45, 1.4, 1.1)
_SEASON = {
    "garment": _FACTORY_SEASON,
    "electronics": _FACTORY_SEASON,
    "electrical": _FACTORY_SEASON,
    "textile": _FACTORY_SEASON,
    "carpentry": _CRAFT_SEASON,
    "handicraft": _CRAFT_SEASON,
}
# Yearly growth of demand (log scale): electronics expanding, garment and crafts easing.
_TRADE_GROWTH = {
    "electronics": 0.10,
    "electrical": 0.04,
    "garment": -0.03,
    "textile": -0.05,
    "carpentry": 0.0,
    "handicraft": -0.06,
}
# Former districts whose parks are filling up, with their yearly growth (log scale).
_AREA_GROWTH = {
    "Huyện Yên Mỹ": 0.06,
    "Thị xã Mỹ Hào": 0.05,
    "Huyện Văn Lâm": 0.03,
    "Thành phố Thái Bình": 0.04,
    "Huyện Tiền Hải": 0.08,
    "Huyện Quỳnh Phụ": 0.05,
}
# When courses start: elementary courses are timed so graduates are ready for the peaks.
_COURSE_SEASON = (0.7, 0.8, 0.9, 1.0, 1.4, 1.3, 0.8, 0.8, 1.0, 1.5, 1.3, 0.5)


def _month_of(days: np.ndarray) -> np.ndarray:
    """Return the month (0 = January) of each day number."""
    return (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)) % 12


_CRAFT_TRADES = {"handicraft": 0.5, "textile": 0.25, "carpentry": 0.25}
# A second trade an enterprise sometimes hires for (maintenance electricians and the like).
_SECONDARY_TRADE = {
    "garment": "electrical",
    "textile": "electrical",
    "electronics": "electrical",
    "electrical": "electronics",
    "carpentry": "carpentry",
    "handicraft": "handicraft",
}

_COURSE_TITLES = {
    "garment": ("May công nghiệp",),
    "electrical": ("Điện công nghiệp", "Điện dân dụng"),
    "electronics": ("Điện tử công nghiệp", "Lắp ráp điện tử"),
    "textile": ("Công nghệ sợi, dệt",),
    "carpentry": ("Mộc dân dụng",),
    "handicraft": ("Mây tre đan", "Thêu ren"),
}
_LEVEL_TITLES = {"elementary": "Sơ cấp", "intermediate": "Trung cấp", "college": "Cao đẳng"}
_PROVIDER_TRADES = {
    "centre": {
        "garment": 0.3,
        "electrical": 0.3,
        "handicraft": 0.12,
        "carpentry": 0.08,
        "textile": 0.05,
        "electronics": 0.15,
    },
    "school": {
        "electrical": 0.3,
        "electronics": 0.35,
        "garment": 0.2,
        "textile": 0.1,
        "carpentry": 0.05,
    },
}
_PROVIDER_WEIGHT = {"college": 2.0, "school": 1.5, "centre": 1.0}

# Worker trade preferences by (latent) sex: about 80 % of garment trainees are women.
_TRADE_PREFERENCE = {
    "female": {
        "garment": 0.42,
        "electrical": 0.04,
        "electronics": 0.28,
        "textile": 0.10,
        "carpentry": 0.04,
        "handicraft": 0.12,
    },
    "male": {
        "garment": 0.10,
        "electrical": 0.38,
        "electronics": 0.22,
        "textile": 0.05,
        "carpentry": 0.15,
        "handicraft": 0.10,
    },
}
_EDUCATION_MIX = {
    "none": 0.01,
    "primary": 0.05,
    "lower_secondary": 0.36,
    "upper_secondary": 0.40,
    "elementary_vocational": 0.06,
    "intermediate_vocational": 0.06,
    "college": 0.03,
    "university": 0.01,
    "": 0.02,
}
_EDUCATION_ORDER = tuple(code for code in EDUCATION_CODES if code != "unspecified")
_EXPECTED_WAGE_VND = {
    "garment": 6_500_000,
    "electrical": 8_000_000,
    "electronics": 7_500_000,
    "textile": 6_000_000,
    "carpentry": 7_000_000,
    "handicraft": 5_000_000,
}
# Offered wages (million VND per month) by trade: ranges drawn uniformly.
_WAGE_RANGES_M = {
    "garment": ((4.5, 6.0), (7.5, 10.0)),  # new workers; typical with overtime
    "electronics": ((7.0, 10.0),),
    "electrical": ((7.5, 10.5),),
    "textile": ((5.5, 8.5),),
    "carpentry": ((6.5, 10.0),),
    "handicraft": ((4.0, 7.0),),
}
_REGION_WAGE_FACTOR = np.array([0.0, 1.05, 1.0, 0.93, 0.87])
# Natural leaving rates per year (garment about 20 %, FACTS.md).
_LEAVING_RATE = {
    "garment": 0.20,
    "electrical": 0.12,
    "electronics": 0.18,
    "textile": 0.20,
    "carpentry": 0.15,
    "handicraft": 0.25,
}
_MIN_EDUCATION_MIX = {
    "garment": {"primary": 0.1, "lower_secondary": 0.8, "upper_secondary": 0.1},
    "textile": {"primary": 0.1, "lower_secondary": 0.8, "upper_secondary": 0.1},
    "handicraft": {"primary": 0.3, "lower_secondary": 0.7},
    "carpentry": {"primary": 0.2, "lower_secondary": 0.8},
    "electronics": {
        "lower_secondary": 0.4,
        "upper_secondary": 0.5,
        "elementary_vocational": 0.1,
    },
    "electrical": {
        "lower_secondary": 0.1,
        "upper_secondary": 0.35,
        "elementary_vocational": 0.35,
        "intermediate_vocational": 0.2,
    },
}

# Referral generation.
_REFERRAL_KERNEL_KM = 12.0
_ENROLMENT_KERNEL_KM = 15.0
_LINK_KERNEL_KM = 25.0
_OFF_TRADE_WEIGHT = 0.04
_NOISE_SHARE = 0.15
_LINKED_REFERRAL_SHARE = 0.7
_FREE_TEXT_SHARE = 0.10
_ADDRESS_SHARE = 0.05


def _choice_arrays(mix: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array(list(mix), dtype=object)
    weights = np.array(list(mix.values()), dtype=float)
    return keys, weights / weights.sum()


def _to_days(value: dt.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def _iso(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Format day numbers as ISO dates, "" where ``missing``."""
    days = np.asarray(days, dtype=np.int64)
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)
    if missing is not None:
        text[np.asarray(missing, dtype=bool)] = ""
    return text


def _km_to_degrees(lat: np.ndarray, north_km: np.ndarray, east_km: np.ndarray):
    dlat = north_km / 111.32
    dlon = east_km / (111.32 * np.cos(np.radians(lat)))
    return dlat, dlon


def _fmt_coordinate(values: np.ndarray) -> np.ndarray:
    return np.array([f"{v:.5f}" for v in values], dtype=object)


def _fmt_number(values: np.ndarray) -> np.ndarray:
    """Format numbers as a caseworker would type them: "3", "2.5"."""
    return np.array([f"{v:g}" for v in values], dtype=object)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass
class _Wards:
    code: np.ndarray
    name: np.ndarray
    short_name: np.ndarray
    kind: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    former: list[tuple[str, ...]]
    region: np.ndarray
    province_name: str
    distance_km: np.ndarray

    @property
    def rural(self) -> np.ndarray:
        return self.kind != "Phường"

    def index_of(self, code: str) -> int:
        return int(np.flatnonzero(self.code == code)[0])


class _Builder:
    """Generate the frames one kind at a time, keeping the arrays later kinds need."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.gazetteer = load_gazetteer()
        self.taxonomy = load_taxonomy()
        self.today = _to_days(config.today)
        self.history_start = _to_days(config.history_start)
        wards = self.gazetteer.wards(config.province_code)
        if not wards:
            raise ValueError(f"province {config.province_code!r} has no wards")
        lat = np.array([w.lat for w in wards])
        lon = np.array([w.lon for w in wards])
        codes = np.array([w.code for w in wards], dtype=object)
        self.wards = _Wards(
            code=codes,
            name=np.array([w.name for w in wards], dtype=object),
            short_name=np.array([w.short_name for w in wards], dtype=object),
            kind=np.array([w.kind for w in wards], dtype=object),
            lat=lat,
            lon=lon,
            former=[w.former_districts for w in wards],
            region=regions_of_wards(codes, self.gazetteer, default=3).astype(np.intp),
            province_name=wards[0].province_name,
            distance_km=haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]),
        )
        self.trade_skills = {t: self.taxonomy.skills(t) for t in TRADE_CODES}

    def rng(self, stream: str) -> np.random.Generator:
        """Return an independent generator per stream, so one kind's size never shifts another's."""
        return np.random.default_rng([self.config.seed, zlib.crc32(stream.encode())])

    # ----- enterprises --------------------------------------------------------------------

    def enterprises(self) -> pd.DataFrame:
        cfg, wards = self.config, self.wards
        rng = self.rng("enterprises")
        parks = self._parks()
        n = cfg.n_enterprises
        n_craft = int(round(n * 0.25)) if n >= 4 else 0
        n_park = n - n_craft
        rows: list[dict[str, str]] = []
        used_names: set[str] = set()
        used_tax: set[str] = set()
        trade = np.empty(n, dtype=object)
        site_lat = np.empty(n)
        site_lon = np.empty(n)
        site_ward = np.empty(n, dtype=np.intp)
        is_park = np.zeros(n, dtype=bool)
        park_weights = np.array([p[3] for p in parks], dtype=float)
        park_weights /= park_weights.sum()
        rural = np.flatnonzero(wards.rural) if wards.rural.any() else np.arange(len(wards.code))
        for i in range(n):
            external_id = f"DN{i + 1:05d}"
            if i < n_park:
                name_park, ward_index, (park_lat, park_lon), _, mix = parks[
                    rng.choice(len(parks), p=park_weights)
                ]
                keys, weights = _choice_arrays(mix)
                trade[i] = str(rng.choice(keys, p=weights))
                jitter = rng.normal(0.0, 0.4, size=2)
                dlat, dlon = _km_to_degrees(park_lat, jitter[0], jitter[1])
                site_lat[i], site_lon[i] = park_lat + dlat, park_lon + dlon
                site_ward[i] = ward_index
                is_park[i] = True
                name = self._unique_name(
                    rng, _PARK_NAME_TEMPLATES[trade[i]], "b", _BRAND_WORDS, used_names
                )
                lot = f"Lô {'ABCDEFGH'[rng.integers(8)]}{rng.integers(1, 30)}"
                address = f"{lot}, KCN {name_park}, {wards.name[ward_index]}, " + _lower_first(
                    wards.province_name
                )
                lat_text, lon_text = f"{site_lat[i]:.5f}", f"{site_lon[i]:.5f}"
                phone = self._landline(rng, ward_index)
            else:
                keys, weights = _choice_arrays(_CRAFT_TRADES)
                trade[i] = str(rng.choice(keys, p=weights))
                ward_index = int(rng.choice(rural))
                site_lat[i], site_lon[i] = wards.lat[ward_index], wards.lon[ward_index]
                site_ward[i] = ward_index
                name = self._unique_name(
                    rng,
                    _CRAFT_NAME_TEMPLATES[trade[i]],
                    "c",
                    (wards.short_name[ward_index],),
                    used_names,
                )
                address, lat_text, lon_text = "", "", ""
                prefix = _MOBILE_PREFIXES[rng.integers(len(_MOBILE_PREFIXES))]
                phone = f"{prefix}{rng.integers(10_000_000):07d}"
            tax_code = self._tax_code(rng, ward_index, used_tax)
            email = ""
            if rng.random() < 0.75:
                slug = fold(name.split(" ", 3)[-1] if name.startswith("Công ty") else name)
                domain = "gmail.com" if not is_park[i] else slug.replace(" ", "") + ".com.vn"
                local = "tuyendung" if is_park[i] else slug.replace(" ", "")
                email = f"{local}@{domain}"
            if rng.random() < 0.1:
                phone = ""
            rows.append(
                {
                    "external_id": external_id,
                    "name": name,
                    "tax_code": tax_code,
                    "ward_code": str(wards.code[site_ward[i]]),
                    "address": address,
                    "lat": lat_text,
                    "lon": lon_text,
                    "sector": _SECTORS[trade[i]],
                    "contact_email": email,
                    "contact_phone": phone,
                }
            )
        self.ent_ids = np.array([r["external_id"] for r in rows], dtype=object)
        self.ent_trade = trade
        self.ent_lat, self.ent_lon, self.ent_ward = site_lat, site_lon, site_ward
        self.ent_is_park = is_park
        self.ent_quality = np.round(self.rng("enterprise_quality").normal(0.0, 0.5, size=n), 4)
        return pd.DataFrame(rows, columns=list(COLUMNS["enterprises"]))

    def _demand_intensity(
        self, days: np.ndarray, trades: np.ndarray, ward_index: np.ndarray
    ) -> np.ndarray:
        """Return the relative intensity (rows: enterprises, columns: days), 1 at ``today``."""
        years = (days - self.today) / 365.25
        month = _month_of(days)
        growth = np.array(
            [
                _TRADE_GROWTH[str(t)]
                + _AREA_GROWTH.get(
                    self.wards.former[int(w)][0] if self.wards.former[int(w)] else "", 0.0
                )
                for t, w in zip(trades, ward_index, strict=True)
            ]
        )
        season = np.array([_SEASON[str(t)] for t in trades])[:, month]
        return np.exp(growth[:, None] * years[None, :]) * season

    def quality_series(self) -> pd.Series:
        return pd.Series(
            self.ent_quality,
            index=pd.Index(self.ent_ids, name="enterprise_external_id"),
            name="enterprise_quality",
        )

    def _parks(self) -> list[tuple[str, int, tuple[float, float], float, Mapping[str, float]]]:
        """Return (name, ward index, centre, weight, trade mix) of the province's parks."""
        wards = self.wards
        parks = []
        for park in PARKS_BY_PROVINCE.get(self.config.province_code, ()):
            match = self.gazetteer.resolve_address(park.legacy_address)
            if match is None or match.ward.code not in set(wards.code):
                raise ValueError(f"park {park.name}: cannot place {park.legacy_address!r}")
            index = wards.index_of(match.ward.code)
            dlat, dlon = _km_to_degrees(wards.lat[index], *park.offset_km)
            centre = (float(wards.lat[index] + dlat), float(wards.lon[index] + dlon))
            parks.append((park.name, index, centre, park.weight, park.trade_mix))
        if parks:
            return parks
        # Elsewhere: an industrial cluster beside each ward (phường), or a few communes.
        urban = np.flatnonzero(~wards.rural)
        if not len(urban):
            urban = np.arange(min(5, len(wards.code)))
        mix = {"garment": 0.4, "electronics": 0.3, "electrical": 0.3}
        return [
            (
                f"{wards.short_name[i]}",
                int(i),
                (float(wards.lat[i]) + 0.01, float(wards.lon[i]) + 0.01),
                1.0,
                mix,
            )
            for i in urban
        ]

    @staticmethod
    def _unique_name(
        rng: np.random.Generator,
        templates: tuple[str, ...],
        slot: str,
        words: tuple[str, ...],
        used: set[str],
    ) -> str:
        for _attempt in range(12):
            template = templates[rng.integers(len(templates))]
            name = template.format(**{slot: words[rng.integers(len(words))]})
            if name not in used:
                used.add(name)
                return name
        number = 2
        while f"{name} {number}" in used:
            number += 1
        name = f"{name} {number}"
        used.add(name)
        return name

    def _landline(self, rng: np.random.Generator, ward_index: int) -> str:
        # Area codes: 0221 for old Hưng Yên, 0227 for old Thái Bình.
        area = "0227" if self._ex_thai_binh(ward_index) else "0221"
        return f"{area}3{rng.integers(1_000_000):06d}"

    def _ex_thai_binh(self, ward_index: int) -> bool:
        former = self.wards.former[ward_index]
        districts = {
            "thai binh",
            "dong hung",
            "hung ha",
            "kien xuong",
            "quynh phu",
            "thai thuy",
            "tien hai",
            "vu thu",
        }
        if not former:
            return False
        name = fold(former[0])
        for prefix in ("thanh pho ", "huyen ", "thi xa "):
            name = name.removeprefix(prefix)
        return name in districts

    def _tax_code(self, rng: np.random.Generator, ward_index: int, used: set[str]) -> str:
        prefix = "10" if self._ex_thai_binh(ward_index) else "09"
        while True:
            code = f"{prefix}{rng.integers(100_000_000):08d}"
            if rng.random() < 0.05:
                code += "-001"
            if code[:10] not in used:
                used.add(code[:10])
                return code

    # ----- courses ------------------------------------------------------------------------

    def _providers(self) -> list[tuple[str, str, int]]:
        """Return (name, kind, ward index) of training providers: schools and centres."""
        wards = self.wards
        providers = []
        school_names = (
            "Trường Cao đẳng Công nghiệp {s}",
            "Trường Trung cấp Kinh tế - Kỹ thuật {s}",
            "Trường Cao đẳng Kỹ thuật {s}",
            "Trường Trung cấp nghề {s}",
        )
        for number, i in enumerate(np.flatnonzero(~wards.rural)):
            template = school_names[number % len(school_names)]
            kind = "college" if "Cao đẳng" in template else "school"
            providers.append((template.format(s=wards.short_name[i]), kind, int(i)))
        # One continuing-education centre per former district, in its namesake commune.
        seen: dict[str, int] = {}
        for i, former in enumerate(wards.former):
            if not former:
                continue
            district = former[0].split(" (")[0]
            short = district
            for prefix in ("Thành phố ", "Huyện ", "Thị xã ", "Quận "):
                short = short.removeprefix(prefix)
            namesake = fold(wards.short_name[i]) == fold(short)
            if district not in seen or namesake:
                seen[district] = i
        for district, i in seen.items():
            short = district
            for prefix in ("Huyện ", "Thị xã ", "Quận "):
                short = short.removeprefix(prefix)
            providers.append((f"Trung tâm GDNN-GDTX {short}", "centre", int(i)))
        if not providers:
            providers.append((f"Trung tâm GDNN {wards.short_name[0]}", "centre", 0))
        return providers

    def courses(self) -> pd.DataFrame:
        cfg = self.config
        rng = self.rng("courses")
        providers = self._providers()
        weights = np.array([_PROVIDER_WEIGHT[kind] for _, kind, _ in providers])
        weights /= weights.sum()
        counters: dict[tuple[int, str], int] = {}
        rows = []
        trade = np.empty(cfg.n_courses, dtype=object)
        start = np.empty(cfg.n_courses, dtype=np.int64)
        end = np.empty(cfg.n_courses, dtype=np.int64)
        ward = np.empty(cfg.n_courses, dtype=np.intp)
        capacity = np.empty(cfg.n_courses, dtype=np.intp)
        levels = np.empty(cfg.n_courses, dtype=object)
        hs, today = self.history_start, self.today
        course_days = np.arange(hs - 180, today + 121)
        course_cdf = np.cumsum(np.asarray(_COURSE_SEASON)[_month_of(course_days)])
        course_cdf /= course_cdf[-1]
        for i in range(cfg.n_courses):
            p = int(rng.choice(len(providers), p=weights))
            provider, kind, ward_index = providers[p]
            mix = _PROVIDER_TRADES["centre" if kind == "centre" else "school"]
            keys, trade_weights = _choice_arrays(mix)
            trade[i] = str(rng.choice(keys, p=trade_weights))
            if kind == "centre":
                level = "elementary"
            elif kind == "school":
                level = "elementary" if rng.random() < 0.75 else "intermediate"
            else:
                level = str(
                    rng.choice(["elementary", "intermediate", "college"], p=[0.5, 0.35, 0.15])
                )
                if level == "college" and trade[i] not in ("electrical", "electronics"):
                    level = "intermediate"
            if level == "elementary":
                start[i] = course_days[
                    min(int(np.searchsorted(course_cdf, rng.random())), len(course_days) - 1)
                ]
                duration = int(rng.integers(75, 90))
                cap = int(rng.choice([20, 25, 30, 35]))
            elif level == "intermediate":
                start[i] = rng.integers(hs - 700, today + 91)
                duration = int(rng.choice([365, 540, 730]))
                cap = int(rng.choice([25, 30, 35, 40, 45]))
            else:
                start[i] = rng.integers(hs - 1000, today + 61)
                duration = int(rng.choice([730, 912, 1095]))
                cap = int(rng.choice([30, 35, 40, 45, 50]))
            end[i] = start[i] + duration
            ward[i], capacity[i], levels[i] = ward_index, cap, level
            titles = _COURSE_TITLES[trade[i]]
            title = titles[0] if kind != "centre" or len(titles) == 1 else titles[-1]
            if trade[i] == "electrical" and kind == "centre":
                title = "Điện dân dụng"
            counters[(p, trade[i])] = counters.get((p, trade[i]), 0) + 1
            year = np.datetime64(int(start[i]), "D").astype(object).year
            name = f"{_LEVEL_TITLES[level]} {title} K{counters[(p, trade[i])]}/{year}"
            rows.append(
                {
                    "external_id": f"KH{i + 1:05d}",
                    "name": name,
                    "trade": trade[i],
                    "provider": provider,
                    "ward_code": str(self.wards.code[ward_index]),
                    "address": "",
                    "lat": "",
                    "lon": "",
                    "level": level,
                    "start_date": "",
                    "end_date": "",
                    "capacity": str(cap),
                }
            )
        frame = pd.DataFrame(rows, columns=list(COLUMNS["courses"]))
        frame["start_date"] = _iso(start)
        frame["end_date"] = _iso(end)
        self.course_ids = frame["external_id"].to_numpy(dtype=object)
        self.course_trade = _trade_indices(trade)
        self.course_start, self.course_end = start, end
        self.course_ward, self.course_capacity = ward, capacity
        self.course_level = levels
        return frame

    # ----- workers ------------------------------------------------------------------------

    def workers(self) -> None:
        cfg, wards = self.config, self.wards
        rng = self.rng("workers")
        n = cfg.n_workers
        # Home: every commune, more people in rural communes (88 % of the employed, FACTS.md).
        ward_weight = np.where(wards.rural, 1.0, 0.6) * rng.lognormal(0.0, 0.35, len(wards.code))
        ward_weight /= ward_weight.sum()
        self.w_ward = rng.choice(len(wards.code), size=n, p=ward_weight)

        # Gender as stated (protected, optional), and a latent sex for names and trade choice.
        gender_keys, gender_p = _choice_arrays(
            {"female": 0.55, "male": 0.398, "other": 0.002, "unspecified": 0.01, "": 0.04}
        )
        gender = rng.choice(gender_keys, size=n, p=gender_p)
        female = np.where(
            gender == "female",
            True,
            np.where(gender == "male", False, rng.random(n) < 0.58),
        )
        self.w_gender, self.w_female = gender, female

        # Trades: one, sometimes two (top two of Gumbel-perturbed preferences), a few none.
        pref = np.array(
            [
                [_TRADE_PREFERENCE["female" if f else "male"][t] for t in TRADE_CODES]
                for f in (False, True)
            ]
        )
        keys = np.log(pref[female.astype(int)]) + rng.gumbel(size=(n, len(TRADE_CODES)))
        order = np.argsort(-keys, axis=1)
        first, second = order[:, 0], order[:, 1]
        bits = np.left_shift(1, first).astype(np.int64)
        two = rng.random(n) < 0.3
        bits[two] |= np.left_shift(1, second[two])
        none = rng.random(n) < 0.04
        bits[none] = 0
        self.w_trades, self.w_primary = bits, np.where(none, -1, first)
        self.w_second = np.where(two & ~none, second, -1)

        # Age 18–60, most under 35 (rural workers retrain into their fifties too).
        age_group = rng.choice(3, size=n, p=[0.55, 0.3, 0.15])
        low = np.array([18, 30, 42])[age_group]
        high = np.array([30, 42, 61])[age_group]
        age = rng.integers(low, high)
        self.w_birth_year = cfg.today.year - age

        # Registration (hidden): a third were on the books before the history began.
        backlog = rng.random(n) < 0.35
        registered = np.where(
            backlog,
            rng.integers(self.history_start - 365, self.history_start, size=n),
            rng.integers(self.history_start, self.today - 6, size=n),
        )
        # Nobody is registered or trained before the year they turn 16 (taken as 1 July).
        sixteen = (self.w_birth_year + 16 - 1970).astype("datetime64[Y]").astype("datetime64[D]")
        self.w_sixteen = sixteen.astype(np.int64) + 181
        self.w_registered = np.maximum(registered, self.w_sixteen)

        education_keys, education_p = _choice_arrays(_EDUCATION_MIX)
        self.w_education = rng.choice(education_keys, size=n, p=education_p).astype(object)
        experienced = rng.random(n) < 0.55
        experience = np.where(experienced, np.round(rng.gamma(1.5, 2.5, size=n) * 2) / 2, 0.0)
        self.w_experience = np.minimum(experience, np.maximum(age - 16, 0)).astype(float)
        self.w_experience_missing = rng.random(n) < 0.1

        base = np.array([_EXPECTED_WAGE_VND[t] for t in TRADE_CODES] + [6_000_000])
        expected = (
            base[self.w_primary]
            * (1 + 0.05 * np.minimum(self.w_experience, 10))
            * rng.lognormal(0.0, 0.15, size=n)
        )
        self.w_expected = (np.round(expected / 100_000) * 100_000).astype(np.int64)
        self.w_expected_missing = rng.random(n) < 0.2
        self.w_commute = rng.choice(
            [10, 15, 20, 25, 30, 35, 40], size=n, p=[0.12, 0.18, 0.2, 0.15, 0.15, 0.08, 0.12]
        )
        self.w_commute_missing = rng.random(n) < 0.1
        self.w_ethnic = np.where(
            rng.random(n) < 0.2, "", np.where(rng.random(n) < 0.015, "true", "false")
        )
        self.w_disability = np.where(
            rng.random(n) < 0.2, "", np.where(rng.random(n) < 0.02, "true", "false")
        )
        self.w_names = self._names(rng, female)
        self.w_phone = self._phones(rng, n)
        self.w_available_missing = rng.random(n) < 0.12
        self.w_available_jitter = rng.integers(0, 22, size=n)
        self.w_address_draw = rng.random(n)
        self.w_activity = rng.lognormal(0.0, 0.6, size=n) * np.where(bits == 0, 0.3, 1.0)
        self.w_ids = np.array([f"NLD{i + 1:06d}" for i in range(n)], dtype=object)

    @staticmethod
    def _names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
        n = len(female)
        family_keys, family_p = _choice_arrays(_FAMILY_NAMES)
        fm_keys, fm_p = _choice_arrays(_FEMALE_MIDDLE)
        mm_keys, mm_p = _choice_arrays(_MALE_MIDDLE)
        family = rng.choice(family_keys, size=n, p=family_p)
        middle = np.where(
            female, rng.choice(fm_keys, size=n, p=fm_p), rng.choice(mm_keys, size=n, p=mm_p)
        )
        given = np.where(
            female,
            np.array(_FEMALE_GIVEN, dtype=object)[rng.integers(len(_FEMALE_GIVEN), size=n)],
            np.array(_MALE_GIVEN, dtype=object)[rng.integers(len(_MALE_GIVEN), size=n)],
        )
        return (
            pd.Series(family, dtype=object)
            + " "
            + pd.Series(middle, dtype=object)
            + " "
            + pd.Series(given, dtype=object)
        ).to_numpy(dtype=object)

    @staticmethod
    def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
        """Return unique mobile numbers, 8 % missing, 10 % written +84."""
        space = len(_MOBILE_PREFIXES) * 10_000_000
        numbers = rng.integers(space, size=n)
        for _ in range(20):
            _, first = np.unique(numbers, return_index=True)
            duplicate = np.ones(n, dtype=bool)
            duplicate[first] = False
            if not duplicate.any():
                break
            numbers[duplicate] = rng.integers(space, size=int(duplicate.sum()))
        prefix = np.array(_MOBILE_PREFIXES, dtype=object)[numbers // 10_000_000]
        rest = np.char.zfill((numbers % 10_000_000).astype(str), 7).astype(object)
        national = prefix + rest
        international = "+84" + pd.Series(national, dtype=object).str[1:].to_numpy(dtype=object)
        style = rng.random(n)
        return np.where(style < 0.08, "", np.where(style < 0.18, international, national))

    # ----- enrollments --------------------------------------------------------------------

    def enrollments(self) -> pd.DataFrame:
        rng = self.rng("enrollments")
        n = self.config.n_workers
        today = self.today
        busy_until = np.full(n, np.iinfo(np.int64).min // 2, dtype=np.int64)
        graduated_trades = np.zeros(n, dtype=np.int64)
        kernel = np.exp(-self.wards.distance_km / _ENROLMENT_KERNEL_KM)
        sixteen = self.w_sixteen
        records: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
        latest_status = np.full(n, "", dtype=object)
        latest_done = np.full(n, -1, dtype=np.int64)
        latest_end = np.full(n, -1, dtype=np.int64)
        for course in np.argsort(self.course_start, kind="stable"):
            start, end = int(self.course_start[course]), int(self.course_end[course])
            trade_bit = 1 << int(self.course_trade[course])
            candidates = np.flatnonzero(
                ((self.w_trades & trade_bit) != 0)
                & (busy_until < start)
                & ((graduated_trades & trade_bit) == 0)
                & (sixteen <= start)
            )
            fill = rng.uniform(0.65, 1.0) if start <= today else rng.uniform(0.3, 0.8)
            size = min(int(round(self.course_capacity[course] * fill)), len(candidates))
            keys = np.log(kernel[self.course_ward[course], self.w_ward[candidates]])
            keys = keys + rng.gumbel(size=len(candidates))
            if size <= 0:
                continue
            if size < len(candidates):
                top = np.argpartition(-keys, size - 1)[:size]
            else:
                top = np.arange(len(candidates))
            chosen = np.sort(candidates[top])
            status = np.full(size, "enrolled", dtype=object)
            done = np.full(size, -1, dtype=np.int64)
            draw = rng.random(size)
            if end <= today:
                dropped = draw < 0.12
                status[:] = "graduated"
                done[:] = end
                status[dropped] = "dropped"
                span = rng.uniform(0.15, 0.85, size=size)
                done[dropped] = start + (span[dropped] * (end - start)).astype(np.int64)
            elif start <= today:
                elapsed = (today - start) / max(end - start, 1)
                dropped = draw < 0.06 * elapsed
                status[dropped] = "dropped"
                done[dropped] = rng.integers(start, today + 1, size=int(dropped.sum()))
            busy_until[chosen] = np.where(done >= 0, done, end)
            grad = status == "graduated"
            graduated_trades[chosen[grad]] |= trade_bit
            lead = rng.integers(7, 61, size=size)
            self.w_registered[chosen] = np.maximum(
                np.minimum(self.w_registered[chosen], start - lead), sixteen[chosen]
            )
            latest_status[chosen] = status
            latest_done[chosen] = done
            latest_end[chosen] = end
            records.append((chosen, int(course), status, done))
        self.w_graduated_trades = graduated_trades
        self.w_latest = (latest_status, latest_done, latest_end)
        if records:
            worker = np.concatenate([r[0] for r in records])
            course = np.concatenate([np.full(len(r[0]), r[1]) for r in records])
            status = np.concatenate([r[2] for r in records])
            done = np.concatenate([r[3] for r in records])
        else:
            worker = course = done = np.zeros(0, dtype=np.int64)
            status = np.zeros(0, dtype=object)
        self.enr_worker, self.enr_course, self.enr_status = worker, course, status
        order = np.lexsort((self.course_ids[course], self.w_ids[worker]))
        return pd.DataFrame(
            {
                "worker_external_id": self.w_ids[worker][order],
                "course_external_id": self.course_ids[course][order],
                "status": status[order],
                "completed_on": _iso(np.maximum(done, 0), done < 0)[order],
            },
            columns=list(COLUMNS["enrollments"]),
        )

    def finish_workers(self) -> None:
        """Apply what training changed: education, skills, availability and address."""
        rng = self.rng("workers_after_training")
        n = self.config.n_workers
        # Education: a certificate raises the stated level (never lowers it).
        rank = {code: i for i, code in enumerate(_EDUCATION_ORDER)}
        level_rank = {"elementary": rank["elementary_vocational"],
                      "intermediate": rank["intermediate_vocational"],
                      "college": rank["college"]}  # fmt: skip
        course_level = self.course_level
        graduated = self.enr_status == "graduated"
        current = np.array([rank.get(e, -1) for e in self.w_education])
        reached = np.full(n, -1)
        if graduated.any():
            levels = np.array(
                [level_rank[course_level[c]] for c in self.enr_course[graduated]], dtype=int
            )
            np.maximum.at(reached, self.enr_worker[graduated], levels)
        stated = self.w_education != ""
        raise_to = stated & (reached > current)
        self.w_education[raise_to] = np.array(_EDUCATION_ORDER, dtype=object)[reached[raise_to]]

        # Availability: after the course for trainees, from registration otherwise.
        status, done, end = self.w_latest
        jitter = self.w_available_jitter
        available = np.where(
            status == "enrolled",
            end + jitter % 15,
            np.where(status != "", done + jitter, self.w_registered + jitter),
        )
        self.w_available = available

        self.w_skills = self._skills(rng)
        self.w_address = self._addresses(rng)

    # ----- skills -------------------------------------------------------------------------

    def _skills(self, rng: np.random.Generator) -> np.ndarray:
        """Return each worker's skills cell: codes, and free text for about 10 % of workers."""
        n = self.config.n_workers
        worker_parts, code_parts, order_parts = [], [], []
        for t, trade in enumerate(TRADE_CODES):
            skills = self.trade_skills[trade]
            holders = np.flatnonzero((self.w_trades & (1 << t)) != 0)
            if not len(holders) or not skills:
                continue
            experience = self.w_experience[holders]
            count = np.where(
                experience > 0,
                1 + rng.poisson(np.minimum(experience, 10) / 2.5),
                rng.poisson(0.6, size=len(holders)),
            )
            trained = (self.w_graduated_trades[holders] & (1 << t)) != 0
            count = count + np.where(trained, 2 + rng.binomial(2, 0.5, size=len(holders)), 0)
            count = np.minimum(count, min(6, len(skills)))
            weights = np.array(
                [
                    (0.5 if s.code.startswith("common.") else 1.0) / (1 + i / 3)
                    for i, s in enumerate(skills)
                ]
            )
            keys = np.log(weights) + rng.gumbel(size=(len(holders), len(skills)))
            ranking = np.argsort(-keys, axis=1)
            take = np.arange(len(skills))[None, :] < count[:, None]
            rows, cols = np.nonzero(take)
            codes = np.array([s.code for s in skills], dtype=object)
            worker_parts.append(holders[rows])
            code_parts.append(codes[ranking[rows, cols]])
            order_parts.append(t * 100 + cols)
        if not worker_parts:
            return np.full(n, "", dtype=object)
        table = pd.DataFrame(
            {
                "worker": np.concatenate(worker_parts),
                "code": np.concatenate(code_parts),
                "order": np.concatenate(order_parts),
            }
        )
        table = table.sort_values(["worker", "order"], kind="stable")
        table = table.drop_duplicates(["worker", "code"], keep="first").reset_index(drop=True)
        # Free text: some workers wrote their skills in words; the import normalises them.
        free_workers = rng.random(n) < _FREE_TEXT_SHARE
        in_free = free_workers[table["worker"].to_numpy()]
        replace = in_free & (rng.random(len(table)) < 0.6)
        first_of_worker = ~table["worker"].duplicated().to_numpy()
        replace |= in_free & first_of_worker
        item = table["code"].to_numpy(dtype=object).copy()
        picks = rng.random(len(table))
        for i in np.flatnonzero(replace):
            variants = _free_text_variants(self.taxonomy, item[i])
            if variants:
                item[i] = variants[int(picks[i] * len(variants))]
        table["item"] = item
        owner = table["worker"].to_numpy()
        cuts = np.flatnonzero(owner[1:] != owner[:-1]) + 1
        result = np.full(n, "", dtype=object)
        result[owner[np.r_[0, cuts]]] = [";".join(chunk) for chunk in np.split(item, cuts)]
        return result

    # ----- addresses ----------------------------------------------------------------------

    def _addresses(self, rng: np.random.Generator) -> np.ndarray:
        """Give about 5 % of workers an address instead of a ward code, half old-style."""
        n = self.config.n_workers
        address = np.full(n, "", dtype=object)
        chosen = np.flatnonzero(self.w_address_draw < _ADDRESS_SHARE)
        if not len(chosen):
            return address
        current, legacy = _verified_addresses(self.gazetteer, self.config.province_code)
        old_style = rng.random(len(chosen)) < 0.5
        picks = rng.random(len(chosen))
        for k, worker in enumerate(chosen):
            code = str(self.wards.code[self.w_ward[worker]])
            options = legacy.get(code, ()) if old_style[k] else ()
            if not options:
                options = current.get(code, ())
            if options:
                address[worker] = options[int(picks[k] * len(options))]
        return address

    def worker_frame(self) -> pd.DataFrame:
        n = self.config.n_workers
        has_address = self.w_address != ""
        ward_code = np.where(has_address, "", self.wards.code[self.w_ward]).astype(object)
        names = np.array([*TRADE_CODES, ""], dtype=object)
        primary, second = names[self.w_primary], names[self.w_second]
        trades = np.where(second == "", primary, primary + ";" + second).astype(object)
        frame = pd.DataFrame(
            {
                "external_id": self.w_ids,
                "full_name": self.w_names,
                "birth_year": self.w_birth_year.astype(str).astype(object),
                "gender": self.w_gender.astype(object),
                "ethnic_minority": self.w_ethnic.astype(object),
                "disability": self.w_disability.astype(object),
                "ward_code": ward_code,
                "address": self.w_address,
                "lat": np.full(n, "", dtype=object),
                "lon": np.full(n, "", dtype=object),
                "phone": self.w_phone.astype(object),
                "education": self.w_education,
                "trades": trades,
                "skills": self.w_skills,
                "experience_years": np.where(
                    self.w_experience_missing, "", _fmt_number(self.w_experience)
                ).astype(object),
                "expected_wage_vnd": np.where(
                    self.w_expected_missing, "", self.w_expected.astype(str)
                ).astype(object),
                "max_commute_km": np.where(
                    self.w_commute_missing, "", self.w_commute.astype(str)
                ).astype(object),
                "available_from": _iso(self.w_available, self.w_available_missing),
                # Each worker consented when registered (the caseworker's paper form).
                "consent_on": _iso(np.minimum(self.w_registered, self.today)),
            },
            columns=list(COLUMNS["workers"]),
        )
        return frame

    # ----- commitments --------------------------------------------------------------------

    def commitments(self) -> pd.DataFrame:
        cfg, wards = self.config, self.wards
        rng = self.rng("commitments")
        hs, today = self.history_start, self.today
        n_ent = cfg.n_enterprises
        days = np.arange(hs - 40, today + 76)
        # Intensity per enterprise and start day: the trade's and the area's trend times the
        # trade's season. Places are posted 20 to 75 days before they start.
        intensity = self._demand_intensity(days, self.ent_trade, self.ent_ward)
        rate = np.where(self.ent_is_park, 8.0, 4.0)
        # Half the enterprises also posted a commitment in the last six weeks, so there are
        # places open now as well as expired ones. It comes on top of the seasonal ones, so
        # the months just before today are not thinned.
        extra = rng.random(n_ent) < 0.5
        counts = rng.poisson(rate * intensity.sum(axis=1) / 365.25) + extra
        owner = np.repeat(np.arange(n_ent), counts)
        m = len(owner)
        fresh = np.zeros(m, dtype=bool)
        fresh[np.cumsum(counts)[extra] - 1] = True
        cumulative = np.cumsum(intensity, axis=1)
        cumulative /= cumulative[:, -1:]
        u = rng.random(m)
        start = np.empty(m, dtype=np.int64)
        for e in np.unique(owner):
            rows = np.flatnonzero(owner == e)
            start[rows] = days[np.minimum(np.searchsorted(cumulative[e], u[rows]), len(days) - 1)]
        lead = rng.integers(20, 76, size=m)
        posted = np.where(fresh, rng.integers(today - 45, today + 1, size=m), start - lead)
        start = np.where(fresh, posted + lead, start)

        main = self.ent_trade[owner]
        secondary = np.array([_SECONDARY_TRADE[t] for t in main], dtype=object)
        trade = np.where(rng.random(m) < 0.88, main, secondary)
        trade_index = _trade_indices(trade)
        site_lat, site_lon = self.ent_lat[owner].copy(), self.ent_lon[owner].copy()
        site_ward = self.ent_ward[owner].copy()

        # A few craft commitments are for a satellite workshop in a nearby commune.
        own_ward = np.full(m, "", dtype=object)
        satellite = (~self.ent_is_park[owner]) & (rng.random(m) < 0.05)
        for i in np.flatnonzero(satellite):
            near = np.flatnonzero(
                (wards.distance_km[site_ward[i]] < 15) & (wards.distance_km[site_ward[i]] > 0)
            )
            if len(near):
                j = int(near[rng.integers(len(near))])
                own_ward[i] = wards.code[j]
                site_ward[i], site_lat[i], site_lon[i] = j, wards.lat[j], wards.lon[j]

        # About 40 % hire the graduates of a course of their trade, near their site.
        slots = np.where(
            self.ent_is_park[owner],
            rng.integers(1, 5, size=m) * 5,
            rng.integers(2, 9, size=m),
        )
        linked = np.full(m, -1, dtype=np.intp)
        link_draw = rng.random(m) < 0.4
        link_pick = rng.random(m)
        course_lat = wards.lat[self.course_ward]
        course_lon = wards.lon[self.course_ward]
        for i in np.flatnonzero(link_draw):
            if fresh[i]:
                # Places promised now to a cohort still in training (a train-to-hire
                # pathway): they start when that cohort graduates.
                window = (self.course_end >= posted[i] - 90) & (self.course_end <= posted[i] + 540)
            else:
                # A course whose graduates are ready shortly before the places start.
                window = (self.course_end >= start[i] - 90) & (self.course_end <= start[i] - 7)
            candidates = np.flatnonzero((self.course_trade == trade_index[i]) & window)
            if not len(candidates):
                continue
            distance = haversine_km(
                site_lat[i], site_lon[i], course_lat[candidates], course_lon[candidates]
            )
            weight = np.exp(-distance / _LINK_KERNEL_KM)
            cumulative = np.cumsum(weight) / weight.sum()
            pick = candidates[min(np.searchsorted(cumulative, link_pick[i]), len(candidates) - 1)]
            linked[i] = pick
            if fresh[i]:
                start[i] = max(start[i], self.course_end[pick] + 7 + int(link_pick[i] * 29))
            slots[i] = min(slots[i], self.course_capacity[pick])
        expires = start + rng.integers(45, 151, size=m)
        open_ended = rng.random(m) < 0.15
        close = np.where(open_ended, start + 120, expires)

        # Wages: the trade's going rate, lower in poorer regions, never below the minimum.
        region = wards.region[site_ward]
        wage_m = np.empty(m)
        draw = rng.random(m)
        band = rng.random(m)
        for t, name in enumerate(TRADE_CODES):
            rows = trade_index == t
            ranges = _WAGE_RANGES_M[name]
            if len(ranges) == 2:
                entry = band[rows] < 0.55
                low = np.where(entry, ranges[0][0], ranges[1][0])
                high = np.where(entry, ranges[0][1], ranges[1][1])
            else:
                low, high = ranges[0]
            wage_m[rows] = low + draw[rows] * (np.asarray(high) - np.asarray(low))
        # Wages rise about 4 % a year; the ranges above are 2025 levels.
        trend = 1.04 ** ((start - _to_days(dt.date(2025, 1, 1))) / 365.25)
        wage = wage_m * 1_000_000 * _REGION_WAGE_FACTOR[region] * trend
        minimum = minimum_wage_for(region, start.astype("datetime64[D]"))
        floor = minimum * rng.uniform(1.0, 1.08, size=m)
        wage = np.ceil(np.maximum(wage, floor) / 50_000) * 50_000
        wage = np.maximum(wage, minimum).astype(np.int64)

        # Requirements.
        occupations = {t.code: [o.isco for o in t.occupations] for t in self.taxonomy.trades()}
        isco = np.full(m, "", dtype=object)
        isco_draw = rng.random(m)
        isco_other = rng.integers(0, 1_000, size=m)
        for i in range(m):
            options = occupations.get(trade[i], [])
            if not options or isco_draw[i] < 0.15:
                continue
            # Mostly the trade's main occupation, sometimes another of its occupations.
            isco[i] = options[0] if isco_draw[i] < 0.75 else options[isco_other[i] % len(options)]
        min_education = np.full(m, "", dtype=object)
        education_draw = rng.random(m)
        for t, name in enumerate(TRADE_CODES):
            rows = np.flatnonzero((trade_index == t) & (education_draw >= 0.45))
            keys, weights = _choice_arrays(_MIN_EDUCATION_MIX[name])
            min_education[rows] = rng.choice(keys, size=len(rows), p=weights)
        required = np.full(m, "", dtype=object)
        skill_count = np.where(rng.random(m) < 0.3, 0, rng.integers(1, 5, size=m))
        for t, name in enumerate(TRADE_CODES):
            rows = np.flatnonzero((trade_index == t) & (skill_count > 0))
            skills = self.trade_skills[name]
            if not len(rows) or not skills:
                continue
            weights = np.array([1.0 / (1 + i / 2) for i in range(len(skills))])
            keys = np.log(weights) + rng.gumbel(size=(len(rows), len(skills)))
            ranking = np.argsort(-keys, axis=1)
            codes = np.array([s.code for s in skills], dtype=object)
            for k, row in enumerate(rows):
                chosen = ranking[k, : min(skill_count[row], len(skills))]
                required[row] = ";".join(codes[np.sort(chosen)])
        shift_draw = rng.random(m)
        shift = np.where(
            shift_draw < 0.1,
            "",
            np.where(rng.random(m) < np.where(self.ent_is_park[owner], 0.65, 0.1), "true", "false"),
        ).astype(object)

        # Keep what was posted by today; number by start date.
        keep = posted <= today
        order = np.flatnonzero(keep)[np.lexsort((posted[keep], owner[keep], start[keep]))]
        self.c_owner = owner[order]
        self.c_trade = trade_index[order]
        self.c_site_lat, self.c_site_lon = site_lat[order], site_lon[order]
        self.c_posted, self.c_start = posted[order], start[order]
        self.c_close = close[order]
        self.c_slots = slots[order]
        self.c_linked = linked[order]
        count = len(order)
        self.c_ids = np.array([f"CK{i + 1:06d}" for i in range(count)], dtype=object)
        return pd.DataFrame(
            {
                "external_id": self.c_ids,
                "enterprise_external_id": self.ent_ids[self.c_owner],
                "trade": trade[order],
                "occupation_isco": isco[order],
                "slots": slots[order].astype(str).astype(object),
                "wage_vnd": wage[order].astype(str).astype(object),
                "ward_code": own_ward[order],
                "address": np.full(count, "", dtype=object),
                "lat": np.full(count, "", dtype=object),
                "lon": np.full(count, "", dtype=object),
                "start_date": _iso(start[order]),
                "expires_on": _iso(expires[order], open_ended[order]),
                "min_education": min_education[order],
                "required_skills": required[order],
                "shift_work": shift[order],
                "course_external_id": np.where(
                    linked[order] >= 0, self.course_ids[np.maximum(linked[order], 0)], ""
                ).astype(object),
            },
            columns=list(COLUMNS["commitments"]),
        )

    # ----- referrals ----------------------------------------------------------------------

    def referrals(
        self,
        enterprises: pd.DataFrame,
        courses: pd.DataFrame,
        workers: pd.DataFrame,
        enrollments: pd.DataFrame,
        commitments: pd.DataFrame,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Draw referrals and their outcomes; return the referrals frame and the truth."""
        cfg = self.config
        # Window in which a commitment takes referrals.
        w0 = np.maximum(np.maximum(self.c_posted, self.c_start - 75), self.history_start)
        w1 = np.minimum(self.c_close, self.today)
        target = cfg.referrals_per_month * 12 * cfg.history_years
        frames = (enterprises, courses, workers, enrollments, commitments)
        scale = 1.0
        # Referrals of employed workers and to full commitments are mostly not made, so the
        # volume is re-aimed once or twice until it lands near the target.
        for attempt in range(3):
            rng = self.rng(f"referrals/{attempt}")
            worker, commitment, day = self._candidates(rng, w0, w1, target, scale)
            features = self._features(frames, worker, commitment, day)
            p_true = true_hire_probability(features)
            result = self._simulate(rng, worker, commitment, day, p_true)
            kept = int(result["kept"].sum())
            if kept >= 0.95 * target or kept == 0 or attempt == 2:
                break
            scale *= min(target / kept, 3.0)
        keep = result["kept"]
        worker, commitment, day = worker[keep], commitment[keep], day[keep]
        features = features[keep].reset_index(drop=True)
        p_true = p_true[keep]
        outcome = result["outcome"][keep]
        hired_on = result["hired_on"][keep]
        left_on = result["left_on"][keep]
        count = len(worker)
        ids = np.array([f"GT{i + 1:07d}" for i in range(count)], dtype=object)
        is_hired = outcome == "hired"
        referrals = pd.DataFrame(
            {
                "external_id": ids,
                "worker_external_id": self.w_ids[worker],
                "commitment_external_id": self.c_ids[commitment],
                "referred_on": _iso(day),
                "outcome": outcome,
                "hired_on": _iso(hired_on, ~is_hired),
                "left_on": _iso(np.maximum(left_on, 0), ~is_hired | (left_on < 0)),
            },
            columns=list(COLUMNS["referrals"]),
        )
        truth = pd.concat(
            [
                pd.DataFrame(
                    {
                        "external_id": ids,
                        "worker_external_id": self.w_ids[worker],
                        "commitment_external_id": self.c_ids[commitment],
                        "p_true": p_true,
                        "hired_draw": result["hired_draw"][keep],
                        "outcome": outcome,
                        "capped": result["capped"][keep],
                    }
                ),
                features[["enterprise_external_id", *PAIR_FEATURE_COLUMNS]],
            ],
            axis=1,
        )
        return referrals, truth

    def _candidates(
        self, rng: np.random.Generator, w0: np.ndarray, w1: np.ndarray, target: int, scale: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return candidate referrals (worker, commitment, day), one per pair, in date order."""
        linked_w, linked_c, linked_d = self._linked_referrals(rng, w0, w1)
        rest = max(int(round(target * scale)) - len(linked_w), 0)
        free_w, free_c, free_d = self._worker_referrals(rng, w0, w1, rest)
        worker = np.concatenate([linked_w, free_w]).astype(np.intp)
        commitment = np.concatenate([linked_c, free_c]).astype(np.intp)
        day = np.concatenate([linked_d, free_d]).astype(np.int64)
        # One referral per (worker, commitment): the first.
        order = np.lexsort((self.w_ids[worker], self.c_ids[commitment], day))
        worker, commitment, day = worker[order], commitment[order], day[order]
        key = worker.astype(np.int64) * len(self.c_ids) + commitment
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)
        return worker[keep], commitment[keep], day[keep]

    def _features(
        self,
        frames: tuple[pd.DataFrame, ...],
        worker: np.ndarray,
        commitment: np.ndarray,
        day: np.ndarray,
    ) -> pd.DataFrame:
        enterprises, courses, workers, enrollments, commitments = frames
        pairs = pd.DataFrame(
            {
                "worker_external_id": self.w_ids[worker],
                "commitment_external_id": self.c_ids[commitment],
                "day": _iso(day),
            }
        )
        return pair_features(
            workers,
            commitments,
            enrollments,
            pairs,
            enterprises=enterprises,
            courses=courses,
            enterprise_quality=self.quality_series(),
            gazetteer=self.gazetteer,
            taxonomy=self.taxonomy,
        )

    def _simulate(
        self,
        rng: np.random.Generator,
        worker: np.ndarray,
        commitment: np.ndarray,
        day: np.ndarray,
        p_true: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Play the candidate referrals in date order and draw each kept one's outcome.

        A referral is not made (``kept`` False) when its commitment is full or already has
        :data:`REFERRALS_PER_SLOT` referrals per slot, or, most of the time, when the worker
        is employed then. A kept referral is hired when its draw ``u < p_true`` says so
        (``hired_draw``), unless it is pending or the worker's previous hire is under
        :data:`MIN_DAYS_BETWEEN_HIRES` days old (then "declined", ``capped`` "worker"). A hire
        while employed is a job switch: the previous job ends a few days before.
        """
        count = len(worker)
        today = self.today
        pending = day > today - PENDING_DAYS
        hired_draw = (rng.random(count) < p_true) & ~pending
        other = rng.choice(
            np.array(["not_hired", "declined", "no_show"], dtype=object),
            size=count,
            p=[0.55, 0.25, 0.2],
        )
        hired_on = day + rng.integers(3, PENDING_DAYS + 1, size=count)
        rate = np.array([_LEAVING_RATE[t] for t in TRADE_CODES])[self.c_trade[commitment]]
        tenure = np.where(
            rng.random(count) < 0.08,
            rng.integers(20, 91, size=count),
            np.ceil(rng.exponential(365.25 / rate)),
        ).astype(np.int64)
        natural_left = hired_on + np.maximum(tenure, 1)
        refer_while_employed = rng.random(count) < _EMPLOYED_REFERRAL_SHARE
        quit_days = rng.integers(1, 8, size=count)

        kept = np.zeros(count, dtype=bool)
        outcome = np.where(pending, "pending", other).astype(object)
        capped = np.full(count, "", dtype=object)
        left_on = np.full(count, -1, dtype=np.int64)
        slots = self.c_slots.tolist()
        filled = [0] * len(slots)
        referred = [0] * len(slots)
        employed_until = [-1] * len(self.w_ids)
        current_job = [-1] * len(self.w_ids)
        never = today + 1
        # One pass in date order: who is employed, and which commitments are full, depends
        # on the referrals before.
        w_list, c_list, d_list = worker.tolist(), commitment.tolist(), day.tolist()
        hire_list, hired_on_list = hired_draw.tolist(), hired_on.tolist()
        natural_list, while_employed = natural_left.tolist(), refer_while_employed.tolist()
        quit_list = quit_days.tolist()
        for i in range(count):
            w, c, d = w_list[i], c_list[i], d_list[i]
            if filled[c] >= slots[c] or referred[c] >= REFERRALS_PER_SLOT * slots[c]:
                continue
            employed = d < employed_until[w]
            if employed and not while_employed[i]:
                continue
            kept[i] = True
            referred[c] += 1
            if not hire_list[i]:
                continue
            job = current_job[w]
            if job >= 0 and hired_on_list[i] - hired_on_list[job] < MIN_DAYS_BETWEEN_HIRES:
                outcome[i], capped[i] = "declined", "worker"
                continue
            outcome[i] = "hired"
            filled[c] += 1
            if employed:
                left_on[job] = hired_on_list[i] - quit_list[i]
            current_job[w] = i
            natural = natural_list[i]
            employed_until[w] = natural if natural <= today else never
            left_on[i] = natural if natural <= today else -1
        return {
            "kept": kept,
            "hired_draw": hired_draw,
            "outcome": outcome,
            "capped": capped,
            "hired_on": hired_on,
            "left_on": left_on,
        }

    def _linked_referrals(
        self, rng: np.random.Generator, w0: np.ndarray, w1: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Refer most trainees of a course to one of the commitments linked to it."""
        linked = np.flatnonzero(self.c_linked >= 0)
        if not len(linked) or not len(self.enr_worker):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        workers, commitments, days = [], [], []
        trainee = self.enr_status != "dropped"
        by_course: dict[int, list[int]] = {}
        for c in linked:
            by_course.setdefault(int(self.c_linked[c]), []).append(int(c))
        for course, options in sorted(by_course.items()):
            people = self.enr_worker[trainee & (self.enr_course == course)]
            if not len(people):
                continue
            people = people[rng.random(len(people)) < _LINKED_REFERRAL_SHARE]
            options_array = np.array(options)
            weight = self.c_slots[options_array].astype(float)
            chosen = options_array[
                rng.choice(len(options_array), size=len(people), p=weight / weight.sum())
            ]
            low = np.maximum.reduce(
                [w0[chosen], np.full(len(chosen), self.course_end[course] - 21),
                 self.w_registered[people]]
            )  # fmt: skip
            high = w1[chosen]
            ok = low <= high
            draw = rng.random(len(people))
            day = low + np.floor(draw * (high - low + 1)).astype(np.int64)
            workers.append(people[ok])
            commitments.append(chosen[ok])
            days.append(day[ok])
        if not workers:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return np.concatenate(workers), np.concatenate(commitments), np.concatenate(days)

    def _worker_referrals(
        self, rng: np.random.Generator, w0: np.ndarray, w1: np.ndarray, target: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Refer job seekers, as caseworkers do, to open commitments of their trades nearby."""
        empty = np.zeros(0, dtype=np.int64)
        if target <= 0 or not len(self.c_ids):
            return empty, empty, empty
        hs, today = self.history_start, self.today
        # Caseworkers refer people who are registered and available within about six weeks.
        active_from = np.maximum.reduce(
            [self.w_registered, np.full(len(self.w_registered), hs), self.w_available - 45]
        )
        active_days = np.maximum(today - active_from + 1, 0)
        weight = self.w_activity * active_days
        if weight.sum() <= 0:
            return empty, empty, empty
        # Some draws fit no open commitment or repeat a pair; ask for a few more.
        lam = 1.08 * target / weight.sum()
        counts = rng.poisson(lam * weight)
        worker = np.repeat(np.arange(len(counts)), counts)
        # Spread each worker's referrals over their active time (one per equal stretch), as
        # a caseworker refers someone again when the last referral came to nothing.
        stretch = _ranges(counts)
        share = (stretch + rng.uniform(0.2, 0.8, size=len(worker))) / counts[worker]
        day = active_from[worker] + np.floor(share * active_days[worker]).astype(np.int64)
        month = day.astype("datetime64[D]").astype("datetime64[M]")
        noise = rng.random(len(worker)) < _NOISE_SHARE
        u_trade, u_pick, u_day = rng.random((3, len(worker)))

        wards = self.wards
        chosen = np.full(len(worker), -1, dtype=np.intp)
        ward = self.w_ward[worker]
        slot_weight = self.c_slots.astype(float)
        for m in np.unique(month):
            rows = np.flatnonzero(month == m)
            month_start = int(m.astype("datetime64[D]").astype(np.int64))
            month_end = int((m + 1).astype("datetime64[D]").astype(np.int64)) - 1
            open_c = np.flatnonzero((w0 <= month_end) & (w1 >= month_start) & (w0 <= w1))
            if not len(open_c):
                continue
            distance = haversine_km(
                wards.lat[:, None], wards.lon[:, None],
                self.c_site_lat[open_c][None, :], self.c_site_lon[open_c][None, :],
            )  # fmt: skip
            base = np.exp(-distance / _REFERRAL_KERNEL_KM) * slot_weight[open_c][None, :]
            trades_open = self.c_trade[open_c]
            onehot = trades_open[:, None] == np.arange(len(TRADE_CODES))[None, :]
            by_trade = base @ onehot  # wards × trades
            # Normal referrals: pick a trade (the worker's, rarely another), then a site.
            normal = rows[~noise[rows]]
            fits = (self.w_trades[worker[normal]][:, None] >> np.arange(len(TRADE_CODES))) & 1
            trade_weight = by_trade[ward[normal]] * np.where(fits == 1, 1.0, _OFF_TRADE_WEIGHT)
            total = trade_weight.sum(axis=1)
            usable = total > 0
            cumulative = np.cumsum(trade_weight, axis=1)
            pick_trade = (cumulative < (u_trade[normal] * total)[:, None]).sum(axis=1)
            pick_trade = np.minimum(pick_trade, len(TRADE_CODES) - 1)
            for t in range(len(TRADE_CODES)):
                sel = normal[usable & (pick_trade == t)]
                columns = np.flatnonzero(trades_open == t)
                if not len(sel) or not len(columns):
                    continue
                index = _sample_rows(base[:, columns], ward[sel], u_pick[sel])
                chosen[sel] = np.where(index >= 0, open_c[columns][np.maximum(index, 0)], -1)
            # Noise: any open commitment, whatever the trade and distance.
            noisy = rows[noise[rows]]
            if len(noisy):
                p = slot_weight[open_c] / slot_weight[open_c].sum()
                cumulative = np.cumsum(p)
                index = np.searchsorted(cumulative, u_pick[noisy] * cumulative[-1], side="right")
                chosen[noisy] = open_c[np.minimum(index, len(open_c) - 1)]
            # The date: within the month, the commitment's window and the worker's history.
            has = rows[chosen[rows] >= 0]
            c = chosen[has]
            low = np.maximum.reduce(
                [w0[c], np.full(len(has), month_start), self.w_registered[worker[has]]]
            )
            high = np.minimum(w1[c], month_end)
            ok = low <= high
            day[has] = np.where(
                ok, low + np.floor(u_day[has] * (high - low + 1)).astype(np.int64), day[has]
            )
            chosen[has[~ok]] = -1
        valid = chosen >= 0
        return worker[valid], chosen[valid], day[valid]


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """Return 0, 1, 2 ... within runs of equal values of a sorted array."""
    if not len(groups):
        return np.zeros(0, dtype=np.intp)
    starts = np.r_[True, groups[1:] != groups[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(groups)), 0))
    return np.arange(len(groups)) - run_start


def _sample_rows(weights: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one column per requested row, with probability ∝ that row's weights.

    Rows are normalised and laid end to end (row r covers [r, r + 1)), so one searchsorted
    serves every request. Rows whose weights are all zero give -1.
    """
    n_rows, n_cols = weights.shape
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1]
    safe = np.where(total > 0, total, 1.0)
    flat = (cumulative / safe[:, None] + np.arange(n_rows)[:, None]).ravel()
    target = rows + np.clip(u, 0.0, 1.0 - 1e-12)
    index = np.searchsorted(flat, target, side="right") - rows * n_cols
    index = np.clip(index, 0, n_cols - 1)
    return np.where(total[rows] > 0, index, -1)


# ----- cached reference data ----------------------------------------------------------------


@lru_cache(maxsize=512)
def _free_text_variants(taxonomy: Any, code: str) -> tuple[str, ...]:
    """Return Vietnamese phrasings of a skill that the import maps back to exactly this code.

    Synonyms with diacritics, and the same typed without them ("sua dien dan dung"), kept
    only if :meth:`Taxonomy.normalize_list` gives back this one skill.
    """
    skill = taxonomy.skill(code)
    if skill is None:
        return ()
    candidates: list[str] = []
    for text in (skill.label_vi, *skill.synonyms):
        if text.isascii() or ";" in text or "," in text:
            continue
        candidates.append(text.lower())
        candidates.append(strip_diacritics(text).lower())
    variants = []
    for text in dict.fromkeys(candidates):
        normalized = taxonomy.normalize_list(text)
        if len(normalized) == 1 and normalized[0].match and normalized[0].match.code == code:
            variants.append(text)
    return tuple(variants)


@lru_cache(maxsize=8)
def _verified_addresses(
    gazetteer: Any, province_code: str
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Return ward code → addresses in the 2025 form and in the old district form.

    Every address is one the gazetteer resolves to that ward: the 2025 form by name and
    province, the old form (from the package's pre-2025 data, e.g. "Xã Lạc Hồng, huyện Văn
    Lâm, tỉnh Hưng Yên") by conversion, with full confidence (no split wards).
    """
    current: dict[str, list[str]] = {}
    for ward in gazetteer.wards(province_code):
        text = f"{ward.name}, {_lower_first(ward.province_name)}"
        match = gazetteer.resolve_address(text)
        if match is not None and match.ward.code == ward.code:
            current.setdefault(ward.code, []).append(text)
    legacy: dict[str, list[str]] = {}
    units = _legacy_units()
    # The old provinces that became (part of) this one: where their first unit now lies.
    merged = set()
    for province in dict.fromkeys(p for p, _, _ in units):
        _, district, ward_name = next(u for u in units if u[0] == province)
        text = f"{ward_name}, {_lower_first(district)}, {_lower_first(province)}"
        match = gazetteer.resolve_address(text)
        if match is not None and match.ward.province_code == province_code:
            merged.add(province)
    for province, district, ward_name in units:
        if province not in merged or "," in ward_name or "," in district:
            continue
        text = f"{ward_name}, {_lower_first(district)}, {_lower_first(province)}"
        match = gazetteer.resolve_address(text)
        if (
            match is not None
            and match.ward.province_code == province_code
            and match.method == "address_legacy_converted"
            and match.confidence >= 0.85
        ):
            legacy.setdefault(match.ward.code, []).append(text)
    return (
        {code: tuple(texts) for code, texts in current.items()},
        {code: tuple(sorted(texts)) for code, texts in legacy.items()},
    )


@lru_cache(maxsize=1)
def _legacy_units() -> tuple[tuple[str, str, str], ...]:
    """Return (province, district, ward) of every pre-2025 unit in the package's data."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        return ()
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT province, district, ward FROM admin_units_legacy"
            " WHERE ward IS NOT NULL AND ward != ''"
            " ORDER BY provinceCode, districtCode, wardCode"
        ).fetchall()
    return tuple((str(p), str(d), str(w)) for p, d, w in rows)
