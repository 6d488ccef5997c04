"""Candidate retrieval and ranking over in-memory indexes of commitments and workers.

A worker's matches are found in three vectorised steps, never a loop over pairs:

1. retrieve: one BallTree (haversine) per trade answers "which sites lie within r km" in well
   under a millisecond, so filtering by trade happens before any distance is computed;
2. shortlist: the transparent rule score (a few numpy operations) keeps the best
   ``SHORTLIST`` candidates, so a dense province's 40,000 nearby commitments do not all go
   through the model;
3. score: pair features and the model's calibrated probability for the shortlist only.

The indexes hold the slowly changing part of the registry (sites, trades, wages, required
skills). What changes with every hire — open slots — is checked by the caller against the
database for the few items it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import BallTree

from matcher.features import (
    FEATURES,
    CommitmentArrays,
    Context,
    WorkerArrays,
    pair_features,
)
from matcher.places import haversine_km
from matcher.taxonomy import TRADE_CODES

EARTH_RADIUS_KM = 6371.0088
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURES)}
SHORTLIST = 150
#: At most this many of the nearest retrieved commitments go on to be scored. In the dense
#: heart of a province a 40 km radius holds tens of thousands of sites; the rule scorer
#: charges 0.03 log-odds a km, so a site beyond the nearest few thousand of the worker's
#: trades would need an implausibly better offer to reach the top ten. This bounds the tail
#: latency (p99) without touching typical requests (median ~4,000 candidates).
RETRIEVE_CAP = 5000


class GeoIndex:
    """Points grouped by trade, each group in a haversine BallTree."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, groups: list[np.ndarray]) -> None:
        self.lat, self.lon = lat, lon
        self.groups = groups  # positions per trade
        self.trees = [
            BallTree(np.radians(np.column_stack([lat[g], lon[g]])), metric="haversine")
            if len(g)
            else None
            for g in groups
        ]

    def within(self, lat: float, lon: float, radius_km: float, trades: list[int]) -> np.ndarray:
        """Positions of the points of these trades within radius_km of (lat, lon)."""
        point = np.radians([[lat, lon]])
        found = []
        for trade in trades:
            tree = self.trees[trade]
            if tree is None:
                continue
            hits = tree.query_radius(point, r=radius_km / EARTH_RADIUS_KM)[0]
            found.append(self.groups[trade][hits])
        if not found:
            return np.zeros(0, dtype=np.intp)
        return np.unique(np.concatenate(found))


def _groups(trade_index: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(trade_index == t) for t in range(len(TRADE_CODES))]


@dataclass
class Ranked:
    """Ranked pairs: positions into the index, probabilities and their feature rows."""

    positions: np.ndarray
    scores: np.ndarray
    features: np.ndarray


Scorer = Callable[[np.ndarray], np.ndarray]


def _rank(
    features: np.ndarray,
    positions: np.ndarray,
    shortlist_score: Scorer,
    score: Scorer,
    limit: int,
) -> Ranked:
    if len(positions) > SHORTLIST:
        rough = shortlist_score(features)
        keep = np.argpartition(-rough, SHORTLIST)[:SHORTLIST]
        features, positions = features[keep], positions[keep]
    if not len(positions):
        return Ranked(positions, np.zeros(0), features)
    probabilities = score(features)
    order = np.lexsort((positions, -probabilities))[:limit]
    return Ranked(positions[order], probabilities[order], features[order])


