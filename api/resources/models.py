"""Model versions: list, train, promote (admins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app

from api import jobs
from api.auth import current_principal
from api.errors import ApiError, NotFound, ValidationFailed
from api.matching import model_holder
from api.openapi import operation
from api.resources.jobs import accepted
from api.schemas import JobOut, ModelList, ModelOut, ModelQuery, PromoteIn, TrainIn
from matcher import model_store

bp = Blueprint("models", __name__, url_prefix="/api/v1")

ADMIN = ("admin",)


def _root() -> Path:
    return Path(current_app.config["MODELS_DIR"])


def model_out(meta: dict[str, Any], current: str | None) -> dict[str, Any]:
    return {
        "version": meta["version"],
        "created_at": meta.get("created_at", ""),
        "current": meta["version"] == current,
        "scorer": meta.get("scorer", "model"),
        "gate": meta.get("gate", {}),
        "fairness": meta.get("fairness"),
        "metrics": meta.get("metrics", {}),
        "training_window": meta.get("training_window", {}),
        "features": meta.get("features", []),
        "libraries": meta.get("libraries", {}),
        "code_version": meta.get("code_version", "unknown"),
        "sha256": meta.get("sha256", ""),
        "promoted_by": meta.get("promoted_by"),
        "promotions": meta.get("promotions", []),
    }


@operation(
    bp,
    "/models",
    summary="Stored model versions and what serves now",
    roles=ADMIN,
    query=ModelQuery,
    response=ModelList,
)
def list_models(query: ModelQuery) -> dict[str, Any]:
    """Newest first. The cursor is the last version shown: versions are only ever added, so
    the next page is what is older than it, however many were trained in between."""
    holder = model_holder()
    active = holder.get()
    current = model_store.current_version(_root())
    stored = model_store.list_versions(_root())
    start = 0
    if query.cursor is not None:
        names = [m["version"] for m in stored]
        if query.cursor not in names:
            raise ValidationFailed(
                f"Không còn phiên bản '{query.cursor}'; bỏ cursor để xem từ đầu / no stored"
                f" version '{query.cursor}': leave cursor out to start again",
                errors=[{"field": "cursor", "message": "names no stored model version"}],
            )
        start = names.index(query.cursor) + 1
    page = stored[start : start + query.limit]
    more = start + query.limit < len(stored)
    return {
        "current_version": current,
        "serving": active.version,
        "error": holder.error,
        "items": [model_out(m, current) for m in page],
        "next_cursor": page[-1]["version"] if more and page else None,
    }


@operation(
    bp,
    "/models/train",
    "POST",
    summary="Train, evaluate and gate a new model (a background job)",
    roles=ADMIN,
    body=TrainIn,
    response=JobOut,
    status=202,
)
def train_model(body: TrainIn) -> Any:
    """Queue training on the referrals in the database (time-ordered split), evaluated
    against the rule scorer, the nearest-in-trade baseline and the current model; the version
    is stored, and promoted only if it passes the quality and fairness gates. Answers 202
    with the job: follow `url` until it is `done` (its `result` names the version and the
    gate's reason) or `failed` (`error` says why, e.g. too little history)."""
    job = jobs.submit(
        "train",
        {"promote": body.promote, "version": model_store.new_version_name()},
        current_principal(),
    )
    return accepted(job)


@operation(
    bp,
    "/models/<version>/promote",
    "POST",
    summary="Make a stored version current",
    roles=ADMIN,
    body=PromoteIn,
    response=ModelOut,
    path_schemas={"version": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$"}},
)
def promote_model(version: str, body: PromoteIn) -> dict[str, Any]:
    """Promote explicitly (for example a model the gate held back), with a recorded reason.
    The artifact is verified first; running servers switch on their next request."""
    root = _root()
    try:
        model_store.verify(root, version)
    except model_store.ModelNotFound:
        raise NotFound(f"Không có mô hình '{version[:64]}' / no model '{version[:64]}'") from None
    except model_store.ModelError as error:
        raise ApiError(str(error), status=409) from None
    principal = current_principal()
    model_store.record_promotion(
        root,
        version,
        {
            "token_id": principal.token_id,
            "role": principal.role,
            # The person, when a signed-in admin (or a token issued to one) promoted it.
            "user_id": principal.user_id,
            "name": principal.name,
            "reason": body.reason,
        },
    )
    model_store.promote(root, version)
    return model_out(model_store.read_metadata(root, version), version)
