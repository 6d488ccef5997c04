"""Training from the registry: build the training set, train, gate, store, maybe promote."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app

from api import jobs
from api.matching import model_holder, snapshot_from_db
from matcher import clock, model_store
from matcher.evaluation import train_and_evaluate
from matcher.fairness import FairnessReport
from matcher.snapshot import training_set

MIN_DECIDED_REFERRALS = 200
# Bootstrap replicates for the fairness intervals at training time: the gate judges a group
# by the upper end of its interval, and against the incumbent scorer on the same pairs.
FAIRNESS_BOOTSTRAP = 200


class NotEnoughHistory(ValueError):
    """Too few decided referrals to learn from; the rule scorer keeps serving."""


def data_fingerprint(referral_ids: np.ndarray, outcomes: np.ndarray, X: np.ndarray) -> str:
    """A hash of exactly the rows a model learnt from, so a later audit can match them."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(referral_ids, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(outcomes, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(np.nan_to_num(X, nan=-9.99e9)).tobytes())
    return digest.hexdigest()


def fairness_audit(predict: Any, ts: Any) -> FairnessReport:
    """Audit a scorer's scores of the training pairs by protected group (never its features).

    ``predict`` maps feature rows to hire probabilities (a new model's, or the incumbent's:
    the same pairs, so the two audits compare). The protected attributes are read here, only
    to group the pairs, and stay in the audit.
    """
    from api.planning import fairness_of_scores, people_frame

    scores = predict(ts.X) if len(ts) else np.zeros(0)
    referrals = pd.DataFrame(
        {"worker_id": ts.worker_ids, "outcome": np.where(ts.y == 1, "hired", "not_hired")}
    )
    return fairness_of_scores(
        people_frame(),
        ts.worker_ids,
        ts.commitment_ids,
        scores,
        referrals,
        clock.today(),
        n_boot=FAIRNESS_BOOTSTRAP,
    )


def train(
    promote: str = "gate", *, version: str | None = None, progress: jobs.Progress | None = None
) -> dict[str, Any]:
    """Train on the database's referrals; store the model; promote it if the gate says so.

    ``promote`` is "gate" (promote when the quality gate passes) or "never" (store only);
    ``version`` names the stored version (a job names it up front, so that a retry finds
    what its first run stored).
    """
    report_progress = progress or (lambda fraction, message: None)
    root = Path(current_app.config["MODELS_DIR"])
    report_progress(0.05, "Đang đọc lượt giới thiệu / reading the referrals")
    snapshot = snapshot_from_db()
    ts = training_set(snapshot)
    if len(ts) < MIN_DECIDED_REFERRALS or len(np.unique(ts.y)) < 2:
        raise NotEnoughHistory(
            f"Cần ít nhất {MIN_DECIDED_REFERRALS} lượt giới thiệu đã có kết quả (có cả tuyển và "
            f"không tuyển), hiện có {len(ts)} / need at least {MIN_DECIDED_REFERRALS} decided "
            f"referrals with both hires and non-hires, found {len(ts)}"
        )
    active = model_holder().get()
    current = active.model if active.name == "model" else None
    trained_until = None
    if current is not None:
        window = model_store.read_metadata(root, active.version).get("training_window", {})
        # A refit model learnt from every row up to the end of its evaluation window.
        last = window.get("eval_last_day") if window.get("refit_on_all_rows") else None
        last = last or window.get("last_day")
        trained_until = dt.date.fromisoformat(last) if last else None
    report_progress(0.15, f"Đang huấn luyện trên {len(ts):,} lượt / training on {len(ts):,} rows")
    report = train_and_evaluate(
        snapshot, current=current, ts=ts, current_trained_until=trained_until
    )
    report_progress(0.8, "Đang kiểm tra công bằng / auditing fairness")
    summary = report.to_dict()
    metadata = {
        "scorer": "model",
        "estimator": type(report.model).__name__,
        "features": list(report.features),
        "training_window": {
            "first_day": summary["train_first_day"],
            "last_day": summary["train_last_day"],
            "eval_first_day": summary["eval_first_day"],
            "eval_last_day": summary["eval_last_day"],
            "n_rows": summary["n_rows"],
            "n_train": summary["n_train"],
            "n_eval": summary["n_eval"],
            "hire_rate": summary["hire_rate"],
            "refit_on_all_rows": summary["refit"],
        },
        "data_fingerprint": data_fingerprint(ts.referral_ids, ts.y, ts.X),
        "metrics": summary["scores"],
        "params": json.loads(json.dumps(summary["params"], default=str)),
        "seconds": round(summary["seconds"], 2),
    }
    audit = fairness_audit(lambda X: report.model.predict_proba(X)[:, 1], ts)
    incumbent = fairness_audit(active.predict, ts)
    fair_gate = audit.gate(baseline=incumbent)
    metadata["fairness"] = {
        "passed": fair_gate.passed,
        "reason": fair_gate.reason,
        "failures": fair_gate.failures,
        "groups": audit.to_dict()["groups"],
        "baseline": {
            "scorer": active.name,
            "version": active.version,
            "groups": incumbent.to_dict()["groups"],
        },
    }
    passes = report.promote and fair_gate.passed
    reason = f"{report.reason}; {fair_gate.reason}"
    if report.promote and not fair_gate.passed:
        reason = (
            f"{fair_gate.reason}. Không tự động đưa vào dùng; quản trị viên có thể đưa vào dùng "
            "kèm lý do / not promoted automatically; an admin may promote it with a reason"
        )
    metadata["gate"] = {
        "promote": passes,
        "reason": reason,
        "quality": {"promote": report.promote, "reason": report.reason},
        "fairness": {"passed": fair_gate.passed, "reason": fair_gate.reason},
    }
    report_progress(0.95, "Đang lưu mô hình / storing the model")
    version = model_store.save(root, report.model, metadata, version=version)
    return _conclude(root, version, metadata, promote)


