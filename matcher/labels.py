"""Vietnamese and English words for every code users see (GLOSSARY.md), in one place.

Trades, skills and education levels carry their labels in the taxonomy; the statuses and
choices below are the rest. Pages, exports and messages look codes up here, never spell them
out themselves, so one idea has one word everywhere.
"""

from __future__ import annotations

import functools

from matcher.taxonomy import load_taxonomy

Label = tuple[str, str]

GENDER: dict[str, Label] = {
    "female": ("Nữ", "Female"),
    "male": ("Nam", "Male"),
    "other": ("Khác", "Other"),
    "unspecified": ("Không nêu", "Not stated"),
}
ENROLLMENT_STATUS: dict[str, Label] = {
    "enrolled": ("Đang học", "Enrolled"),
    "graduated": ("Đã tốt nghiệp", "Graduated"),
    "dropped": ("Bỏ học", "Dropped out"),
}
REFERRAL_OUTCOME: dict[str, Label] = {
    "pending": ("Đang chờ", "Pending"),
    "hired": ("Đã tuyển", "Hired"),
    "not_hired": ("Không đạt", "Not hired"),
    "declined": ("Từ chối", "Declined"),
    "no_show": ("Không đến", "No-show"),
}
COMMITMENT_STATE: dict[str, Label] = {
    "open": ("Đang tuyển", "Open"),
    "upcoming": ("Sắp tuyển", "Upcoming"),
    "full": ("Đã đủ người", "Filled"),
    "expired": ("Hết hạn", "Expired"),
}
JOB_STATUS: dict[str, Label] = {
    "queued": ("Đang chờ xử lý", "Queued"),
    "running": ("Đang xử lý", "Running"),
    "done": ("Đã xong", "Done"),
    "failed": ("Lỗi", "Failed"),
    "cancelled": ("Đã hủy", "Cancelled"),
}
ROLE: dict[str, Label] = {
    "caseworker": ("Cán bộ tư vấn việc làm", "Caseworker"),
    "enterprise": ("Doanh nghiệp", "Enterprise"),
    "planner": ("Cán bộ kế hoạch", "Planner"),
    "admin": ("Quản trị hệ thống", "Administrator"),
}
COURSE_LEVEL: dict[str, Label] = {
    "elementary": ("Sơ cấp", "Elementary"),
    "intermediate": ("Trung cấp", "Intermediate"),
    "college": ("Cao đẳng", "College"),
}
SCORER: dict[str, Label] = {
    "model": ("Mô hình học từ kết quả tuyển dụng", "Model learnt from hiring outcomes"),
    "rules": ("Quy tắc minh bạch (chưa đủ dữ liệu)", "Transparent rules (not enough data yet)"),
}
IMPORT_KIND: dict[str, Label] = {
    "workers": ("Người lao động", "Workers"),
    "enterprises": ("Doanh nghiệp", "Enterprises"),
    "courses": ("Khóa đào tạo", "Courses"),
    "enrollments": ("Ghi danh", "Enrolments"),
    "commitments": ("Đơn hàng tuyển dụng", "Hiring commitments"),
    "referrals": ("Lượt giới thiệu", "Referrals"),
}
SERIES_KIND: dict[str, Label] = {
    "demand": ("Nhu cầu tuyển dụng (chỗ)", "Demand (places)"),
    "supply": ("Người tốt nghiệp", "Graduates"),
    "hires": ("Người được tuyển", "Hires"),
}
AREA_LEVEL: dict[str, Label] = {
    "province": ("Tỉnh", "Province"),
    "former_district": ("Huyện cũ", "Former district"),
    "park": ("Vùng khu công nghiệp", "Industrial park catchment"),
}
FORECAST_METHOD: dict[str, Label] = {
    "seasonal_naive": ("Cùng tháng năm trước", "Same month last year (seasonal naive)"),
    "holt_winters": ("San mũ theo mùa (Holt-Winters)", "Seasonal smoothing (Holt-Winters)"),
    "global_gbm": ("Mô hình học chung mọi chuỗi (GBM)", "One model for all series (GBM)"),
}
PLAN_REASON: dict[str, Label] = {
    "capacity": ("Cơ sở đào tạo không đủ chỗ", "Not enough training capacity"),
    "lead_time": ("Không kịp đào tạo trước khi cần", "Too late to train in time"),
    "lead_time+capacity": (
        "Không kịp đào tạo và không đủ chỗ",
        "Too late to train, and not enough capacity",
    ),
    "no_placement": ("Chưa ai tốt nghiệp nghề này có việc", "No graduate of the trade hired yet"),
    "below_min_cohort": ("Quá ít người để mở một lớp", "Too few people for a class"),
}
GAP_SCOPE: dict[str, Label] = {
    "month": ("Theo tháng", "Month"),
    "total": ("Tổng 12 tháng", "12-month total"),
}
ALLOCATION_POLICY: dict[str, Label] = {
    "max_hires": ("Nhiều người được tuyển nhất", "Most expected hires"),
    "stable": ("Ổn định theo nguyện vọng đôi bên", "Stable (both sides' preferences)"),
}
YES_NO: dict[str, Label] = {"yes": ("Có", "Yes"), "no": ("Không", "No")}
FAIRNESS_ATTRIBUTE: dict[str, Label] = {
    "gender": ("Giới tính", "Gender"),
    "ethnic_minority": ("Dân tộc thiểu số", "Ethnic minority"),
    "disability": ("Khuyết tật", "Disability"),
    "age_band": ("Độ tuổi", "Age"),
}
#: A group of one protected attribute, as a person reads it ("Dân tộc thiểu số", not "= yes").
_GROUP: dict[tuple[str, str], Label] = {
    ("ethnic_minority", "yes"): ("Dân tộc thiểu số", "Ethnic minority"),
    ("ethnic_minority", "no"): ("Không thuộc dân tộc thiểu số", "Not an ethnic minority"),
    ("disability", "yes"): ("Người khuyết tật", "With a disability"),
    ("disability", "no"): ("Không khuyết tật", "Without a disability"),
}
UNKNOWN_GROUP: Label = ("Không rõ", "Not known")

