"""Every ward and commune of Vietnam (2025 scheme) with coordinates, search and address lookup.

The data come from the ``vietnamadminunits`` package: its SQLite file for the 3,321 units of
the 34-province scheme, its converter data for which pre-2025 wards became which new ward,
and its parsers for free-text addresses. Loading reads the SQLite file and the converter JSON
directly, so it stays fast; the package's Python modules (which pull in shapely and geopy)
are imported only when an address is first resolved.

We never call ``vietnamadminunits.convert_address``: when an old ward was split between
several new wards and the address carries a street, it geocodes the street through ArcGIS
over the network. We use the same converter data offline and take the package's default
new ward instead, with a lower confidence.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.text import fold, nfc

EARTH_RADIUS_KM = 6371.0088

#: A split ward's pieces are neighbours; see ``_plausible_targets``.
SPLIT_WARD_MIN_REACH_KM = 15.0

#: Addresses longer than this are notes, not addresses; parsing them only wastes time.
MAX_ADDRESS_CHARS = 500

#: Distinct addresses remembered by ``Gazetteer.resolve_address``; imports repeat them a lot.
ADDRESS_CACHE_SIZE = 65_536

WARD_FRAME_COLUMNS = [
    "code",
    "name",
    "short_name",
    "kind",
    "province_code",
    "province_name",
    "lat",
    "lon",
]

# Folded administrative prefixes, longest first so "thi xa" wins over "xa".
_ADMIN_PREFIXES = (
    "thanh pho",
    "thi tran",
    "thi xa",
    "dac khu",
    "phuong",
    "huyen",
    "quan",
    "tinh",
    "tp",
    "tx",
    "tt",
    "xa",
    "p",
    "x",
    "h",
    "q",
)
_ADMIN_PREFIX = re.compile(r"^(?:" + "|".join(_ADMIN_PREFIXES) + r")\s+")

# Words that name a pre-2025 district ("quận" no longer exists either). With diacritics they
# are unambiguous anywhere; without, "quan" may be the start of "Quản Bạ", so only a
# component's first word counts; abbreviations count only at the start of a component.
_DISTRICT_WORD = re.compile(r"(?:^|\s)(?:huyện|quận|thị xã)\s+\w")
_DISTRICT_WORD_ASCII_AT_START = re.compile(r"^(?:huyen|quan|thi xa)\s+\w")
_DISTRICT_WORD_ASCII = re.compile(r"\b(?:huyen|thi xa)\s+[a-z]")
_DISTRICT_ABBREVIATION = re.compile(r"^(?:(?:tx|h|q)\s+\w|q\d)")
_CITY_AT_START = re.compile(r"^(?:thanh pho|tp)\s+(.+)$")
_CITY_ANYWHERE = re.compile(r"\b(?:thanh pho|tp)\s+")
_QUAN_ANYWHERE = re.compile(r"\bquan\s+\w")

_FIVE_DIGITS = re.compile(r"^[0-9]{5}$")

# Common ways of writing a province that fold() alone does not reach.
_PROVINCE_ALIASES = {"hcm": "79", "tphcm": "79", "sai gon": "79", "hn": "01"}


@dataclass(frozen=True)
class Ward:
    """A ward, commune or special zone of the 2025 scheme: the unit every place resolves to.

    ``former_districts`` names the pre-2025 districts whose wards were merged into this one,
    the one that gave most wards first, so planners can group communes the way people still
    speak of them. A name carries its old province in brackets only where two merged
    provinces each had a district of that name ("Huyện Châu Thành (Tỉnh Long An)").
    """

    code: str
    name: str
    short_name: str
    kind: str
    province_code: str
    province_name: str
    lat: float
    lon: float
    former_districts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city of the 2025 scheme, with its ward count for planners."""

    code: str
    name: str
    short_name: str
    lat: float
    lon: float
    ward_count: int


@dataclass(frozen=True)
class AddressMatch:
    """The ward an address resolved to, and how sure we are, so imports can flag weak matches.

    ``method`` is "ward_code", "address_2025" or "address_legacy_converted"; ``note`` says
    what was read, in Vietnamese then English.
    """

    ward: Ward
    method: str
    confidence: float
    note: str


