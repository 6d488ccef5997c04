"""Notebooks run end to end on small data, so they never rot, and are stored without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Notebooks whose tests live here (others' notebooks have their own).
NOTEBOOKS = ("model-evaluation.ipynb", "forecasting.ipynb")
#: Small enough for CI, large enough that every block of the evaluation has both outcomes.
SMALL_ENV = {
    "CAUNOI_NOTEBOOK_WORKERS": "500",
    "MPLBACKEND": "Agg",
    # Tiny fits are faster on one thread, and two busy cores are all CI has.
    "OMP_NUM_THREADS": "1",
}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name):
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], cell["source"][:80]
            assert cell["execution_count"] is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_imports_its_code_from_matcher(name):
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    source = "\n".join("".join(cell["source"]) for cell in notebook["cells"])
    assert "from matcher" in source
    assert "\ndef " not in "\n" + source  # code used twice belongs in matcher


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_on_small_data_without_errors(name, monkeypatch):
    for key, value in SMALL_ENV.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    warnings = [
        o["text"] for o in outputs if o["output_type"] == "stream" and "Warning" in o["text"]
    ]
    assert not warnings
