"""Fairness audit: rates, impact ratios, bootstrap intervals, suppression and the gate."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from matcher.fairness import (
    AGE_BANDS,
    CROSS,
    MIN_CELL,
    FairnessReport,
    age_band_labels,
    fairness_report,
    protected_groups,
    scoring_flags,
)

TODAY = dt.date(2026, 6, 1)
#: Keys of the report that count people; none may hold 1..MIN_CELL-1.
PEOPLE_COUNTS = ("people", "scored_people", "referred", "unknown_people")


def synthetic_world(
    n_people: int = 2_000,
    *,
    female_penalty: float = 0.0,
    pairs_per_person: int = 10,
    n_commitments: int = 100,
    seed: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return people, scored pairs and referrals; women's scores lowered by ``female_penalty``."""
    rng = np.random.default_rng(seed)
    genders, flags = ["female", "male", "unspecified"], np.array([True, False, None])
    people = pd.DataFrame(
        {
            "worker_id": np.arange(n_people),
            "gender": rng.choice(genders, n_people, p=[0.48, 0.48, 0.04]),
            "ethnic_minority": rng.choice(flags, n_people, p=[0.2, 0.75, 0.05]),
            "disability": rng.choice(flags[:2], n_people, p=[0.1, 0.9]),
            "birth_year": TODAY.year - rng.integers(16, 70, n_people),
        }
    )
    worker = np.repeat(people["worker_id"].to_numpy(), pairs_per_person)
    female = people["gender"].to_numpy()[worker] == "female"
    pairs = pd.DataFrame(
        {
            "worker_id": worker,
            "commitment_id": rng.integers(0, n_commitments, worker.size),
            "score": rng.normal(0.0, 0.5, worker.size) - female_penalty * female,
        }
    )
    referrals = pd.DataFrame(
        {
            "worker_id": rng.integers(0, n_people, n_people),
            "outcome": rng.choice(
                ["hired", "not_hired", "declined", "no_show", "pending"], n_people
            ),
        }
    )
    return people, pairs, referrals


def row(report, attribute: str, group: str) -> pd.Series:
    rows = report.groups[
        (report.groups["attribute"] == attribute) & (report.groups["group"] == group)
    ]
    assert len(rows) == 1, (attribute, group)
    return rows.iloc[0]


def walk(value, key=None):
    """Yield (key, value) of every leaf of a nested dict/list."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)
    else:
        yield key, value


# ============================================================================================
# Groups and flags


def test_protected_groups_maps_values_and_unknowns():
    people = pd.DataFrame(
        {
            "worker_id": [1, 2, 3, 4, 5, 6, 7],
            "gender": ["female", "Male ", "other", "unspecified", None, "female", "x"],
            "ethnic_minority": [True, False, None, "true", "False", np.nan, True],
            "disability": [False, True, None, None, False, True, False],
            "birth_year": [TODAY.year - 24, TODAY.year - 25, TODAY.year - 55, TODAY.year - 80,
                           TODAY.year - 14, None, str(TODAY.year - 81)],
        }
    )  # fmt: skip

    groups = protected_groups(people, today=TODAY)

    assert list(groups["worker_id"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(groups["gender"]) == ["female", "male", "other"] + ["unknown"] * 2 + [
        "female",
        "unknown",
    ]
    assert list(groups["ethnic_minority"]) == [
        "yes",
        "no",
        "unknown",
        "yes",
        "no",
        "unknown",
        "yes",
    ]
    assert list(groups["disability"]) == ["no", "yes", "unknown", "unknown", "no", "yes", "no"]
    assert list(groups["age_band"]) == ["15–24", "25–34", "55+", "55+"] + ["unknown"] * 3
    assert list(groups["age_band"].cat.categories) == [*age_band_labels(), "unknown"]
    assert len(age_band_labels()) == len(AGE_BANDS)


def test_scoring_flags_count_strictly_above_median_and_skip_single_pair_commitments():
    pairs = pd.DataFrame(
        {
            "worker_id": range(8),
            "commitment_id": ["a", "a", "a", "b", "b", "b", "b", "c"],
            "score": [0.1, 0.5, 0.9, 0.2, 0.2, 0.4, np.nan, 0.7],
        }
    )

    flags = scoring_flags(pairs)

    # a: median 0.5, the tie is not above; b: median of the three scores 0.2; c: alone.
    assert flags.tolist() == [False, False, True, False, False, True, pd.NA, pd.NA]
    assert flags.index.equals(pairs.index)


# ============================================================================================
# Rates and ratios


def hand_example() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Ten women (ids 0–9) and ten men (10–19) on two commitments and one lone pair.

    Commitment A scores 1..20: 4 women and 6 men above the median 10.5. Commitment B: 5 and
    5. Scoring rates: women 9/20 = 0.45, men 11/20 = 0.55, ratio 0.45 / 0.55. Each person has
    one decided referral: 3 women and 5 men hired (hire ratio 0.6), and pending ones besides.
    """
    women, men = np.arange(10), np.arange(10, 20)
    people = pd.DataFrame(
        {"worker_id": np.r_[women, men], "gender": ["female"] * 10 + ["male"] * 10}
    )
    a = np.r_[[11, 12, 13, 14, 1, 2, 3, 4, 5, 6], [15, 16, 17, 18, 19, 20, 7, 8, 9, 10]]
    b = np.r_[[11, 12, 13, 14, 15, 1, 2, 3, 4, 5], [16, 17, 18, 19, 20, 6, 7, 8, 9, 10]]
    pairs = pd.DataFrame(
        {
            "worker_id": np.r_[women, men, women, men, [0]],
            "commitment_id": ["A"] * 20 + ["B"] * 20 + ["C"],
            "score": np.r_[a, b, [99]],
        }
    )
    outcome = ["hired"] * 3 + ["not_hired"] * 4 + ["declined", "no_show", "not_hired"]
    outcome += ["hired"] * 5 + ["not_hired"] * 5
    referrals = pd.DataFrame(
        {
            "worker_id": np.r_[women, men, [0, 10]],
            "outcome": outcome + ["pending", "pending"],
        }
    )
    return people, pairs, referrals


