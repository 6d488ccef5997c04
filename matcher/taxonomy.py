"""The trade and skill taxonomy, and the normalisation of free-text skills to skill codes.

Caseworkers write skills the way workers say them ("biết may máy 1 kim", "sua dien dan dung");
matching, features and reports need codes. Normalisation is deliberately plain — an exact
synonym lookup, then a weighted token-overlap score — so that every answer can be explained by
the one synonym it matched, and an item that matches nothing well is reported, never guessed.

The data lives in ``matcher/data/taxonomy.json`` so that people who know the trades can review
it without reading Python; this module validates it on load, because a synonym that names two
skills would silently send workers to the wrong trade.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from matcher.text import fold, nfc

TRADE_CODES: tuple[str, ...] = (
    "garment",
    "electrical",
    "electronics",
    "textile",
    "carpentry",
    "handicraft",
)
EDUCATION_CODES: tuple[str, ...] = (
    "none",
    "primary",
    "lower_secondary",
    "upper_secondary",
    "elementary_vocational",
    "intermediate_vocational",
    "college",
    "university",
    "unspecified",
)
COMMON_PREFIX = "common"

NORMALIZE_THRESHOLD: float = 0.6
# Two different skills scoring within this margin of each other make the item ambiguous: it is
# reported with both as alternatives rather than silently given to one of them.
AMBIGUITY_MARGIN = 0.05
# A fuzzy candidate must contain this share of a synonym's words to keep its full score; below
# it the score falls quadratically, so "hàn" alone names neither welding nor soldering, and
# "kiểm tra" is not "kiểm tra vải".
MIN_SYNONYM_COVERAGE = 0.8
MAX_ALTERNATIVES = 3
# Alternatives scoring below this are noise ("nấu ăn" sharing "an" with "an toàn lao động").
ALTERNATIVE_FLOOR = 0.3
# A misspelt word of at least this length may be read as the closest known word.
SPELLING_MIN_LENGTH = 4
SPELLING_CUTOFF = 0.8
NORMALIZE_CACHE_SIZE = 65_536

_SKILL_CODE = re.compile(r"^[a-z]+\.[a-z0-9]+(?:_[a-z0-9]+)*$")
_ISCO_CODE = re.compile(r"^\d{4}$")

# Durations say how long, not what: "3 năm", "trên 2 năm", "6 tháng trở lên" (folded).
_DURATION = re.compile(
    r"\b(?:tren |hon |duoi |khoang |gan )?\d+(?: \d+)? (?:nam|thang)(?: tro len)?\b"
)
# Folded words that say how well or whether, never which skill. "co" alone is kept because it
# also folds "cơ" (cơ khí), "hoc" because of "quang học", "tho" because of "thổ cẩm".
_FILLER_PHRASES = (
    "co kinh nghiem",
    "kinh nghiem",
    "nhieu nam",
    "lau nam",
    "thanh thao",
    "co ky nang",
    "ky nang",
    "co the",
    "hieu biet",
    "biet",
    "hieu",
    "nam vung",
    "lam duoc",
    "lam",
    "gioi",
    "co ban",
    "tot nghiep",
    "tot",
    "duoc",
    "da hoc",
    "tung hoc",
    "da tung",
    "tung",
    "kha",
    "rat",
    "nhieu",
    "co chung chi",
    "chung chi",
    "so cap",
    "trung cap",
    "cao dang",
    "experienced",
    "experience",
    "skilled",
    "skills",
    "skill",
    "basic",
    "good",
)
# "nghề" (trade) is filler, but "nghệ" in "mỹ nghệ" (fine craft) folds to the same word.
_FILLER = re.compile(
    r"\b(?:"
    + "|".join(re.escape(p) for p in sorted(_FILLER_PHRASES, key=len, reverse=True))
    + r"|(?<!my )nghe)\b"
)
# A comma between digits is a decimal comma ("1,5 năm"), not a list separator.
_LIST_SEPARATORS = re.compile(r"[;\n]|(?<!\d),|,(?!\d)")
_CONJUNCTIONS = re.compile(r"\s+(?:và|and|&)\s+|\s*[+/]\s*", re.IGNORECASE)
# "va" is split only in text written without diacritics, where it almost always stands for
# "và"; with diacritics it could be "vá" (mend).
_ASCII_CONJUNCTION = re.compile(r"\s+va\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Occupation:
    """An ISCO-08 unit group that a trade leads to."""

    isco: str
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class Trade:
    """A trade (nghề) with the ISCO-08 occupations it covers."""

    code: str
    label_vi: str
    label_en: str
    occupations: tuple[Occupation, ...]


@dataclass(frozen=True)
class Skill:
    """A skill with the phrasings that name it; ``trades`` lists every trade it counts for."""

    code: str
    label_vi: str
    label_en: str
    trades: tuple[str, ...]
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class SkillMatch:
    """A skill that a free-text item was matched to, and the synonym or label that matched."""

    code: str
    label_vi: str
    label_en: str
    confidence: float
    matched: str


@dataclass(frozen=True)
class Normalization:
    """What one free-text item became, with the runners-up for the import report."""

    text: str
    match: SkillMatch | None
    alternatives: tuple[SkillMatch, ...]

    @property
    def known(self) -> bool:
        """Say whether the item was matched, so callers need not test ``match`` for None."""
        return self.match is not None


@dataclass(frozen=True)
class EducationLevel:
    """An education level; ``rank`` orders them, and is None for ``unspecified``."""

    code: str
    label_vi: str
    label_en: str
    rank: int | None

    def meets(self, required: EducationLevel) -> bool | None:
        """Say whether this level satisfies ``required``; None when either is unknown.

        Unknown is not "no": a worker who did not state their schooling must not be scored as
        if they had none.
        """
        if self.rank is None or required.rank is None:
            return None
        return self.rank >= required.rank


@dataclass(frozen=True)
class _Form:
    """One synonym or label of a skill, prepared for matching."""

    key: str
    tokens: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    skill_code: str
    text: str


def matching_key(text: str) -> str:
    """Reduce text to the words that can name a skill: folded, without fillers and durations.

    Synonyms and input go through the same function, so "Biết may máy 1 kim", "may may 1 kim"
    and "MAY MÁY 1 KIM" all meet at "may may 1 kim".
    """
    # Re-join after removing durations, so "có 3 năm kinh nghiệm" meets "co kinh nghiem".
    folded = " ".join(_DURATION.sub(" ", fold(text)).split())
    return " ".join(_FILLER.sub(" ", folded).split())


def _bigrams(tokens: list[str]) -> frozenset[tuple[str, str]]:
    return frozenset(zip(tokens, tokens[1:], strict=False))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"taxonomy: {message}")


def _checked_text(value: Any, where: str) -> str:
    _require(isinstance(value, str) and value.strip() != "", f"{where} is empty")
    _require(unicodedata.is_normalized("NFC", value), f"{where} is not NFC: {value!r}")
    return value


def _text(record: Mapping[str, Any], field: str, where: str) -> str:
    return _checked_text(record.get(field), f"{where}: {field}")


class Taxonomy:
    """Trades, skills and education levels, with free-text skill normalisation.

    Build it from the parsed JSON document (see :func:`load_taxonomy`); the constructor
    validates the document and raises ``ValueError`` naming the first problem.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.version: str = str(document.get("version", ""))
        self._trades = self._read_trades(document.get("trades", []))
        self._trade_by_code = {trade.code: trade for trade in self._trades}
        self._trade_by_isco = {
            occupation.isco: trade.code
            for trade in self._trades
            for occupation in trade.occupations
        }
        self._skills = self._read_skills(document.get("skills", []))
        self._skill_by_code = {skill.code: skill for skill in self._skills}
        self._skill_order = {skill.code: index for index, skill in enumerate(self._skills)}
        self._education = self._read_education(document.get("education_levels", []))
        self._education_by_code = {level.code: level for level in self._education}
        self._build_index()
        # Per instance rather than a decorated method, so the cache dies with the taxonomy.
        self._normalize_cached = lru_cache(maxsize=NORMALIZE_CACHE_SIZE)(self._normalize)

    # -- reading and validating ------------------------------------------------------------

    @staticmethod
    def _read_trades(records: Iterable[Mapping[str, Any]]) -> tuple[Trade, ...]:
        trades = []
        seen_isco: set[str] = set()
        for record in records:
            code = record.get("code")
            where = f"trade {code!r}"
            occupations = []
            for occupation in record.get("occupations", []):
                isco = str(occupation.get("isco", ""))
                _require(
                    bool(_ISCO_CODE.match(isco)), f"{where}: ISCO code {isco!r} is not 4 digits"
                )
                _require(isco not in seen_isco, f"{where}: ISCO code {isco} is in two trades")
                seen_isco.add(isco)
                occupations.append(
                    Occupation(
                        isco=isco,
                        label_vi=_text(occupation, "label_vi", f"{where} {isco}"),
                        label_en=_text(occupation, "label_en", f"{where} {isco}"),
                    )
                )
            _require(bool(occupations), f"{where}: no occupations")
            trades.append(
                Trade(
                    code=str(code),
                    label_vi=_text(record, "label_vi", where),
                    label_en=_text(record, "label_en", where),
                    occupations=tuple(occupations),
                )
            )
        codes = tuple(trade.code for trade in trades)
        _require(codes == TRADE_CODES, f"trades must be {TRADE_CODES}, got {codes}")
        return tuple(trades)

    @staticmethod
    def _read_skills(records: Iterable[Mapping[str, Any]]) -> tuple[Skill, ...]:
        skills = []
        seen: set[str] = set()
        for record in records:
            code = str(record.get("code", ""))
            where = f"skill {code!r}"
            _require(bool(_SKILL_CODE.match(code)), f"{where}: code is not '<trade>.<snake_slug>'")
            _require(code not in seen, f"{where}: duplicate code")
            seen.add(code)
            trades = tuple(record.get("trades", []))
            _require(bool(trades), f"{where}: no trades")
            unknown = [trade for trade in trades if trade not in TRADE_CODES]
            _require(not unknown, f"{where}: unknown trades {unknown}")
            prefix = code.split(".", 1)[0]
            _require(
                prefix == COMMON_PREFIX or prefix in trades,
                f"{where}: prefix must be 'common' or one of its trades",
            )
            synonyms = [
                _checked_text(text, f"{where}: synonym") for text in record.get("synonyms", [])
            ]
            _require(bool(synonyms), f"{where}: no synonyms")
            skills.append(
                Skill(
                    code=code,
                    label_vi=_text(record, "label_vi", where),
                    label_en=_text(record, "label_en", where),
                    trades=trades,
                    synonyms=tuple(synonyms),
                )
            )
        return tuple(skills)

    @staticmethod
    def _read_education(records: Iterable[Mapping[str, Any]]) -> tuple[EducationLevel, ...]:
        levels = tuple(
            EducationLevel(
                code=str(record.get("code")),
                label_vi=_text(record, "label_vi", f"education {record.get('code')!r}"),
                label_en=_text(record, "label_en", f"education {record.get('code')!r}"),
                rank=record.get("rank"),
            )
            for record in records
        )
        codes = tuple(level.code for level in levels)
        _require(codes == EDUCATION_CODES, f"education levels must be {EDUCATION_CODES}")
        ranks = [level.rank for level in levels]
        _require(ranks == [*range(len(levels) - 1), None], "education ranks must be 0..7, None")
        return levels

    def _build_index(self) -> None:
        """Index every label and synonym by its matching key, refusing keys that name two skills."""
        exact: dict[str, tuple[str, str]] = {}
        for skill in self._skills:
            for text in (skill.label_vi, skill.label_en, *skill.synonyms):
                key = matching_key(text)
                _require(key != "", f"skill {skill.code!r}: {text!r} is only filler words")
                owner = exact.setdefault(key, (skill.code, text))[0]
                _require(
                    owner == skill.code,
                    f"{text!r} of {skill.code!r} reads as {key!r}, which already names {owner!r}",
                )
        self._exact = exact

        document_frequency: dict[str, int] = {}
        for key in exact:
            for token in set(key.split()):
                document_frequency[token] = document_frequency.get(token, 0) + 1
        # Inverse document frequency: "may", "dien" and "lap" say little, "kcs" says it all.
        keys = len(exact)
        self._unseen_weight = 1.0 + math.log(keys)
        self._token_weight = {
            token: 1.0 + math.log(keys / count) for token, count in document_frequency.items()
        }
        self._vocabulary = sorted(document_frequency)

        forms = []
        by_token: dict[str, list[int]] = {}
        for key, (code, text) in exact.items():
            tokens = key.split()
            form = _Form(
                key=key,
                tokens=frozenset(tokens),
                bigrams=_bigrams(tokens),
                skill_code=code,
                text=text,
            )
            for token in form.tokens:
                by_token.setdefault(token, []).append(len(forms))
            forms.append(form)
        self._forms = tuple(forms)
        self._forms_by_token = {token: tuple(ids) for token, ids in by_token.items()}

    # -- lookups ---------------------------------------------------------------------------

    def trades(self) -> list[Trade]:
        """Return the six trades in their canonical order."""
        return list(self._trades)

    def trade(self, code: str) -> Trade | None:
        """Return the trade with this code, or None."""
        return self._trade_by_code.get(code)

    def skills(self, trade: str | None = None) -> list[Skill]:
        """Return all skills, or those that count for ``trade`` (common ones included).

        An unknown trade raises ``ValueError`` rather than answering an empty list, which
        would read as "this trade needs no skills".
        """
        if trade is None:
            return list(self._skills)
        if trade not in self._trade_by_code:
            raise ValueError(f"unknown trade {trade!r}")
        return [skill for skill in self._skills if trade in skill.trades]

    def skill(self, code: str) -> Skill | None:
        """Return the skill with this code, or None."""
        return self._skill_by_code.get(code)

    def is_skill_code(self, text: str) -> bool:
        """Say whether ``text`` is a skill code as written in files (case and spaces ignored)."""
        return nfc(text).lower() in self._skill_by_code

    def education_levels(self) -> list[EducationLevel]:
        """Return the education levels from ``none`` to ``university``, then ``unspecified``."""
        return list(self._education)

    def education(self, code: str) -> EducationLevel | None:
        """Return the education level with this code (case and spaces ignored), or None."""
        return self._education_by_code.get(nfc(code).lower())

    def occupation_trade(self, isco: str) -> str | None:
        """Return the trade whose occupations include this ISCO-08 code, or None."""
        return self._trade_by_isco.get(str(isco).strip())

    # -- normalisation ---------------------------------------------------------------------

    def normalize(self, text: str) -> Normalization:
        """Map one free-text skill item to a skill, or to nothing when no synonym fits well.

        Imports repeat the same few phrasings thousands of times, so answers are cached.
        """
        return self._normalize_cached(nfc(text or ""))

    def normalize_list(self, text: str) -> list[Normalization]:
        """Split a skills cell into items and normalise each, in order, without duplicates.

        Items are separated by ";", "," or new lines; an item that is not itself a known
        phrasing is further split on "và", "and", "&", "+" and "/", so "may 1 kim và vắt sổ"
        gives two skills while a synonym that contains "và" stays whole. Items that are only
        filler or a duration ("3 năm kinh nghiệm") name no skill and are left out, so the
        import report lists only items someone has to look at.
        """
        items: list[str] = []
        for chunk in _LIST_SEPARATORS.split(nfc(text or "")):
            chunk = chunk.strip()
            if not chunk:
                continue
            if self.is_skill_code(chunk) or matching_key(chunk) in self._exact:
                items.append(chunk)
                continue
            parts = _CONJUNCTIONS.split(chunk)
            if chunk.isascii():
                parts = [piece for part in parts for piece in _ASCII_CONJUNCTION.split(part)]
            items.extend(part.strip() for part in parts if part.strip())
        unique = dict.fromkeys(
            item for item in items if matching_key(item) or self.is_skill_code(item)
        )
        return [self.normalize(item) for item in unique]

    def _normalize(self, text: str) -> Normalization:
        if self.is_skill_code(text):
            skill = self._skill_by_code[text.lower()]
            return Normalization(text, self._skill_match(skill.code, 1.0, skill.code), ())
        key = matching_key(text)
        if not key:
            return Normalization(text, None, ())
        if key in self._exact:
            code, matched = self._exact[key]
            return Normalization(text, self._skill_match(code, 1.0, matched), ())
        ranked = self._rank_fuzzy(key)
        match = None
        if ranked and ranked[0][1] >= NORMALIZE_THRESHOLD:
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            if ranked[0][1] - runner_up >= AMBIGUITY_MARGIN:
                match = ranked.pop(0)
        alternatives = tuple(
            self._skill_match(code, score, matched)
            for code, score, matched in ranked[:MAX_ALTERNATIVES]
            if score >= ALTERNATIVE_FLOOR
        )
        return Normalization(text, self._skill_match(*match) if match else None, alternatives)

    def _skill_match(self, code: str, confidence: float, matched: str) -> SkillMatch:
        skill = self._skill_by_code[code]
        return SkillMatch(code, skill.label_vi, skill.label_en, confidence, matched)

    def _correct_spelling(self, tokens: list[str]) -> tuple[list[str], dict[str, float]]:
        """Read each unknown longer word as the closest known word, crediting it by likeness."""
        corrected: list[str] = []
        credit: dict[str, float] = {}
        for token in tokens:
            if token in self._token_weight or len(token) < SPELLING_MIN_LENGTH:
                corrected.append(token)
                credit[token] = 1.0
                continue
            close = difflib.get_close_matches(token, self._vocabulary, n=1, cutoff=SPELLING_CUTOFF)
            if close:
                likeness = difflib.SequenceMatcher(None, token, close[0]).ratio()
                corrected.append(close[0])
                credit[close[0]] = max(credit.get(close[0], 0.0), likeness)
            else:
                corrected.append(token)
                credit.setdefault(token, 1.0)
        return corrected, credit

    def _rank_fuzzy(self, key: str) -> list[tuple[str, float, str]]:
        """Score every skill sharing a word with ``key``; best first, ties in file order.

        Score = 0.7 × F1 of shared words + 0.15 × shared word pairs (word order) + 0.15 ×
        difflib likeness of the whole strings, scaled down when the text holds less than
        ``MIN_SYNONYM_COVERAGE`` of the synonym's words. Precision weighs the text's words by
        rarity (extra common words such as "máy" or "điện" cost little, an unknown word costs
        the most); recall counts the synonym's words plainly, because a missing word such as
        "vải" in "kiểm tra vải" is exactly what tells two skills apart. Always below 1: only
        an exact synonym earns 1.0.
        """
        tokens, credit = self._correct_spelling(key.split())
        query_tokens = frozenset(tokens)
        query_bigrams = _bigrams(tokens)
        query_weight = sum(self._token_weight.get(t, self._unseen_weight) for t in query_tokens)
        candidate_ids = sorted(
            {i for token in query_tokens for i in self._forms_by_token.get(token, ())}
        )
        best: dict[str, tuple[float, str]] = {}
        for form_id in candidate_ids:
            form = self._forms[form_id]
            shared = query_tokens & form.tokens
            overlap = sum(self._token_weight[t] * credit[t] for t in shared)
            precision = overlap / query_weight
            recall = sum(credit[t] for t in shared) / len(form.tokens)
            f1 = 2 * precision * recall / (precision + recall)
            pairs = query_bigrams | form.bigrams
            order = len(query_bigrams & form.bigrams) / len(pairs) if pairs else 1.0
            likeness = difflib.SequenceMatcher(None, key, form.key).ratio()
            score = 0.7 * f1 + 0.15 * order + 0.15 * likeness
            score *= min(1.0, recall / MIN_SYNONYM_COVERAGE) ** 2
            score = min(round(score, 3), 0.999)
            if score > best.get(form.skill_code, (-1.0, ""))[0]:
                best[form.skill_code] = (score, form.text)
        ranked = [(code, score, text) for code, (score, text) in best.items()]
        ranked.sort(key=lambda item: (-item[1], self._skill_order[item[0]]))
        return ranked


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy document; by default the one shipped in ``matcher/data``."""
    if path is None:
        source = resources.files("matcher").joinpath("data", "taxonomy.json")
        document = json.loads(source.read_text(encoding="utf-8"))
    else:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    return Taxonomy(document)


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    """Return the process-wide taxonomy, loaded once, so its normalisation cache is shared."""
    return load_taxonomy()
