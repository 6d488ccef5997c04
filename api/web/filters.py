"""How numbers, money, dates and codes look on a page: Vietnamese conventions first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from api.web.common import lang, split_message
from matcher import clock, labels


def money(value: Any) -> str:
    """7200000 → '7.200.000 ₫' (Vietnamese groups thousands with dots; English with commas)."""
    if value is None or value == "":
        return "—"
    grouped = f"{int(round(float(value))):,}"
    if lang() == "vi":
        grouped = grouped.replace(",", ".")
    return f"{grouped} ₫"


def number(value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    text = f"{float(value):,.{digits}f}"
    if lang() == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def day(value: Any) -> str:
    """Dates as dd/mm/yyyy, in both languages (what Vietnamese forms use)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and len(value) > 10:
        value = dt.datetime.fromisoformat(value)
    elif isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):  # a stored moment (UTC): its day in Vietnam
        value = value.replace(tzinfo=None) + clock.VIETNAM
    return value.strftime("%d/%m/%Y")


def moment(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    # Stored in UTC; shown in Vietnam's time (UTC+7, no daylight saving).
    local = value.replace(tzinfo=None) + clock.VIETNAM
    return local.strftime("%d/%m/%Y %H:%M")


def phone(value: Any) -> str:
    """+84912345678 → '0912 345 678', as people write and read numbers in Vietnam."""
    if not value:
        return "—"
    text = str(value)
    if text.startswith("+84") and len(text) == 12:
        national = "0" + text[3:]
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    return text


def percent(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f} %"


def code_label(code: Any, kind: str) -> str:
    return labels.label(kind, code, lang())


def code_labels(codes: Any, kind: str) -> str:
    return ", ".join(labels.label(kind, c, lang()) for c in codes or []) or "—"


def reason_text(reason: dict[str, Any]) -> str:
    return reason.get("vi" if lang() == "vi" else "en") or reason.get("code", "")


def province(code: Any) -> str:
    """A province code as its name ("33" → "Hưng Yên")."""
    from matcher.places import gazetteer

    for ward in gazetteer().wards(str(code))[:1]:
        return ward.province_name
    return str(code or "")


def register(app: Flask) -> None:
    from api.web.common import safe_next

    app.jinja_env.filters.update(
        money=money,
        number=number,
        day=day,
        moment=moment,
        percent=percent,
        phone=phone,
        province=province,
        label=code_label,
        labels=code_labels,
        reason=reason_text,
        msg=split_message,
        safe_back=lambda target: safe_next(target, "/"),
    )