def test_report_hand_example_gives_known_rates_and_ratios():
    people, pairs, referrals = hand_example()

    # min_cell=1: the arithmetic, not the suppression, is under test here.
    report = fairness_report(
        people, pairs, referrals, today=TODAY, n_boot=200, intersections=False, min_cell=1
    )

    women, men = row(report, "gender", "female"), row(report, "gender", "male")
    assert (women.people, women.scored_pairs, men.scored_pairs) == (10, 20, 20)
    assert women.scoring_rate == pytest.approx(0.45)
    assert men.scoring_rate == pytest.approx(0.55)
    assert women.scoring_impact_ratio == pytest.approx(0.45 / 0.55)
    assert men.scoring_impact_ratio == 1.0
    assert (women.decided, women.hired, men.decided, men.hired) == (10, 3, 10, 5)
    assert women.hire_rate == pytest.approx(0.3)
    assert women.hire_impact_ratio == pytest.approx(0.6)
    assert women.reference_group == men.reference_group == "male"
    assert report.overall["scored_pairs"] == 40  # the lone pair on C is not counted
    assert report.overall["scoring_rate"] == pytest.approx(0.5)
    assert report.overall["hire_rate"] == pytest.approx(0.4)


def test_report_counts_unknowns_and_leaves_them_out_of_comparison():
    people, pairs, referrals = hand_example()
    unknown = pd.DataFrame({"worker_id": np.arange(20, 32), "gender": "unspecified"})
    # On commitment D the unknowns all score above everyone else's median.
    pairs = pd.concat(
        [
            pairs,
            pd.DataFrame(
                {
                    "worker_id": np.r_[unknown["worker_id"], np.arange(20)],
                    "commitment_id": "D",
                    "score": np.r_[np.full(12, 5.0), np.zeros(20)],
                }
            ),
        ]
    )

    report = fairness_report(
        pd.concat([people, unknown]), pairs, referrals, today=TODAY, n_boot=100
    )

    unknown_row = row(report, "gender", "unknown")
    assert unknown_row.people == 12
    assert unknown_row.scoring_rate == 1.0  # reported ...
    assert pd.isna(unknown_row.scoring_impact_ratio)  # ... but not compared
    assert set(report.groups.loc[report.groups["attribute"] == "gender", "reference_group"]) == {
        "male"
    }
    unknowns = report.unknowns.set_index("attribute")["unknown_people"]
    assert unknowns["gender"] == 12
    assert unknowns["ethnic_minority"] == unknowns["age_band"] == 32
    assert not any(CROSS in g and "unknown" in g for g in report.groups["group"])


# ============================================================================================
# Bootstrap


def test_bootstrap_is_deterministic_for_a_seed():
    people, pairs, referrals = synthetic_world(600, seed=3)

    first = fairness_report(people, pairs, referrals, today=TODAY, n_boot=200, seed=5)
    again = fairness_report(people, pairs, referrals, today=TODAY, n_boot=200, seed=5)
    other = fairness_report(people, pairs, referrals, today=TODAY, n_boot=200, seed=6)

    pd.testing.assert_frame_equal(first.groups, again.groups)
    assert not first.groups["scoring_rate_low"].equals(other.groups["scoring_rate_low"])
    pd.testing.assert_series_equal(first.groups["scoring_rate"], other.groups["scoring_rate"])


