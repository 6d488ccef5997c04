"""Tables as downloads: CSV with a BOM (so Excel reads Vietnamese) or .xlsx.

Every export goes through `table_response`, the one writer, because every export carries text
someone else typed: an enterprise's name, a course's provider. A spreadsheet treats a cell
that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (OWASP "CSV injection"), so such
text is written with a leading apostrophe, and .xlsx text cells are stored as strings, never
as formulas. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from api.export_words import COLUMNS
from matcher import labels

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Leading characters that make a spreadsheet evaluate text (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula: prefix it with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _cell(value: Any) -> Any:
    """A value as a safe cell: numbers, dates and booleans as they are, anything else as text."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, numbers.Number | dt.date):
        return value
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    return safe_text(str(value))


def _headers(name: str, extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{name}.{extension}"',
        # Exports carry personal data or planning figures: no cache may keep a copy.
        "Cache-Control": "no-store",
    }


#: How .xlsx shows each kind of number (COLUMNS' kinds); CSV keeps plain numbers.
NUMBER_FORMATS = {
    "int": "#,##0",
    "number": "#,##0.0",
    "number3": "0.000",
    "percent": "0.0%",
    "km": "0.0",
    "money": '#,##0 "₫"',
    "month": "mm/yyyy",
    "date": "dd/mm/yyyy",
}
#: What the summary sheet is called, and its two columns.
SUMMARY = {"vi": ("Tóm tắt", "Mục", "Giá trị"), "en": ("Summary", "Item", "Value")}


@dataclass
class Sheet:
    """One table of an export: a named sheet of the .xlsx (the CSV holds the first one).

    ``columns`` are keys of api.export_words.COLUMNS (their words become the header in the
    export's language; a key without words is shown as it is); ``rows`` are sequences in
    that order or dicts by key.
    """

    title_vi: str
    title_en: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Any] | dict[str, Any]]

    def title(self, lang: str) -> str:
        # Excel: at most 31 characters, none of []:*?/\ in a sheet's name.
        text = self.title_vi if lang == "vi" else self.title_en
        return "".join(c for c in text if c not in "[]:*?/\\")[:31]


def _kind(key: str) -> str:
    return COLUMNS.get(key, ("", "", "text"))[2]


def header_words(columns: Sequence[str], lang: str) -> list[str]:
    """A table's header in a language: the column words, or the key where there are none."""
    pick = 0 if lang == "vi" else 1
    return [COLUMNS[c][pick] if c in COLUMNS else c for c in columns]


def _cell_words(key: str, value: Any, row: dict[str, Any], lang: str) -> Any:
    """A cell as users read it: codes as words, months as months, lists joined."""
    kind = _kind(key)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return labels.label("yes_no", "yes" if value else "no", lang)
    if kind.startswith("code:"):
        table = kind[5:]
        if table == "fairness_attribute":
            return " × ".join(
                labels.label(table, part, lang) for part in str(value).split(fair_cross())
            )
        return labels.label(table, str(value), lang)
    if kind.startswith("code_list:"):
        parts = value if isinstance(value, list | tuple) else str(value).split(";")
        return "; ".join(labels.label(kind[10:], str(p).strip(), lang) for p in parts)
    if kind == "group":
        return labels.group_label(str(row.get("attribute", "")), str(value), lang)
    if kind == "group_ref":
        attribute = str(row.get("attribute", ""))
        if fair_cross() in attribute:
            return str(value)
        return labels.group_label(attribute, str(value), lang)
    if kind == "month" and isinstance(value, str) and len(value) == 7:
        return dt.date(int(value[:4]), int(value[5:]), 1)
    if isinstance(value, np.generic):
        return value.item()
    return value


def fair_cross() -> str:
    from matcher.fairness import CROSS

    return CROSS


def _localised(sheet: Sheet, lang: str) -> Iterator[list[Any]]:
    for row in sheet.rows:
        by_key = row if isinstance(row, dict) else dict(zip(sheet.columns, row, strict=True))
        yield [_cell_words(key, by_key.get(key), by_key, lang) for key in sheet.columns]


def export_response(
    name: str,
    fmt: str,
    sheets: Sequence[Sheet],
    *,
    lang: str = "vi",
    summary: Sequence[tuple[str, str, Any]] = (),
) -> Response:
    """Answer an export: CSV (the first sheet, with a BOM so Excel reads Vietnamese) or .xlsx
    (a summary sheet of ``(Vietnamese, English, value)`` items first, then every sheet), in
    Vietnamese unless ``lang="en"``. The one writer of every export (module docstring)."""
    if fmt == "xlsx":
        data = workbook_bytes(sheets, lang=lang, summary=summary)
        return Response(data, mimetype=XLSX_MIME, headers=_headers(name, "xlsx"))
    first = sheets[0]
    text = csv_text(header_words(first.columns, lang), _csv_rows(first, lang))
    return Response("\ufeff" + text, mimetype="text/csv", headers=_headers(name, "csv"))


