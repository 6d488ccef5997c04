"""Tests for the trade and skill taxonomy and the normalisation of free-text skills."""

from __future__ import annotations

import copy
import json
import unicodedata
from importlib import resources
from typing import Any

import pytest

from matcher.taxonomy import (
    EDUCATION_CODES,
    NORMALIZE_THRESHOLD,
    TRADE_CODES,
    Taxonomy,
    load_taxonomy,
    matching_key,
    taxonomy,
)
from matcher.text import fold

CORE_TRADES = ("garment", "electrical", "electronics")
OTHER_TRADES = ("textile", "carpentry", "handicraft")
# The ISCO-08 unit groups each trade is meant to lead to (FACTS.md for the core trades).
EXPECTED_ISCO = {
    "garment": {"7531", "7532", "7533", "8153"},
    "electrical": {"7411", "7412", "7413", "3113"},
    "electronics": {"7421", "8212", "3114"},
    "textile": {"8151", "8152", "8154", "8159"},
    "carpentry": {"7115", "7521", "7522", "7523"},
    "handicraft": {"7314", "7316", "7317", "7318", "7319"},
}


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return taxonomy()


@pytest.fixture()
def document() -> dict[str, Any]:
    source = resources.files("matcher").joinpath("data", "taxonomy.json")
    return json.loads(source.read_text(encoding="utf-8"))


def all_forms(tax: Taxonomy) -> list[tuple[str, str]]:
    return [
        (skill.code, text)
        for skill in tax.skills()
        for text in (skill.label_vi, skill.label_en, *skill.synonyms)
    ]


# -- the data ------------------------------------------------------------------------------


def test_load_trades_in_canonical_order(tax: Taxonomy) -> None:
    assert [trade.code for trade in tax.trades()] == list(TRADE_CODES)
    assert (*CORE_TRADES, *OTHER_TRADES) == TRADE_CODES


@pytest.mark.parametrize(
    ("code", "label_vi", "label_en"),
    [
        ("garment", "May mặc", "Garment and sewing"),
        ("electrical", "Điện", "Electrical"),
        ("electronics", "Điện tử", "Electronics"),
        ("textile", "Dệt", "Textile"),
        ("carpentry", "Mộc", "Carpentry"),
        ("handicraft", "Thủ công mỹ nghệ", "Handicraft"),
    ],
)
def test_get_trade_returns_labels(tax: Taxonomy, code: str, label_vi: str, label_en: str) -> None:
    trade = tax.trade(code)
    assert trade is not None
    assert (trade.label_vi, trade.label_en) == (label_vi, label_en)


def test_get_trade_unknown_returns_none(tax: Taxonomy) -> None:
    assert tax.trade("cooking") is None


@pytest.mark.parametrize("code", TRADE_CODES)
def test_list_occupations_gives_expected_isco_groups(tax: Taxonomy, code: str) -> None:
    trade = tax.trade(code)
    assert trade is not None
    assert {occupation.isco for occupation in trade.occupations} == EXPECTED_ISCO[code]
    for occupation in trade.occupations:
        assert occupation.label_vi.strip() and occupation.label_en.strip()


@pytest.mark.parametrize(
    ("isco", "trade"),
    [
        ("8153", "garment"),
        ("7533", "garment"),
        ("7411", "electrical"),
        ("3113", "electrical"),
        ("8212", "electronics"),
        ("8152", "textile"),
        ("7522", "carpentry"),
        ("7317", "handicraft"),
        ("7318", "handicraft"),
        (" 7421 ", "electronics"),
        ("9999", None),
        ("", None),
    ],
)
def test_occupation_trade_maps_isco_to_trade(tax: Taxonomy, isco: str, trade: str | None) -> None:
    assert tax.occupation_trade(isco) == trade


@pytest.mark.parametrize(
    ("trade", "minimum"),
    [(code, 15) for code in CORE_TRADES] + [(code, 6) for code in OTHER_TRADES],
)
def test_count_skills_meets_minimum_per_trade(tax: Taxonomy, trade: str, minimum: int) -> None:
    own = [skill for skill in tax.skills(trade) if not skill.code.startswith("common.")]
    assert len(own) >= minimum


def test_list_skills_codes_are_unique_and_well_formed(tax: Taxonomy) -> None:
    codes = [skill.code for skill in tax.skills()]
    assert len(codes) == len(set(codes))
    for skill in tax.skills():
        prefix, _, slug = skill.code.partition(".")
        assert slug and slug == slug.lower() and " " not in slug
        assert prefix == "common" or prefix in skill.trades


