"""Regional minimum wages by date, and the region of each ward."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from matcher.places import gazetteer
from matcher.wages import (
    HUNG_YEN_REGION_II_COMMUNES,
    minimum_wage_for,
    minimum_wage_vnd,
    region_of_ward,
    regions_of_wards,
)


@pytest.mark.parametrize(
    ("region", "on", "expected"),
    [
        (1, dt.date(2022, 7, 1), 4_680_000),
        (4, dt.date(2024, 6, 30), 3_250_000),
        (1, dt.date(2024, 7, 1), 4_960_000),
        (2, dt.date(2025, 12, 31), 4_410_000),
        (3, dt.date(2025, 1, 15), 3_860_000),
        (1, dt.date(2026, 1, 1), 5_310_000),
        (2, dt.date(2026, 1, 1), 4_730_000),
        (3, dt.date(2027, 6, 1), 4_140_000),
        (4, dt.date(2026, 11, 27), 3_700_000),
    ],
)
def test_minimum_wage_vnd_follows_decree_dates(region, on, expected):
    assert minimum_wage_vnd(region, on) == expected


def test_minimum_wage_vnd_accepts_datetime():
    assert minimum_wage_vnd(2, dt.datetime(2026, 1, 1, 8, 30)) == 4_730_000


@pytest.mark.parametrize("region", [0, 5, -1, True])
def test_minimum_wage_vnd_rejects_unknown_region(region):
    with pytest.raises(ValueError, match="region"):
        minimum_wage_vnd(region, dt.date(2025, 1, 1))


def test_minimum_wage_vnd_rejects_dates_before_first_decree():
    with pytest.raises(ValueError, match="2022-07-01"):
        minimum_wage_vnd(1, dt.date(2022, 6, 30))


def test_minimum_wage_for_matches_scalar_function():
    regions = np.array([1, 2, 3, 4, 2, 3])
    dates = [
        dt.date(2022, 7, 1),
        dt.date(2024, 7, 1),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 1),
        dt.date(2023, 3, 3),
        dt.date(2030, 1, 1),
    ]
    expected = [minimum_wage_vnd(int(r), d) for r, d in zip(regions, dates, strict=True)]
    assert minimum_wage_for(regions, dates).tolist() == expected
    as_strings = [d.isoformat() for d in dates]
    assert minimum_wage_for(regions, as_strings).tolist() == expected
    as_datetime64 = np.array(as_strings, dtype="datetime64[ns]")
    assert minimum_wage_for(regions, as_datetime64).tolist() == expected


def test_minimum_wage_for_broadcasts():
    result = minimum_wage_for(np.array([1, 2, 3, 4]), "2026-01-01")
    assert result.tolist() == [5_310_000, 4_730_000, 4_140_000, 3_700_000]
    assert result.dtype == np.int64


@pytest.mark.parametrize(
    ("regions", "dates", "message"),
    [
        ([1, 5], ["2025-01-01", "2025-01-01"], "region"),
        ([1, 2], ["2025-01-01", "2021-01-01"], "2022-07-01"),
        ([1], np.array(["NaT"], dtype="datetime64[D]"), "missing"),
    ],
)
def test_minimum_wage_for_rejects_bad_input(regions, dates, message):
    with pytest.raises(ValueError, match=message):
        minimum_wage_for(regions, dates)


def test_hung_yen_regions_count_23_40_41():
    counts = Counter(region_of_ward(w.code) for w in gazetteer().wards("33"))
    assert counts == {2: 23, 3: 40, 4: 41}


def test_hung_yen_region_ii_is_all_wards_and_the_twelve_named_communes():
    region_ii = {w.short_name for w in gazetteer().wards("33") if region_of_ward(w.code) == 2}
    wards = {w.short_name for w in gazetteer().wards("33") if w.kind == "Phường"}
    assert len(wards) == 11
    assert region_ii == wards | set(HUNG_YEN_REGION_II_COMMUNES)


@pytest.mark.parametrize(
    ("short_name", "region"),
    [
        ("Phố Hiến", 2),  # ward of old Hưng Yên city
        ("Thái Bình", 2),  # ward of old Thái Bình city
        ("Như Quỳnh", 2),  # named commune, Văn Lâm
        ("Ân Thi", 3),  # rest of old Hưng Yên
        ("Tiên Lữ", 3),
        ("Thụy Anh", 3),  # Thái Thụy area
        ("Nam Tiền Hải", 3),  # Tiền Hải area
        ("Hưng Hà", 4),  # other ex-Thái Bình communes
        ("Vũ Thư", 4),
        ("Kiến Xương", 4),
    ],
)
def test_region_of_ward_examples(short_name, region):
    [ward] = [w for w in gazetteer().wards("33") if w.short_name == short_name]
    assert region_of_ward(ward.code) == region


def test_region_iii_communes_come_from_old_hung_yen_thai_thuy_or_tien_hai():
    old_hung_yen = {
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
    }
    by_area = Counter()
    for ward in gazetteer().wards("33"):
        if region_of_ward(ward.code) != 3:
            continue
        district = ward.former_districts[0]
        by_area["old Hưng Yên" if district in old_hung_yen else district] += 1
    assert by_area == {"old Hưng Yên": 21, "Huyện Thái Thụy": 11, "Huyện Tiền Hải": 8}


def test_default_regions_outside_hung_yen():
    wards = gazetteer().wards()
    hanoi_ward = next(w for w in wards if w.province_code == "01" and w.kind == "Phường")
    hcm_commune = next(w for w in wards if w.province_code == "79" and w.kind == "Xã")
    other_ward = next(
        w for w in wards if w.province_code not in ("01", "79", "33") and w.kind == "Phường"
    )
    other_commune = next(
        w for w in wards if w.province_code not in ("01", "79", "33") and w.kind == "Xã"
    )
    assert region_of_ward(hanoi_ward.code) == 1
    assert region_of_ward(hcm_commune.code) == 3
    assert region_of_ward(other_ward.code) == 2
    assert region_of_ward(other_commune.code) == 3


def test_region_of_ward_rejects_unknown_code():
    with pytest.raises(KeyError):
        region_of_ward("99999")


def test_regions_of_wards_vectorised_with_default():
    codes = [w.code for w in gazetteer().wards("33")][:5] + ["", "99999", None]
    result = regions_of_wards(codes, default=0)
    assert result[:5].tolist() == [region_of_ward(c) for c in codes[:5]]
    assert result[5:].tolist() == [0, 0, 0]
