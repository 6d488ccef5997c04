"""The Hưng Yên demo data set: contract shape, hard constraints and the known hire model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from matcher import clock, ingest
from matcher.demo import (
    COLUMNS,
    HIRE_COEFFICIENTS,
    HUNG_YEN_PARKS,
    KINDS,
    PAIR_FEATURE_COLUMNS,
    DemoConfig,
    generate,
    pair_features,
    true_hire_probability,
)
from matcher.places import gazetteer
from matcher.taxonomy import taxonomy
from matcher.wages import minimum_wage_for, regions_of_wards

TODAY = dt.date(2026, 11, 27)
SMALL = DemoConfig(
    seed=7,
    today=TODAY,
    n_workers=400,
    n_enterprises=20,
    n_courses=12,
    referrals_per_month=60,
)


@pytest.fixture(scope="module")
def small():
    return generate(SMALL)


def _hires(data):
    referrals = data.referrals
    return referrals[referrals["outcome"] == "hired"]


def _pairs_with_day(data):
    """The truth's pairs with their referral day (graduations count as of that day)."""
    day = data.referrals.set_index("external_id")["referred_on"]
    truth = data.truth
    return truth[["worker_external_id", "commitment_external_id"]].assign(
        day=day.reindex(truth["external_id"]).to_numpy()
    )


def _features(data, workers=None, commitments=None):
    return pair_features(
        data.workers if workers is None else workers,
        data.commitments if commitments is None else commitments,
        data.enrollments,
        _pairs_with_day(data),
        enterprises=data.enterprises,
        courses=data.courses,
        enterprise_quality=data.enterprise_quality,
    )


# ----- determinism and shape ---------------------------------------------------------------


def test_generate_same_config_gives_identical_frames(small, tmp_path):
    again = generate(SMALL)
    for kind in KINDS:
        pd.testing.assert_frame_equal(small.frames()[kind], again.frames()[kind])
    pd.testing.assert_frame_equal(small.truth, again.truth)
    first = small.write_csv(tmp_path / "a", include_truth=True)
    second = again.write_csv(tmp_path / "b", include_truth=True)
    assert first.keys() == second.keys()
    for kind, path in first.items():
        assert path.read_bytes() == second[kind].read_bytes(), kind


def test_generate_other_seed_gives_other_data(small):
    other = generate(DemoConfig(**{**SMALL.__dict__, "seed": 8}))
    assert not other.workers.equals(small.workers)


def test_frames_are_in_load_order_with_exactly_the_contract_columns(small):
    frames = small.frames()
    assert (
        tuple(frames)
        == KINDS
        == (
            "enterprises",
            "courses",
            "workers",
            "enrollments",
            "commitments",
            "referrals",
        )
    )
    for kind, frame in frames.items():
        assert list(frame.columns) == list(ingest.COLUMNS[kind]) == list(COLUMNS[kind])
        assert not frame.isna().any().any(), kind
        assert all(isinstance(v, str) for v in frame.to_numpy().ravel()), kind
        assert len(frame) > 0, kind


def test_write_csv_writes_each_kind(small, tmp_path):
    paths = small.write_csv(tmp_path)
    assert list(paths) == list(KINDS)
    for kind, path in paths.items():
        assert path.name == f"{kind}.csv"
        header = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == list(COLUMNS[kind])


def test_frames_import_without_errors(small, tmp_path):
    for kind, path in small.write_csv(tmp_path).items():
        batch = ingest.load(kind, path.read_bytes(), path.name, today=TODAY)
        assert batch.errors == [], (kind, batch.errors[:5])
        assert len(batch.records) == len(small.frames()[kind])
        assert [n for n in batch.skill_notes if n.code is None] == [], kind
        if kind == "workers":
            methods = {note.method for note in batch.place_notes}
            assert methods == {"address_2025", "address_legacy_converted"}