def _csv_rows(sheet: Sheet, lang: str) -> Iterator[list[Any]]:
    """CSV keeps numbers plain and months as YYYY-MM: it is also read by programs."""
    for values in _localised(sheet, lang):
        yield [
            v.strftime("%Y-%m") if isinstance(v, dt.date) and _kind(k) == "month" else v
            for k, v in zip(sheet.columns, values, strict=True)
        ]


def table_response(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    name: str,
    fmt: str,
    *,
    lang: str = "vi",
    title: tuple[str, str] = ("Dữ liệu", "Data"),
    summary: Sequence[tuple[str, str, Any]] = (),
) -> Response:
    """Answer one table as CSV (``fmt="csv"``) or .xlsx (``fmt="xlsx"``) named ``name``."""
    return export_response(
        name, fmt, [Sheet(title[0], title[1], list(header), rows)], lang=lang, summary=summary
    )


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The table as CSV text with every cell made safe (the BOM is the caller's)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([_cell(h) for h in header])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return text.getvalue()


def _typed(sheet: Any, value: Any, kind: str = "text", bold: bool = False) -> Any:
    """A write-only cell: text typed as a string (openpyxl would store "=…" as a formula),
    numbers and dates with their format."""
    value = _cell(value)
    cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = Font(bold=True)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, dt.date):
        cell.number_format = NUMBER_FORMATS["month" if kind == "month" else "date"]
    elif isinstance(value, numbers.Number) and kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def workbook_bytes(
    sheets: Sequence[Sheet], *, lang: str = "vi", summary: Sequence[tuple[str, str, Any]] = ()
) -> bytes:
    """The .xlsx of an export, in write-only mode (a few MB of rows stay a few MB of RAM)."""
    book = Workbook(write_only=True)
    if summary:
        title, item, value = SUMMARY[lang]
        sheet = book.create_sheet(title)
        sheet.column_dimensions["A"].width = 44
        sheet.column_dimensions["B"].width = 60
        sheet.append([_typed(sheet, item, bold=True), _typed(sheet, value, bold=True)])
        for vi, en, figure in summary:
            kind = "percent" if isinstance(figure, float) and 0 <= figure <= 1 else "number"
            if isinstance(figure, int):
                kind = "int"
            sheet.append([_typed(sheet, vi if lang == "vi" else en), _typed(sheet, figure, kind)])
    for spec in sheets:
        sheet = book.create_sheet(spec.title(lang))
        words = header_words(spec.columns, lang)
        for index, word in enumerate(words, start=1):
            width = min(max(10, len(word) + 2), 40)
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_typed(sheet, w, bold=True) for w in words])
        kinds = [_kind(c) for c in spec.columns]
        for values in _localised(spec, lang):
            sheet.append([_typed(sheet, v, k) for v, k in zip(values, kinds, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: Template columns Excel must keep as text (leading zeros, long digit strings).
TEMPLATE_TEXT_COLUMNS = {"ward_code", "phone", "tax_code", "contact_phone", "occupation_isco"}


def import_template_xlsx(kind: str) -> bytes:
    """The upload template of a kind ("Tải file mẫu"): Vietnamese headers on sheet "Dữ liệu",
    a guide sheet, and text columns formatted as text so Excel keeps a ward code's leading
    zero. Only our own words go in, so no cell needs the formula guard."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from matcher import ingest

    specs = ingest.COLUMNS[kind]
    headers = ingest.HEADERS_VI[kind]
    book = Workbook()
    sheet = book.active
    sheet.title = "Dữ liệu"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for index, name in enumerate(specs, start=1):
        cell = sheet.cell(row=1, column=index, value=headers[name])
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[cell.column_letter].width = max(14, len(headers[name]) + 4)
        if name in TEMPLATE_TEXT_COLUMNS or specs[name].type in ("id", "text"):
            for row in range(2, 502):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    guide = book.create_sheet("Hướng dẫn")
    guide.append(
        ["Cột", "Mã cột (tiếng Anh)", "Bắt buộc", "Hướng dẫn", "Guidance (English)", "Có thể ghi"]
    )
    for cell in guide[1]:
        cell.font, cell.fill = bold, fill
    for name, spec in specs.items():
        place = spec.group == "place" and name in ("ward_code", "address")
        required = (
            "có"
            if spec.required
            else ("một trong hai" if place and kind != "commitments" else "không")
        )
        guide.append([headers[name], name, required, spec.help_vi, spec.help_en, _words(spec)])
    for letter, width in zip("ABCDEF", (34, 24, 12, 70, 70, 40), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _words(spec) -> str:
    """The Vietnamese words a cell of a choice column may hold instead of its codes."""
    from matcher import labels

    if spec.type not in ("choice", "choice_list"):
        return "ngày/tháng/năm, ví dụ 15/12/2026" if spec.type == "date" else ""
    words = []
    for kind in labels.KINDS:
        table = labels.table(kind)
        if set(spec.choices) <= set(table):
            words = [table[code][0] for code in spec.choices]
            break
    return "; ".join(words)
