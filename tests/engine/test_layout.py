"""Layout rules: matcher/ never imports Flask, SQLAlchemy or the api package; api/ writes
CSV and .xlsx through one module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MATCHER = Path(__file__).resolve().parents[2] / "matcher"
FORBIDDEN = ("api", "flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug")


@pytest.mark.parametrize("path", sorted(MATCHER.glob("*.py")), ids=lambda p: p.name)
def test_matcher_module_imports_no_web_or_database_layer(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & set(FORBIDDEN)


API = MATCHER.parent / "api"


@pytest.mark.parametrize("path", sorted(API.rglob("*.py")), ids=lambda p: str(p.relative_to(API)))
def test_only_the_export_writer_writes_csv_or_xlsx(path):
    """Every CSV and .xlsx the app writes goes through api/exports.py, the formula-safe writer
    (docs/security.md); a second writer would be a second place to forget it."""
    if path.name == "exports.py":
        return
    text = path.read_text(encoding="utf-8")
    assert ".writer(" not in text
    assert "Workbook(" not in text and "WriteOnlyCell" not in text


@pytest.mark.parametrize(
    "path",
    sorted([*MATCHER.glob("*.py"), *API.rglob("*.py")]),
    ids=lambda p: str(p.relative_to(MATCHER.parent)),
)
def test_only_the_model_registry_unpickles(path):
    """Unpickling runs code: only matcher/model_store.py does it, after checking a model's
    SHA-256 (load) or a stored result's HMAC (loads_signed)."""
    if path.name == "model_store.py" and path.parent == MATCHER:
        return
    text = path.read_text(encoding="utf-8")
    for call in ("pickle.load", "joblib.load", "cloudpickle.load", "dill.load"):
        assert call not in text, f"{call} outside matcher/model_store.py"
