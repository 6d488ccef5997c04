"""Tests for matcher.places: ward lookup, search, address resolution and distances."""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from matcher.places import AddressMatch, Gazetteer, Ward, gazetteer, haversine_km
from matcher.text import fold

HANOI = (21.0278, 105.8342)
SON_NAM = "11983"
YEN_MY = "12073"
# The two offshore special zones lie east of the mainland box by design of the map.
OFFSHORE_ZONES = {"20333": "Đặc khu Hoàng Sa", "22736": "Đặc khu Trường Sa"}


def _package_data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _sample_wards(province_code: str) -> list[Ward]:
    """Five wards at random (fixed seed) plus the first and the last of a province."""
    wards = gazetteer().wards(province_code)
    picked = [wards[0], *random.Random(2025).sample(wards, 5), wards[-1]]
    return list(dict.fromkeys(picked))


def _legacy_examples(old_province_key: str, count: int = 3) -> list[tuple[str, str]]:
    """Build old-style addresses and their expected 2025 codes from the package's own data.

    Only wards that were not split are taken, so the converter names exactly one new ward.
    """
    data_dir = _package_data_dir()
    converter = json.loads((data_dir / "converter_2025.json").read_text(encoding="utf-8"))
    with sqlite3.connect(data_dir / "dataset.db") as connection:
        legacy_rows = connection.execute(
            "SELECT provinceKey, districtKey, wardKey, ward, district, province"
            " FROM admin_units_legacy WHERE provinceKey = ? ORDER BY wardCode",
            (old_province_key,),
        ).fetchall()
        code_by_key = dict(
            ((province_key, ward_key), code)
            for province_key, ward_key, code in connection.execute(
                "SELECT provinceKey, wardKey, wardCode FROM admin_units"
            )
        )
    new_key_by_old = {
        old_key: (new_province, new_ward)
        for new_province, new_wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items()
        for new_ward, old_keys in new_wards.items()
        for old_key in old_keys
    }
    examples = []
    for province_key, district_key, ward_key, ward, district, province in legacy_rows:
        new_key = new_key_by_old.get(f"{province_key}_{district_key}_{ward_key}")
        if new_key is not None:
            examples.append((f"{ward}, {district}, {province}", code_by_key[new_key]))
    return random.Random(7).sample(examples, count)


LEGACY_EXAMPLES = _legacy_examples("tinhhungyen") + _legacy_examples("tinhthaibinh")
PROVINCE_CODES = [province.code for province in gazetteer().provinces()]


# ----- loading and lookups -------------------------------------------------------------------


def test_load_gazetteer_returns_34_provinces_and_3321_wards():
    places = gazetteer()

    assert len(places.provinces()) == 34
    assert len(places.wards()) == 3321
    assert sum(p.ward_count for p in places.provinces()) == 3321


def test_gazetteer_returns_same_instance():
    assert gazetteer() is gazetteer()


def test_wards_hung_yen_returns_104_units():
    hung_yen = gazetteer().province("33")

    assert hung_yen is not None
    assert hung_yen.name == "Tỉnh Hưng Yên"
    assert hung_yen.ward_count == 104
    assert len(gazetteer().wards("33")) == 104


def test_get_son_nam_returns_ward():
    ward = gazetteer().get(SON_NAM)

    assert ward is not None
    assert (ward.name, ward.short_name, ward.kind) == ("Phường Sơn Nam", "Sơn Nam", "Phường")
    assert (ward.province_code, ward.province_name) == ("33", "Tỉnh Hưng Yên")


@pytest.mark.parametrize(
    ("code", "expected"),
    [(4, "00004"), ("00004", "00004"), (" 11983 ", "11983"), (11983, "11983")],
)
def test_get_code_forms_returns_ward(code, expected):
    ward = gazetteer().get(code)

    assert ward is not None and ward.code == expected


@pytest.mark.parametrize("code", ["4", "1983", "119830", "", "abcde", None, True, -1, 3.0])
def test_get_malformed_code_returns_none(code):
    assert gazetteer().get(code) is None