def test_external_ids_are_unique_and_references_resolve(small):
    for kind in ("enterprises", "courses", "workers", "commitments", "referrals"):
        assert small.frames()[kind]["external_id"].is_unique, kind
    assert not small.enrollments.duplicated(["worker_external_id", "course_external_id"]).any()
    workers = set(small.workers["external_id"])
    courses = set(small.courses["external_id"])
    commitments = set(small.commitments["external_id"])
    assert set(small.enrollments["worker_external_id"]) <= workers
    assert set(small.enrollments["course_external_id"]) <= courses
    assert set(small.commitments["enterprise_external_id"]) <= set(small.enterprises["external_id"])
    linked = small.commitments["course_external_id"]
    assert set(linked[linked != ""]) <= courses
    assert set(small.referrals["worker_external_id"]) <= workers
    assert set(small.referrals["commitment_external_id"]) <= commitments


def test_phones_and_tax_codes_are_valid_and_distinct(small):
    phones = small.workers["phone"]
    phones = phones[phones != ""]
    assert phones.str.fullmatch(r"(0|\+84)[35789]\d{8}").all()
    assert phones.str[-9:].is_unique
    tax = small.enterprises["tax_code"]
    assert tax.str.fullmatch(r"\d{10}(-\d{3})?").all()
    assert tax.str[:10].is_unique
    assert small.enterprises["name"].is_unique


# ----- grounding ---------------------------------------------------------------------------


def test_every_place_is_a_ward_of_hung_yen(small):
    codes = {w.code for w in gazetteer().wards("33")}
    assert len(codes) == 104
    for kind in ("enterprises", "courses", "workers", "commitments"):
        ward_codes = small.frames()[kind]["ward_code"]
        assert set(ward_codes[ward_codes != ""]) <= codes, kind
    addresses = small.workers.loc[small.workers["ward_code"] == "", "address"]
    assert len(addresses) > 0
    for address in addresses:
        assert gazetteer().resolve_address(address).ward.code in codes


def test_park_enterprises_sit_in_their_parks_wards(small):
    park_wards = {gazetteer().resolve_address(p.legacy_address).ward.code for p in HUNG_YEN_PARKS}
    parks = small.enterprises[small.enterprises["address"].str.contains("KCN")]
    assert len(parks) >= len(small.enterprises) // 2
    assert set(parks["ward_code"]) <= park_wards
    assert (parks["lat"] != "").all()
    crafts = small.enterprises[~small.enterprises["address"].str.contains("KCN")]
    kinds = {w.code: w.kind for w in gazetteer().wards("33")}
    assert {kinds[code] for code in crafts["ward_code"]} == {"Xã"}


def test_wages_are_at_least_the_regional_minimum(small):
    commitments = small.commitments.merge(
        small.enterprises[["external_id", "ward_code"]].rename(
            columns={"external_id": "enterprise_external_id", "ward_code": "enterprise_ward"}
        ),
        on="enterprise_external_id",
    )
    site = commitments["ward_code"].where(
        commitments["ward_code"] != "", commitments["enterprise_ward"]
    )
    regions = regions_of_wards(site)
    assert (regions > 0).all()
    minimum = minimum_wage_for(regions, commitments["start_date"].to_numpy())
    assert (commitments["wage_vnd"].astype(int).to_numpy() >= minimum).all()


def test_some_workers_write_skills_in_free_text(small):
    skills = small.workers["skills"]
    items = skills[skills != ""].str.split(";").explode()
    free = items[~items.map(taxonomy().is_skill_code)]
    workers_with_free = skills.map(
        lambda cell: any(not taxonomy().is_skill_code(i) for i in cell.split(";") if i)
    )
    assert 0.05 <= workers_with_free.mean() <= 0.15
    assert free.map(lambda text: taxonomy().normalize(text).match is not None).all()


# ----- hard constraints --------------------------------------------------------------------


