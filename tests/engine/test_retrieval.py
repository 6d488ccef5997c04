"""Candidate retrieval equals brute force: same sites, trades and expiry, only faster."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import retrieval
from matcher.features import CommitmentArrays, WorkerArrays
from matcher.places import haversine_km


def _commitments(n: int, rng: np.random.Generator) -> CommitmentArrays:
    return CommitmentArrays(
        ids=np.arange(1, n + 1, dtype=np.int64),
        enterprise_ids=rng.integers(1, 50, n),
        lat=rng.uniform(20.3, 21.0, n),
        lon=rng.uniform(105.9, 106.6, n),
        trade_index=rng.integers(0, 6, n),
        skill_bits=np.zeros((n, 2), dtype=np.uint64),
        required_count=np.zeros(n, dtype=np.int64),
        min_education_rank=np.full(n, np.nan),
        wage_vnd=np.full(n, 8e6),
        minimum_wage_vnd=np.full(n, 4.7e6),
        start_day=np.full(n, 20_000.0),
        expires_day=np.where(rng.random(n) < 0.2, 19_990.0, np.nan),
        course_ids=np.full(n, -1, dtype=np.int64),
    )


def _worker(lat: float, lon: float) -> WorkerArrays:
    one = np.array
    return WorkerArrays(
        ids=one([1]), lat=one([lat]), lon=one([lon]), trade_bits=one([0b11]),
        skill_bits=np.zeros((1, 2), dtype=np.uint64), education_rank=one([np.nan]),
        experience_years=one([np.nan]), expected_wage_vnd=one([np.nan]),
        max_commute_km=one([30.0]), available_day=one([np.nan]),
    )  # fmt: skip


@pytest.mark.parametrize("radius_km", [5.0, 20.0, 45.0])
def test_retrieve_matches_brute_force(radius_km):
    rng = np.random.default_rng(7)
    commitments = _commitments(5000, rng)
    index = retrieval.CommitmentIndex(commitments)
    worker = _worker(20.65, 106.05)
    found = index.retrieve(worker, radius_km, trades=[0, 1], day=20_000.0)
    distance = haversine_km(20.65, 106.05, commitments.lat, commitments.lon)
    expected = np.flatnonzero(
        (distance <= radius_km)
        & np.isin(commitments.trade_index, [0, 1])
        & (np.isnan(commitments.expires_day) | (commitments.expires_day >= 20_000.0))
    )
    assert set(found.tolist()) == set(expected.tolist())


def test_retrieve_keeps_the_nearest_when_over_the_cap(monkeypatch):
    monkeypatch.setattr(retrieval, "RETRIEVE_CAP", 100)
    rng = np.random.default_rng(8)
    commitments = _commitments(3000, rng)
    index = retrieval.CommitmentIndex(commitments)
    worker = _worker(20.65, 106.25)
    found = index.retrieve(worker, 200.0, trades=list(range(6)), day=0.0)
    assert len(found) == 100
    distance = haversine_km(20.65, 106.25, commitments.lat, commitments.lon)
    assert distance[found].max() <= np.sort(distance)[99] + 1e-9


def test_candidate_graph_equals_each_workers_own_ranking():
    """The batch graph for allocation holds, per worker, exactly the top-k that ranking that
    worker alone would give (same retrieval, same scores)."""
    import datetime as dt

    from matcher.demo import DemoConfig, generate
    from matcher.features import day_of
    from matcher.scoring import RuleScorer
    from matcher.snapshot import from_contract_frames

    today = dt.date(2026, 11, 27)
    config = DemoConfig(seed=9, n_workers=300, n_enterprises=20, n_courses=12, today=today)
    snapshot = from_contract_frames(generate(config).frames(), today=today)
    workers = snapshot.worker_arrays()
    index = retrieval.CommitmentIndex(snapshot.commitment_arrays())
    context = snapshot.context()
    rules = RuleScorer()

    def score(features):
        return rules.predict_proba(features)[:, 1]

    day = day_of(today)
    graph = retrieval.candidate_graph(workers, index, day, context, score, per_worker=5)
    assert len(graph.worker) > 0
    for position in range(0, len(workers), 7):
        one = workers.take(np.array([position]))
        bits = int(one.trade_bits[0])
        trades = [t for t in range(6) if bits >> t & 1] or list(range(6))
        found = index.retrieve(one, float(one.max_commute_km[0]), trades, day)
        ranked = index.rank(one, found, day, context, score, score, limit=5)
        mine = graph.commitment[graph.worker == position]
        assert set(mine.tolist()) == set(ranked.positions.tolist()), position
        np.testing.assert_allclose(
            np.sort(graph.probability[graph.worker == position]), np.sort(ranked.scores)
        )
