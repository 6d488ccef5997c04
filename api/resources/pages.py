"""Web pages: the landing page and a health check for load balancers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, render_template

from api.extensions import db
from api.models import Commitment, Course, Enterprise, Referral, Worker
from api.openapi import json_response

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    counts = {
        name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for name, model in (
            ("workers", Worker),
            ("enterprises", Enterprise),
            ("courses", Course),
            ("commitments", Commitment),
            ("referrals", Referral),
        )
    }
    return render_template("index.html", counts=counts)


@bp.get("/healthz")
def health() -> Response:
    db.session.execute(sa.text("SELECT 1"))
    return json_response({"status": "ok"})