class CommitmentIndex:
    """Open commitments for matching a worker."""

    def __init__(self, commitments: CommitmentArrays) -> None:
        self.commitments = commitments
        self.geo = GeoIndex(commitments.lat, commitments.lon, _groups(commitments.trade_index))

    def __len__(self) -> int:
        return len(self.commitments)

    def retrieve(
        self,
        worker: WorkerArrays,
        radius_km: float,
        trades: list[int],
        day: float,
        exclude_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Positions of commitments of these trades within radius, not expired on day."""
        positions = self.geo.within(float(worker.lat[0]), float(worker.lon[0]), radius_km, trades)
        expires = self.commitments.expires_day[positions]
        positions = positions[np.isnan(expires) | (expires >= day)]
        if exclude_ids is not None and len(exclude_ids):
            positions = positions[~np.isin(self.commitments.ids[positions], exclude_ids)]
        if len(positions) > RETRIEVE_CAP:
            distance = haversine_km(
                worker.lat[0], worker.lon[0],
                self.commitments.lat[positions], self.commitments.lon[positions],
            )  # fmt: skip
            positions = np.sort(positions[np.argpartition(distance, RETRIEVE_CAP)[:RETRIEVE_CAP]])
        return positions

    def rank(
        self,
        worker: WorkerArrays,
        positions: np.ndarray,
        day: float,
        context: Context,
        shortlist_score: Scorer,
        score: Scorer,
        limit: int,
    ) -> Ranked:
        w = np.zeros(len(positions), dtype=np.intp)
        features = pair_features(worker, w, self.commitments, positions, day, context)
        return _rank(features, positions, shortlist_score, score, limit)


class WorkerIndex:
    """Available workers for a commitment's shortlist; a worker may belong to several trades."""

    def __init__(self, workers: WorkerArrays, graduated_trade_bits: np.ndarray) -> None:
        self.workers = workers
        bits = workers.trade_bits | graduated_trade_bits
        groups = [np.flatnonzero(bits & (1 << t)) for t in range(len(TRADE_CODES))]
        self.geo = GeoIndex(workers.lat, workers.lon, groups)

    def __len__(self) -> int:
        return len(self.workers)

    def retrieve(
        self, commitments: CommitmentArrays, radius_km: float | None, max_radius_km: float = 200.0
    ) -> np.ndarray:
        """Workers in the commitment's trade whose own commute radius (or radius_km) reaches it."""
        trade = int(commitments.trade_index[0])
        reach = radius_km if radius_km is not None else max_radius_km
        positions = self.geo.within(
            float(commitments.lat[0]), float(commitments.lon[0]), reach, [trade]
        )
        if radius_km is None and len(positions):
            distance = haversine_km(
                self.workers.lat[positions],
                self.workers.lon[positions],
                commitments.lat[0],
                commitments.lon[0],
            )
            positions = positions[distance <= self.workers.max_commute_km[positions]]
        return positions

    def rank(
        self,
        commitment: CommitmentArrays,
        positions: np.ndarray,
        day: float,
        context: Context,
        shortlist_score: Scorer,
        score: Scorer,
        limit: int,
    ) -> Ranked:
        c = np.zeros(len(positions), dtype=np.intp)
        features = pair_features(self.workers, positions, commitment, c, day, context)
        return _rank(features, positions, shortlist_score, score, limit)


@dataclass
class CandidateGraph:
    """Edges (worker position, commitment position) with hire probability and distance."""

    worker: np.ndarray
    commitment: np.ndarray
    probability: np.ndarray
    distance_km: np.ndarray
    features: np.ndarray


def candidate_graph(
    workers: WorkerArrays,
    index: CommitmentIndex,
    day: float,
    context: Context,
    score: Scorer,
    *,
    per_worker: int = 20,
    radius_km: float | None = None,
    trades: list[int] | None = None,
) -> CandidateGraph:
    """Each worker's best ``per_worker`` commitments, for many workers at once.

    The batch form of a worker's matches, for allocation rounds: one radius query per trade
    for all workers together (each with its own commute radius, or ``radius_km``), one
    feature computation and one model call over all edges, and a per-worker top-k by
    sorting — no Python loop over workers or pairs.
    """
    radius = (
        np.full(len(workers), float(radius_km)) if radius_km is not None else workers.max_commute_km
    )
    points = np.radians(np.column_stack([workers.lat, workers.lon]))
    wanted = range(len(TRADE_CODES)) if trades is None else trades
    edge_w, edge_c = [], []
    for trade in wanted:  # six trades at most
        tree = index.geo.trees[trade]
        if tree is None:
            continue
        # A worker looks in the trades of interest, or in every trade when none is given.
        members = np.flatnonzero(
            ((workers.trade_bits >> trade) & 1).astype(bool) | (workers.trade_bits == 0)
        )
        if not len(members):
            continue
        hits = tree.query_radius(points[members], r=radius[members] / EARTH_RADIUS_KM)
        counts = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
        if not counts.sum():
            continue
        edge_w.append(np.repeat(members, counts))
        edge_c.append(index.geo.groups[trade][np.concatenate(hits)])
    if not edge_w:
        empty = np.zeros(0, dtype=np.intp)
        return CandidateGraph(empty, empty, np.zeros(0), np.zeros(0), np.zeros((0, len(FEATURES))))
    w = np.concatenate(edge_w)
    c = np.concatenate(edge_c)
    expires = index.commitments.expires_day[c]
    live = np.isnan(expires) | (expires >= day)
    w, c = w[live], c[live]
    features = pair_features(workers, w, index.commitments, c, day, context)
    probability = score(features)
    order = np.lexsort((c, -probability, w))
    w, c, probability, features = w[order], c[order], probability[order], features[order]
    first = np.r_[True, w[1:] != w[:-1]] if len(w) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(w)), 0))
    keep = (np.arange(len(w)) - start) < per_worker
    distance = features[keep, FEATURE_INDEX["distance_km"]]
    return CandidateGraph(w[keep], c[keep], probability[keep], distance, features[keep])
