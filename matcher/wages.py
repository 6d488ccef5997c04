"""Vietnam's regional minimum wage: the amount by region and date, and the region of a ward.

Amounts are whole VND per month for employees under a labour contract (FACTS.md, "Wages"):

========================  ===========  =========  =========  =========  =========
decree                    from         region I   region II  region III region IV
========================  ===========  =========  =========  =========  =========
38/2022/NĐ-CP             2022-07-01   4,680,000  4,160,000  3,640,000  3,250,000
74/2024/NĐ-CP             2024-07-01   4,960,000  4,410,000  3,860,000  3,450,000
293/2025/NĐ-CP            2026-01-01   5,310,000  4,730,000  4,140,000  3,700,000
========================  ===========  =========  =========  =========  =========

Dates before 2022-07-01 are refused rather than guessed.

Regions are assigned to the wards and communes of the 2025 scheme:

- Hưng Yên (province 33) follows Decree 293/2025's list by commune: region II the 11 wards
  (phường) and 12 named communes; region III the other communes of old Hưng Yên and the
  communes of the former Thái Thụy and Tiền Hải districts of Thái Bình; region IV the rest.
  A commune's former district is the one that gave it most of its pre-2025 wards
  (``Ward.former_districts[0]``). The same 2026 assignment is used for every date: before
  2026 the decrees listed old districts, and this module does not model that history.
- Every other province gets an approximation until its own list is entered: region I for the
  wards (phường) of Hà Nội and Hồ Chí Minh City, region II for the wards of other provinces,
  region III for communes (xã) and special zones (đặc khu). The decrees' real lists put some
  communes around the big cities in regions I–II and many remote ones in region IV.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from matcher.text import fold

REGIONS = (1, 2, 3, 4)


@dataclass(frozen=True)
class MinimumWageSchedule:
    """One decree's regional minimum wages, in force from ``effective_from`` until the next."""

    decree: str
    effective_from: dt.date
    amounts_vnd: tuple[int, int, int, int]

    def amount_vnd(self, region: int) -> int:
        """Return the monthly minimum wage of region 1–4 under this decree."""
        return self.amounts_vnd[_region_index(region)]


#: The schedules in date order; extend by appending the next decree.
MINIMUM_WAGE_SCHEDULES: tuple[MinimumWageSchedule, ...] = (
    MinimumWageSchedule(
        "38/2022/NĐ-CP", dt.date(2022, 7, 1), (4_680_000, 4_160_000, 3_640_000, 3_250_000)
    ),
    MinimumWageSchedule(
        "74/2024/NĐ-CP", dt.date(2024, 7, 1), (4_960_000, 4_410_000, 3_860_000, 3_450_000)
    ),
    MinimumWageSchedule(
        "293/2025/NĐ-CP", dt.date(2026, 1, 1), (5_310_000, 4_730_000, 4_140_000, 3_700_000)
    ),
)

HUNG_YEN_PROVINCE_CODE = "33"

#: Hưng Yên communes in region II from 2026, besides all 11 wards (Decree 293/2025).
HUNG_YEN_REGION_II_COMMUNES = (
    "Tân Hưng",
    "Yên Mỹ",
    "Việt Yên",
    "Hoàn Long",
    "Nguyễn Văn Linh",
    "Như Quỳnh",
    "Lạc Đạo",
    "Đại Đồng",
    "Nghĩa Trụ",
    "Phụng Công",
    "Văn Giang",
    "Mễ Sở",
)

#: Former districts whose other communes are in region III: all of old Hưng Yên province,
#: and Thái Thụy and Tiền Hải of old Thái Bình.
HUNG_YEN_REGION_III_FORMER_DISTRICTS = (
    "Thành phố Hưng Yên",
    "Thị xã Mỹ Hào",
    "Huyện Văn Lâm",
    "Huyện Văn Giang",
    "Huyện Yên Mỹ",
    "Huyện Ân Thi",
    "Huyện Khoái Châu",
    "Huyện Kim Động",
    "Huyện Tiên Lữ",
    "Huyện Phù Cừ",
    "Huyện Thái Thụy",
    "Huyện Tiền Hải",
)

#: Provinces whose wards (phường) default to region I: Hà Nội and Hồ Chí Minh City.
REGION_I_CITY_PROVINCE_CODES = ("01", "79")

_DISTRICT_PREFIX = re.compile(r"^(?:thanh pho|thi xa|huyen|quan)\s+")
_PARENTHESIS = re.compile(r"\s*\(.*\)\s*$")


def minimum_wage_vnd(region: int, on: dt.date) -> int:
    """Return the regional minimum monthly wage in VND for region 1–4 on a date.

    Raises
    ------
    ValueError
        For a region outside 1–4, or a date before the first schedule (2022-07-01).
    """
    if isinstance(on, dt.datetime):
        on = on.date()
    schedule = None
    for candidate in MINIMUM_WAGE_SCHEDULES:
        if candidate.effective_from <= on:
            schedule = candidate
    if schedule is None:
        raise ValueError(
            f"no regional minimum wage known before {MINIMUM_WAGE_SCHEDULES[0].effective_from}"
            f" (asked for {on})"
        )
    return schedule.amount_vnd(region)


