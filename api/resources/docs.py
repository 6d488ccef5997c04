"""The OpenAPI document and the interactive docs, served from local files (no CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from api.errors import NotFound
from api.openapi import build_spec, json_response

bp = Blueprint("docs", __name__, url_prefix="/api/v1")


#: Swagger UI 5 (it reads OpenAPI 3.1), vendored with its licence (see its README.md).
SWAGGER_UI_DIR = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
#: Our own set-up script for it (a file, so the page's CSP can refuse inline scripts).
DOCS_DIR = SWAGGER_UI_DIR.parent / "docs"


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


@bp.get("/docs/init.js")
def get_docs_init() -> Response:
    return send_from_directory(DOCS_DIR, "init.js", max_age=3600)


@bp.get("/docs/static/<path:filename>")
def get_docs_static(filename: str) -> Response:
    folder = SWAGGER_UI_DIR
    if not (folder / filename).is_file() or not filename.endswith((".js", ".css")):
        raise NotFound(f"no such file {filename[:80]}")
    return send_from_directory(folder, filename, max_age=86400)
