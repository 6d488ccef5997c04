"""Tables as downloads: CSV with a BOM (so Excel reads Vietnamese) or .xlsx."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
from flask import Response

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def table_response(
    header: Sequence[str], rows: Iterable[Sequence[Any]], name: str, fmt: str
) -> Response:
    """Answer a table as CSV (``fmt="csv"``) or .xlsx (``fmt="xlsx"``) named ``name``."""
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(list(header))
        for row in rows:
            sheet.append([_cell(v) for v in row])
        buffer = io.BytesIO()
        book.save(buffer)
        return Response(
            buffer.getvalue(),
            mimetype=XLSX_MIME,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return Response(
        "\ufeff" + text.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def dict_table_response(rows: list[dict[str, Any]], name: str, fmt: str) -> Response:
    """Answer a list of flat dicts as a table; the first row's keys are the header."""
    header: list[str] = list(rows[0]) if rows else []
    return table_response(header, ([row.get(k) for k in header] for row in rows), name, fmt)
