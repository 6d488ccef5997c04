"""Allocation rounds: exact optimum, stability, baselines and constraints on small graphs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from matcher import allocation
from matcher.allocation import (
    Allocation,
    blocking_pairs,
    greedy_sequential,
    greedy_top1_uncapped,
    max_hires,
    overfilled_commitments,
    stable,
)

SEEDS = range(25)


@dataclass
class Graph:
    worker: np.ndarray
    commitment: np.ndarray
    p: np.ndarray
    capacity: np.ndarray
    worker_value: np.ndarray
    distance_km: np.ndarray

    @property
    def n_workers(self) -> int:
        return int(self.worker.max()) + 1


def random_graph(seed: int, max_workers: int = 60) -> Graph:
    """Build a small random candidate graph with strict preferences on both sides.

    Some workers have no candidate, some commitments have capacity 0; p and worker_value
    are distinct so the stable matching is unique and comparable with `matching`.
    """
    rng = np.random.default_rng(seed)
    n_workers = int(rng.integers(10, max_workers + 1))
    n_commitments = int(rng.integers(3, 16))
    workers, commitments = [], []
    for w in range(n_workers):
        k = int(rng.integers(0, min(6, n_commitments) + 1))
        chosen = rng.choice(n_commitments, size=k, replace=False)
        workers += [w] * k
        commitments += chosen.tolist()
    n_edges = len(workers)
    return Graph(
        worker=np.array(workers, dtype=np.int64),
        commitment=np.array(commitments, dtype=np.int64),
        p=rng.permutation(n_edges) / n_edges * 0.9 + 0.05,
        capacity=rng.integers(0, 5, n_commitments),
        worker_value=rng.permutation(n_edges).astype(float),
        distance_km=rng.uniform(0, 60, n_edges),
    )


def lp_optimum(graph: Graph, keep: np.ndarray) -> float:
    """Solve max Σp x over kept edges with x binary, one per worker, capacity per commitment."""
    edges = np.flatnonzero(keep)
    if edges.size == 0:
        return 0.0
    n_workers, n_commitments = graph.n_workers, graph.capacity.size
    cols = np.arange(edges.size)
    rows = np.concatenate([graph.worker[edges], n_workers + graph.commitment[edges]])
    a = coo_matrix(
        (np.ones(2 * edges.size), (rows, np.concatenate([cols, cols]))),
        shape=(n_workers + n_commitments, edges.size),
    )
    upper = np.concatenate([np.ones(n_workers), graph.capacity])
    result = milp(
        -graph.p[edges],
        constraints=LinearConstraint(a, -np.inf, upper),
        integrality=np.ones(edges.size),
        bounds=Bounds(0, 1),
    )
    assert result.success
    return -result.fun


def assert_feasible(graph: Graph, allocation: Allocation) -> None:
    assert np.unique(allocation.worker).size == allocation.worker.size
    held = np.bincount(allocation.commitment, minlength=graph.capacity.size)
    assert np.all(held <= graph.capacity)
    assert np.array_equal(graph.worker[allocation.edge], allocation.worker)
    assert np.array_equal(graph.commitment[allocation.edge], allocation.commitment)
    assert allocation.expected_hires == pytest.approx(graph.p[allocation.edge].sum())


def matching_package_stable(graph: Graph) -> set[tuple[int, int]]:
    """Solve the same hospital/residents game with the PyPI `matching` package."""
    from matching.games import HospitalResident

    usable = graph.capacity[graph.commitment] > 0
    resident_prefs: dict[int, list[int]] = {}
    hospital_prefs: dict[int, list[int]] = {}
    for e in np.lexsort((-graph.worker_value, graph.worker)):
        if usable[e]:
            resident_prefs.setdefault(int(graph.worker[e]), []).append(int(graph.commitment[e]))
    for e in np.lexsort((graph.worker, -graph.p, graph.commitment)):
        if usable[e]:
            hospital_prefs.setdefault(int(graph.commitment[e]), []).append(int(graph.worker[e]))
    capacities = {c: int(graph.capacity[c]) for c in hospital_prefs}
    if not resident_prefs:
        return set()
    # `matching` warns (not raises) on malformed games; turn that into a test failure.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
        solution = game.solve(optimal="resident")
    return {
        (resident.name, hospital.name)
        for hospital, residents in solution.items()
        for resident in residents
    }


def reference_greedy(graph: Graph, seed: int) -> set[tuple[int, int]]:
    """Serve workers one by one in the seeded order, each taking its best open commitment."""
    turn = np.random.default_rng(seed).permutation(graph.n_workers)
    seats = graph.capacity.copy()
    pairs = set()
    for w in np.argsort(turn):
        edges = np.flatnonzero(graph.worker == w)
        for e in edges[np.lexsort((edges, -graph.p[edges]))]:
            c = int(graph.commitment[e])
            if seats[c] > 0:
                seats[c] -= 1
                pairs.add((int(w), c))
                break
    return pairs


def pairs_of(allocation: Allocation) -> set[tuple[int, int]]:
    return set(zip(allocation.worker.tolist(), allocation.commitment.tolist(), strict=True))


@pytest.mark.parametrize("seed", SEEDS)
def test_max_hires_matches_milp_optimum(seed):
    graph = random_graph(seed)
    allocation = max_hires(graph.worker, graph.commitment, graph.p, graph.capacity)
    assert_feasible(graph, allocation)
    assert allocation.policy == "max_hires"
    assert allocation.expected_hires == pytest.approx(
        lp_optimum(graph, np.ones(graph.p.size, bool)), abs=1e-4
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_max_hires_with_distance_cap_matches_milp_optimum(seed):
    graph = random_graph(seed)
    allocation = max_hires(
        graph.worker,
        graph.commitment,
        graph.p,
        graph.capacity,
        max_distance_km=30.0,
        distance_km=graph.distance_km,
    )
    assert_feasible(graph, allocation)
    assert np.all(graph.distance_km[allocation.edge] <= 30.0)
    assert allocation.expected_hires == pytest.approx(
        lp_optimum(graph, graph.distance_km <= 30.0), abs=1e-4
    )


def test_max_hires_leaves_worker_unassigned_when_seats_run_out():
    # Two workers, one seat: the better pair wins and the other worker stays unassigned.
    allocation = max_hires([0, 1, 1], [0, 0, 1], [0.3, 0.6, 0.9], [1, 0])
    assert allocation.edge.tolist() == [1]
    assert allocation.expected_hires == pytest.approx(0.6)


def test_max_hires_returns_empty_when_no_capacity():
    allocation = max_hires([0, 1], [0, 0], [0.5, 0.5], [0])
    assert allocation.edge.size == 0 and allocation.expected_hires == 0.0


def test_max_hires_without_distances_raises_value_error():
    with pytest.raises(ValueError, match="distance_km"):
        max_hires([0], [0], [0.5], [1], max_distance_km=10.0)


def test_max_hires_reports_progress():
    calls = []
    max_hires([0, 1], [0, 0], [0.5, 0.4], [1], progress=lambda f, m: calls.append(f))
    assert calls and calls[-1] == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_stable_has_no_blocking_pair(seed):
    graph = random_graph(seed)
    allocation = stable(graph.worker, graph.commitment, graph.p, graph.capacity, graph.worker_value)
    assert_feasible(graph, allocation)
    found = blocking_pairs(
        graph.worker, graph.commitment, graph.p, graph.capacity, graph.worker_value, allocation
    )
    assert found.size == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_stable_equals_matching_package_resident_optimal(seed):
    graph = random_graph(seed)
    allocation = stable(graph.worker, graph.commitment, graph.p, graph.capacity, graph.worker_value)
    assert pairs_of(allocation) == matching_package_stable(graph)


def test_stable_breaks_ties_by_edge_index_and_worker_index():
    # Worker 0 values both commitments equally: takes edge 0 (commitment 0). Commitment 0
    # has one seat and equal p for workers 0 and 1: keeps worker 0, so worker 1 moves on.
    allocation = stable([0, 0, 1, 1], [0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], [1, 1], [1, 1, 2, 1])
    assert pairs_of(allocation) == {(0, 0), (1, 1)}


def test_blocking_pairs_finds_planted_pair():
    # Worker 0 prefers commitment 1 (value 2) and commitment 1 has a free seat, but the
    # allocation puts worker 0 on commitment 0: edge 1 blocks.
    worker, commitment = np.array([0, 0, 1]), np.array([0, 1, 0])
    p, capacity, value = np.array([0.5, 0.5, 0.4]), np.array([1, 1]), np.array([1.0, 2.0, 1.0])
    unstable = Allocation(
        worker=np.array([0]),
        commitment=np.array([0]),
        edge=np.array([0]),
        expected_hires=0.5,
        policy="planted",
        seconds=0.0,
    )
    assert blocking_pairs(worker, commitment, p, capacity, value, unstable).tolist() == [1]
    fixed = stable(worker, commitment, p, capacity, value)
    assert blocking_pairs(worker, commitment, p, capacity, value, fixed).size == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_blocking_pairs_flags_perturbed_stable_allocation(seed):
    # Drop one worker from a stable allocation: its seat frees up, so the worker's own edge
    # to that commitment (mutually acceptable, now with a free seat) must block.
    graph = random_graph(seed)
    allocation = stable(graph.worker, graph.commitment, graph.p, graph.capacity, graph.worker_value)
    assert allocation.edge.size > 0  # every seeded instance places someone
    dropped = Allocation(
        worker=allocation.worker[1:],
        commitment=allocation.commitment[1:],
        edge=allocation.edge[1:],
        expected_hires=0.0,
        policy="perturbed",
        seconds=0.0,
    )
    found = blocking_pairs(
        graph.worker, graph.commitment, graph.p, graph.capacity, graph.worker_value, dropped
    )
    assert allocation.edge[0] in found


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_top1_equals_sequential_first_come_first_served(seed):
    graph = random_graph(seed)
    allocation = greedy_sequential(
        graph.worker, graph.commitment, graph.p, graph.capacity, seed=seed
    )
    assert_feasible(graph, allocation)
    assert pairs_of(allocation) == reference_greedy(graph, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_top1_never_beats_max_hires(seed):
    graph = random_graph(seed)
    best = max_hires(graph.worker, graph.commitment, graph.p, graph.capacity)
    greedy = greedy_sequential(graph.worker, graph.commitment, graph.p, graph.capacity, seed=seed)
    assert greedy.expected_hires <= best.expected_hires + 1e-6


def test_greedy_top1_uncapped_takes_best_p_and_overfills():
    worker, commitment = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 1])
    p, capacity = np.array([0.9, 0.1, 0.8, 0.2, 0.3]), np.array([1, 1])
    allocation = greedy_top1_uncapped(worker, commitment, p, capacity)
    assert pairs_of(allocation) == {(0, 0), (1, 0), (2, 1)}
    assert overfilled_commitments(allocation, capacity).tolist() == [0]


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_top1_uncapped_gives_each_candidate_worker_one_pair(seed):
    graph = random_graph(seed)
    allocation = greedy_top1_uncapped(graph.worker, graph.commitment, graph.p, graph.capacity)
    assert np.array_equal(allocation.worker, np.unique(graph.worker))
    best = np.zeros(graph.n_workers)
    np.maximum.at(best, graph.worker, graph.p)
    assert np.allclose(graph.p[allocation.edge], best[allocation.worker])


def test_policies_handle_empty_graph():
    empty = np.array([], dtype=np.int64)
    for result in (
        max_hires(empty, empty, empty.astype(float), np.array([2])),
        stable(empty, empty, empty.astype(float), np.array([2]), empty.astype(float)),
        greedy_sequential(empty, empty, empty.astype(float), np.array([2])),
        greedy_top1_uncapped(empty, empty, empty.astype(float), np.array([2])),
    ):
        assert result.edge.size == 0 and result.expected_hires == 0.0


def test_greedy_top1_keeps_each_commitments_best_top1_workers():
    # Three workers all rank commitment 0 first; it has one seat: only the best p is kept.
    worker = np.array([0, 0, 1, 1, 2, 2])
    commitment = np.array([0, 1, 0, 1, 0, 1])
    p = np.array([0.9, 0.5, 0.8, 0.7, 0.7, 0.6])
    capacity = np.array([1, 2])
    result = allocation.greedy_top1(worker, commitment, p, capacity)
    assert list(result.edge) == [0]
    assert result.expected_hires == pytest.approx(0.9)
    best = allocation.max_hires(worker, commitment, p, capacity)
    assert best.expected_hires == pytest.approx(0.9 + 0.7 + 0.6)
