"""The liveness and readiness checks for load balancers (the pages are in api/web)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, current_app

from api.extensions import db
from api.openapi import json_response

bp = Blueprint("pages", __name__)


@bp.get("/healthz")
def health() -> Response:
    """Liveness: the process answers. It does not touch the database, so a database outage
    does not make an orchestrator restart healthy web processes."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def ready() -> Response:
    """Readiness: the database answers and is migrated to this code's schema; 503 if not,
    so a load balancer sends no traffic here until `caunoi init-db` has run."""
    expected = _head_revision()
    try:
        current = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.OperationalError:
        db.session.rollback()
        return _not_ready("database unreachable or not initialised (run caunoi init-db)")
    except sa.exc.DBAPIError:
        db.session.rollback()
        return _not_ready("database not initialised (run caunoi init-db)")
    if current != expected:
        return _not_ready(f"database at migration {current}, code expects {expected}")
    return json_response({"status": "ready", "migration": current})


def _not_ready(reason: str) -> Response:
    response = json_response({"status": "not ready", "reason": reason}, status=503)
    response.headers["Retry-After"] = "10"
    return response


def _head_revision() -> str:
    """The newest migration shipped with this code (read once per app)."""
    head = current_app.extensions.get("caunoi_migration_head")
    if head is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", current_app.extensions["migrate"].directory)
        head = ScriptDirectory.from_config(config).get_current_head()
        current_app.extensions["caunoi_migration_head"] = head
    return head
