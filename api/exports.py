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
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

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


def table_response(
    header: Sequence[str], rows: Iterable[Sequence[Any]], name: str, fmt: str
) -> Response:
    """Answer a table as CSV (``fmt="csv"``) or .xlsx (``fmt="xlsx"``) named ``name``."""
    if fmt == "xlsx":
        return Response(
            xlsx_bytes(header, rows), mimetype=XLSX_MIME, headers=_headers(name, "xlsx")
        )
    return Response(
        "\ufeff" + csv_text(header, rows), mimetype="text/csv", headers=_headers(name, "csv")
    )


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The table as CSV text with every cell made safe (the BOM is the caller's)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([_cell(h) for h in header])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return text.getvalue()


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One sheet in write-only mode; text cells are typed as strings so none is a formula."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def typed(value: Any) -> Any:
        value = _cell(value)
        if isinstance(value, dt.date):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "dd/mm/yyyy"  # the Vietnamese way of writing a date
            return cell
        if not isinstance(value, str):
            return value
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
        return cell

    sheet.append([typed(h) for h in header])
    for row in rows:
        sheet.append([typed(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def dict_table_response(rows: list[dict[str, Any]], name: str, fmt: str) -> Response:
    """Answer a list of flat dicts as a table; the first row's keys are the header."""
    header: list[str] = list(rows[0]) if rows else []
    return table_response(header, ([row.get(k) for k in header] for row in rows), name, fmt)


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
