"""Hand-built .xlsx files that no spreadsheet program would write, for the upload limits.

Written as raw XML in a zip so that a test controls exactly what the file declares (a
dimension, a cell far to the right) and what it holds.
"""

from __future__ import annotations

import io
import zipfile

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_XML = '<?xml version="1.0" encoding="UTF-8"?>'
_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'{_XML}<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
        f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def workbook(rows: list[str], dimension: str | None = None) -> bytes:
    """A one-sheet workbook from ready-made ``<row>`` elements."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'{_XML}<worksheet xmlns="{_NS}">{declared}'
        f"<sheetData>{''.join(rows)}</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def padded_rows(n_rows: int = 8000) -> bytes:
    """Issue 10's memory bomb: A1:XFD declared, a two-column header, short worker rows."""
    header = f'<row r="1">{_cell("A1", "external_id")}{_cell("B1", "full_name")}</row>'
    body = [
        f'<row r="{r}">{_cell(f"A{r}", f"NLD{r:06d}")}{_cell(f"B{r}", "Nguyễn Văn An")}</row>'
        for r in range(2, n_rows + 2)
    ]
    return workbook([header, *body], dimension=f"A1:XFD{n_rows + 1}")


def far_right_cells(n_rows: int = 2000, column: str = "XFD") -> bytes:
    """Rows that each hold one stray cell in ``column`` (default the last, XFD) beside a
    one-column header."""
    header = f'<row r="1">{_cell("A1", "external_id")}</row>'
    body = [
        f'<row r="{r}">{_cell(f"A{r}", f"NLD{r:06d}")}{_cell(f"{column}{r}", "x")}</row>'
        for r in range(2, n_rows + 2)
    ]
    return workbook([header, *body])


def wide_header(n_columns: int) -> bytes:
    """A header of ``n_columns`` named columns (column names c1, c2, …)."""
    cells = "".join(_cell(f"{_column(i)}1", f"c{i}") for i in range(1, n_columns + 1))
    return workbook([f'<row r="1">{cells}</row>', f'<row r="2">{_cell("A2", "x")}</row>'])


def _column(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def from_rows(rows: list[list[object]]) -> bytes:
    """An .xlsx written by openpyxl from rows of values (the first row: the header)."""
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
