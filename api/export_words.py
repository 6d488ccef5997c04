"""The words of every exported column, Vietnamese first, and how its cells are written.

One table for every CSV and .xlsx the product writes (api.exports), so a column is called
the same in every file and on every page (GLOSSARY.md). A column's kind says how a cell is
written: ``code:<kind>`` cells are codes shown as words (matcher.labels), ``percent`` cells
are fractions formatted as percentages in .xlsx, ``month`` cells are YYYY-MM months.
"""

from __future__ import annotations

Words = tuple[str, str, str]

COLUMNS: dict[str, Words] = {
    # where and what
    "kind": ("Loại số liệu", "Kind", "code:series_kind"),
    "trade": ("Nghề", "Trade", "code:trade"),
    "trades": ("Các nghề", "Trades", "code_list:trade"),
    "area_level": ("Cấp khu vực", "Area level", "code:area_level"),
    "area_code": ("Mã khu vực", "Area code", "text"),
    "area_name": ("Khu vực", "Area", "text"),
    "course_area_code": ("Mã khu vực của cơ sở đào tạo", "Provider's area code", "text"),
    "scope": ("Phạm vi", "Scope", "code:gap_scope"),
    "month": ("Tháng", "Month", "month"),
    "value": ("Số lượng", "Count", "number"),
    "method": ("Phương pháp dự báo", "Forecast method", "code:forecast_method"),
    "served": ("Đang dùng", "Served", "code:yes_no"),
    # forecasts
    "point": ("Dự báo", "Forecast", "number"),
    "lo80": ("Cận dưới 80 %", "80 % low", "number"),
    "hi80": ("Cận trên 80 %", "80 % high", "number"),
    "lo95": ("Cận dưới 95 %", "95 % low", "number"),
    "hi95": ("Cận trên 95 %", "95 % high", "number"),
    "mase": ("Sai số MASE", "MASE", "number3"),
    "rel_mae": ("Sai số so với cùng tháng năm trước", "Error vs same month last year", "number3"),
    "coverage80": ("Tỷ lệ rơi vào khoảng 80 %", "80 % interval coverage", "percent"),
    "coverage95": ("Tỷ lệ rơi vào khoảng 95 %", "95 % interval coverage", "percent"),
    "n_series": ("Số chuỗi", "Series", "int"),
    "n_points": ("Số điểm kiểm định", "Backtest points", "int"),
    # gaps
    "placement_rate": ("Tỷ lệ có việc sau tốt nghiệp", "Graduates' placement rate", "percent"),
    "completion_rate": ("Tỷ lệ tốt nghiệp", "Completion rate", "percent"),
    "expected_demand": ("Nhu cầu dự kiến (chỗ)", "Expected demand (places)", "number"),
    "demand_sd": ("Độ lệch chuẩn nhu cầu", "Demand standard deviation", "number"),
    "expected_supply": (
        "Người được tuyển dự kiến từ người đang học",
        "Expected hires from people in training",
        "number",
    ),
    "gap": ("Thiếu hụt (người)", "Gap (people)", "number"),
    "gap_lo80": ("Thiếu hụt, cận dưới 80 %", "Gap, 80 % low", "number"),
    "gap_hi80": ("Thiếu hụt, cận trên 80 %", "Gap, 80 % high", "number"),
    "gap_lo95": ("Thiếu hụt, cận dưới 95 %", "Gap, 95 % low", "number"),
    "gap_hi95": ("Thiếu hụt, cận trên 95 %", "Gap, 95 % high", "number"),
    "cumulative_demand": ("Nhu cầu cộng dồn", "Cumulative demand", "number"),
    "cumulative_supply": ("Cung cộng dồn", "Cumulative supply", "number"),
    "shortfall": ("Thiếu người", "Shortfall", "number"),
    "cumulative_shortfall": ("Thiếu người cộng dồn", "Cumulative shortfall", "number"),
    "carried_supply": (
        "Người tốt nghiệp chuyển sang tháng sau",
        "Graduates carried over",
        "number",
    ),
    "shortfall_lo80": ("Thiếu người, cận dưới 80 %", "Shortfall, 80 % low", "number"),
    "shortfall_hi80": ("Thiếu người, cận trên 80 %", "Shortfall, 80 % high", "number"),
    "shortfall_lo95": ("Thiếu người, cận dưới 95 %", "Shortfall, 95 % low", "number"),
    "shortfall_hi95": ("Thiếu người, cận trên 95 %", "Shortfall, 95 % high", "number"),
    "people_in_training": ("Người đang học", "People in training", "int"),
    "demand_lo80": ("Nhu cầu, cận dưới 80 %", "Demand, 80 % low", "number"),
    "demand_hi80": ("Nhu cầu, cận trên 80 %", "Demand, 80 % high", "number"),
    "demand_lo95": ("Nhu cầu, cận dưới 95 %", "Demand, 95 % low", "number"),
    "demand_hi95": ("Nhu cầu, cận trên 95 %", "Demand, 95 % high", "number"),
    # course plan
    "provider": ("Cơ sở đào tạo", "Training provider", "text"),
    "course_name": ("Khóa đào tạo", "Course", "text"),
    "level": ("Trình độ", "Level", "code:course_level"),
    "duration_months": ("Thời gian học (tháng)", "Duration (months)", "int"),
    "start_month": ("Tháng khai giảng", "Start month", "month"),
    "end_month": ("Tháng kết thúc", "End month", "month"),
    "ready_month": ("Tháng sẵn sàng đi làm", "Ready to work", "month"),
    "places": ("Số chỗ học", "Places", "int"),
    "cohorts": ("Số lớp", "Classes", "int"),
    "cohort_sizes": ("Sĩ số từng lớp", "Class sizes", "text"),
    "expected_graduates": ("Người tốt nghiệp dự kiến", "Expected graduates", "number"),
    "expected_hires": ("Người được tuyển dự kiến", "Expected hires", "number"),
    "gap_closed": ("Thiếu hụt được bù", "Gap closed", "number"),
    "places_needed": ("Số chỗ học cần mở", "Places needed", "int"),
    "places_needed_lo80": ("Số chỗ cần, cận dưới 80 %", "Places needed, 80 % low", "int"),
    "places_needed_hi80": ("Số chỗ cần, cận trên 80 %", "Places needed, 80 % high", "int"),
    "planned_places": ("Số chỗ học theo kế hoạch", "Planned places", "int"),
    "planned_cohorts": ("Số lớp theo kế hoạch", "Planned classes", "int"),
    "remaining_gap": ("Thiếu hụt còn lại", "Remaining gap", "number"),
    "remaining_gap_capacity": ("Còn lại do thiếu chỗ đào tạo", "Remaining: capacity", "number"),
    "remaining_gap_lead_time": ("Còn lại do không kịp đào tạo", "Remaining: lead time", "number"),
    "remaining_gap_below_min": (
        "Còn lại do quá ít người để mở lớp",
        "Remaining: too few for a class",
        "number",
    ),
    "remaining_gap_below_min_cohort": (
        "Còn lại do quá ít người để mở lớp",
        "Remaining: too few for a class",
        "number",
    ),
    "min_cohort": ("Sĩ số tối thiểu", "Minimum class size", "int"),
    "areas_served": ("Các khu vực được phục vụ", "Areas served", "text"),
    "places_by_area": ("Số chỗ theo khu vực", "Places by area", "text"),
    "reason": ("Lý do còn thiếu", "Why some stays open", "code:plan_reason"),
    # placement results
    "course_id": ("Mã số khóa", "Course id", "int"),
    "external_id": ("Mã khóa đào tạo", "Course code", "text"),
    "name": ("Tên khóa đào tạo", "Course name", "text"),
    "trade_count": ("Số nghề", "Trades", "int"),
    "course_count": ("Số khóa", "Courses", "int"),
    "enrolled": ("Ghi danh", "Enrolled", "int"),
    "graduated": ("Tốt nghiệp", "Graduated", "int"),
    "referred": ("Được giới thiệu", "Referred", "int"),
    "hired": ("Được tuyển", "Hired", "int"),
    "eligible_90d": ("Đủ 90 ngày để theo dõi", "Followed for 90 days", "int"),
    "retained_90d": ("Còn làm việc sau 90 ngày", "Retained at 90 days", "int"),
    "suppressed": ("Ẩn vì dưới 10 người", "Hidden (under 10 people)", "code:yes_no"),
    # fairness
    "attribute": ("Đặc điểm", "Attribute", "code:fairness_attribute"),
    "group": ("Nhóm", "Group", "group"),
    "people": ("Số người", "People", "int"),
    "scored_people": ("Số người được gợi ý", "People scored", "int"),
    "scored_pairs": ("Số cặp được chấm", "Pairs scored", "int"),
    "decided": ("Lượt giới thiệu đã có kết quả", "Referrals decided", "int"),
    "reference_group": ("Nhóm so sánh (gợi ý)", "Reference group (scoring)", "group_ref"),
    "hire_reference_group": ("Nhóm so sánh (tuyển dụng)", "Reference group (hiring)", "group_ref"),
    "unknown_people": ("Số người không rõ", "People not known", "int"),
    # allocation rounds
    "pair_id": ("Mã cặp", "Pair id", "int"),
    "worker_external_id": ("Mã người lao động", "Worker code", "text"),
    "commitment_external_id": ("Mã đơn hàng", "Commitment code", "text"),
    "enterprise_name": ("Doanh nghiệp", "Enterprise", "text"),
    "probability": ("Khả năng được tuyển", "Hire probability", "percent"),
    "distance_km": ("Quãng đường đi làm (km)", "Commute (km)", "km"),
    "reasons_vi": ("Lý do", "Reasons", "text"),
    "reasons": ("Lý do", "Reasons", "text"),
    "referral_id": ("Mã lượt giới thiệu", "Referral id", "int"),
}