def test_list_skills_have_labels_synonyms_and_valid_trades(tax: Taxonomy) -> None:
    for skill in tax.skills():
        assert skill.label_vi.strip() and skill.label_en.strip(), skill.code
        assert len(skill.synonyms) >= 1, skill.code
        assert skill.trades and set(skill.trades) <= set(TRADE_CODES), skill.code


def test_list_skills_text_is_nfc(tax: Taxonomy) -> None:
    texts = [text for _, text in all_forms(tax)]
    texts += [label for trade in tax.trades() for label in (trade.label_vi, trade.label_en)]
    for text in texts:
        assert unicodedata.is_normalized("NFC", text), text


def test_list_skills_for_trade_includes_common_skills(tax: Taxonomy) -> None:
    garment = {skill.code for skill in tax.skills("garment")}
    electrical = {skill.code for skill in tax.skills("electrical")}
    assert {"common.quality_inspection", "common.occupational_safety"} <= garment
    assert "common.occupational_safety" in electrical
    assert "garment.industrial_sewing" not in electrical
    assert all("garment" in skill.trades for skill in tax.skills("garment"))


def test_list_skills_unknown_trade_raises(tax: Taxonomy) -> None:
    with pytest.raises(ValueError, match="unknown trade"):
        tax.skills("cooking")


def test_get_skill_returns_skill_or_none(tax: Taxonomy) -> None:
    skill = tax.skill("electronics.soldering")
    assert skill is not None and skill.label_en == "Solder electronics"
    assert tax.skill("electronics.nothing") is None


def test_list_education_levels_are_ranked_in_order(tax: Taxonomy) -> None:
    levels = tax.education_levels()
    assert tuple(level.code for level in levels) == EDUCATION_CODES
    assert [level.rank for level in levels] == [0, 1, 2, 3, 4, 5, 6, 7, None]
    assert all(level.label_vi and level.label_en for level in levels)


@pytest.mark.parametrize(
    ("have", "need", "meets"),
    [
        ("college", "upper_secondary", True),
        ("lower_secondary", "lower_secondary", True),
        ("primary", "elementary_vocational", False),
        ("unspecified", "primary", None),
        ("university", "unspecified", None),
    ],
)
def test_education_meets_compares_ranks(
    tax: Taxonomy, have: str, need: str, meets: bool | None
) -> None:
    have_level, need_level = tax.education(have), tax.education(need)
    assert have_level is not None and need_level is not None
    assert have_level.meets(need_level) is meets


def test_education_unknown_code_returns_none(tax: Taxonomy) -> None:
    assert tax.education("phd") is None
    level = tax.education(" College ")
    assert level is not None and level.code == "college"


# -- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("may công nghiệp", "garment.industrial_sewing"),
        ("may cong nghiep", "garment.industrial_sewing"),
        ("biết hàn linh kiện", "electronics.soldering"),
        ("sửa điện dân dụng", "electrical.household_repair"),
        ("sua dien dan dung", "electrical.household_repair"),
        ("biết may máy 1 kim", "garment.single_needle_sewing"),
        ("may máy 2 kim", "garment.double_needle_sewing"),
        ("vắt sổ", "garment.overlock_sewing"),
        ("cắt vải", "garment.fabric_cutting"),
        ("là ủi", "garment.ironing"),
        ("KCS", "common.quality_inspection"),
        ("lắp đặt điện nhà", "electrical.building_wiring"),
        ("đấu nối tủ điện", "electrical.panel_wiring"),
        ("hàn mạch", "electronics.soldering"),
        ("lắp ráp linh kiện điện tử", "electronics.assembly"),
        ("SMT", "electronics.smt_operation"),
        ("AOI", "electronics.aoi_inspection"),
        ("đọc bản vẽ", "common.read_drawings"),
        ("Mây tre đan", "handicraft.rattan_bamboo_weaving"),
        ("Thêu ren", "handicraft.hand_embroidery"),
        ("Dệt thổ cẩm", "handicraft.brocade_weaving"),
        ("Sơn mài", "handicraft.lacquerware"),
        ("Mộc dân dụng", "carpentry.furniture_making"),
        ("Hàn điện", "electrical.arc_welding"),
        ("Điện công nghiệp", "electrical.industrial_electrical"),
        ("Điện tử công nghiệp", "electronics.industrial_electronics"),
        ("Sửa chữa điện tử dân dụng", "electronics.consumer_repair"),
    ],
)
def test_normalize_known_phrasing_matches_skill(tax: Taxonomy, text: str, code: str) -> None:
    result = tax.normalize(text)
    assert result.known
    assert result.match is not None and result.match.code == code
    assert result.match.confidence == 1.0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("có 3 năm kinh nghiệm may công nghiệp", "garment.industrial_sewing"),
        ("Thành thạo may máy 2 kim, 1,5 năm", "garment.double_needle_sewing"),
        ("có chứng chỉ sơ cấp nghề điện dân dụng", "electrical.household_repair"),
        ("kinh nghiệm 6 tháng trở lên hàn mạch", "electronics.soldering"),
    ],
)
def test_normalize_filler_words_are_ignored(tax: Taxonomy, text: str, code: str) -> None:
    result = tax.normalize(text)
    assert result.match is not None and result.match.code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("sửa chữa điện dân dụng tại nhà", "electrical.household_repair"),
        ("may cong nghep", "garment.industrial_sewing"),
        ("hàn linh kiện SMD", "electronics.soldering"),
        ("đan lát mây tre", "handicraft.rattan_bamboo_weaving"),
        ("lắp ráp linh kiện điện tử Samsung", "electronics.assembly"),
        ("sửa chữa điện dân", "electrical.household_repair"),
    ],
)
def test_normalize_near_phrasing_matches_below_full_confidence(
    tax: Taxonomy, text: str, code: str
) -> None:
    result = tax.normalize(text)
    assert result.match is not None and result.match.code == code
    assert NORMALIZE_THRESHOLD <= result.match.confidence < 1.0