def _conclude(root: Path, version: str, metadata: dict[str, Any], promote: str) -> dict[str, Any]:
    """Promote a stored version if its gate passed (once), and say what came of it."""
    gate = metadata["gate"]
    promoted = promote == "gate" and gate["promote"]
    if promoted and not metadata.get("promotions"):
        model_store.record_promotion(
            root, version, {"by": "quality gate", "reason": gate["reason"]}
        )
        model_store.promote(root, version)
    return {
        "version": version,
        "promoted": promoted,
        "gate": gate,
        "metrics": metadata["metrics"],
        "training_window": metadata["training_window"],
        "seconds": metadata["seconds"],
    }


def schedule_nightly() -> Any:
    """Queue the nightly retraining, through the gates, unless one is queued or running, or
    the last nightly one saw these very referrals (nothing new to learn); the job or None."""
    import sqlalchemy as sa

    from api.extensions import db
    from api.models import Job
    from api.versions import current as data_versions

    referrals = data_versions()["referrals"]
    nightly = sa.select(Job).where(Job.kind == "train", Job.token_id.is_(None))
    if db.session.execute(nightly.where(Job.status.in_(jobs.ACTIVE)).limit(1)).first():
        return None
    last = db.session.scalars(nightly.order_by(Job.id.desc()).limit(1)).first()
    if last is not None and last.params.get("referrals_version") == referrals:
        return None
    version = model_store.new_version_name()
    params = {"promote": "gate", "version": version, "scheduled": "nightly",
              "referrals_version": referrals}  # fmt: skip
    return jobs.submit("train", params)


@jobs.handler("train")
def train_job(job: Any, progress: jobs.Progress) -> dict[str, Any]:
    """Training as a background job. Idempotent: the version is named when the job is
    asked for; a retry that finds it stored (its first run died after saving) only
    finishes the promotion, and one that finds a half-written folder starts it again."""
    root = Path(current_app.config["MODELS_DIR"])
    version, promote = job.params["version"], job.params.get("promote", "gate")
    if (root / version).is_dir():
        try:
            stored = model_store.read_metadata(root, version)
        except model_store.ModelNotFound:
            shutil.rmtree(root / version)  # a half-written folder: no metadata yet
        else:
            return _conclude(root, version, stored, promote)
    return train(promote, version=version, progress=progress)
