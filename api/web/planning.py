"""Planner pages: the demand to come, gaps, the course plan, placement and fairness."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.web.common import page, render

bp = Blueprint("page_planning", __name__, url_prefix="/planning")


@bp.get("")
@page("planning.get_forecasts")
def overview() -> Any:
    return render("web/planning/overview.html")
