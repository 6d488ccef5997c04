"""Reasons a caseworker can read: the features that moved a score most, in Vietnamese and English.

``effects`` come from :func:`matcher.scoring.feature_effects` (how far each feature moved the
probability against a typical value); the texts are built from the feature values themselves,
so "Cách nhà 8 km" says the distance, not a model weight.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from matcher.features import FEATURE_INDEX, FEATURES
from matcher.taxonomy import taxonomy

MIN_REASONS, MAX_REASONS = 2, 4
# Shown when effects are too small to choose: the facts a caseworker asks about first.
FALLBACK = ("distance_km", "log_wage_ratio", "trade_match")
SILENT = {"enterprise_referrals_log"}


def _pct(x: float) -> int:
    return int(round(abs(x) * 100))


def _trade(code: str | None) -> tuple[str, str]:
    trade = taxonomy().trade(code) if code else None
    return (trade.label_vi, trade.label_en) if trade else (code or "?", code or "?")


def outside_trades(trade_bits: int, trade: int) -> bool:
    """Whether a worker with registered or trained trades (a bit each) has not this one;
    a worker with none is outside no trade."""
    return bool(trade_bits) and (trade < 0 or not trade_bits >> trade & 1)


def render(name: str, value: float, details: Mapping[str, Any]) -> tuple[str, str] | None:
    """Vietnamese and English text for one feature's value, or None when it says nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    trade_vi, trade_en = _trade(details.get("trade"))
    # A pathway scores a course the worker has not taken "as if graduated": say what the
    # course leads to, not that it was done.
    pathway = bool(details.get("pathway"))
    if name == "distance_km":
        km = max(round(value), 1) if value >= 0.5 else value
        km_text = f"{km:.1f}" if km < 1 else f"{km:.0f}"
        return f"Cách nhà {km_text} km", f"{km_text} km from home"
    if name == "commute_excess_km":
        if value <= 0:
            return None
        km = max(round(value), 1)
        return (
            f"Xa hơn mong muốn {km} km (quãng đường đi làm)",
            f"{km} km beyond the preferred commute",
        )
    if name == "trade_match":
        if pathway and value >= 0.5:
            return f"Mở ra nghề {trade_vi}", f"Opens the {trade_en} trade"
        if value >= 0.5:
            return f"Đúng nghề quan tâm: {trade_vi}", f"A trade of interest: {trade_en}"
        if details.get("outside_trades") is False:
            return None  # trained in it, or no trade registered: nothing to warn about
        return (
            f"Ngoài nghề đã đăng ký ({trade_vi})",
            f"Outside the registered trades ({trade_en})",
        )
    if name == "graduated_linked_course":
        if value < 0.5:
            return None
        course = details.get("course_name") or "đào tạo"
        if pathway:
            return (
                f"Học xong khóa {course} dẫn tới đơn hàng này: doanh nghiệp cam kết tuyển học viên",
                f"The course {course} leads to this commitment: the enterprise committed to"
                " hire its graduates",
            )
        return (
            f"Đã tốt nghiệp khóa {course} liên kết với đơn hàng này",
            f"Graduated from {course}, the course linked to this commitment",
        )
    if name == "graduated_trade_course":
        if pathway and value >= 0.5:
            return (
                f"Học xong sẽ có nghề {trade_vi}",
                f"Completing it gives a {trade_en} qualification",
            )
        if value >= 0.5:
            return f"Đã tốt nghiệp khóa nghề {trade_vi}", f"Graduated from a {trade_en} course"
        return f"Chưa học nghề {trade_vi}", f"No {trade_en} training yet"
    if name == "skill_coverage":
        needed = int(details.get("required_count") or 0)
        if needed <= 0:
            return None
        held = int(round(value * needed))
        return f"Có {held}/{needed} kỹ năng yêu cầu", f"Has {held} of {needed} required skills"
    if name == "log_wage_ratio":
        ratio = math.exp(value) - 1.0
        if abs(ratio) < 0.005:
            return "Lương đề nghị đúng mức mong muốn", "Offered wage matches the expectation"
        if ratio < 0:
            return (
                f"Lương đề nghị thấp hơn mong muốn {_pct(ratio)} %",
                f"Offered wage {_pct(ratio)} % below the expectation",
            )
        return (
            f"Lương đề nghị cao hơn mong muốn {_pct(ratio)} %",
            f"Offered wage {_pct(ratio)} % above the expectation",
        )
    if name == "wage_over_minimum":
        return (
            f"Lương bằng {value:.1f} lần lương tối thiểu vùng".replace(".", ","),
            f"Wage {value:.1f}× the regional minimum",
        )
    if name == "education_gap":
        if value < 0:
            return "Chưa đạt trình độ yêu cầu", "Below the required education"
        return "Đạt trình độ yêu cầu", "Meets the required education"
    if name == "experience_years":
        years = f"{value:.0f}" if value >= 1 else f"{value:.1f}"
        return f"{years} năm kinh nghiệm", f"{years} years of experience"
    if name == "availability_gap_days":
        if value <= 0:
            return "Sẵn sàng từ ngày bắt đầu", "Available from the start date"
        return (
            f"Sẵn sàng sau ngày bắt đầu {value:.0f} ngày",
            f"Available {value:.0f} days after the start",
        )
    if name == "enterprise_hire_rate":
        return (
            f"Doanh nghiệp đã tuyển {_pct(value)} % người được giới thiệu",
            f"The enterprise hired {_pct(value)} % of referrals",
        )
    if name == "course_hire_rate":
        return (
            f"Học viên cùng khóa được tuyển {_pct(value)} %",
            f"Graduates of the same course were hired {_pct(value)} % of the time",
        )
    return None


def reasons(
    values: np.ndarray, effects: np.ndarray, details: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Pick 2–4 reasons for one scored pair, strongest effect first.

    A match beyond the worker's stated commute, or outside the trades they registered for,
    always says so first, whatever its effect: retrieval looks past both (matcher.retrieval)
    and the caseworker must know before referring.
    """
    effects = np.nan_to_num(np.asarray(effects, dtype=float))
    order = np.argsort(-np.abs(effects), kind="stable")
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    forced = []
    if values[FEATURE_INDEX["commute_excess_km"]] > 0:
        forced.append("commute_excess_km")
    if details.get("outside_trades") and values[FEATURE_INDEX["trade_match"]] < 0.5:
        forced.append("trade_match")
    candidates = forced + [FEATURES[i] for i in order] + list(FALLBACK)
    for name in candidates:
        if name in seen or name in SILENT or len(chosen) >= MAX_REASONS:
            continue
        i = FEATURE_INDEX[name]
        effect = float(effects[i])
        if len(chosen) >= MIN_REASONS and abs(effect) < 0.01 and name not in forced:
            break
        text = render(name, float(values[i]), details)
        if text is None:
            continue
        seen.add(name)
        chosen.append({"code": name, "vi": text[0], "en": text[1], "effect": round(effect, 4)})
    return chosen