def test_bootstrap_intervals_contain_the_point_estimates():
    people, pairs, referrals = synthetic_world(1_000, female_penalty=0.2, seed=4)

    groups = fairness_report(people, pairs, referrals, today=TODAY, n_boot=300).groups

    shown = groups[~groups["suppressed"] & groups["scoring_rate"].notna()]
    assert len(shown) > 10
    for side in ("scoring", "hire"):
        for figure, low, high in [
            (f"{side}_rate", f"{side}_rate_low", f"{side}_rate_high"),
            (f"{side}_impact_ratio", f"{side}_impact_low", f"{side}_impact_high"),
        ]:
            known = shown[shown[figure].notna()]
            assert (known[low] <= known[figure]).all() and (known[figure] <= known[high]).all()
            assert (known[high] - known[low] > 0).any()


def test_report_without_bootstrap_has_no_intervals():
    people, pairs, referrals = synthetic_world(300)

    groups = fairness_report(people, pairs, referrals, today=TODAY, n_boot=0).groups

    assert groups["scoring_rate"].notna().any()
    assert groups["scoring_rate_low"].isna().all() and groups["hire_impact_high"].isna().all()


# ============================================================================================
# The gate


def test_gate_fails_for_a_scorer_biased_against_women():
    people, pairs, referrals = synthetic_world(2_000, female_penalty=0.3)

    report = fairness_report(people, pairs, referrals, today=TODAY, n_boot=200)
    result = report.gate()

    assert not result.passed
    assert [(f["attribute"], f["group"]) for f in result.failures] == [("gender", "female")]
    women = row(report, "gender", "female")
    assert women.scoring_impact_high < 0.8
    vietnamese, english = result.reason.split(" / ")
    assert vietnamese.startswith("Tỷ lệ tác động của nhóm giới tính = female là 0,")
    assert f"(n = {women.people:,})".replace(",", " ") in vietnamese
    assert english.startswith("Impact ratio for gender = female is 0.")
    assert english.endswith(f"< 0.8 (n = {women.people:,})")


def test_gate_passes_for_an_unbiased_scorer_with_intervals_covering_one():
    people, pairs, referrals = synthetic_world(2_000)

    report = fairness_report(people, pairs, referrals, today=TODAY, n_boot=300)
    result = report.gate()

    assert result.passed and result.failures == []
    assert "0,8" in result.reason and "0.8" in result.reason
    women, men = row(report, "gender", "female"), row(report, "gender", "male")
    for group in (women, men):
        assert group.scoring_impact_low <= 1.0 <= group.scoring_impact_high


def test_gate_ignores_groups_smaller_than_min_group():
    people, pairs, referrals = synthetic_world(1_000)
    # Twenty people of "other" gender, all scored at the bottom of their commitments.
    others = people["worker_id"].to_numpy()[:20]
    people.loc[people["worker_id"].isin(others), "gender"] = "other"
    pairs.loc[pairs["worker_id"].isin(others), "score"] = -10.0

    report = fairness_report(people, pairs, referrals, today=TODAY, n_boot=50)

    assert row(report, "gender", "other").scoring_impact_ratio < 0.8
    assert report.gate().passed
    assert not report.gate(min_group=20).passed


def test_report_without_scores_passes_the_gate_saying_nothing_was_measured():
    people, _, referrals = synthetic_world(200)

    report = fairness_report(people, None, referrals, today=TODAY, n_boot=50)
    result = report.gate()

    assert result.passed
    assert "No group of 30 or more people has a measurable impact ratio" in result.reason
    assert report.groups["scoring_rate"].isna().all()
    assert report.groups["hire_rate"].notna().any()


# ============================================================================================
# Suppression and serialisation


def test_report_suppresses_small_groups_and_shows_no_small_count():
    people, pairs, referrals = synthetic_world(400, seed=2)
    people.loc[:4, "gender"] = "other"  # five people
    people.loc[5:8, "birth_year"] = None  # four unknown ages
    people["disability"] = people["disability"].astype(object)
    people.loc[:, "disability"] = False
    people.loc[9:15, "disability"] = True  # seven people

    report = fairness_report(people, pairs, referrals, today=TODAY, n_boot=50)

    other = row(report, "gender", "other")
    assert other.suppressed
    assert other.drop(["attribute", "group", "suppressed"]).isna().all()
    assert row(report, "disability", "yes").suppressed
    cells = report.groups[report.groups["attribute"].str.contains(CROSS)]
    assert (cells["people"] >= MIN_CELL).all() and not cells["suppressed"].any()
    unknown_ages = report.unknowns.set_index("attribute").loc["age_band"]
    assert unknown_ages.suppressed and pd.isna(unknown_ages.unknown_people)
    leaks = [
        (key, value)
        for key, value in walk(report.to_dict())
        if key in PEOPLE_COUNTS and value is not None and 0 < value < MIN_CELL
    ]
    assert leaks == []