def test_hires_never_exceed_slots(small):
    hires = _hires(small).groupby("commitment_external_id").size()
    slots = small.commitments.set_index("external_id")["slots"].astype(int)
    assert (hires <= slots.reindex(hires.index)).all()
    assert (slots >= 2).all() and (slots <= 20).all()


def test_a_worker_holds_one_job_at_a_time(small):
    hires = _hires(small).sort_values(["worker_external_id", "hired_on"])
    end = hires["left_on"].where(hires["left_on"] != "", "9999-12-31")
    previous_end = end.groupby(hires["worker_external_id"]).shift()
    assert not (previous_end.notna() & (previous_end >= hires["hired_on"])).any()


def test_dates_are_ordered_and_never_after_today(small):
    today = TODAY.isoformat()
    referrals = small.referrals
    hired = referrals["outcome"] == "hired"
    assert (referrals["referred_on"] <= today).all()
    assert referrals["referred_on"].min() >= SMALL.history_start.isoformat()
    assert (referrals.loc[hired, "hired_on"] >= referrals.loc[hired, "referred_on"]).all()
    assert (referrals.loc[hired, "hired_on"] <= today).all()
    assert (referrals.loc[~hired, ["hired_on", "left_on"]] == "").all().all()
    left = referrals[hired & (referrals["left_on"] != "")]
    assert (left["left_on"] > left["hired_on"]).all() and (left["left_on"] <= today).all()
    pending = referrals["outcome"] == "pending"
    recent = referrals["referred_on"] > (TODAY - dt.timedelta(days=21)).isoformat()
    assert (pending == recent).all()


def test_enrollments_agree_with_course_dates(small):
    enrollments = small.enrollments.merge(
        small.courses[["external_id", "start_date", "end_date"]].rename(
            columns={"external_id": "course_external_id"}
        ),
        on="course_external_id",
    )
    today = TODAY.isoformat()
    done = enrollments["status"] != "enrolled"
    assert (enrollments.loc[~done, "completed_on"] == "").all()
    assert (enrollments.loc[done, "completed_on"] <= today).all()
    graduated = enrollments[enrollments["status"] == "graduated"]
    assert (graduated["completed_on"] == graduated["end_date"]).all()
    dropped = enrollments[enrollments["status"] == "dropped"]
    assert (dropped["completed_on"] >= dropped["start_date"]).all()
    still_running = enrollments.loc[~done, "end_date"] > today
    assert still_running.all()


def test_course_levels_have_plausible_lengths(small):
    courses = small.courses
    days = (pd.to_datetime(courses["end_date"]) - pd.to_datetime(courses["start_date"])).dt.days
    assert (days[courses["level"] == "elementary"] < 92).all()
    assert (days[courses["level"] == "intermediate"].between(365, 730)).all()


def test_referral_dates_follow_worker_age(small):
    referrals = small.referrals.merge(
        small.workers[["external_id", "birth_year"]].rename(
            columns={"external_id": "worker_external_id"}
        ),
        on="worker_external_id",
    )
    age = referrals["referred_on"].str[:4].astype(int) - referrals["birth_year"].astype(int)
    assert (age >= 15).all()


# ----- the known hire probability ----------------------------------------------------------


def test_truth_counts_graduations_only_as_of_the_referral_day(small):
    """A graduation after the referral day is unknown then: the truth must not use it."""
    pairs = _pairs_with_day(small)
    as_of_day = small.pair_features(pairs)
    ever = small.pair_features(pairs.drop(columns="day"))
    later = ever["graduated_trade_course"] > as_of_day["graduated_trade_course"]
    assert later.any()  # some referrals precede the worker's graduation
    assert (as_of_day["graduated_trade_course"] <= ever["graduated_trade_course"]).all()