#: Every kind of code with words (the taxonomy's and the tables below).
KINDS = (
    "trade",
    "education",
    "gender",
    "enrollment_status",
    "referral_outcome",
    "course_level",
)

_TABLES: dict[str, dict[str, Label]] = {
    "gender": GENDER,
    "enrollment_status": ENROLLMENT_STATUS,
    "referral_outcome": REFERRAL_OUTCOME,
    "commitment_state": COMMITMENT_STATE,
    "job_status": JOB_STATUS,
    "role": ROLE,
    "course_level": COURSE_LEVEL,
    "scorer": SCORER,
    "import_kind": IMPORT_KIND,
    "series_kind": SERIES_KIND,
    "area_level": AREA_LEVEL,
    "forecast_method": FORECAST_METHOD,
    "plan_reason": PLAN_REASON,
    "yes_no": YES_NO,
    "gap_scope": GAP_SCOPE,
    "allocation_policy": ALLOCATION_POLICY,
    "fairness_attribute": FAIRNESS_ATTRIBUTE,
}


@functools.cache
def _taxonomy_table(kind: str) -> dict[str, Label]:
    taxonomy = load_taxonomy()
    if kind == "trade":
        return {t.code: (t.label_vi, t.label_en) for t in taxonomy.trades()}
    if kind == "education":
        return {e.code: (e.label_vi, e.label_en) for e in taxonomy.education_levels()}
    if kind == "skill":
        return {s.code: (s.label_vi, s.label_en) for s in taxonomy.skills()}
    raise KeyError(kind)


def table(kind: str) -> dict[str, Label]:
    """Every code of one kind with its (Vietnamese, English) words, in the order users see."""
    if kind in _TABLES:
        return _TABLES[kind]
    return _taxonomy_table(kind)


def label(kind: str, code: str | None, lang: str = "vi") -> str:
    """The word for a code in a language; an unknown code is shown as it is, not hidden."""
    if code is None:
        return ""
    words = table(kind).get(code)
    if words is None and "+" in code:  # several reasons at once: "capacity+below_min_cohort"
        return "; ".join(label(kind, part, lang) for part in code.split("+"))
    if words is None:
        return code
    return words[0] if lang == "vi" else words[1]


def _one_group(attribute: str, group: str, lang: str) -> str:
    pick = 0 if lang == "vi" else 1
    if group == "unknown":
        return f"{label('fairness_attribute', attribute, lang)}: {UNKNOWN_GROUP[pick].lower()}"
    if (attribute, group) in _GROUP:
        return _GROUP[attribute, group][pick]
    if attribute == "age_band":
        return ("Tuổi " if lang == "vi" else "Age ") + group
    return label(attribute, group, lang)


def group_label(attribute: str, group: str, lang: str = "vi") -> str:
    """A fairness group in words: "Dân tộc thiểu số", "Tuổi 15–24", "Nữ × Tuổi 25–34".

    Intersections join their attributes and groups with "×" (matcher.fairness.CROSS)."""
    attributes, groups = str(attribute).split("×"), str(group).split("×")
    if len(attributes) != len(groups):
        return f"{attribute} = {group}"
    return " × ".join(_one_group(a, g, lang) for a, g in zip(attributes, groups, strict=True))
