"""Audit the matching model and its outcomes for unequal treatment of protected groups.

The Labour Code 2019 (Art. 3(8), Art. 8) forbids discrimination by gender, ethnicity, age and
disability, among others. Those attributes are never model features
(:data:`matcher.features.FEATURES` does not contain them); this module is the only place
that reads them, to check that the model and the referrals it drives do not disadvantage a
group by other routes (a trade, a district, an education level standing in for it).

Groups
    Each person falls in one group of each attribute (:func:`protected_groups`): ``gender``
    (female, male, other), ``ethnic_minority`` and ``disability`` (yes, no), ``age_band``
    (:data:`AGE_BANDS`, age = ``today.year - birth_year``). Whatever a person did not give is
    ``unknown`` ("unspecified" gender too). Intersections pair two attributes
    (``gender×age_band`` holds ``female×25–34``, …); a cell is listed only when it holds at
    least ``min_cell`` people and neither side is unknown, and is *omitted* otherwise, so an
    intersection table never grows a column of empty, suppressed rows.

Scoring rate
    For each commitment, the median model score over all its scored pairs; a pair is *flagged*
    when its score is strictly above that median (:func:`scoring_flags`). Comparing within a
    commitment means a group is not judged advantaged merely because it applies to jobs the
    model scores high for everyone; it asks whether, for the same job, the model ranks the
    group's members above their competitors. A group's scoring rate is the share of its scored
    pairs that are flagged. With strict ">" and distinct scores, about half of a commitment's
    pairs are flagged (a little less for odd counts and ties), so the overall rate sits just
    under 0.5. Commitments with a single scored pair are excluded: a lone pair is never above
    its own median, so counting it would lower the rate of any group that clusters on thin,
    remote commitments without saying anything about the model's ranking.

Hire rate
    Hired / decided referrals of the group's people, where decided means an outcome other than
    pending (:data:`DECIDED_OUTCOMES`; "declined" and "no_show" count as not hired).

Impact ratio
    A group's rate divided by the rate of the best-off group of the same attribute: the group
    with the highest rate among the groups that are neither unknown nor suppressed. The
    "four-fifths rule" of adverse-impact analysis reads a ratio under 0.8 as a warning sign.
    The unknown group is reported (counts and rates) but is never the reference, has no
    ratio and is not in the gate. The scoring and the hire ratios may have different
    reference groups (``reference_group`` and ``hire_reference_group``).

Bootstrap intervals
    95 % percentile intervals over ``n_boot`` replicates that resample *people*, not pairs:
    a person's pairs and referrals go in or out together, since they share the person's
    trade, place and history and are not independent. Each replicate gives every person an
    independent Poisson(1) weight (the "Poisson bootstrap", the large-sample form of drawing N
    people with replacement, which lets all replicates be computed as weighted sums without
    materialising the resamples). Ratios are recomputed in each replicate against the same
    reference group as the point estimate. Seeded, hence repeatable.

Suppression
    A group of fewer than ``min_cell`` people has every figure set to None and
    ``suppressed=True``. Within a reported group, the scoring figures are hidden when fewer
    than ``min_cell`` of its people have scored pairs, the hire figures when fewer than
    ``min_cell`` have decided referrals. So no count of people between 1 and ``min_cell - 1``
    appears in the report. Counts of events inside a group of at least ``min_cell`` people
    (``hired``) are shown as they are.

Gate
    :meth:`FairnessReport.gate`: a newly trained model whose scoring impact ratio is under
    :data:`GATE_MIN_IMPACT_RATIO` for any single-attribute group of at least
    :data:`GATE_MIN_GROUP` people is not promoted automatically; a person must look first.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

#: People; a smaller group has its figures hidden (``suppressed=True``).
MIN_CELL = 10
#: People; a smaller group cannot fail the gate, its ratio is too noisy to stop a model.
GATE_MIN_GROUP = 30
#: The "four-fifths rule" of adverse-impact analysis.
GATE_MIN_IMPACT_RATIO = 0.8
#: How much lower than under the incumbent scorer a group's ratio may be before it counts.
GATE_MATERIAL_MARGIN = 0.05
#: Inclusive age bounds of the bands; the last is labelled "55+". Ages outside 15–80 are
#: treated as unknown, the same plausibility bounds as the import (matcher.ingest).
AGE_BANDS = ((15, 24), (25, 34), (35, 44), (45, 54), (55, 80))
#: The protected attributes, in report order.
ATTRIBUTES = ("gender", "ethnic_minority", "disability", "age_band")
UNKNOWN = "unknown"
GENDER_GROUPS = ("female", "male", "other")
YES_NO_GROUPS = ("yes", "no")
#: Referral outcomes that end a referral; everything else (pending) is undecided.
DECIDED_OUTCOMES = ("hired", "not_hired", "declined", "no_show")
#: Joins attribute names and group labels of an intersection: "gender×age_band", "female×25–34".
CROSS = "×"
#: Vietnamese names of the attributes, for the gate's reasons.
ATTRIBUTE_NAMES_VI = {
    "gender": "giới tính",
    "ethnic_minority": "dân tộc thiểu số",
    "disability": "khuyết tật",
    "age_band": "độ tuổi",
}

#: Bootstrap weights are drawn this many (replicate × person) cells at a time (32 MB of float64).
_BOOT_BLOCK_CELLS = 4_000_000
_YES_NO = {
    "true": "yes", "yes": "yes", "1": "yes", "1.0": "yes", "có": "yes",
    "false": "no", "no": "no", "0": "no", "0.0": "no", "không": "no",
}  # fmt: skip


def age_band_labels() -> tuple[str, ...]:
    """Return the labels of :data:`AGE_BANDS`: "15–24", …, "55+"."""
    *inner, last = AGE_BANDS
    return (*(f"{low}–{high}" for low, high in inner), f"{last[0]}+")


# ============================================================================================
# Groups and flags


def protected_groups(people: pd.DataFrame, *, today: date) -> pd.DataFrame:
    """Return each person's group of every protected attribute, "unknown" where not given.

    ``people`` has ``worker_id`` and any of ``gender``, ``ethnic_minority``, ``disability``,
    ``birth_year`` (a missing column means unknown for everyone). Booleans become "yes"/"no";
    ``birth_year`` becomes an :data:`AGE_BANDS` label from ``today.year - birth_year``. The
    result has one row per distinct ``worker_id`` (the first one wins) and categorical
    columns whose categories are fixed, so groups keep their order in every report.
    """
    frame = people.drop_duplicates("worker_id")
    n = len(frame)

    def column(name: str) -> pd.Series:
        if name in frame:
            return frame[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype=object)

    gender = column("gender").astype("string").str.strip().str.lower()
    gender = gender.where(gender.isin(GENDER_GROUPS)).fillna(UNKNOWN)

    def yes_no(name: str) -> pd.Series:
        text = column(name).astype("string").str.strip().str.lower()
        return text.map(_YES_NO).astype("string").fillna(UNKNOWN)

    age = today.year - pd.to_numeric(column("birth_year"), errors="coerce").to_numpy(float)
    lows = np.array([low for low, _ in AGE_BANDS])
    band = np.searchsorted(lows, age, side="right") - 1
    plausible = (age >= AGE_BANDS[0][0]) & (age <= AGE_BANDS[-1][1])  # False for NaN
    labels = np.array([*age_band_labels(), UNKNOWN], dtype=object)
    age_band = labels[np.where(plausible, band, len(AGE_BANDS))]

    return pd.DataFrame(
        {
            "worker_id": frame["worker_id"].to_numpy(),
            "gender": pd.Categorical(gender, categories=[*GENDER_GROUPS, UNKNOWN]),
            "ethnic_minority": pd.Categorical(
                yes_no("ethnic_minority"), categories=[*YES_NO_GROUPS, UNKNOWN]
            ),
            "disability": pd.Categorical(
                yes_no("disability"), categories=[*YES_NO_GROUPS, UNKNOWN]
            ),
            "age_band": pd.Categorical(age_band, categories=[*age_band_labels(), UNKNOWN]),
        }
    )


def scoring_flags(pairs: pd.DataFrame) -> pd.Series:
    """Flag each pair scored strictly above the median score of its commitment.

    The median is over all scored pairs of the commitment (every worker, whether audited or
    not): it is the bar the pair competes against. The flag is <NA> (not counted) for a pair
    without a score or commitment, and for every pair of a commitment with a single scored
    pair, which cannot be above its own median (see the module docstring). Returns a nullable
    boolean Series aligned with ``pairs``.
    """
    score = pd.to_numeric(pairs["score"], errors="coerce").astype(float)
    by_commitment = score.groupby(pairs["commitment_id"].to_numpy(), sort=False, dropna=True)
    median = by_commitment.transform("median")
    scored = by_commitment.transform("count")
    counted = score.notna() & median.notna() & (scored >= 2)
    flags = pd.Series(pd.array(score > median, dtype="boolean"), index=pairs.index)
    flags[~counted.to_numpy()] = pd.NA
    return flags.rename("above_median")


# ============================================================================================
# The report


@dataclass
class GateResult:
    """Whether the fairness audit lets a new model be promoted automatically, and why."""

    passed: bool
    failures: list[dict[str, Any]]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-friendly built-ins."""
        return _plain(asdict(self))


