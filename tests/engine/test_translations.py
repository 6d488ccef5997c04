"""The pages' catalogues: every message has its Vietnamese, and the compiled file is current."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "api" / "translations"


def test_the_template_holds_every_message_the_pages_use(tmp_path):
    """Extracted again from the code: a message added without `make translations` fails."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_", "-k", "gettext", "-o", str(fresh), "--no-location", "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with fresh.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        kept = {m.id for m in read_po(handle) if m.id}
    assert wanted == kept, f"run make translations: {sorted(wanted ^ kept)[:10]}"


def test_every_message_has_its_vietnamese_and_the_mo_is_compiled():
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        vi = read_po(handle)
    wanted = {m.id for m in template if m.id}
    have = {m.id for m in vi if m.id and m.string}
    assert wanted <= have, f"untranslated (make translations): {sorted(wanted - have)[:10]}"
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)
    assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in vi if m.id}
    buffer = io.BytesIO()
    write_mo(buffer, vi)
    assert buffer.getvalue()