@dataclass(frozen=True)
class _SearchEntry:
    """A ward's folded names, precomputed so a search is one pass of string tests."""

    ward: Ward
    short_folded: str
    name_folded: str
    haystack: str


class Gazetteer:
    """Look up, search and resolve addresses to the wards of the 2025 scheme.

    Build one with :meth:`load` (or use the process-wide :func:`gazetteer`); the constructor
    only stores what it is given, so tests can build a gazetteer from a handful of wards.
    """

    def __init__(
        self,
        wards: Iterable[Ward],
        provinces: Iterable[Province],
        legacy_to_new: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Index wards by code and by folded name.

        ``legacy_to_new`` maps an old ``"province_district_ward"`` key of the package's legacy
        parser to the codes of the new wards it became, the package's default first.
        """
        self._wards = sorted(wards, key=lambda w: (w.province_code, w.code))
        self._by_code = {w.code: w for w in self._wards}
        self._provinces = sorted(provinces, key=lambda p: p.code)
        self._province_by_code = {p.code: p for p in self._provinces}
        self._legacy_to_new = legacy_to_new or {}
        self._wards_by_province: dict[str, list[Ward]] = defaultdict(list)
        for ward in self._wards:
            self._wards_by_province[ward.province_code].append(ward)
        self._entries = [_search_entry(w) for w in self._wards]
        self._entries_by_province: dict[str, list[_SearchEntry]] = defaultdict(list)
        for entry in self._entries:
            self._entries_by_province[entry.ward.province_code].append(entry)
        self._province_names = _province_name_index(self._provinces)
        self._province_short_folded = {fold(p.short_name) for p in self._provinces} | set(
            _PROVINCE_ALIASES
        )
        self._city_provinces = {
            fold(p.short_name) for p in self._provinces if p.name.startswith("Thành phố")
        } | {alias for alias, code in _PROVINCE_ALIASES.items() if code == "79"}
        self._code_position = {w.code: i for i, w in enumerate(self._wards)}
        self._lat = np.array([w.lat for w in self._wards], dtype=float)
        self._lon = np.array([w.lon for w in self._wards], dtype=float)
        self._frame = pd.DataFrame(
            [[getattr(w, column) for column in WARD_FRAME_COLUMNS] for w in self._wards],
            columns=WARD_FRAME_COLUMNS,
        )
        # Per instance, not on the method, so the cache dies with the gazetteer.
        self._resolve_cached = lru_cache(maxsize=ADDRESS_CACHE_SIZE)(self._resolve_key)

    @classmethod
    def load(cls, data_dir: Path | None = None) -> Gazetteer:
        """Read the package's SQLite file and converter data; ``data_dir`` overrides for tests."""
        data_dir = data_dir or _package_data_dir()
        with open(data_dir / "converter_2025.json", encoding="utf-8") as converter_file:
            converter = json.load(converter_file)
        uri = f"file:{data_dir / 'dataset.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as connection:
            ward_rows = connection.execute(
                "SELECT wardCode, ward, wardShort, wardType, provinceCode, province,"
                " provinceShort, provinceLat, provinceLon, wardLat, wardLon, provinceKey, wardKey"
                " FROM admin_units"
            ).fetchall()
            district_rows = connection.execute(
                "SELECT DISTINCT provinceKey, districtKey, district, province"
                " FROM admin_units_legacy"
            ).fetchall()
        code_by_key = {(row[11], row[12]): row[0] for row in ward_rows}
        legacy_to_new = _legacy_to_new(converter, code_by_key)
        former = _former_districts(converter, code_by_key, district_rows, ward_rows)
        wards = [
            Ward(
                code=code,
                name=nfc(name),
                short_name=nfc(short_name),
                kind=nfc(kind),
                province_code=province_code,
                province_name=nfc(province_name),
                lat=float(lat),
                lon=float(lon),
                former_districts=former.get(code, ()),
            )
            for (
                code,
                name,
                short_name,
                kind,
                province_code,
                province_name,
                _province_short,
                _province_lat,
                _province_lon,
                lat,
                lon,
                _province_key,
                _ward_key,
            ) in ward_rows
        ]
        ward_counts = Counter(row[4] for row in ward_rows)
        provinces = {
            row[4]: Province(
                code=row[4],
                name=nfc(row[5]),
                short_name=nfc(row[6]),
                lat=float(row[7]),
                lon=float(row[8]),
                ward_count=ward_counts[row[4]],
            )
            for row in ward_rows
        }
        return cls(wards, provinces.values(), legacy_to_new)

    # ----- lookups -------------------------------------------------------------------------

    def get(self, code: str | int) -> Ward | None:
        """Return the ward with this official code, or None.

        Strings must be the 5-digit code as published ("01983"). An integer is zero-padded
        (1983 -> "01983"): spreadsheets drop leading zeros when a code becomes a number, and
        since every code has exactly five digits the padding cannot pick the wrong ward.
        Short digit strings are not padded, so "123" typed by hand is not taken for "00123".
        """
        key = _normalise_code(code)
        return self._by_code.get(key) if key is not None else None

    def provinces(self) -> list[Province]:
        """List the 34 provinces in code order."""
        return list(self._provinces)

    def province(self, code: str) -> Province | None:
        """Return the province with this 2-digit code, or None."""
        return self._province_by_code.get(str(code).strip()) if code is not None else None

    def wards(self, province_code: str | None = None) -> list[Ward]:
        """List wards in (province, code) order, of one province if given."""
        if province_code is None:
            return list(self._wards)
        return list(self._wards_by_province.get(str(province_code), []))

    def coordinates(self, codes: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return latitudes and longitudes for many codes at once, NaN where a code is unknown."""
        positions = np.fromiter(
            (self._code_position.get(_normalise_code(code) or "", -1) for code in codes),
            dtype=np.intp,
            count=len(codes),
        )
        known = positions >= 0
        lat = np.full(len(positions), np.nan)
        lon = np.full(len(positions), np.nan)
        lat[known] = self._lat[positions[known]]
        lon[known] = self._lon[positions[known]]
        return lat, lon

    def wards_frame(self, province_code: str | None = None) -> pd.DataFrame:
        """Return wards as a DataFrame (a copy) for vectorised work in features and planning."""
        if province_code is None:
            return self._frame.copy()
        frame = self._frame[self._frame["province_code"] == str(province_code)]
        return frame.reset_index(drop=True)

    # ----- search --------------------------------------------------------------------------

    def search(self, q: str, province_code: str | None = None, limit: int = 20) -> list[Ward]:
        """Find wards by name or code prefix, ignoring case, diacritics and admin prefixes.

        A province named in the query ("hung yen son nam") narrows the search to it. Results
        run exact matches first, then name prefixes, then word prefixes, then substrings; ties
        prefer names spelt with the query's own diacritics ("Văn Lăng" before "Văn Lang").
        """
        if not isinstance(q, str) or limit <= 0:
            return []
        folded = fold(q)
        if not folded:
            return []
        query_lower = nfc(q).lower()
        best: dict[str, tuple[int, int, str]] = {}

        def consider(ward: Ward, rank: int) -> None:
            accent_miss = 0 if ward.short_name.lower() in query_lower else 1
            key = (rank, accent_miss, ward.code)
            if ward.code not in best or key < best[ward.code]:
                best[ward.code] = key

        digits = folded.replace(" ", "")
        if digits.isdigit() and len(digits) <= 5:
            for ward in self.wards(province_code):
                if ward.code.startswith(digits):
                    consider(ward, 0 if ward.code == digits else 1)

        for restrict_to, text in self._search_texts(folded):
            if province_code is not None and restrict_to not in (None, province_code):
                continue
            scope = restrict_to or province_code
            entries = self._entries_by_province.get(scope, []) if scope else self._entries
            for entry in entries:
                if text not in entry.haystack:
                    continue
                rank = _name_rank(text, entry)
                if rank is not None:
                    consider(entry.ward, rank)

        ordered = sorted(best.items(), key=lambda item: item[1])
        return [self._by_code[code] for code, _ in ordered[:limit]]

    def _search_texts(self, folded: str) -> list[tuple[str | None, str]]:
        """Split a folded query into (province restriction, name text) candidates."""
        texts: list[tuple[str | None, str]] = [(None, folded)]
        stripped = _strip_admin_prefixes(folded)
        if stripped != folded:
            texts.append((None, stripped))
        padded = f" {folded} "
        for province_folded, code in self._province_names:
            marker = f" {province_folded} "
            start = padded.find(marker)
            # Try every occurrence: in "dien bien phu dien bien" the province is the second.
            while start != -1:
                remainder = " ".join((padded[:start] + padded[start + len(marker) - 1 :]).split())
                if remainder:
                    texts.append((code, remainder))
                    remainder_stripped = _strip_admin_prefixes(remainder)
                    if remainder_stripped != remainder:
                        texts.append((code, remainder_stripped))
                start = padded.find(marker, start + 1)
        return texts

    # ----- addresses -----------------------------------------------------------------------

    def resolve_address(self, text: str) -> AddressMatch | None:
        """Resolve a free-text address (or a bare 5-digit code) to one 2025 ward, or None.

        The 2025 form ("Xã Yên Mỹ, Hưng Yên") is tried first. The pre-2025 form is converted
        when the text names a district (huyện, quận, thị xã, or a thành phố that is not a
        province) or when the 2025 parse finds no ward. Ambiguous input gets the single best
        guess with a lower confidence; None means no ward could be identified, including
        when only a district is named. Never raises; results are cached per address.
        """
        if not isinstance(text, str):
            return None
        key = " ".join(nfc(text).lower().split())
        if not key or len(key) > MAX_ADDRESS_CHARS:
            return None
        # Cache on the lower-cased NFC text, not the folded text: folding would make
        # "xã văn lang" and "xã văn lăng" (two communes) one cache entry.
        return self._resolve_cached(key)

    def _resolve_key(self, key: str) -> AddressMatch | None:
        """Resolve one normalised address; any parser failure counts as no match."""
        try:
            return self._resolve(key)
        except Exception:  # noqa: BLE001 - the third-party parsers raise on odd input
            return None

    def _resolve(self, text: str) -> AddressMatch | None:
        """Apply the 2025-first, legacy-when-a-district-is-named rules to one address."""
        if _FIVE_DIGITS.match(text):
            ward = self._by_code.get(text)
            if ward is None:
                return None
            note = f"Mã đơn vị {ward.code} → {ward.name} / official ward code"
            return AddressMatch(ward, "ward_code", 1.0, note)

        folded = fold(text)
        if not folded or not any(ch.isalpha() for ch in folded):
            return None

        names_district = self._names_district(text)
        text = self._comma_before_province(text)
        parse_address = _parse_address()
        new_unit = parse_address(text, mode="FROM_2025", keep_street=False, level=2)
        new_ward = self._by_code.get(new_unit.ward_code or "")
        old_unit = parse_address(text, mode="LEGACY", keep_street=False, level=3)
        converted = self._convert_legacy(old_unit)

        if converted and names_district:
            return self._legacy_match(old_unit, converted, confidence=0.9)
        if converted and new_ward is not None and _named_in_old_units(new_ward, old_unit):
            # "Xã Tân Lập, Yên Mỹ, Hưng Yên" or "... quan nam tu liem ha noi": the 2025 parser
            # took an old district's (or province's) name for a ward, while the legacy parse
            # explains the whole address.
            return self._legacy_match(old_unit, converted, confidence=0.7)
        if new_ward is not None:
            typed = _names_ward_with_type(folded, new_ward)
            if names_district and not typed:
                # The old ward was not found, so the 2025 parser most likely matched a district
                # or village name ("Huyện Yên Mỹ" is not "Xã Yên Mỹ"); trust it only when the
                # ward is written with its type.
                return None
            if not typed and fold(new_ward.short_name) == fold(old_unit.short_province or ""):
                # "Long An" alone means the old province, not Phường Long An of Tây Ninh.
                return None
            return self._new_match(new_ward, folded, names_district)
        if converted:
            return self._legacy_match(old_unit, converted, confidence=0.85)
        return None

    def _comma_before_province(self, text: str) -> str:
        """Put a comma before a trailing province name in an address written without commas.

        The package's parser joins the letters of the whole address, so in
        "xa cao son lao cai" it finds "sonla" (Sơn La) before "laocai"; a comma stops that.
        """
        if "," in text:
            return text
        words = text.split()
        for size in range(min(len(words) - 1, 5), 0, -1):
            tail = fold(" ".join(words[-size:]))
            if tail in self._province_short_folded:
                # A "tỉnh" before the name stays with the head: it might be part of a ward's
                # name ("xã Tuệ Tĩnh"), and the parser finds ward names inside longer text.
                return f"{' '.join(words[:-size])}, {' '.join(words[-size:])}"
        return text

    def _names_district(self, text: str) -> bool:
        """Tell whether the address names a pre-2025 district, which calls for conversion."""
        for component in text.lower().split(","):
            part = fold(component)
            if _DISTRICT_WORD.search(component) or _DISTRICT_ABBREVIATION.match(part):
                return True
            if component.isascii() and (
                _DISTRICT_WORD_ASCII_AT_START.match(part) or _DISTRICT_WORD_ASCII.search(part)
            ):
                return True
            city = _CITY_AT_START.match(part)
            if city and city.group(1) not in self._city_provinces:
                return True
        if "," not in text:
            # Without commas a district hides mid-text: "... quan hai an ...",
            # "... thanh pho ha giang tinh ha giang".
            folded = fold(text)
            if text.isascii() and _QUAN_ANYWHERE.search(folded):
                return True
            for city in _CITY_ANYWHERE.finditer(folded):
                rest = folded[city.end() :]
                if not any(f"{rest} ".startswith(f"{c} ") for c in self._city_provinces):
                    return True
        return False

    def _convert_legacy(self, old_unit: Any) -> tuple[Ward, ...]:
        """Return the new wards an old parsed unit became, default first; empty if none."""
        if not old_unit.province_key or not old_unit.district_key:
            return ()
        key = f"{old_unit.province_key}_{old_unit.district_key}_{old_unit.ward_key or ''}"
        codes = self._legacy_to_new.get(key, ())
        return tuple(self._by_code[code] for code in codes if code in self._by_code)

    def _legacy_match(
        self, old_unit: Any, converted: tuple[Ward, ...], confidence: float
    ) -> AddressMatch:
        """Describe a conversion from an old address, lowering confidence for split wards."""
        ward = converted[0]
        old_parts = [p for p in (old_unit.ward, old_unit.district, old_unit.province) if p]
        old_name = ", ".join(old_parts)
        note = f"Địa chỉ cũ ({old_name}) → {ward.name}"
        english = "old district-based address converted"
        if len(converted) > 1:
            others = ", ".join(w.name for w in converted[1:])
            note += f"; xã cũ bị chia, chọn đơn vị mặc định (khác: {others})"
            english += f"; the old ward was split, default new ward chosen (others: {others})"
            confidence = min(confidence, 0.6)
        return AddressMatch(ward, "address_legacy_converted", confidence, f"{note} / {english}")

    def _new_match(self, ward: Ward, folded: str, names_district: bool) -> AddressMatch:
        """Describe a 2025-form match; confidence rises when ward type and province are named."""
        padded = f" {folded} "
        province = self._province_by_code.get(ward.province_code)
        province_named = province is not None and f" {fold(province.short_name)} " in padded
        if names_district:
            confidence = 0.6
        elif province_named and _names_ward_with_type(folded, ward):
            confidence = 0.95
        elif province_named:
            confidence = 0.85
        else:
            confidence = 0.75
        note = (
            f"Địa chỉ mới (2025) → {ward.name}, {ward.province_name}"
            " / 2025 ward-and-province address"
        )
        return AddressMatch(ward, "address_2025", confidence, note)


@cache
def gazetteer() -> Gazetteer:
    """Return the process-wide gazetteer, loaded once (about 0.1 s) on first use."""
    return Gazetteer.load()


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Return great-circle distances in km, broadcasting like numpy (0-d for scalars)."""
    phi1 = np.radians(np.asarray(lat1, dtype=float))
    phi2 = np.radians(np.asarray(lat2, dtype=float))
    d_phi = phi2 - phi1
    d_lambda = np.radians(np.asarray(lon2, dtype=float)) - np.radians(np.asarray(lon1, dtype=float))
    a = np.sin(d_phi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2) ** 2
    # Rounding can push a a hair above 1 for antipodal points; arcsin would return NaN.
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


# ----- helpers -----------------------------------------------------------------------------


@cache
def _parse_address() -> Any:
    """Import the package's parser on first use: it pulls in shapely and geopy (~0.4 s)."""
    from vietnamadminunits import parse_address

    return parse_address


def _package_data_dir() -> Path:
    """Locate the package's data folder without importing (and paying for) its modules."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("vietnamadminunits is not installed; see requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _normalise_code(code: Any) -> str | None:
    """Return a 5-digit code string, zero-padding integers only; None if it cannot be one."""
    if isinstance(code, str):
        code = code.strip()
        return code if _FIVE_DIGITS.match(code) else None
    if isinstance(code, Integral) and not isinstance(code, bool) and 0 <= int(code) <= 99_999:
        return f"{int(code):05d}"
    return None


def _strip_admin_prefixes(folded: str) -> str:
    """Drop leading "phường", "xã", "tỉnh", "tp" ... but never the whole text."""
    while True:
        stripped = _ADMIN_PREFIX.sub("", folded, count=1)
        if stripped == folded or not stripped:
            return folded
        folded = stripped


_KIND_PREFIXES = {"Phường": ("phuong", "p"), "Xã": ("xa", "x"), "Đặc khu": ("dac khu", "dk")}


def _named_in_old_units(ward: Ward, old_unit: Any) -> bool:
    """Tell whether a 2025 ward's name is a word run inside the old district or province name."""
    short = f" {fold(ward.short_name)} "
    old_names = (old_unit.short_district, old_unit.short_province)
    return any(short in f" {fold(name)} " for name in old_names if name)


def _names_ward_with_type(folded: str, ward: Ward) -> bool:
    """Tell whether folded text writes the ward with its type ("xa yen my", "p son nam")."""
    padded = f" {folded} "
    short = fold(ward.short_name)
    prefixes = _KIND_PREFIXES.get(ward.kind, (fold(ward.kind),))
    return any(f" {prefix} {short} " in padded for prefix in prefixes)


def _search_entry(ward: Ward) -> _SearchEntry:
    """Precompute a ward's folded names for search."""
    short_folded = fold(ward.short_name)
    name_folded = fold(ward.name)
    return _SearchEntry(
        ward=ward,
        short_folded=short_folded,
        name_folded=name_folded,
        haystack=f"{short_folded}|{name_folded}",
    )


def _name_rank(text: str, entry: _SearchEntry) -> int | None:
    """Rank how well folded text matches a ward's names: 0 exact ... 3 substring, None none."""
    names = (entry.short_folded, entry.name_folded)
    if text in names:
        return 0
    if any(name.startswith(text) for name in names):
        return 1
    if any(f" {text}" in f" {name}" for name in names):
        return 2
    if any(text in name for name in names):
        return 3
    return None


def _province_name_index(provinces: Sequence[Province]) -> list[tuple[str, str]]:
    """List (folded province name, code) pairs, longest first, for spotting them in queries."""
    pairs = {(fold(p.name), p.code) for p in provinces}
    pairs |= {(fold(p.short_name), p.code) for p in provinces}
    pairs |= set(_PROVINCE_ALIASES.items())
    return sorted(pairs, key=lambda pair: (-len(pair[0]), pair))


def _plausible_targets(targets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the new wards an old split ward plausibly went to, the default first.

    The converter data conflate old wards of the same name in two provinces that merged
    ("Phường 4" of Tân An and of Tây Ninh both list Phường Long An and Phường Tân Ninh,
    91 km apart). The pieces of a split ward are neighbours, so a non-default target whose
    centre lies further from the default's than the two units' widths (sqrt of area, at
    least 15 km in all) is dropped.
    """
    ordered = sorted(targets, key=lambda target: not target["isDefaultNewWard"])
    if not ordered or not ordered[0]["isDefaultNewWard"]:
        return ordered
    default = ordered[0]
    kept = [default]
    for target in ordered[1:]:
        distance_km = float(
            haversine_km(
                default["newWardLat"],
                default["newWardLon"],
                target["newWardLat"],
                target["newWardLon"],
            )
        )
        widths_km = math.sqrt(max(default["newWardAreaKm2"] or 0.0, 0.0)) + math.sqrt(
            max(target["newWardAreaKm2"] or 0.0, 0.0)
        )
        if distance_km <= max(SPLIT_WARD_MIN_REACH_KM, widths_km):
            kept.append(target)
    return kept


def _legacy_to_new(
    converter: dict[str, Any], code_by_key: dict[tuple[str, str], str]
) -> dict[str, tuple[str, ...]]:
    """Map each old "province_district_ward" key to its new ward codes, default first."""
    mapping: dict[str, tuple[str, ...]] = {}
    for new_province, new_wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward_key, old_keys in new_wards.items():
            code = code_by_key.get((new_province, new_ward_key))
            if code is None:
                continue
            for old_key in old_keys:
                mapping[old_key] = (code,)
    for new_province, old_wards in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, targets in old_wards.items():
            ordered = _plausible_targets(targets)
            codes = [code_by_key.get((new_province, t["newWardKey"])) for t in ordered]
            mapping[old_key] = tuple(code for code in codes if code is not None)
    return mapping


def _former_districts(
    converter: dict[str, Any],
    code_by_key: dict[tuple[str, str], str],
    district_rows: Sequence[tuple[str, str, str, str]],
    ward_rows: Sequence[tuple[Any, ...]],
) -> dict[str, tuple[str, ...]]:
    """Name the pre-2025 districts whose wards went into each new ward, most wards first.

    A name is suffixed with its old province ("Huyện Châu Thành (Tỉnh Long An)") only when
    two old provinces merged into the same new one each had a district of that name, so a
    grouping by name never mixes two districts.
    """
    district_by_key = {
        (province_key, district_key): (nfc(district), nfc(province))
        for province_key, district_key, district, province in district_rows
    }
    province_of_code = {row[0]: row[4] for row in ward_rows}
    contributions: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)

    def add(old_key: str, code: str | None) -> None:
        old_province, old_district, _old_ward = old_key.split("_", 2)
        district = district_by_key.get((old_province, old_district))
        if code is not None and district is not None:
            contributions[code][district] += 1

    for new_province, new_wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward_key, old_keys in new_wards.items():
            for old_key in old_keys:
                add(old_key, code_by_key.get((new_province, new_ward_key)))
    for new_province, old_wards in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, targets in old_wards.items():
            for target in _plausible_targets(targets):
                add(old_key, code_by_key.get((new_province, target["newWardKey"])))

    old_provinces_by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    for code, counts in contributions.items():
        for district, old_province in counts:
            old_provinces_by_name[(province_of_code[code], district)].add(old_province)

    former: dict[str, tuple[str, ...]] = {}
    for code, counts in contributions.items():
        names = []
        for (district, old_province), _count in sorted(
            counts.items(), key=lambda item: (-item[1], item[0])
        ):
            clash = len(old_provinces_by_name[(province_of_code[code], district)]) > 1
            names.append(f"{district} ({old_province})" if clash else district)
        former[code] = tuple(dict.fromkeys(names))
    return former