@pytest.mark.parametrize(
    "text", ["lái máy bay", "nấu ăn", "xyz", "", "   ", "biết", "kinh nghiệm 3 năm", "lái xe"]
)
def test_normalize_unknown_text_returns_no_match(tax: Taxonomy, text: str) -> None:
    result = tax.normalize(text)
    assert not result.known
    assert result.match is None
    assert all(alt.confidence >= 0.0 for alt in result.alternatives)


@pytest.mark.parametrize("text", ["vận hành máy", "kiểm tra", "an toàn", "hàn"])
def test_normalize_generic_text_is_not_guessed(tax: Taxonomy, text: str) -> None:
    result = tax.normalize(text)
    assert result.match is None


def test_normalize_ambiguous_text_lists_alternatives(tax: Taxonomy) -> None:
    result = tax.normalize("vận hành máy")
    codes = [alt.code for alt in result.alternatives]
    assert len(codes) == 3 and len(set(codes)) == 3
    assert all(alt.matched for alt in result.alternatives)


def test_normalize_alternatives_exclude_the_match(tax: Taxonomy) -> None:
    result = tax.normalize("sửa chữa điện dân dụng tại nhà")
    assert result.match is not None
    assert result.match.code not in {alt.code for alt in result.alternatives}
    assert len(result.alternatives) <= 3
    confidences = [alt.confidence for alt in result.alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert all(alt.confidence <= result.match.confidence for alt in result.alternatives)


@pytest.mark.parametrize(
    "variant",
    [
        "MAY CÔNG NGHIỆP",
        unicodedata.normalize("NFD", "may công nghiệp"),
        "  May   Công  Nghiệp  ",
        "May-công-nghiệp.",
    ],
)
def test_normalize_case_and_composition_give_same_result(tax: Taxonomy, variant: str) -> None:
    expected = tax.normalize("may công nghiệp").match
    assert tax.normalize(variant).match == expected


def test_normalize_keeps_input_text_as_nfc(tax: Taxonomy) -> None:
    text = unicodedata.normalize("NFD", "Biết hàn linh kiện")
    result = tax.normalize(text)
    assert result.text == unicodedata.normalize("NFC", text)
    assert result.match is not None and result.match.matched == "hàn linh kiện"


def test_normalize_repeated_calls_are_deterministic(tax: Taxonomy) -> None:
    texts = ["may cong nghep", "kiểm tra", "sửa chữa điện dân dụng tại nhà", "lái máy bay"]
    fresh = load_taxonomy()
    assert [tax.normalize(t) for t in texts] == [fresh.normalize(t) for t in texts]
    assert [fresh.normalize(t) for t in texts] == [fresh.normalize(t) for t in texts]


def test_normalize_repeated_item_is_served_from_cache(tax: Taxonomy) -> None:
    assert tax.normalize("vắt sổ") is tax.normalize("vắt sổ")


def test_normalize_skill_code_verbatim_has_full_confidence(tax: Taxonomy) -> None:
    for skill in tax.skills():
        result = tax.normalize(skill.code)
        assert result.match is not None
        assert (result.match.code, result.match.confidence) == (skill.code, 1.0)
    assert tax.is_skill_code("garment.industrial_sewing")
    assert not tax.is_skill_code("garment.flying")


def test_normalize_every_synonym_maps_back_to_its_skill(tax: Taxonomy) -> None:
    for code, text in all_forms(tax):
        for variant in (text, text.upper(), fold(text), f"biết {text}"):
            result = tax.normalize(variant)
            assert result.match is not None, variant
            assert (result.match.code, result.match.confidence) == (code, 1.0), variant


def test_list_synonyms_name_one_skill_each(tax: Taxonomy) -> None:
    owners: dict[str, str] = {}
    for code, text in all_forms(tax):
        key = matching_key(text)
        assert key, text
        assert owners.setdefault(key, code) == code, (text, owners[key], code)


def test_normalize_list_splits_on_separators(tax: Taxonomy) -> None:
    results = tax.normalize_list("may máy 1 kim; vắt sổ, là ủi\nKCS")
    assert [r.match.code for r in results if r.match] == [
        "garment.single_needle_sewing",
        "garment.overlock_sewing",
        "garment.ironing",
        "common.quality_inspection",
    ]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        (
            "hàn linh kiện và lắp ráp linh kiện điện tử",
            ["electronics.soldering", "electronics.assembly"],
        ),
        ("may 1 kim + vắt sổ", ["garment.single_needle_sewing", "garment.overlock_sewing"]),
        ("SMT/AOI", ["electronics.smt_operation", "electronics.aoi_inspection"]),
        ("han linh kien va lap rap dien tu", ["electronics.soldering", "electronics.assembly"]),
        ("mortise and tenon", ["carpentry.joinery"]),
        (
            "garment.industrial_sewing; electronics.soldering",
            [
                "garment.industrial_sewing",
                "electronics.soldering",
            ],
        ),
    ],
)
def test_normalize_list_splits_conjunctions_sensibly(
    tax: Taxonomy, text: str, codes: list[str]
) -> None:
    results = tax.normalize_list(text)
    assert [r.match.code if r.match else None for r in results] == codes