def test_truth_is_pair_features_and_p_true_of_every_referral(small):
    truth = small.truth
    assert list(truth["external_id"]) == list(small.referrals["external_id"])
    recomputed = _features(small)
    for column in PAIR_FEATURE_COLUMNS:
        np.testing.assert_allclose(truth[column], recomputed[column], err_msg=column)
    np.testing.assert_allclose(truth["p_true"], true_hire_probability(recomputed))
    np.testing.assert_allclose(small.hire_probability(_pairs_with_day(small)), truth["p_true"])


def test_outcomes_follow_the_draws(small):
    truth = small.truth
    capped = truth["capped"] != ""
    assert (truth.loc[~capped, "hired_draw"] == (truth.loc[~capped, "outcome"] == "hired")).all()
    assert (truth.loc[capped, "hired_draw"]).all()
    assert capped.mean() < 0.05


def test_p_true_lies_strictly_between_zero_and_one(small):
    p = small.truth["p_true"].to_numpy()
    assert ((p > 0) & (p < 1)).all()
    assert p.std() > 0.1


def test_hire_rate_is_plausible_at_small_size(small):
    # With 20 enterprises the sites are few and far; the 25-40 % target is checked at the
    # default size (test_default_size_matches_the_brief).
    settled = small.referrals[small.referrals["outcome"] != "pending"]
    assert 0.15 <= (settled["outcome"] == "hired").mean() <= 0.45
    assert 0.15 <= small.truth["p_true"].mean() <= 0.45


def test_probability_falls_with_distance(small):
    features = small.truth[list(PAIR_FEATURE_COLUMNS)].copy()
    before = true_hire_probability(features)
    farther = features.copy()
    farther["distance_km"] += 5.0
    over = farther["commute_excess_km"] > 0
    farther.loc[over, "commute_excess_km"] += 5.0
    assert (true_hire_probability(farther) < before).all()
    beyond = features.copy()
    beyond["commute_excess_km"] += 3.0
    assert (true_hire_probability(beyond) < before).all()


def test_probability_falls_when_workers_move_away(small):
    workers = small.workers.copy()
    # Put everyone at the province's south-eastern tip: farther from most sites.
    workers["ward_code"] = "13066"
    workers["address"] = ""
    moved = _features(small, workers=workers)
    original = small.truth
    farther = moved["distance_km"].to_numpy() > original["distance_km"].to_numpy()
    closer = moved["distance_km"].to_numpy() < original["distance_km"].to_numpy()
    p_moved = true_hire_probability(moved)
    p_original = original["p_true"].to_numpy()
    assert farther.any()
    assert (p_moved[farther] < p_original[farther]).all()
    assert (p_moved[closer] > p_original[closer]).all()


def test_probability_does_not_fall_with_higher_wage(small):
    commitments = small.commitments.copy()
    commitments["wage_vnd"] = (commitments["wage_vnd"].astype(int) * 1.25).astype(int).astype(str)
    richer = true_hire_probability(_features(small, commitments=commitments))
    p = small.truth["p_true"].to_numpy()
    assert (richer >= p).all()
    assert (richer > p).mean() > 0.9


def test_probability_does_not_fall_with_more_skill_coverage(small):
    features = small.truth[list(PAIR_FEATURE_COLUMNS)].copy()
    before = true_hire_probability(features)
    covered = features.assign(skill_coverage=1.0)
    after = true_hire_probability(covered)
    assert (after >= before).all()
    assert (after[features["skill_coverage"] < 1] > before[features["skill_coverage"] < 1]).all()


def test_probability_ignores_protected_attributes(small):
    workers = small.workers.copy()
    workers["gender"] = workers["gender"].map({"female": "male", "male": "female"}).fillna("other")
    workers["birth_year"] = (workers["birth_year"].astype(int) - 7).astype(str)
    workers["ethnic_minority"] = "true"
    workers["disability"] = "true"
    changed = _features(small, workers=workers)
    np.testing.assert_array_equal(true_hire_probability(changed), small.truth["p_true"])


