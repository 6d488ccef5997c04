"""The engine stays a library: matcher/ never imports Flask, SQLAlchemy or the api package."""

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