def test_normalize_list_reports_unknown_items(tax: Taxonomy) -> None:
    results = tax.normalize_list("vắt sổ; nấu ăn")
    assert [r.text for r in results] == ["vắt sổ", "nấu ăn"]
    assert [r.known for r in results] == [True, False]


def test_normalize_list_keeps_decimal_comma_and_drops_filler_items(tax: Taxonomy) -> None:
    results = tax.normalize_list("may máy 2 kim, 1,5 năm kinh nghiệm; biết vắt sổ")
    assert [r.match.code if r.match else None for r in results] == [
        "garment.double_needle_sewing",
        "garment.overlock_sewing",
    ]


@pytest.mark.parametrize("text", ["", " ; , ", "\n", "3 năm kinh nghiệm"])
def test_normalize_list_empty_returns_nothing(tax: Taxonomy, text: str) -> None:
    assert tax.normalize_list(text) == []


def test_normalize_list_drops_repeated_items(tax: Taxonomy) -> None:
    results = tax.normalize_list("vắt sổ; vắt sổ; là ủi")
    assert [r.text for r in results] == ["vắt sổ", "là ủi"]


# -- loading -------------------------------------------------------------------------------


def test_taxonomy_returns_one_shared_instance() -> None:
    assert taxonomy() is taxonomy()


def test_load_document_builds_taxonomy(document: dict[str, Any]) -> None:
    assert Taxonomy(document).version == document["version"]


def _duplicate_synonym(document: dict[str, Any]) -> None:
    document["skills"][1]["synonyms"].append(document["skills"][0]["synonyms"][0])


def _unknown_trade(document: dict[str, Any]) -> None:
    document["skills"][0]["trades"] = ["cooking"]


def _decomposed_label(document: dict[str, Any]) -> None:
    document["skills"][0]["label_vi"] = unicodedata.normalize("NFD", "May công nghiệp")


def _filler_only_synonym(document: dict[str, Any]) -> None:
    document["skills"][0]["synonyms"].append("biết làm")


def _bad_code(document: dict[str, Any]) -> None:
    document["skills"][0]["code"] = "Garment/Sewing"


def _isco_in_two_trades(document: dict[str, Any]) -> None:
    document["trades"][1]["occupations"].append(document["trades"][0]["occupations"][0])


def _trade_missing(document: dict[str, Any]) -> None:
    document["trades"].pop()


@pytest.mark.parametrize(
    "corrupt",
    [
        _duplicate_synonym,
        _unknown_trade,
        _decomposed_label,
        _filler_only_synonym,
        _bad_code,
        _isco_in_two_trades,
        _trade_missing,
    ],
)
def test_load_invalid_document_raises(document: dict[str, Any], corrupt: Any) -> None:
    broken = copy.deepcopy(document)
    corrupt(broken)
    with pytest.raises(ValueError, match="taxonomy"):
        Taxonomy(broken)