@pytest.mark.parametrize("province_code", PROVINCE_CODES)
def test_get_sample_wards_returns_them(province_code):
    for ward in _sample_wards(province_code):
        assert gazetteer().get(ward.code) is ward
        assert len(ward.code) == 5 and ward.code.isdigit()
        assert ward.province_code == province_code


@pytest.mark.parametrize("province_code", PROVINCE_CODES)
def test_search_sample_ward_names_finds_them(province_code):
    province = gazetteer().province(province_code)
    assert province is not None
    for ward in _sample_wards(province_code):
        with_diacritics = gazetteer().search(ward.name, province_code=province_code)
        plain_with_province = gazetteer().search(
            f"{fold(ward.short_name)} {fold(province.short_name)}"
        )

        assert ward in with_diacritics[:5], ward
        assert ward in plain_with_province[:5], ward


@pytest.mark.parametrize("province_code", PROVINCE_CODES)
def test_coordinates_sample_wards_lie_inside_vietnam(province_code):
    for ward in _sample_wards(province_code):
        if ward.code in OFFSHORE_ZONES:
            continue
        assert 8 <= ward.lat <= 24 and 102 <= ward.lon <= 110, ward


def test_coordinates_all_wards_lie_inside_vietnam_except_offshore_zones():
    outside = {
        ward.code: ward.name
        for ward in gazetteer().wards()
        if not (8 <= ward.lat <= 24 and 102 <= ward.lon <= 110)
    }

    assert outside == OFFSHORE_ZONES


def test_coordinates_mixed_codes_returns_nan_for_unknown():
    son_nam = gazetteer().get(SON_NAM)
    assert son_nam is not None

    lat, lon = gazetteer().coordinates([SON_NAM, "99999", 4, None, "bad"])

    assert lat.shape == lon.shape == (5,)
    assert (lat[0], lon[0]) == (son_nam.lat, son_nam.lon)
    assert np.isnan(lat[[1, 3, 4]]).all() and np.isnan(lon[[1, 3, 4]]).all()
    assert not np.isnan(lat[2])


def test_coordinates_empty_returns_empty_arrays():
    lat, lon = gazetteer().coordinates([])

    assert lat.shape == lon.shape == (0,)


def test_wards_frame_province_returns_one_row_per_ward():
    frame = gazetteer().wards_frame("33")

    assert list(frame.columns) == [
        "code",
        "name",
        "short_name",
        "kind",
        "province_code",
        "province_name",
        "lat",
        "lon",
    ]
    assert len(frame) == 104 and frame["code"].is_unique
    assert len(gazetteer().wards_frame()) == 3321


def test_wards_frame_edit_leaves_gazetteer_unchanged():
    frame = gazetteer().wards_frame()
    frame.loc[0, "lat"] = 0.0

    assert gazetteer().wards_frame().loc[0, "lat"] != 0.0


def test_former_districts_hung_yen_wards_name_old_districts():
    son_nam = gazetteer().get(SON_NAM)
    yen_my = gazetteer().get(YEN_MY)

    assert son_nam is not None and yen_my is not None
    assert son_nam.former_districts == ("Thành phố Hưng Yên", "Huyện Kim Động")
    assert yen_my.former_districts == ("Huyện Yên Mỹ",)
    assert all(ward.former_districts for ward in gazetteer().wards())


def test_former_districts_same_name_in_merged_provinces_names_old_province():
    former = {name for ward in gazetteer().wards("80") for name in ward.former_districts}

    assert "Huyện Châu Thành (Tỉnh Long An)" in former
    assert "Huyện Châu Thành (Tỉnh Tây Ninh)" in former
    assert "Huyện Châu Thành" not in former


def test_former_districts_conflated_split_ward_drops_far_target():
    # The converter lists Phường 4 of Tân An (Long An) under Phường Tân Ninh, 91 km away.
    tan_ninh = next(w for w in gazetteer().wards("80") if w.name == "Phường Tân Ninh")

    assert "Thành phố Tân An" not in tan_ninh.former_districts


def test_names_are_nfc():
    import unicodedata

    for ward in gazetteer().wards():
        assert unicodedata.is_normalized("NFC", ward.name)