@dataclass
class FairnessReport:
    """Rates, impact ratios and intervals per protected group; see the module docstring.

    ``groups`` has one row per (attribute, group), single attributes first, then their
    intersections; ``unknowns`` the count of people whose attribute is unknown; ``overall``
    the rates over everyone audited and the settings the report was made with.
    """

    groups: pd.DataFrame
    unknowns: pd.DataFrame
    overall: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-friendly built-ins: NaN and <NA> become None."""
        return {
            "groups": _records(self.groups),
            "unknowns": _records(self.unknowns),
            "overall": _plain(self.overall),
        }

    def gate(
        self,
        *,
        min_group: int = GATE_MIN_GROUP,
        min_ratio: float = GATE_MIN_IMPACT_RATIO,
        baseline: FairnessReport | None = None,
        margin: float = GATE_MATERIAL_MARGIN,
    ) -> GateResult:
        """Fail a group only when the evidence says its scoring impact ratio is too low.

        A judged group (one attribute, ``min_group`` people or more, not unknown or
        suppressed) fails when the upper end of its bootstrap interval is under
        ``min_ratio`` — even the most favourable reading of the sample is under the
        four-fifths rule — or, given ``baseline`` (the incumbent scorer's report on the same
        pairs), when it is materially worse than under the incumbent: its ratio more than
        ``margin`` below the incumbent's and its interval's upper end below the incumbent's
        ratio. A point estimate of a group of 90 people moves by ±0.15 between samples, so
        judging it alone held back models no less fair than the scorer they would replace.
        Without intervals (``n_boot=0``) the point estimate is judged. Intersections are
        for a person to read: many, small and noisy, they would stop every model.
        """
        rows = self.groups
        judged = rows[
            ~rows["attribute"].str.contains(CROSS, regex=False)
            & (rows["group"] != UNKNOWN)
            & ~rows["suppressed"].astype(bool)
            & (rows["people"].fillna(0) >= min_group)
            & rows["scoring_impact_ratio"].notna()
        ]
        base: dict[tuple[str, str], float] = {}
        if baseline is not None:
            for b in baseline.groups.itertuples(index=False):
                if b.scoring_impact_ratio is not None and not pd.isna(b.scoring_impact_ratio):
                    base[(b.attribute, b.group)] = float(b.scoring_impact_ratio)
        failures = []
        for row in judged.sort_values("scoring_impact_ratio", kind="stable").itertuples(
            index=False
        ):
            ratio = float(row.scoring_impact_ratio)
            high = _float_or_none(row.scoring_impact_high)
            upper = ratio if high is None else high
            before = base.get((row.attribute, row.group))
            under_rule = upper < min_ratio
            worse = before is not None and ratio < before - margin and upper < before
            if not (under_rule or worse):
                continue
            failures.append(
                {
                    "attribute": row.attribute,
                    "group": row.group,
                    "people": int(row.people),
                    "impact_ratio": ratio,
                    "impact_low": _float_or_none(row.scoring_impact_low),
                    "impact_high": high,
                    "baseline_impact_ratio": before,
                    "why": "under_rule" if under_rule else "worse_than_baseline",
                }
            )
        threshold_en = f"{min_ratio:g}"
        threshold_vi = _decimal_vi(threshold_en)
        if failures:
            vi, en = [], []
            for f in failures:  # a handful of failing groups
                ratio = f"{_floor2(f['impact_ratio']):.2f}"
                name_vi = ATTRIBUTE_NAMES_VI.get(f["attribute"], f["attribute"])
                if f["why"] == "under_rule":
                    top = f"{_floor2(f['impact_high'] or f['impact_ratio']):.2f}"
                    vi.append(
                        f"Tỷ lệ tác động của nhóm {name_vi} = {f['group']} là {_decimal_vi(ratio)}"
                        f" (cận trên {_decimal_vi(top)}) < {threshold_vi}"
                        f" (n = {_count_vi(f['people'])})"
                    )
                    en.append(
                        f"Impact ratio for {f['attribute']} = {f['group']} is {ratio}"
                        f" (upper bound {top}) < {threshold_en} (n = {f['people']:,})"
                    )
                else:
                    before = f"{_floor2(f['baseline_impact_ratio']):.2f}"
                    vi.append(
                        f"Tỷ lệ tác động của nhóm {name_vi} = {f['group']} là {_decimal_vi(ratio)},"
                        f" kém rõ rệt so với {_decimal_vi(before)} của bộ chấm điểm đang dùng"
                        f" (n = {_count_vi(f['people'])})"
                    )
                    en.append(
                        f"Impact ratio for {f['attribute']} = {f['group']} is {ratio}, materially"
                        f" worse than {before} under the scorer in use (n = {f['people']:,})"
                    )
            return GateResult(False, failures, f"{'; '.join(vi)} / {'; '.join(en)}")
        if judged.empty:
            reason = (
                f"Không có nhóm nào từ {min_group} người trở lên có tỷ lệ tác động đo được"
                f" / No group of {min_group} or more people has a measurable impact ratio"
            )
        else:
            compared_vi = " và không kém bộ chấm điểm đang dùng" if baseline is not None else ""
            compared_en = " and none is worse than under the scorer in use" if baseline else ""
            reason = (
                f"Không nhóm nào từ {min_group} người trở lên có bằng chứng tỷ lệ tác động"
                f" < {threshold_vi}{compared_vi} ({len(judged)} nhóm) / No group of {min_group}"
                f" or more people shows evidence of an impact ratio < {threshold_en}"
                f"{compared_en} ({len(judged)} groups)"
            )
        return GateResult(True, [], reason)


def fairness_report(
    people: pd.DataFrame,
    pairs: pd.DataFrame | None,
    referrals: pd.DataFrame | None,
    *,
    today: date,
    n_boot: int = 500,
    seed: int = 0,
    intersections: bool = True,
    min_cell: int = MIN_CELL,
) -> FairnessReport:
    """Audit model scores and referral outcomes per protected group.

    Parameters
    ----------
    people : DataFrame
        ``worker_id`` and the protected attributes (see :func:`protected_groups`). Only
        these people are audited; pairs and referrals of other workers are left out of the
        rates (their pairs still set their commitments' medians).
    pairs : DataFrame or None
        ``worker_id``, ``commitment_id``, ``score``: the model's scores of the candidate or
        referral pairs to audit.
    referrals : DataFrame or None
        ``worker_id``, ``outcome`` (one of :data:`matcher.ingest.REFERRAL_OUTCOMES`).
    today : date
        The day ages are computed on.
    n_boot : int
        Bootstrap replicates; 0 gives no intervals.
    seed : int
        Seed of the bootstrap.
    intersections : bool
        Also report pairs of attributes (cells of at least ``min_cell`` people only).
    min_cell : int
        Groups with fewer people are suppressed.
    """
    groups = protected_groups(people, today=today)
    n_people = len(groups)
    worker_index = pd.Index(groups["worker_id"])

    # Per person: scored pairs, flagged pairs, decided referrals, hires.
    per_person = np.zeros((n_people, 4))
    n_pairs = 0 if pairs is None else len(pairs)
    if n_pairs:
        flags = scoring_flags(pairs)
        position = worker_index.get_indexer(pairs["worker_id"])
        counted = (position >= 0) & flags.notna().to_numpy()
        where = position[counted]
        per_person[:, 0] = np.bincount(where, minlength=n_people)
        per_person[:, 1] = np.bincount(
            where, weights=flags.to_numpy(dtype=bool, na_value=False)[counted], minlength=n_people
        )
    if referrals is not None and len(referrals):
        position = worker_index.get_indexer(referrals["worker_id"])
        outcome = referrals["outcome"].astype("string").str.strip().str.lower()
        decided = (position >= 0) & outcome.isin(DECIDED_OUTCOMES).to_numpy(dtype=bool)
        hired = (outcome == "hired").to_numpy(dtype=bool, na_value=False)
        per_person[:, 2] = np.bincount(position[decided], minlength=n_people)
        per_person[:, 3] = np.bincount(
            position[decided], weights=hired[decided], minlength=n_people
        )

    # The finest cells (one per combination of the four attributes that occurs) carry every
    # sum; each reported group is a union of cells.
    codes = np.stack([groups[a].cat.codes.to_numpy(np.int64) for a in ATTRIBUTES], axis=1)
    cell_codes, person_cell = np.unique(codes, axis=0, return_inverse=True)
    person_cell = person_cell.reshape(-1)
    n_cells = len(cell_codes)
    definitions = _group_definitions(groups, cell_codes, intersections)
    membership = np.zeros((n_cells, len(definitions)))  # cells × groups
    for g, definition in enumerate(definitions):  # a few dozen groups
        membership[definition["cells"], g] = 1.0

    def per_cell(values: np.ndarray) -> np.ndarray:
        return np.bincount(person_cell, weights=values, minlength=n_cells)

    people_count = per_cell(np.ones(n_people)) @ membership
    scored_people = per_cell((per_person[:, 0] > 0).astype(float)) @ membership
    referred = per_cell((per_person[:, 2] > 0).astype(float)) @ membership
    sums = np.stack([per_cell(per_person[:, q]) for q in range(4)], axis=1).T @ membership

    # Intersections keep only cells of min_cell people (single-attribute groups are all kept).
    single = np.array([not d["intersection"] for d in definitions], dtype=bool)
    keep = single | (people_count >= min_cell)
    definitions = [d for d, k in zip(definitions, keep, strict=True) if k]
    membership, people_count = membership[:, keep], people_count[keep]
    scored_people, referred, sums = scored_people[keep], referred[keep], sums[:, keep]

    boot = _bootstrap_sums(per_person, person_cell, n_cells, n_boot, seed) @ membership
    # boot: (4, B, G) weighted sums per replicate and group.

    suppressed = people_count < min_cell
    scoring_hidden = suppressed | ((scored_people > 0) & (scored_people < min_cell))
    hire_hidden = suppressed | ((referred > 0) & (referred < min_cell))
    attribute = np.array([d["attribute"] for d in definitions], dtype=object)
    label = np.array([d["group"] for d in definitions], dtype=object)
    unknown = label == UNKNOWN

    scoring = _rates(sums[1], sums[0], boot[1], boot[0], attribute, label, unknown | scoring_hidden)
    hiring = _rates(sums[3], sums[2], boot[3], boot[2], attribute, label, unknown | hire_hidden)

    table = pd.DataFrame(
        {
            "attribute": attribute,
            "group": label,
            "people": _counts(people_count, suppressed),
            "scored_people": _counts(scored_people, scoring_hidden),
            "scored_pairs": _counts(sums[0], scoring_hidden),
            **_prefixed("scoring", scoring, scoring_hidden),
            "referred": _counts(referred, hire_hidden),
            "decided": _counts(sums[2], hire_hidden),
            "hired": _counts(sums[3], hire_hidden),
            **_prefixed("hire", hiring, hire_hidden),
            "reference_group": _labels(scoring["reference"], suppressed),
            "hire_reference_group": _labels(hiring["reference"], suppressed),
            "suppressed": suppressed,
        }
    )

    unknown_people = np.array([(groups[a] == UNKNOWN).sum() for a in ATTRIBUTES], dtype=float)
    unknown_hidden = (unknown_people > 0) & (unknown_people < min_cell)
    unknowns = pd.DataFrame(
        {
            "attribute": list(ATTRIBUTES),
            "unknown_people": _counts(unknown_people, unknown_hidden),
            "suppressed": unknown_hidden,
        }
    )

    total = per_person.sum(axis=0)
    people_with_pairs = int((per_person[:, 0] > 0).sum())
    people_referred = int((per_person[:, 2] > 0).sum())
    overall = {
        "people": _small_to_none(n_people, min_cell),
        "scored_people": _small_to_none(people_with_pairs, min_cell),
        "pairs": n_pairs,
        "scored_pairs": int(total[0]),
        "scoring_rate": _ratio(total[1], total[0]),
        "referred": _small_to_none(people_referred, min_cell),
        "decided": int(total[2]),
        "hired": int(total[3]),
        "hire_rate": _ratio(total[3], total[2]),
        "n_boot": n_boot,
        "seed": seed,
        "min_cell": min_cell,
        "today": today.isoformat(),
    }
    table = _hide_small_event_counts(table, min_cell)
    for key in ("decided", "hired"):
        overall[key] = _small_to_none(overall[key], min_cell)
    return FairnessReport(groups=table, unknowns=unknowns, overall=overall)


#: Hire figures of a group rest on its hired and decided counts: blanked with them.
_HIRE_FIGURES = (
    "hire_rate", "hire_rate_low", "hire_rate_high",
    "hire_impact_ratio", "hire_impact_low", "hire_impact_high",
)  # fmt: skip


def _hide_small_event_counts(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Blank event counts of 1–9 (decided referrals, hires), and a hire rate resting on one.

    People counts are handled by suppression; a group of 40 with 6 hires would still publish
    "6 people hired", and the rate times the decided count gives it back, so both go.
    """
    table = table.copy()
    small = {}
    for column in ("decided", "hired"):
        values = pd.to_numeric(table[column], errors="coerce")
        small[column] = (values > 0) & (values < min_cell)
        table[column] = table[column].astype("object").where(~small[column], None)
    shaky = small["decided"] | small["hired"]
    for column in _HIRE_FIGURES:
        if column in table.columns:
            table[column] = table[column].where(~shaky, np.nan)
    return table


# ============================================================================================
# Helpers


def _group_definitions(
    groups: pd.DataFrame, cell_codes: np.ndarray, intersections: bool
) -> list[dict[str, Any]]:
    """List the reported groups, each as a boolean mask over the finest cells."""
    categories = [list(groups[a].cat.categories) for a in ATTRIBUTES]
    definitions = []
    for i, attribute in enumerate(ATTRIBUTES):
        for code in np.unique(cell_codes[:, i]):  # groups that occur, in category order
            definitions.append(
                {
                    "attribute": attribute,
                    "group": categories[i][code],
                    "cells": cell_codes[:, i] == code,
                    "intersection": False,
                }
            )
    if not intersections:
        return definitions
    for i, j in combinations(range(len(ATTRIBUTES)), 2):
        known = (cell_codes[:, i] != categories[i].index(UNKNOWN)) & (
            cell_codes[:, j] != categories[j].index(UNKNOWN)
        )
        for code_i, code_j in np.unique(cell_codes[known][:, [i, j]], axis=0):
            definitions.append(
                {
                    "attribute": f"{ATTRIBUTES[i]}{CROSS}{ATTRIBUTES[j]}",
                    "group": f"{categories[i][code_i]}{CROSS}{categories[j][code_j]}",
                    "cells": (cell_codes[:, i] == code_i) & (cell_codes[:, j] == code_j),
                    "intersection": True,
                }
            )
    return definitions


@cache
def _poisson_table() -> np.ndarray:
    """Map a uniform 16-bit integer to a Poisson(1) draw (inverse CDF, error < 2**-16).

    Drawing 16-bit integers and looking them up was about six times faster than
    ``Generator.poisson``, which dominated the bootstrap's time.
    """
    pmf = [math.exp(-1.0) / math.factorial(k) for k in range(20)]
    cdf = np.cumsum(pmf)
    return np.searchsorted(cdf, (np.arange(2**16) + 0.5) / 2**16, side="right").astype(np.uint8)


def _bootstrap_sums(
    per_person: np.ndarray, person_cell: np.ndarray, n_cells: int, n_boot: int, seed: int
) -> np.ndarray:
    """Return Poisson-bootstrap sums of each per-person quantity per cell: (4, B, cells).

    People with nothing to count (no scored pair, no decided referral) add zero to every
    sum whatever their weight, and Poisson weights are independent, so they are left out.
    People are sorted by cell so that ``np.add.reduceat`` sums each cell's span of the
    (replicates × people) weight block in one call.
    """
    out = np.zeros((4, n_boot, n_cells))
    active = np.flatnonzero(per_person.any(axis=1))
    if n_boot == 0 or active.size == 0:
        return out
    order = active[np.argsort(person_cell[active], kind="stable")]
    values = per_person[order].T  # (4, active people)
    cells = person_cell[order]
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    present = cells[starts]
    rng = np.random.default_rng(seed)
    table = _poisson_table()
    block = max(1, _BOOT_BLOCK_CELLS // order.size)
    for first in range(0, n_boot, block):
        size = min(block, n_boot - first)
        weights = table[rng.integers(0, 2**16, size=(size, order.size), dtype=np.uint16)]
        weights = weights.astype(np.float64)
        for q in range(4):
            out[q, first : first + size][:, present] = np.add.reduceat(
                weights * values[q], starts, axis=1
            )
    return out


def _rates(
    numerator: np.ndarray,
    denominator: np.ndarray,
    boot_numerator: np.ndarray,
    boot_denominator: np.ndarray,
    attribute: np.ndarray,
    label: np.ndarray,
    not_comparable: np.ndarray,
) -> dict[str, np.ndarray]:
    """Return rates, impact ratios against each attribute's best-off group, and intervals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = numerator / denominator
        boot_rate = boot_numerator / boot_denominator  # (B, G)
    n_groups = len(rate)
    reference_of = np.full(n_groups, -1)
    for name in pd.unique(attribute):  # a handful of attributes
        members = np.flatnonzero(attribute == name)
        candidates = members[~not_comparable[members] & ~np.isnan(rate[members])]
        if candidates.size:
            best = candidates[np.argmax(rate[candidates])]  # ties: first in category order
            reference_of[members] = best
    has_reference = reference_of >= 0
    impact = np.full(n_groups, np.nan)
    boot_impact = np.full(boot_rate.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        impact[has_reference] = rate[has_reference] / rate[reference_of[has_reference]]
        boot_impact[:, has_reference] = (
            boot_rate[:, has_reference] / boot_rate[:, reference_of[has_reference]]
        )
    impact[not_comparable] = np.nan
    impact[~np.isfinite(impact)] = np.nan
    boot_impact[~np.isfinite(boot_impact)] = np.nan
    rate_low, rate_high = _interval(boot_rate)
    impact_low, impact_high = _interval(boot_impact)
    impact_low[np.isnan(impact)] = np.nan
    impact_high[np.isnan(impact)] = np.nan
    reference = np.where(has_reference, label[np.maximum(reference_of, 0)], None)
    return {
        "rate": rate,
        "rate_low": rate_low,
        "rate_high": rate_high,
        "impact_ratio": impact,
        "impact_low": impact_low,
        "impact_high": impact_high,
        "reference": reference,
    }


def _interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the 2.5th and 97.5th percentiles over replicates (rows), NaN where none."""
    if 0 in samples.shape:
        empty = np.full(samples.shape[1], np.nan)
        return empty, empty.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no interval
        low, high = np.nanpercentile(samples, [2.5, 97.5], axis=0)
    return low, high


def _prefixed(side: str, figures: dict[str, np.ndarray], hidden: np.ndarray) -> dict[str, Any]:
    """Name a side's figures as report columns, hiding those of hidden groups."""
    names = {
        "rate": f"{side}_rate",
        "rate_low": f"{side}_rate_low",
        "rate_high": f"{side}_rate_high",
        "impact_ratio": f"{side}_impact_ratio",
        "impact_low": f"{side}_impact_low",
        "impact_high": f"{side}_impact_high",
    }
    return {column: np.where(hidden, np.nan, figures[key]) for key, column in names.items()}


def _labels(values: np.ndarray, hidden: np.ndarray) -> pd.arrays.StringArray:
    """Return group labels as strings, <NA> where hidden."""
    return pd.array(np.where(hidden, None, values), dtype="string")


def _counts(values: np.ndarray, hidden: np.ndarray) -> pd.arrays.IntegerArray:
    """Return counts as nullable integers, <NA> where hidden."""
    return pd.array(np.where(hidden, np.nan, np.round(values)), dtype="Int64")


def _small_to_none(count: int, min_cell: int) -> int | None:
    return None if 0 < count < min_cell else int(count)


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator else None


def _float_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _floor2(value: float) -> float:
    """Round down to two decimals, so "0.79 < 0.8" never prints as "0.80 < 0.8"."""
    return math.floor(value * 100 + 1e-9) / 100


def _decimal_vi(text: str) -> str:
    """Write a formatted decimal the Vietnamese way: comma for the decimal point."""
    return text.replace(".", ",")


def _count_vi(count: int) -> str:
    """Format a count the Vietnamese way: spaces between thousands (1 234)."""
    return f"{count:,}".replace(",", " ")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a frame's rows as dicts of built-ins (a report has at most a few hundred rows)."""
    return [_plain(record) for record in frame.astype(object).to_dict("records")]


def _plain(value: Any) -> Any:
    """Turn numpy/pandas scalars into built-ins and NaN/<NA> into None, recursively."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value
