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
    if words is None:
        return code
    return words[0] if lang == "vi" else words[1]