# ----- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["son nam", "Sơn Nam", "SƠN NAM", "phuong son nam", "P. Sơn Nam", "hung yen son nam",
     "Sơn Nam, tỉnh Hưng Yên", "11983"],
)  # fmt: skip
def test_search_son_nam_variants_returns_it_first(query):
    results = gazetteer().search(query)

    assert results and results[0].code == SON_NAM


def test_search_code_prefix_returns_matching_codes():
    results = gazetteer().search("1198", province_code="33")

    assert SON_NAM in [ward.code for ward in results]
    assert all(ward.code.startswith("1198") for ward in results)


def test_search_with_diacritics_prefers_exact_spelling():
    lang = gazetteer().search("Xã Văn Lang", province_code="19")
    lang_breve = gazetteer().search("Xã Văn Lăng", province_code="19")

    assert [w.name for w in lang[:2]] == ["Xã Văn Lang", "Xã Văn Lăng"]
    assert [w.name for w in lang_breve[:2]] == ["Xã Văn Lăng", "Xã Văn Lang"]


def test_search_prefix_ranks_after_exact():
    results = gazetteer().search("yen my", province_code="33")

    assert results[0].code == YEN_MY
    assert all("yen my" in fold(ward.name) for ward in results)


def test_search_limit_caps_results():
    assert len(gazetteer().search("tan", limit=7)) == 7


@pytest.mark.parametrize("query", ["", "   ", "!!!", "zzzzqqqq"])
def test_search_nothing_matching_returns_empty(query):
    assert gazetteer().search(query) == []


# ----- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "expected_code"), LEGACY_EXAMPLES)
def test_resolve_old_address_returns_converted_ward(address, expected_code):
    match = gazetteer().resolve_address(address)

    assert isinstance(match, AddressMatch)
    assert match.ward.code == expected_code
    assert match.method == "address_legacy_converted"
    assert match.confidence >= 0.85


@pytest.mark.parametrize(("address", "expected_code"), LEGACY_EXAMPLES)
def test_resolve_old_address_without_diacritics_returns_same_ward(address, expected_code):
    match = gazetteer().resolve_address(f"Thôn 3, {fold(address)}")

    assert match is not None and match.ward.code == expected_code


@pytest.mark.parametrize(
    "address",
    [
        "Xã Tân Lập, Huyện Yên Mỹ, Tỉnh Hưng Yên",
        "Thôn 3, xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên",
        "xa tan lap, huyen yen my, hung yen",
        "TT Yên Mỹ, H. Yên Mỹ, T. Hưng Yên",
        "xa tan lap huyen yen my tinh hung yen",
    ],
)
def test_resolve_old_yen_my_address_returns_xa_yen_my(address):
    match = gazetteer().resolve_address(address)

    assert match is not None
    assert match.ward.code == YEN_MY
    assert match.method == "address_legacy_converted"
    assert "Xã Yên Mỹ" in match.note and "old district-based address" in match.note


@pytest.mark.parametrize(
    "address",
    ["Xã Yên Mỹ, Hưng Yên", "xa yen my, tinh hung yen", "Số 12, thôn Trai Trang, Xã Yên Mỹ, HY"],
)
def test_resolve_2025_address_returns_ward(address):
    match = gazetteer().resolve_address(address)

    assert match is not None
    assert (match.ward.code, match.method) == (YEN_MY, "address_2025")


def test_resolve_2025_address_with_type_and_province_is_confident():
    match = gazetteer().resolve_address("Phường Sơn Nam, Tỉnh Hưng Yên")

    assert match is not None and match.ward.code == SON_NAM
    assert match.confidence >= 0.9


def test_resolve_ward_code_returns_ward_code_method():
    match = gazetteer().resolve_address(" 11983 ")

    assert match is not None
    assert (match.ward.code, match.method, match.confidence) == (SON_NAM, "ward_code", 1.0)


@pytest.mark.parametrize(
    "address",
    [
        "Phường Bến Nghé, Quận 1, TP.HCM",
        "phuong ben nghe quan 1 tp hcm",
        "P. Bến Nghé, Q.1, Hồ Chí Minh",
    ],
)
def test_resolve_old_city_district_address_returns_converted_ward(address):
    match = gazetteer().resolve_address(address)

    assert match is not None
    assert (match.ward.name, match.method) == ("Phường Sài Gòn", "address_legacy_converted")


