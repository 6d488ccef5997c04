"""The trained model against the truth of the default demo, in every world."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matcher.evaluation import train_and_evaluate, true_ranking_quality
from matcher.features import day_of
from matcher.retrieval import CommitmentIndex, match_worker
from matcher.scoring import RuleScorer, hire_probability_of
from matcher.snapshot import from_contract_frames, training_set


@pytest.fixture(scope="session")
def default_demo(demo_data):
    """The world's data, its snapshot as the contract files give it, and the training rows."""
    snapshot = from_contract_frames(demo_data.frames(), today=demo_data.config.today)
    return demo_data, snapshot, training_set(snapshot)


def test_train_and_evaluate_beats_rules_on_default_demo(default_demo):
    _, snapshot, rows = default_demo
    report = train_and_evaluate(snapshot, RuleScorer(), ts=rows)
    assert report.promote, report.reason
    assert report.scores["model"]["auc"] > 0.75


@pytest.fixture(scope="session")
def quality(default_demo):
    data, snapshot, rows = default_demo
    return true_ranking_quality(data, snapshot, ts=rows)


def test_served_matches_meet_acceptance_targets_on_default_demo(default_demo, quality):
    """The matching targets on the default demo of every world (three days, two more
    seeds): held-out workers, true gains, the lists *as the endpoint serves them*.

    ``quality.ndcg["model"]`` ranks through ``matcher.retrieval.match_worker`` with the
    served reach, the function ``GET /workers/{id}/matches`` calls; the ideal is taken over
    every open commitment, so what retrieval leaves out counts. Hyper-parameters were chosen
    on demo data sets of other seeds (1–6), never these.
    """
    ndcg = quality.ndcg
    assert quality.n_queries >= 300
    assert ndcg["model"] >= 0.94, ndcg
    # Retrieval loses almost nothing against the same model ranking every open commitment.
    assert ndcg["model"] >= ndcg["model_every_open"] - 0.01, ndcg
    assert ndcg["model"] >= ndcg["rules"], ndcg
    assert ndcg["model"] >= ndcg["nearest_in_trade"] + 0.15, ndcg
    assert quality.short_lists == {"model": 0, "rules": 0}, quality.short_lists
    assert quality.calibration["ece_true"] < 0.03, quality.calibration


def test_equal_commitments_rank_by_their_enterprises_track_records(default_demo, quality):
    """Two commitments alike in everything but the enterprise: the one whose enterprise
    hired more than its referrals' merits predicted (hire lift) ranks first, in the served
    ranking of the trained model, for every worker asked."""
    data, snapshot, _ = default_demo
    commitments = snapshot.commitment_arrays()
    context = snapshot.context()
    day = float(day_of(data.config.today))
    enterprises = np.unique(commitments.enterprise_ids)
    lift = context.enterprise_track.lift(enterprises, np.full(len(enterprises), day))
    rate, referred = context.enterprise_track.rate(enterprises, np.full(len(enterprises), day))
    known = referred >= 30  # enough referrals to have a record
    strong = enterprises[known][np.argmax(lift[known])]
    weak = enterprises[known][np.argmin(lift[known])]
    assert lift[enterprises == strong][0] > lift[enterprises == weak][0] + 0.3
    # One real commitment twice, once under each enterprise.
    template = commitments.take(np.array([0, 0]))
    twins = replace(template, ids=np.array([1, 2]), enterprise_ids=np.array([weak, strong]),
                    expires_day=np.full(2, np.nan))  # fmt: skip
    index = CommitmentIndex(twins)
    workers = snapshot.worker_arrays()
    score = hire_probability_of(quality.model)
    for position in range(0, len(workers), len(workers) // 25):
        worker = workers.take(np.array([position]))
        ranked = match_worker(index, worker, day, context, score, limit=2, radius_km=500.0)
        assert ranked.positions.tolist() == [1, 0], position
        assert ranked.scores[0] > ranked.scores[1]
