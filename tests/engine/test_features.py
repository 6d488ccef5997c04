"""Pair features: training rows see only the past (no leakage), graduations count from their day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from matcher.demo import DemoConfig, generate
from matcher.features import FEATURES
from matcher.snapshot import from_contract_frames, training_set

TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def snapshot():
    config = DemoConfig(seed=5, n_workers=600, n_enterprises=25, n_courses=16, today=TODAY)
    return from_contract_frames(generate(config).frames(), today=TODAY)


def test_later_outcomes_never_change_earlier_rows(snapshot):
    """Given the training rows, when every outcome of a referral made on or after day T is
    changed, then every row of a referral made before T is byte-identical."""
    before = training_set(snapshot)
    cutoff = np.median(before.days)
    referrals = snapshot.referrals.copy()
    later = np.array([(d - dt.date(1970, 1, 1)).days for d in referrals["referred_on"]]) >= cutoff
    decided = referrals["status"] != "pending"
    flip = later & decided.to_numpy()
    hired = referrals["status"] == "hired"
    referrals.loc[flip & hired.to_numpy(), "status"] = "not_hired"
    referrals.loc[flip & hired.to_numpy(), "hired_on"] = None
    referrals.loc[flip & ~hired.to_numpy(), "status"] = "hired"
    referrals.loc[flip & ~hired.to_numpy(), "hired_on"] = referrals.loc[
        flip & ~hired.to_numpy(), "referred_on"
    ]
    referrals["left_on"] = None
    snapshot_after = type(snapshot)(
        snapshot.workers, snapshot.enterprises, snapshot.courses, snapshot.enrollments,
        snapshot.commitments, referrals,
    )  # fmt: skip
    after = training_set(snapshot_after)
    early_before = before.days < cutoff
    early_after = after.days < cutoff
    np.testing.assert_array_equal(
        before.referral_ids[early_before], after.referral_ids[early_after]
    )
    # Equal to rounding: enterprise_hire_lift differs by ~1e-15 on the four-year demo (its
    # running sums are accumulated in another order); a leak would move values by far more,
    # since half the outcomes were flipped.
    np.testing.assert_allclose(before.X[early_before], after.X[early_after], rtol=0, atol=1e-12)
    # ... and the change is real: later rows' track records moved.
    column = FEATURES.index("enterprise_hire_rate")
    assert not np.allclose(
        before.X[~early_before, column], after.X[~after.days.__lt__(cutoff), column]
    )


def test_graduation_counts_only_from_its_day(snapshot):
    rows = training_set(snapshot)
    enrollments = snapshot.enrollments
    graduated = enrollments[enrollments["status"] == "graduated"]
    end = dict(zip(snapshot.courses["id"], snapshot.courses["end_date"], strict=True))
    first_day: dict[int, int] = {}
    for worker, course, day in zip(
        graduated["worker_id"], graduated["course_id"], graduated["completed_on"], strict=True
    ):
        day = day if day is not None else end[course]  # undated: from the course's end
        number = (day - dt.date(1970, 1, 1)).days
        first_day[worker] = min(first_day.get(worker, number), number)
    column = FEATURES.index("graduated_trade_course")
    for i, worker in enumerate(rows.worker_ids):
        if worker not in first_day and rows.X[i, column] == 1:
            pytest.fail(f"worker {worker} never graduated but counts as trained")
    earliest = {w: min(d for ww, d in first_day.items() if ww == w) for w in first_day}
    before = np.array(
        [earliest.get(w, np.inf) > d for w, d in zip(rows.worker_ids, rows.days, strict=True)]
    )
    assert before.any()
    assert (rows.X[before, column] == 0).all()