#: Rates with intervals: "hire_rate", "hire_rate_low", "hire_rate_high" and the like.
_RATES: dict[str, tuple[str, str]] = {
    "graduation_rate": ("Tỷ lệ tốt nghiệp", "Graduation rate"),
    "referral_rate": ("Tỷ lệ được giới thiệu", "Referral rate"),
    "hire_rate": ("Tỷ lệ có việc", "Hire rate"),
    "placement_rate_referred": (
        "Tỷ lệ có việc của người được giới thiệu",
        "Hire rate of the referred",
    ),
    "retention_90d_rate": ("Tỷ lệ còn làm việc sau 90 ngày", "Retained at 90 days"),
    "scoring_rate": ("Tỷ lệ được gợi ý", "Scoring rate"),
    "scoring_impact": ("Tỷ lệ tác động (gợi ý)", "Scoring impact ratio"),
    "hire_impact": ("Tỷ lệ tác động (tuyển dụng)", "Hiring impact ratio"),
}
for _key, (_vi, _en) in _RATES.items():
    _kind = "number3" if _key.endswith("impact") else "percent"
    _base = f"{_key}_ratio" if _key.endswith("impact") else _key
    COLUMNS[_base] = (_vi, _en, _kind)
    COLUMNS[f"{_key}_low"] = (f"{_vi}, cận dưới 95 %", f"{_en}, 95 % low", _kind)
    COLUMNS[f"{_key}_high"] = (f"{_vi}, cận trên 95 %", f"{_en}, 95 % high", _kind)
