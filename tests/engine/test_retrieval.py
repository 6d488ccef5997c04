"""Candidate retrieval equals brute force: same sites, trades and expiry, only faster."""

from __future__ import annotations

import functools

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


def _worker_at(lat: float, lon: float, trades: int = 0b11, commute: float = 30.0) -> WorkerArrays:
    worker = _worker(lat, lon)
    return WorkerArrays(**{**worker.__dict__, "trade_bits": np.array([trades]),
                           "max_commute_km": np.array([commute])})  # fmt: skip


@functools.cache
def _context():
    """Track records of a small demo (the synthetic commitments' enterprises are unknown to
    it, so they get the overall rates)."""
    import datetime as dt

    from matcher.demo import DemoConfig, generate
    from matcher.snapshot import from_contract_frames

    today = dt.date(2026, 11, 27)
    config = DemoConfig(seed=9, n_workers=200, n_enterprises=10, n_courses=8, today=today)
    return from_contract_frames(generate(config).frames(), today=today).context()


def _rules(features):
    return retrieval.rule_score(features)


@pytest.mark.parametrize("radius_km", [5.0, 20.0, 45.0])
def test_retrieve_matches_brute_force(radius_km):
    rng = np.random.default_rng(7)
    commitments = _commitments(5000, rng)
    index = retrieval.CommitmentIndex(commitments)
    worker = _worker(20.65, 106.05)
    found = index.retrieve(worker, radius_km, trades=[0, 1], day=20_000.0, cap=None)
    distance = haversine_km(20.65, 106.05, commitments.lat, commitments.lon)
    expected = np.flatnonzero(
        (distance <= radius_km)
        & np.isin(commitments.trade_index, [0, 1])
        & (np.isnan(commitments.expires_day) | (commitments.expires_day >= 20_000.0))
    )
    assert sorted(found.tolist()) == expected.tolist()


def test_retrieve_keeps_the_nearest_of_each_trade_when_over_the_cap():
    rng = np.random.default_rng(8)
    commitments = _commitments(3000, rng)
    index = retrieval.CommitmentIndex(commitments)
    worker = _worker(20.65, 106.25)
    found = index.retrieve(worker, 200.0, trades=range(6), day=0.0, cap=40)
    distance = haversine_km(20.65, 106.25, commitments.lat, commitments.lon)
    for trade in range(6):
        mine = found[commitments.trade_index[found] == trade]
        assert len(mine) == 40
        of_trade = np.sort(distance[commitments.trade_index == trade])
        # The flat-earth choice of the nearest is exact to well under a km here.
        assert distance[mine].max() <= of_trade[39] + 0.05


def test_index_of_eligible_commitments_never_retrieves_the_others():
    rng = np.random.default_rng(9)
    commitments = _commitments(2000, rng)
    eligible = rng.random(2000) < 0.3
    index = retrieval.CommitmentIndex(commitments, eligible)
    found = index.retrieve(_worker(20.65, 106.25), 200.0, range(6), 0.0, nearest=30, cap=None)
    assert eligible[found].all() and len(found) == eligible.sum()


def test_match_worker_looks_past_the_stated_trade_and_radius_and_says_how_far():
    """A better offer of another trade 15 km away, for a worker who said 10 km in garment,
    is considered and priced; the explicit filters stay hard."""
    rng = np.random.default_rng(10)
    commitments = _commitments(400, rng)
    worker = _worker_at(20.65, 106.25, trades=0b1, commute=10.0)
    index = retrieval.CommitmentIndex(commitments)
    context = _context()
    ranked = retrieval.match_worker(index, worker, 20_000.0, context, _rules, limit=10)
    distance = haversine_km(20.65, 106.25, commitments.lat, commitments.lon)
    shown = ranked.positions
    assert ranked.reach_km == 20.0 and len(shown) == 10
    assert (distance[shown] <= 20.0 + 1e-9).all()
    considered = np.isnan(commitments.expires_day) | (commitments.expires_day >= 20_000.0)
    in_reach = considered & (distance <= 20.0)
    assert ranked.considered == in_reach.sum()
    assert set(commitments.trade_index[np.flatnonzero(in_reach)]) == set(range(6))
    hard = retrieval.match_worker(
        index, worker, 20_000.0, context, _rules, limit=10, radius_km=8.0, trades=[0]
    )
    assert (distance[hard.positions] <= 8.0).all()
    assert (commitments.trade_index[hard.positions] == 0).all()


def test_match_worker_far_from_every_site_gets_the_nearest():
    rng = np.random.default_rng(11)
    commitments = _commitments(300, rng)
    worker = _worker_at(22.5, 104.0, commute=5.0)  # far in the north-west: nothing in reach
    index = retrieval.CommitmentIndex(commitments)
    ranked = retrieval.match_worker(index, worker, 20_000.0, _context(), _rules, limit=10)
    assert len(ranked.positions) == 10
    distance = haversine_km(22.5, 104.0, commitments.lat, commitments.lon)
    live = np.isnan(commitments.expires_day) | (commitments.expires_day >= 20_000.0)
    nearest = np.sort(distance[live])[: retrieval.SERVED.nearest]
    assert distance[ranked.positions].max() <= nearest[-1] + 1e-9


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_served_list_is_never_short_while_enough_open_commitments_are_in_reach(seed):
    """However many candidates the live check turns down (filled since the index was
    built), the list is filled to limit when limit open ones lie within twice the radius."""
    rng = np.random.default_rng(seed)
    commitments = _commitments(1500, rng)
    index = retrieval.CommitmentIndex(commitments)
    still_open = rng.random(1500) < 0.15  # most were filled since

    def confirm(positions):
        return still_open[positions]

    distance_of = {}
    for _ in range(20):
        lat, lon = rng.uniform(20.3, 21.0), rng.uniform(105.9, 106.6)
        commute = float(rng.choice([3.0, 8.0, 15.0, 30.0]))
        worker = _worker_at(lat, lon, commute=commute)
        ranked = retrieval.match_worker(
            index, worker, 20_000.0, _context(), _rules, limit=10, confirm=confirm
        )
        distance = haversine_km(lat, lon, commitments.lat, commitments.lon)
        live = np.isnan(commitments.expires_day) | (commitments.expires_day >= 20_000.0)
        available = live & still_open & (distance <= 2 * commute)
        assert still_open[ranked.positions].all()
        assert len(ranked.positions) >= min(10, available.sum()), (lat, lon, commute)
        distance_of[commute] = True
    assert len(distance_of) > 1


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
        found = index.retrieve(one, 2 * float(one.max_commute_km[0]), range(6), day)
        # The same rule shortlist (3 × 5) as the graph keeps per worker.
        ranked = index.rank(one, found, day, context, score, limit=5, shortlist=15)
        mine = graph.commitment[graph.worker == position]
        assert set(mine.tolist()) == set(ranked.positions.tolist()), position
        np.testing.assert_allclose(
            np.sort(graph.probability[graph.worker == position]), np.sort(ranked.scores)
        )
