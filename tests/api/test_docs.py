"""Documentation generated from the code stays equal to what the code generates."""

from __future__ import annotations

from pathlib import Path

from api.docsgen import import_format_markdown, rule_scorer_markdown
from api.resources.docs import SWAGGER_UI_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_import_format_doc_matches_column_specs():
    committed = (ROOT / "docs" / "import-format.md").read_text(encoding="utf-8")
    assert committed == import_format_markdown(), (
        "run: caunoi docs import-format > docs/import-format.md"
    )


def test_rule_scorer_doc_matches_the_rules():
    committed = (ROOT / "docs" / "rule-scorer.md").read_text(encoding="utf-8")
    assert committed == rule_scorer_markdown(), "run: caunoi docs rule-scorer > docs/rule-scorer.md"


def test_docs_page_is_served_from_local_files(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http" not in html.replace("http-equiv", "")  # no CDN
    with client.get("/api/v1/docs/static/js/swagger-ui-bundle.js") as script:
        assert script.status_code == 200 and len(script.data) > 100_000
    # Vendored under api/static with its licence; only the scripts and styles are served.
    assert (SWAGGER_UI_DIR / "LICENSE").is_file() and (SWAGGER_UI_DIR / "NOTICE").is_file()
    assert client.get("/api/v1/docs/static/LICENSE").status_code == 404
    assert client.get("/api/v1/docs/static/../../config.py").status_code == 404


def test_landing_page_is_vietnamese_first(client):
    page = client.get("/").get_data(as_text=True)
    assert "Kết nối người lao động" in page and "Connecting rural workers" in page