def minimum_wage_for(regions: Any, dates: Any) -> np.ndarray:
    """Return the regional minimum wage (int64 VND) for arrays of regions and dates.

    ``regions`` holds integers 1–4; ``dates`` holds ``datetime.date`` objects, ISO strings or
    ``datetime64`` values. The two broadcast against each other like numpy arrays.

    Raises
    ------
    ValueError
        For a region outside 1–4, a missing date, or a date before 2022-07-01.
    """
    region_array = np.asarray(regions)
    day_array = np.asarray(dates).astype("datetime64[D]")
    region_array, day_array = np.broadcast_arrays(region_array, day_array)
    if region_array.size and not np.isin(region_array, REGIONS).all():
        bad = region_array[~np.isin(region_array, REGIONS)].ravel()[0]
        raise ValueError(f"region must be 1, 2, 3 or 4, got {bad!r}")
    if np.isnat(day_array).any():
        raise ValueError("a date is missing (NaT)")
    starts = np.array([s.effective_from for s in MINIMUM_WAGE_SCHEDULES], dtype="datetime64[D]")
    schedule_index = np.searchsorted(starts, day_array, side="right") - 1
    if (schedule_index < 0).any():
        earliest = day_array[schedule_index < 0].min()
        raise ValueError(
            f"no regional minimum wage known before {MINIMUM_WAGE_SCHEDULES[0].effective_from}"
            f" (asked for {earliest})"
        )
    table = np.array([s.amounts_vnd for s in MINIMUM_WAGE_SCHEDULES], dtype=np.int64)
    return table[schedule_index, region_array.astype(np.intp) - 1]


def region_of_ward(ward_code: str, gazetteer: Any = None) -> int:
    """Return the minimum-wage region (1–4) of a 2025 ward or commune code.

    Raises
    ------
    KeyError
        When the code is not a ward of the gazetteer.
    """
    regions = _regions_by_code(_gazetteer(gazetteer))
    try:
        return regions[str(ward_code).strip()]
    except KeyError:
        raise KeyError(f"unknown ward code {ward_code!r}") from None


def regions_of_wards(
    ward_codes: Iterable[Any], gazetteer: Any = None, default: int = 0
) -> np.ndarray:
    """Return the regions (int8) of many ward codes; unknown or empty codes get ``default``."""
    regions = _regions_by_code(_gazetteer(gazetteer))
    codes = [str(code).strip() if code is not None else "" for code in ward_codes]
    return np.fromiter(
        (regions.get(code, default) for code in codes), dtype=np.int8, count=len(codes)
    )


def region_of(ward: Any) -> int:
    """Return the region of a :class:`matcher.places.Ward` by the rules in the module docstring."""
    if ward.province_code == HUNG_YEN_PROVINCE_CODE:
        return _hung_yen_region(ward)
    if ward.kind == "Phường":
        return 1 if ward.province_code in REGION_I_CITY_PROVINCE_CODES else 2
    return 3


def _hung_yen_region(ward: Any) -> int:
    if ward.kind == "Phường" or fold(ward.short_name) in _REGION_II_FOLDED:
        return 2
    principal = ward.former_districts[0] if ward.former_districts else ""
    if _district_key(principal) in _REGION_III_DISTRICTS_FOLDED:
        return 3
    return 4


def _district_key(name: str) -> str:
    """Fold "Huyện Thái Thụy (Tỉnh Thái Bình)" to "thai thuy" so spellings compare equal."""
    return _DISTRICT_PREFIX.sub("", fold(_PARENTHESIS.sub("", name)))


_REGION_II_FOLDED = frozenset(fold(name) for name in HUNG_YEN_REGION_II_COMMUNES)
_REGION_III_DISTRICTS_FOLDED = frozenset(
    _district_key(name) for name in HUNG_YEN_REGION_III_FORMER_DISTRICTS
)


def _region_index(region: int) -> int:
    if isinstance(region, bool) or region not in REGIONS:
        raise ValueError(f"region must be 1, 2, 3 or 4, got {region!r}")
    return int(region) - 1


def _gazetteer(gazetteer: Any) -> Any:
    if gazetteer is not None:
        return gazetteer
    from matcher.places import gazetteer as load_gazetteer

    return load_gazetteer()


@lru_cache(maxsize=4)
def _regions_by_code(gazetteer: Any) -> dict[str, int]:
    """Assign every ward of a gazetteer its region once; about 3,300 wards, a few ms."""
    return {ward.code: region_of(ward) for ward in gazetteer.wards()}
