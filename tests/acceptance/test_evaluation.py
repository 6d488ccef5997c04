"""The trained model against the truth of the default demo, in every world."""

from __future__ import annotations

import pytest

from matcher.evaluation import train_and_evaluate, true_ranking_quality
from matcher.scoring import RuleScorer
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


def test_served_matches_meet_acceptance_targets_on_default_demo(default_demo):
    """The matching targets on the default demo of every world (three days, two more
    seeds): held-out workers, true gains, the lists *as the endpoint serves them*.

    ``quality.ndcg["model"]`` ranks through ``matcher.retrieval.match_worker`` with the
    served reach, the function ``GET /workers/{id}/matches`` calls; the ideal is taken over
    every open commitment, so what retrieval leaves out counts. Hyper-parameters were chosen
    on demo data sets of other seeds (1–6), never these.
    """
    data, snapshot, rows = default_demo
    quality = true_ranking_quality(data, snapshot, ts=rows)
    ndcg = quality.ndcg
    assert quality.n_queries >= 300
    assert ndcg["model"] >= 0.94, ndcg
    # Retrieval loses almost nothing against the same model ranking every open commitment.
    assert ndcg["model"] >= ndcg["model_every_open"] - 0.01, ndcg
    assert ndcg["model"] >= ndcg["rules"], ndcg
    assert ndcg["model"] >= ndcg["nearest_in_trade"] + 0.15, ndcg
    assert quality.short_lists == {"model": 0, "rules": 0}, quality.short_lists
    assert quality.calibration["ece_true"] < 0.03, quality.calibration