def test_report_hides_hire_figures_of_a_group_with_few_referred_people():
    people, pairs, referrals = hand_example()
    referrals = referrals[referrals["worker_id"] >= 10 - 3]  # three women referred

    women = row(
        fairness_report(people, pairs, referrals, today=TODAY, n_boot=50), "gender", "female"
    )

    assert women.people == 10 and women.scoring_rate == pytest.approx(0.45)
    assert pd.isna(women.referred) and pd.isna(women.hired) and pd.isna(women.hire_rate)


def test_report_lists_intersections_of_big_enough_cells():
    people, pairs, referrals = synthetic_world(2_000)

    groups = fairness_report(people, pairs, referrals, today=TODAY, n_boot=50).groups

    crossed = groups[groups["attribute"] == f"gender{CROSS}age_band"]
    assert "female×25–34" in set(crossed["group"])
    assert crossed["reference_group"].isin(crossed["group"]).all()
    assert (
        not fairness_report(people, pairs, referrals, today=TODAY, n_boot=0, intersections=False)
        .groups["attribute"]
        .str.contains(CROSS)
        .any()
    )


def test_to_dict_is_plain_json():
    people, pairs, referrals = synthetic_world(300)
    report = fairness_report(people, pairs, referrals, today=TODAY, n_boot=50)

    payload = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    gate = json.loads(json.dumps(report.gate().to_dict(), allow_nan=False))

    assert {"groups", "unknowns", "overall"} <= payload.keys()
    assert payload["groups"][0]["attribute"] == "gender"
    assert payload["overall"]["people"] == 300
    assert gate["passed"] in (True, False)


def test_report_of_nobody_is_empty_and_passes():
    report = fairness_report(pd.DataFrame({"worker_id": []}), None, None, today=TODAY)

    assert report.groups.empty
    assert report.unknowns["unknown_people"].tolist() == [0, 0, 0, 0]
    assert report.gate().passed


def test_report_hides_hire_counts_under_ten_and_the_rate_resting_on_them():
    people, pairs, referrals = hand_example()
    report = fairness_report(people, pairs, referrals, today=TODAY, n_boot=50, intersections=False)
    women = row(report, "gender", "female")
    assert women.people == 10 and women.decided == 10
    assert women.hired is None and np.isnan(women.hire_rate) and np.isnan(women.hire_impact_ratio)
    assert report.overall["hired"] is None or report.overall["hired"] >= 10


def _report(*groups: tuple[str, str, int, float, float | None, float | None]) -> FairnessReport:
    """A report with just the columns the gate reads: (attribute, group, people, ratio,
    interval low, interval high)."""
    frame = pd.DataFrame(
        groups,
        columns=["attribute", "group", "people", "scoring_impact_ratio", "scoring_impact_low",
                 "scoring_impact_high"],
    )  # fmt: skip
    frame["suppressed"] = False
    return FairnessReport(groups=frame, unknowns=pd.DataFrame(), overall={})


def test_gate_weighs_evidence_not_a_small_groups_point_estimate():
    # 2026-12-01: ethnic minority 0.79 for ~91 people, interval 0.65–0.95, held the model back.
    noisy = _report(("ethnic_minority", "yes", 91, 0.79, 0.65, 0.95))
    clear = _report(("ethnic_minority", "yes", 91, 0.70, 0.62, 0.78))

    assert noisy.gate().passed
    result = clear.gate()
    assert not result.passed and result.failures[0]["why"] == "under_rule"
    assert "upper bound 0.78" in result.reason and "cận trên 0,78" in result.reason


def test_gate_fails_a_model_materially_less_fair_than_the_scorer_it_replaces():
    incumbent = _report(("gender", "female", 500, 0.97, 0.93, 1.0))
    worse = _report(("gender", "female", 500, 0.86, 0.82, 0.90))
    slightly = _report(("gender", "female", 500, 0.94, 0.89, 0.99))

    result = worse.gate(baseline=incumbent)
    assert worse.gate().passed  # above 0.8 on its own
    assert not result.passed and result.failures[0]["why"] == "worse_than_baseline"
    assert result.failures[0]["baseline_impact_ratio"] == 0.97
    assert "materially worse than 0.97" in result.reason
    assert slightly.gate(baseline=incumbent).passed  # within the margin


def test_gate_without_intervals_judges_the_point_estimate():
    assert not _report(("gender", "female", 100, 0.79, None, None)).gate().passed
