"""The pages' catalogues: every message has its Vietnamese, and the compiled file is current."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "api" / "translations"


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
