"""Admin pages: users, API tokens, models, jobs and the personal-data access log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.web.common import page, render

bp = Blueprint("page_admin", __name__, url_prefix="/admin")


@bp.get("")
@page("admin.list_tokens")
def index() -> Any:
    return render("web/admin/index.html")
