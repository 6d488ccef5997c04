"""The OpenAPI document and the interactive docs, served from local files (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from api.errors import NotFound
from api.openapi import build_spec, json_response

bp = Blueprint("docs", __name__, url_prefix="/api/v1")


def swagger_ui_dir() -> Path:
    """Swagger UI 5 (which reads OpenAPI 3.1) ships inside flask-openapi3-swagger's wheel."""
    spec = importlib.util.find_spec("flask_openapi3_swagger")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("flask-openapi3-swagger is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "templates" / "swagger"


def openapi_document() -> dict:
    """Build the document once per app: the registry does not change after start-up."""
    cached = current_app.extensions.get("caunoi_openapi")
    if cached is None:
        cached = build_spec("Cầu Nối API", current_app.config["API_VERSION"])
        current_app.extensions["caunoi_openapi"] = cached
    return cached


@bp.get("/openapi.json")
def get_openapi() -> Response:
    return json_response(openapi_document())


@bp.get("/docs")
def get_docs() -> str:
    return render_template("swagger.html")


@bp.get("/docs/static/<path:filename>")
def get_docs_static(filename: str) -> Response:
    folder = swagger_ui_dir()
    if not (folder / filename).is_file():
        raise NotFound(f"no such file {filename[:80]}")
    return send_from_directory(folder, filename, max_age=86400)
