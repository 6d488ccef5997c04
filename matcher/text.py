"""Text folding shared by every search, so that "Hưng Yên", "hung yen" and "HƯNG YÊN" meet."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese tone and vowel marks; đ has no decomposition, so map it by hand."""
    decomposed = unicodedata.normalize("NFD", text)
    without_marks = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return without_marks.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """Fold text to lower-case ASCII words separated by single spaces, for matching only."""
    ascii_text = strip_diacritics(unicodedata.normalize("NFC", text)).lower()
    return _NON_WORD.sub(" ", ascii_text).strip()


def nfc(text: str) -> str:
    """Normalise to NFC so that text composed differently by Excel or phones compares equal."""
    return unicodedata.normalize("NFC", text).strip()
