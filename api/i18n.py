"""Validation messages in Vietnamese and English, for the API and the pages alike.

pydantic writes English ("Field required"); users read Vietnamese first. Each pydantic error
type gets a bilingual message here, written "vi / en" as every other message of the API is;
a type without one keeps pydantic's English after a Vietnamese lead-in, never nothing.
"""

from __future__ import annotations

from typing import Any

# {vi}, {en}: the pydantic context (limits) is formatted into both halves.
MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Bắt buộc phải có", "Field required"),
    "extra_forbidden": ("Trường không được hỗ trợ", "Unknown field"),
    "string_type": ("Phải là chuỗi ký tự", "Must be text"),
    "string_too_short": ("Cần ít nhất {min_length} ký tự", "At least {min_length} characters"),
    "string_too_long": ("Tối đa {max_length} ký tự", "At most {max_length} characters"),
    "string_pattern_mismatch": ("Sai định dạng", "Wrong format"),
    "int_type": ("Phải là số nguyên", "Must be a whole number"),
    "int_parsing": ("Phải là số nguyên", "Must be a whole number"),
    "int_from_float": ("Phải là số nguyên", "Must be a whole number"),
    "float_type": ("Phải là số", "Must be a number"),
    "float_parsing": ("Phải là số", "Must be a number"),
    "finite_number": ("Phải là số hữu hạn", "Must be a finite number"),
    "bool_type": ("Phải là đúng/sai", "Must be true or false"),
    "bool_parsing": ("Phải là đúng/sai", "Must be true or false"),
    "greater_than": ("Phải lớn hơn {gt}", "Must be greater than {gt}"),
    "greater_than_equal": ("Phải từ {ge} trở lên", "Must be at least {ge}"),
    "less_than": ("Phải nhỏ hơn {lt}", "Must be less than {lt}"),
    "less_than_equal": ("Tối đa {le}", "Must be at most {le}"),
    "date_type": ("Phải là ngày (YYYY-MM-DD)", "Must be a date (YYYY-MM-DD)"),
    "date_parsing": ("Ngày không hợp lệ (YYYY-MM-DD)", "Invalid date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("Ngày không hợp lệ (YYYY-MM-DD)", "Invalid date (YYYY-MM-DD)"),
    "datetime_type": ("Phải là thời điểm (ISO 8601)", "Must be a date-time (ISO 8601)"),
    "datetime_parsing": ("Thời điểm không hợp lệ", "Invalid date-time"),
    "datetime_from_date_parsing": ("Thời điểm không hợp lệ", "Invalid date-time"),
    "literal_error": ("Phải là một trong: {expected}", "Must be one of: {expected}"),
    "enum": ("Phải là một trong: {expected}", "Must be one of: {expected}"),
    "list_type": ("Phải là danh sách", "Must be a list"),
    "too_short": ("Cần ít nhất {min_length} mục", "At least {min_length} items"),
    "too_long": ("Tối đa {max_length} mục", "At most {max_length} items"),
    "dict_type": ("Phải là đối tượng", "Must be an object"),
    "model_type": ("Phải là đối tượng", "Must be an object"),
    "model_attributes_type": ("Phải là đối tượng", "Must be an object"),
    "json_invalid": ("JSON hỏng", "Invalid JSON"),
    "url_parsing": ("Đường dẫn không hợp lệ", "Invalid URL"),
    "bytes_type": ("Cần một tệp", "A file is required"),
}


def field_message(item: dict[str, Any]) -> str:
    """One pydantic error as 'vi / en'."""
    kind = item.get("type", "")
    context = {k: str(v) for k, v in (item.get("ctx") or {}).items()}
    if kind == "value_error":
        # Our own validators raise ValueError with a message that is already bilingual.
        return str(context.get("error") or item.get("msg", "")).removeprefix("Value error, ")
    words = MESSAGES.get(kind)
    if words is None:
        return f"Giá trị không hợp lệ / {item.get('msg', 'invalid value')}"
    try:
        vi, en = (w.format(**context) for w in words)
    except (KeyError, IndexError):
        vi, en = words
    return f"{vi} / {en}"
