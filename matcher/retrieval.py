"""Candidate retrieval and ranking over in-memory indexes of commitments and workers.

A worker's matches are found in three vectorised steps, never a loop over pairs:

1. retrieve: one BallTree (haversine) per trade answers "which sites lie within r km" in well
   under a millisecond. Every trade is asked, and r is :attr:`Reach.radius_factor` times
   the worker's stated commute, with the :attr:`Reach.nearest` nearest sites always added:
   the model, which learnt what a trade mismatch and each km beyond the stated commute cost
   from referrals that went there, prices them; a list cut at the stated trade and radius
   cannot show it the best chance of a hire (issue 11: NDCG@10 0.765 served against 0.97 for
   the same model ranking every open commitment);
2. shortlist: the transparent rule score (a few numpy operations) keeps the best
   :attr:`Reach.shortlist` candidates, so a dense province's 40,000 nearby commitments do
   not all go through the model;
3. score: pair features and the model's calibrated probability for the shortlist only; the
   next shortlist is scored when the caller's live check (slots left) leaves fewer than
   ``limit``, so a list is filled whenever enough open commitments are in reach.

:func:`match_worker` is the one function that answers "matches for this worker" — the
endpoint calls it, and so do the evaluation and the acceptance tests, with the same
:data:`SERVED` reach: what is measured is what is served.

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
    FEATURE_INDEX,
    FEATURES,
    CommitmentArrays,
    Context,
    WorkerArrays,
    pair_features,
)
from matcher.places import haversine_km
from matcher.scoring import RuleScorer
from matcher.taxonomy import TRADE_CODES

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Reach:
    """How far retrieval looks past what the worker (or a commitment's workers) stated.

    - ``radius_factor``: sites up to this multiple of the stated commute are considered.
      Referrals beyond the stated radius do end in hires (the demo history and the province
      data of issue 11: a fifth of referrals were out of trade or beyond it) and the model
      prices each km of excess; beyond twice the stated distance a hire is rare enough that
      the list would only fill with long shots.
    - ``nearest``: the nearest open sites are always considered (at least ``limit``), so a
      worker far from any site still gets a list, and a short list is never empty.
    - ``per_trade``: at most this many of each trade's nearest sites within reach. In the
      dense heart of a province twice a 40 km commute holds every site; one beyond the
      nearest thousand of its trade needs an implausibly better offer to reach the top ten
      (``bench/matches.py`` measures how often the capped list differs from ranking every
      open commitment). This bounds the tail latency.
    - ``shortlist``: how many rule-ranked candidates the model scores per step.
    """

    radius_factor: float = 2.0
    nearest: int = 20
    per_trade: int = 1000
    shortlist: int = 150


#: The reach every endpoint serves with, and every measurement uses.
SERVED = Reach()


class GeoIndex:
    """Points grouped (by trade, or one group), each group in a haversine BallTree."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, groups: list[np.ndarray]) -> None:
        self.lat, self.lon = lat, lon
        self.groups = groups  # positions per group
        self._lat = [lat[g] for g in groups]
        self._lon = [lon[g] for g in groups]
        self.trees = [
            BallTree(np.radians(np.column_stack([lat[g], lon[g]])), metric="haversine")
            if len(g)
            else None
            for g in groups
        ]

    def within(
        self,
        lat: float,
        lon: float,
        radius_km: float,
        groups: list[int] | range,
        cap: int | None = None,
    ) -> np.ndarray:
        """Positions of the points of these groups within radius_km of (lat, lon).

        With ``cap``, at most the ``cap`` nearest of each group (nearest by a flat-earth
        distance, exact enough to choose among sites a few km apart and ten times cheaper
        than the haversine over tens of thousands of hits).
        """
        point = np.radians([[lat, lon]])
        found = []
        scale = np.cos(np.radians(lat))
        for group in groups:
            tree = self.trees[group]
            if tree is None:
                continue
            hits = tree.query_radius(point, r=radius_km / EARTH_RADIUS_KM)[0]
            if cap is not None and len(hits) > cap:
                dy = self._lat[group][hits] - lat
                dx = (self._lon[group][hits] - lon) * scale
                hits = hits[np.argpartition(dy * dy + dx * dx, cap - 1)[:cap]]
            found.append(self.groups[group][hits])
        if not found:
            return np.zeros(0, dtype=np.intp)
        return np.concatenate(found)

    def nearest(self, lat: float, lon: float, k: int, groups: list[int] | range) -> np.ndarray:
        """Positions of the ``k`` nearest points over these groups."""
        point = np.radians([[lat, lon]])
        distance, position = [], []
        for group in groups:
            tree = self.trees[group]
            if tree is None:
                continue
            d, hits = tree.query(point, k=min(k, len(self.groups[group])))
            distance.append(d[0])
            position.append(self.groups[group][hits[0]])
        if not position:
            return np.zeros(0, dtype=np.intp)
        distance, found = np.concatenate(distance), np.concatenate(position)
        return found[np.argsort(distance, kind="stable")[:k]]


def _groups(trade_index: np.ndarray, eligible: np.ndarray | None) -> list[np.ndarray]:
    keep = np.ones(len(trade_index), dtype=bool) if eligible is None else eligible
    return [np.flatnonzero((trade_index == t) & keep) for t in range(len(TRADE_CODES))]


@dataclass
class Ranked:
    """Ranked pairs: positions into the index, probabilities and their feature rows."""

    positions: np.ndarray
    scores: np.ndarray
    features: np.ndarray
    #: How many candidates retrieval found (before the rule shortlist and the live check).
    considered: int = 0
    #: The distance retrieval looked to (km).
    reach_km: float = float("nan")


Scorer = Callable[[np.ndarray], np.ndarray]
#: Given positions into the index, which are really open now (slots left, not expired).
Confirm = Callable[[np.ndarray], np.ndarray]
_RULES = RuleScorer()


def rule_score(features: np.ndarray) -> np.ndarray:
    """The shortlist's cheap bound: the rule scorer's probability."""
    return _RULES.predict_proba(features)[:, 1]


def _rank(
    features: np.ndarray,
    positions: np.ndarray,
    score: Scorer,
    limit: int,
    *,
    shortlist: int = SERVED.shortlist,
    confirm: Confirm | None = None,
) -> Ranked:
    """Best ``limit`` by ``score``, scoring ``shortlist`` rule-ranked candidates at a time
    until the confirmed ones fill the list (or the candidates run out)."""
    considered = len(positions)
    if considered > shortlist:
        order = np.argsort(-rule_score(features), kind="stable")
    else:
        order = np.arange(considered)
    kept, probabilities = [], []
    total = 0
    for start in range(0, considered, shortlist):
        step = order[start : start + shortlist]
        p = score(features[step])
        if confirm is not None:
            ok = np.asarray(confirm(positions[step]), dtype=bool)
            step, p = step[ok], p[ok]
        kept.append(step)
        probabilities.append(p)
        total += len(step)
        if total >= limit:
            break
    if not total:
        empty = np.zeros(0, dtype=np.intp)
        return Ranked(empty, np.zeros(0), features[:0], considered)
    rows = np.concatenate(kept)
    p = np.concatenate(probabilities)
    order = np.lexsort((positions[rows], -p))[:limit]
    rows = rows[order]
    return Ranked(positions[rows], p[order], features[rows], considered)


class CommitmentIndex:
    """Commitments for matching a worker: the ``eligible`` ones (all by default) are indexed;
    positions refer to the full arrays, so the caller's other lookups stay valid."""

    def __init__(self, commitments: CommitmentArrays, eligible: np.ndarray | None = None) -> None:
        self.commitments = commitments
        self.geo = GeoIndex(
            commitments.lat, commitments.lon, _groups(commitments.trade_index, eligible)
        )

    def __len__(self) -> int:
        return len(self.commitments)

    def retrieve(
        self,
        worker: WorkerArrays,
        radius_km: float,
        trades: list[int] | range,
        day: float,
        *,
        nearest: int = 0,
        cap: int | None = SERVED.per_trade,
    ) -> np.ndarray:
        """Positions of commitments of these trades within radius (and the ``nearest``
        nearest whatever their distance), not expired on day."""
        lat, lon = float(worker.lat[0]), float(worker.lon[0])
        positions = self._live(self.geo.within(lat, lon, radius_km, trades, cap), day)
        if nearest and len(positions) < nearest:
            # Few sites in reach: the nearest live ones too, wherever they are (asking for
            # more in case some have expired since the index was built).
            near = self._live(self.geo.nearest(lat, lon, nearest * 3 + 20, trades), day)
            positions = np.union1d(positions, near[:nearest])
        return positions

    def _live(self, positions: np.ndarray, day: float) -> np.ndarray:
        expires = self.commitments.expires_day[positions]
        return positions[np.isnan(expires) | (expires >= day)]

    def rank(
        self,
        worker: WorkerArrays,
        positions: np.ndarray,
        day: float,
        context: Context,
        score: Scorer,
        limit: int,
        *,
        shortlist: int = SERVED.shortlist,
        confirm: Confirm | None = None,
    ) -> Ranked:
        w = np.zeros(len(positions), dtype=np.intp)
        features = pair_features(worker, w, self.commitments, positions, day, context)
        return _rank(features, positions, score, limit, shortlist=shortlist, confirm=confirm)


def in_reach(
    distance_km: np.ndarray,
    stated_km: float,
    radius_km: float | None = None,
    *,
    candidate: np.ndarray | None = None,
    reach: Reach = SERVED,
) -> np.ndarray:
    """Which of these candidates (sites, courses) the served reach takes in, by distance.

    An explicit ``radius_km`` is hard. Otherwise up to ``reach.radius_factor`` × the stated
    commute, and always the ``reach.nearest`` nearest candidates — the rule
    :func:`match_worker` applies through the trees, for lists held in memory (courses).
    """
    distance_km = np.asarray(distance_km, dtype=float)
    candidate = np.ones(len(distance_km), dtype=bool) if candidate is None else candidate
    if radius_km is not None:
        return candidate & (distance_km <= radius_km)
    near = candidate & (distance_km <= stated_km * reach.radius_factor)
    if near.sum() < reach.nearest:
        eligible = np.flatnonzero(candidate)
        nearest = eligible[np.argsort(distance_km[eligible], kind="stable")[: reach.nearest]]
        near[nearest] = True
    return near


def match_worker(
    index: CommitmentIndex,
    worker: WorkerArrays,
    day: float,
    context: Context,
    score: Scorer,
    *,
    limit: int,
    radius_km: float | None = None,
    trades: list[int] | None = None,
    confirm: Confirm | None = None,
    reach: Reach = SERVED,
) -> Ranked:
    """A worker's best ``limit`` open commitments: the served ranking (module docstring).

    ``radius_km`` and ``trades`` are a caseworker's explicit filters and stay hard: only
    sites within ``radius_km``, only these trades. Without them every trade is considered,
    up to ``reach.radius_factor`` × the stated commute, plus the nearest sites.
    """
    stated = float(worker.max_commute_km[0])
    wanted: list[int] | range = trades if trades is not None else range(len(TRADE_CODES))
    if radius_km is not None:
        reach_km, nearest = float(radius_km), 0
    else:
        reach_km, nearest = stated * reach.radius_factor, max(reach.nearest, limit)
    positions = index.retrieve(worker, reach_km, wanted, day, nearest=nearest, cap=reach.per_trade)
    ranked = index.rank(
        worker, positions, day, context, score, limit,
        shortlist=reach.shortlist, confirm=confirm,
    )  # fmt: skip
    ranked.reach_km = reach_km
    return ranked


class WorkerIndex:
    """Workers for a commitment's shortlist: one tree over everyone, every trade."""

    def __init__(self, workers: WorkerArrays) -> None:
        self.workers = workers
        self.geo = GeoIndex(workers.lat, workers.lon, [np.arange(len(workers))])
        self.stated_km = workers.max_commute_km

    def __len__(self) -> int:
        return len(self.workers)

    def retrieve(
        self,
        commitments: CommitmentArrays,
        radius_km: float | None,
        *,
        reach: Reach = SERVED,
        eligible: np.ndarray | None = None,
        nearest: int = 0,
    ) -> np.ndarray:
        """Workers whose reach (``reach.radius_factor`` × their stated commute) takes in the
        site, and the ``nearest`` nearest; or, with ``radius_km``, everyone within it."""
        lat, lon = float(commitments.lat[0]), float(commitments.lon[0])
        longest = float(self.stated_km.max(initial=0.0)) * reach.radius_factor
        positions = self.geo.within(lat, lon, radius_km if radius_km is not None else longest, [0])
        if eligible is not None:
            positions = positions[eligible[positions]]
        if radius_km is None and len(positions):
            distance = haversine_km(
                self.workers.lat[positions], self.workers.lon[positions], lat, lon
            )
            positions = positions[distance <= self.stated_km[positions] * reach.radius_factor]
        if radius_km is None and nearest and len(positions) < nearest:
            near = self.geo.nearest(lat, lon, nearest * 4 + 50, [0])
            if eligible is not None:
                near = near[eligible[near]]
            positions = np.union1d(positions, near[:nearest])
        return positions

    def rank(
        self,
        commitment: CommitmentArrays,
        positions: np.ndarray,
        day: float,
        context: Context,
        score: Scorer,
        limit: int,
        *,
        shortlist: int = SERVED.shortlist,
        confirm: Confirm | None = None,
    ) -> Ranked:
        c = np.zeros(len(positions), dtype=np.intp)
        features = pair_features(self.workers, positions, commitment, c, day, context)
        return _rank(features, positions, score, limit, shortlist=shortlist, confirm=confirm)


def shortlist_workers(
    index: WorkerIndex,
    commitment: CommitmentArrays,
    day: float,
    context: Context,
    score: Scorer,
    *,
    limit: int,
    radius_km: float | None = None,
    eligible: np.ndarray | None = None,
    confirm: Confirm | None = None,
    reach: Reach = SERVED,
) -> Ranked:
    """A commitment's best ``limit`` workers: every trade, each worker's reach (or the
    explicit ``radius_km``, hard), the nearest always considered."""
    positions = index.retrieve(
        commitment, radius_km, reach=reach, eligible=eligible,
        nearest=max(reach.nearest, limit),
    )  # fmt: skip
    return index.rank(
        commitment, positions, day, context, score, limit,
        shortlist=reach.shortlist, confirm=confirm,
    )  # fmt: skip


@dataclass
class CandidateGraph:
    """Edges (worker position, commitment position) with hire probability and distance."""

    worker: np.ndarray
    commitment: np.ndarray
    probability: np.ndarray
    distance_km: np.ndarray
    features: np.ndarray


#: An allocation round's rule shortlist per worker, in multiples of ``per_worker``.
GRAPH_SHORTLIST_FACTOR = 3


def _top_per_group(group: np.ndarray, value: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest values of each group (vectorised, ties by position)."""
    order = np.lexsort((np.arange(len(group)), -value, group))
    g = group[order]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
    return np.sort(order[(np.arange(len(g)) - start) < k])


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
    reach: Reach = SERVED,
) -> CandidateGraph:
    """Each worker's best ``per_worker`` commitments, for many workers at once.

    The batch form of :func:`match_worker`, for allocation rounds, with the same reach:
    every trade (or the round's ``trades``, hard), each worker's ``reach.radius_factor`` ×
    stated commute (or the round's ``radius_km``, hard), at most ``reach.per_trade`` sites
    of a trade per worker, and the model scores each worker's best
    ``GRAPH_SHORTLIST_FACTOR × per_worker`` by the rule scorer. One radius query per trade
    for all workers together, one feature computation, one rule and one model call over all
    edges, and per-worker top-k by sorting — no Python loop over pairs.
    """
    radius = (
        np.full(len(workers), float(radius_km))
        if radius_km is not None
        else workers.max_commute_km * reach.radius_factor
    )
    points = np.radians(np.column_stack([workers.lat, workers.lon]))
    wanted = range(len(TRADE_CODES)) if trades is None else trades
    edge_w, edge_c = [], []
    everyone = np.arange(len(workers))
    for trade in wanted:  # six trades at most
        tree = index.geo.trees[trade]
        if tree is None or not len(workers):
            continue
        hits, distance = tree.query_radius(
            points, r=radius / EARTH_RADIUS_KM, return_distance=True, sort_results=True
        )
        # The nearest reach.per_trade of the trade per worker, as match_worker keeps.
        hits = [h[: reach.per_trade] for h in hits]
        counts = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
        if not counts.sum():
            continue
        edge_w.append(np.repeat(everyone, counts))
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
    # The rule shortlist, per worker: only the best few times per_worker go to the model
    # (as match_worker's shortlist; a round has thousands of workers).
    keep = _top_per_group(w, rule_score(features), per_worker * GRAPH_SHORTLIST_FACTOR)
    w, c, features = w[keep], c[keep], features[keep]
    probability = score(features)
    order = np.lexsort((c, -probability, w))
    w, c, probability, features = w[order], c[order], probability[order], features[order]
    keep = _top_per_group(w, probability, per_worker)
    distance = features[keep, FEATURE_INDEX["distance_km"]]
    return CandidateGraph(w[keep], c[keep], probability[keep], distance, features[keep])