def test_hire_coefficients_have_the_documented_signs():
    assert HIRE_COEFFICIENTS["distance_km"] < 0
    assert HIRE_COEFFICIENTS["commute_excess_km"] < 0
    assert HIRE_COEFFICIENTS["log_wage_ratio"] > 0
    assert HIRE_COEFFICIENTS["log_wage_over_minimum"] > 0
    assert HIRE_COEFFICIENTS["skill_coverage"] > 0
    protected = {"gender", "birth_year", "age", "ethnic_minority", "disability"}
    assert not protected & set(HIRE_COEFFICIENTS)
    assert not protected & set(PAIR_FEATURE_COLUMNS)


def test_true_hire_probability_needs_every_feature(small):
    features = small.truth[list(PAIR_FEATURE_COLUMNS)].drop(columns="distance_km")
    with pytest.raises(KeyError, match="distance_km"):
        true_hire_probability(features)


def test_pair_features_reads_addresses_as_their_wards(small):
    workers = small.workers.copy()
    has_address = workers["ward_code"] == ""
    workers.loc[has_address, "ward_code"] = workers.loc[has_address, "address"].map(
        lambda a: gazetteer().resolve_address(a).ward.code
    )
    workers.loc[has_address, "address"] = ""
    pd.testing.assert_frame_equal(_features(small, workers=workers), _features(small))


def test_pair_features_scores_any_pair(small):
    pairs = pd.DataFrame(
        {
            "worker_external_id": np.repeat(small.workers["external_id"].to_numpy()[:50], 4),
            "commitment_external_id": np.tile(small.commitments["external_id"].to_numpy()[:4], 50),
        }
    )
    features = small.pair_features(pairs)
    assert len(features) == 200
    assert list(features["worker_external_id"]) == list(pairs["worker_external_id"])
    p = true_hire_probability(features)
    assert ((p > 0) & (p < 1)).all()


def test_pair_features_rejects_unknown_ids(small):
    pairs = pd.DataFrame({"worker_external_id": ["nobody"], "commitment_external_id": ["CK000001"]})
    with pytest.raises(KeyError, match="nobody"):
        small.pair_features(pairs)


# ----- configuration -----------------------------------------------------------------------


def test_config_today_defaults_to_the_day_it_is_made():
    assert DemoConfig().today == clock.today()
    with clock.pinned(dt.date(2027, 2, 22)):
        assert DemoConfig().today == dt.date(2027, 2, 22)


def test_config_rejects_empty_sizes():
    with pytest.raises(ValueError, match="n_workers"):
        DemoConfig(n_workers=0)


def test_generate_refuses_history_before_known_minimum_wages():
    with pytest.raises(ValueError, match="minimum wages"):
        generate(DemoConfig(today=dt.date(2023, 6, 1), history_years=2))


def test_history_years_is_a_parameter():
    longer = generate(
        DemoConfig(
            **{**SMALL.__dict__, "history_years": 3, "n_workers": 300, "referrals_per_month": 30}
        )
    )
    earliest = longer.referrals["referred_on"].min()
    assert earliest < (TODAY - dt.timedelta(days=2 * 365 + 30)).isoformat()


def test_generate_keeps_ids_unique_and_slots_at_the_large_shape():
    """The shape of bench/demo.py's 100,000-worker case (50 workers and 0.75 courses per
    enterprise), at 1 % of its size; the bench prints the time at full size."""
    data = generate(DemoConfig(today=TODAY, n_workers=1_000, n_enterprises=20, n_courses=15))
    assert len(data.workers) == 1_000 and len(data.enterprises) == 20
    assert len(data.courses) == 15
    for kind in ("enterprises", "courses", "workers", "commitments", "referrals"):
        assert data.frames()[kind]["external_id"].is_unique, kind
    hires = _hires(data).groupby("commitment_external_id").size()
    slots = data.commitments.set_index("external_id")["slots"].astype(int)
    assert (hires <= slots.reindex(hires.index)).all()
