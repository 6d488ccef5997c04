"""Planning areas: which group of communes a ward belongs to, at three levels.

The 2025 reform replaced districts with larger communes, but planners still think in the old
districts, and `vietnamadminunits` kept the mapping: every 2025 ward knows the pre-2025
districts its communes came from (:attr:`matcher.places.Ward.former_districts`). A ward that
absorbed communes of several districts is counted in the first one, the district most of it
came from, so every ward is in exactly one area and areas add up to the province.

Levels:

- ``province``: the 2025 province (code ``"33"``).
- ``former_district`` (default): the pre-2025 district, code ``"33-yen-my"``.
- ``park``: the catchment of an industrial park: wards whose nearest park is within
  :data:`PARK_CATCHMENT_KM`; the rest form the province's "outside the parks" area. Parks
  are known for the provinces in :data:`matcher.demo.PARKS_BY_PROVINCE`; elsewhere every ward
  is "outside the parks".
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from matcher.places import gazetteer as load_gazetteer
from matcher.places import haversine_km
from matcher.text import fold

AREA_LEVELS = ("province", "former_district", "park")
DEFAULT_AREA_LEVEL = "former_district"
#: Company buses carry workers up to about 40 km (FACTS.md); most come from within 20.
PARK_CATCHMENT_KM = 20.0


# A rural district (huyện) keeps its bare name; towns and cities get a prefix, because some
# provinces had a huyện and a thị xã of the same name (Kỳ Anh, Cai Lậy, Hồng Ngự...).
_KIND_PREFIXES = (("Huyện ", ""), ("Thành phố ", "tp-"), ("Thị xã ", "tx-"), ("Quận ", "q-"))


def _slug(text: str) -> str:
    prefix = ""
    for name, short in _KIND_PREFIXES:
        if text.startswith(name):
            text, prefix = text.removeprefix(name), short
            break
    return prefix + re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


@lru_cache(maxsize=1)
def area_table() -> pd.DataFrame:
    """Return one row per 2025 ward with its area code and name at every level.

    Columns: ward_code, province_code, province_name, and for each level ``L`` in
    :data:`AREA_LEVELS`, ``L_code`` and ``L_name``. Cached: the gazetteer does not change
    while a process runs.
    """
    gazetteer = load_gazetteer()
    wards = gazetteer.wards()
    frame = pd.DataFrame(
        {
            "ward_code": [w.code for w in wards],
            "province_code": [w.province_code for w in wards],
            "province_name": [w.province_name for w in wards],
            "lat": [w.lat for w in wards],
            "lon": [w.lon for w in wards],
        }
    )
    frame["province_level_code"] = frame["province_code"]
    frame["province_level_name"] = frame["province_name"]
    district = [w.former_districts[0] if w.former_districts else w.name for w in wards]
    frame["former_district_code"] = [
        f"{w.province_code}-{_slug(name)}" for w, name in zip(wards, district, strict=True)
    ]
    frame["former_district_name"] = district
    park_code = frame["province_code"] + "-ngoai-kcn"
    park_name = pd.Series("Ngoài các khu công nghiệp / outside the parks", index=frame.index)
    for province_code, parks in _parks().items():
        rows = np.flatnonzero(frame["province_code"].to_numpy() == province_code)
        if not len(rows) or not parks:
            continue
        lat = np.array([p[1] for p in parks])
        lon = np.array([p[2] for p in parks])
        distance = haversine_km(
            frame["lat"].to_numpy()[rows, None], frame["lon"].to_numpy()[rows, None], lat, lon
        )
        nearest = distance.argmin(axis=1)
        inside = distance[np.arange(len(rows)), nearest] <= PARK_CATCHMENT_KM
        names = np.array([p[0] for p in parks], dtype=object)
        park_code.iloc[rows[inside]] = [
            f"{province_code}-kcn-{_slug(n)}" for n in names[nearest[inside]]
        ]
        park_name.iloc[rows[inside]] = [f"KCN {n}" for n in names[nearest[inside]]]
    frame["park_code"] = park_code
    frame["park_name"] = park_name
    return frame


def _parks() -> dict[str, list[tuple[str, float, float]]]:
    """Return each province's parks as (name, lat, lon), located through their old address."""
    from matcher.demo import PARKS_BY_PROVINCE  # the park list lives beside the demo's use

    gazetteer = load_gazetteer()
    parks: dict[str, list[tuple[str, float, float]]] = {}
    for province_code, items in PARKS_BY_PROVINCE.items():
        found = []
        for park in items:
            match = gazetteer.resolve_address(park.legacy_address)
            if match is not None:
                found.append((park.name, match.ward.lat, match.ward.lon))
        parks[province_code] = found
    return parks


def areas_of(ward_codes: pd.Series | np.ndarray, level: str = DEFAULT_AREA_LEVEL) -> pd.DataFrame:
    """Return area_code and area_name for each ward code (unknown codes get NaN).

    Raises
    ------
    ValueError
        For a level not in :data:`AREA_LEVELS`.
    """
    if level not in AREA_LEVELS:
        raise ValueError(f"unknown area level {level!r}; expected one of {', '.join(AREA_LEVELS)}")
    table = area_table()
    column = "province_level" if level == "province" else level
    lookup = table.set_index("ward_code")[[f"{column}_code", f"{column}_name", "province_code"]]
    found = lookup.reindex(pd.Index(np.asarray(ward_codes, dtype=object)))
    found.columns = ["area_code", "area_name", "province_code"]
    return found.reset_index(drop=True)


def areas(level: str = DEFAULT_AREA_LEVEL, province_code: str | None = None) -> pd.DataFrame:
    """List the areas of a level (optionally of one province): area_code, area_name, wards."""
    if level not in AREA_LEVELS:
        raise ValueError(f"unknown area level {level!r}; expected one of {', '.join(AREA_LEVELS)}")
    table = area_table()
    if province_code is not None:
        table = table[table["province_code"] == str(province_code)]
    column = "province_level" if level == "province" else level
    grouped = table.groupby([f"{column}_code", f"{column}_name", "province_code"], sort=True)
    out = grouped.size().reset_index()
    out.columns = ["area_code", "area_name", "province_code", "wards"]
    return out