def test_resolve_split_old_ward_returns_default_with_lower_confidence():
    # Xã Ngọc Thanh (Kim Động) was split between Xã Hiệp Cường (default) and Phường Sơn Nam.
    match = gazetteer().resolve_address("Xã Ngọc Thanh, Huyện Kim Động, Tỉnh Hưng Yên")

    assert match is not None
    assert match.ward.name == "Xã Hiệp Cường"
    assert match.confidence <= 0.6
    assert "Phường Sơn Nam" in match.note


def test_resolve_old_address_without_district_word_returns_converted_ward():
    match = gazetteer().resolve_address("Xã Tân Lập, Yên Mỹ, Hưng Yên")

    assert match is not None
    assert (match.ward.code, match.method) == (YEN_MY, "address_legacy_converted")
    assert match.confidence < 0.9


@pytest.mark.parametrize(
    "address",
    [
        "asdf qwer",
        "",
        "123",
        "   ",
        ",,,",
        "99999",
        "Huyện Yên Mỹ, Hưng Yên",
        "Long An",
        "x" * 10_000,
        None,
        12073,
    ],
)
def test_resolve_garbage_returns_none(address):
    assert gazetteer().resolve_address(address) is None


def test_resolve_same_address_returns_cached_match():
    first = gazetteer().resolve_address("Xã Tân Lập, Huyện Yên Mỹ, Tỉnh Hưng Yên")
    second = gazetteer().resolve_address("  XÃ TÂN LẬP,  HUYỆN YÊN MỸ, TỈNH HƯNG YÊN")

    assert first is not None and second is first


def test_resolve_small_gazetteer_without_legacy_data_uses_2025_form():
    ward = Ward("11983", "Phường Sơn Nam", "Sơn Nam", "Phường", "33", "Tỉnh Hưng Yên", 20.7, 106.0)
    places = Gazetteer([ward], gazetteer().provinces()[:0])

    match = places.resolve_address("Phường Sơn Nam, Hưng Yên")

    assert match is not None and match.ward is ward
    assert places.resolve_address("Xã Tân Lập, Huyện Yên Mỹ, Tỉnh Hưng Yên") is None


# ----- distances ------------------------------------------------------------------------------


def test_haversine_hanoi_to_hung_yen_city_returns_about_47_km():
    pho_hien = gazetteer().get("11953")
    assert pho_hien is not None

    distance_km = haversine_km(*HANOI, pho_hien.lat, pho_hien.lon)

    # Independent check: the same great circle via geopy (radius 6371.009 km) is 47.245 km.
    assert float(distance_km) == pytest.approx(47.245, abs=0.01)


def test_haversine_same_point_returns_zero():
    assert float(haversine_km(*HANOI, *HANOI)) == 0.0


def test_haversine_antipodes_returns_half_circumference():
    assert float(haversine_km(0.0, 0.0, 0.0, 180.0)) == pytest.approx(np.pi * 6371.0088)


def test_haversine_is_symmetric():
    lat, lon = gazetteer().coordinates([w.code for w in gazetteer().wards("33")])

    there = haversine_km(HANOI[0], HANOI[1], lat, lon)
    back = haversine_km(lat, lon, HANOI[0], HANOI[1])

    np.testing.assert_allclose(there, back)


def test_haversine_broadcasts_scalar_against_arrays():
    distances = haversine_km(HANOI[0], HANOI[1], np.array([21.0, 20.7]), np.array([105.8, 106.0]))

    assert distances.shape == (2,)


def test_haversine_broadcasts_column_against_row():
    lat, lon = gazetteer().coordinates([w.code for w in gazetteer().wards("33")])

    matrix = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])

    assert matrix.shape == (104, 104)
    np.testing.assert_allclose(np.diag(matrix), 0.0, atol=1e-9)
    np.testing.assert_allclose(matrix, matrix.T)
    assert matrix.max() < 120  # the merged province is under about 100 km across


def test_haversine_scalar_returns_zero_dimensional_array():
    distance_km = haversine_km(21.0, 105.8, 20.7, 106.0)

    assert isinstance(distance_km, np.ndarray) and distance_km.shape == ()
