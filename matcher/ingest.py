"""Read and validate import files (CSV or .xlsx) against the public exchange contract.

Two steps, neither touching a database:

1. :func:`read_table` turns bytes into a :class:`Table` of cell strings, refusing what is not
   a readable table with a :class:`~matcher.errors.FileFormatError`.
2. :func:`validate` checks every cell of every row against :data:`COLUMNS` and returns a
   :class:`Batch`: typed records for the good rows and every problem of every bad row.

The api then checks cross-references (does ``worker_external_id`` exist?) and upserts.

Decisions the contract leaves open, documented here and in each column's help text:

- Money is whole VND per month, digits only, optionally grouped in threes with ``.`` or ``,``
  (one kind throughout): ``8000000``, ``8.000.000`` and ``8,000,000`` are 8 million;
  ``8.5``, ``8.000.000,00``, ``8,000.000``, ``-1`` and ``8 triệu`` are refused. ``1.500`` is
  therefore 1500, never 1.5: money has no decimals here.
- Decimal numbers (experience, commute, coordinates) take ``.`` or ``,`` as the decimal mark,
  because Vietnamese Excel writes ``20,94``; they never have digit grouping.
- A 4-digit ward code is a 5-digit code whose leading zero Excel dropped: it is zero-padded
  and the import report says so (a place note). Tax codes and phone numbers are not padded,
  since a dropped digit there would be guessed, not repaired; the error says how to fix it.
- Empty optional cells become ``None`` (``[]`` for lists), except ``education``
  (``"unspecified"``) and ``max_commute_km`` (30).
- Cells may not contain control characters (tabs and line breaks included).
- A skill item that matches no skill code is not dropped: the report says so, and the text
  is kept on the record (``skills_unrecognised``) for caseworkers to read; it is never a
  model feature.
- Text is stored in Unicode NFC. Invisible format characters (zero-width space U+200B,
  zero-width joiners, word joiner U+2060, byte-order mark U+FEFF, soft hyphen, direction
  marks) are removed from names, addresses and skills, and refused in identifiers and codes
  (external ids, tax codes, phone numbers, ward codes, trades): ``NLD000001`` followed by
  U+200B would otherwise be a second record that looks like the first.
- Limits: at most 100 columns in the header (cells right of the last named column are not
  read), 500,000 data rows, 10,000,000 cells, 64 MB per upload; a CSV line may hold at most
  1,000 separators; an .xlsx may not inflate beyond 512 MB (128 MB of shared text), nor hold
  a row of more than 16,384 cells, more than 20,000,000 cells in all, or a row numbered
  beyond 1,048,576 (Excel's own limits). An .xlsx is read as a stream of its cells; the size
  it declares (its dimension) is ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import functools
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from matcher.errors import FileFormatError
from matcher.taxonomy import EDUCATION_CODES, TRADE_CODES
from matcher.text import fold

KINDS = ("workers", "enterprises", "courses", "enrollments", "commitments", "referrals")

GENDERS = ("female", "male", "other", "unspecified")
COURSE_LEVELS = ("elementary", "intermediate", "college")
ENROLLMENT_STATUSES = ("enrolled", "graduated", "dropped")
REFERRAL_OUTCOMES = ("pending", "hired", "not_hired", "declined", "no_show")
PLACE_SOURCES = ("ward_code", "address_2025", "address_legacy_converted", "coordinates")

MAX_WAGE_VND = 1_000_000_000
MAX_EXTERNAL_ID_LENGTH = 100
MAX_NAME_LENGTH = 200
MAX_ADDRESS_LENGTH = 500
LAT_RANGE = (8.0, 24.0)
LON_RANGE = (102.0, 110.0)
DEFAULT_MAX_COMMUTE_KM = 30.0

# Upload limits: what a file may declare does not matter, only what these allow. Every kind
# has at most 20 columns, so 100 leaves room for a sender's extra columns (they are ignored).
MAX_COLUMNS = 100
MAX_CELLS = 10_000_000
# An .xlsx is a zip: a few MB can inflate to GB. openpyxl streams the sheet but holds the
# shared-strings table in memory, so both the whole and that part are capped (uncompressed).
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_SHARED_STRINGS = 128 * 1024 * 1024
# openpyxl builds every cell of a row before it can be cut, so cells per row and in all are
# counted first, with a plain XML scan that builds nothing; Excel itself stops at XFD1048576.
MAX_XLSX_CELLS_PER_ROW = 16_384
MAX_XLSX_ROW_NUMBER = 1_048_576
# A CSV line is split whole before it can be cut: no real line has a thousand separators.
MAX_CSV_SEPARATORS = 10 * MAX_COLUMNS


# --------------------------------------------------------------------------------------------
# Column specifications: the single source for validation, error messages and the docs.


@dataclass(frozen=True)
class ColumnSpec:
    """Describe one column of an import file.

    ``type`` is one of: ``id``, ``text``, ``integer``, ``number``, ``money``, ``date``,
    ``boolean``, ``choice``, ``choice_list``, ``skills``, ``ward_code``, ``address``, ``lat``,
    ``lon``, ``mobile_phone``, ``phone``, ``email``, ``tax_code``, ``isco``, ``birth_year``.
    ``group`` is ``"place"`` for the columns of which one (ward_code or address) is required.
    """

    name: str
    type: str
    required: bool
    help_vi: str
    help_en: str
    choices: tuple[str, ...] = ()
    default: Any = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    group: str | None = None


def _spec(name: str, type_: str, required: bool, vi: str, en: str, **extra: Any) -> ColumnSpec:
    return ColumnSpec(name, type_, required, vi, en, **extra)


def _external_id(name: str, required: bool, vi: str, en: str) -> ColumnSpec:
    return _spec(name, "id", required, vi, en, max_length=MAX_EXTERNAL_ID_LENGTH)


_MONEY_HELP_VI = (
    "đồng/tháng, số nguyên ≥ 0 (tối đa 1.000.000.000); có thể nhóm 3 chữ số bằng '.' hoặc ','"
    " (8000000, 8.000.000, 8,000,000); không có phần thập phân"
)
_MONEY_HELP_EN = (
    "whole VND per month ≥ 0 (at most 1,000,000,000); digits may be grouped in threes with '.'"
    " or ',' (8000000, 8.000.000, 8,000,000); no decimals"
)


def _place_columns(required: bool, what_vi: str, what_en: str) -> list[ColumnSpec]:
    need_vi = "cần ward_code hoặc address" if required else "không bắt buộc"
    need_en = "ward_code or address required" if required else "optional"
    return [
        _spec(
            "ward_code",
            "ward_code",
            False,
            f"{what_vi}: mã phường/xã 5 chữ số (danh mục 2025); {need_vi}; mã 4 chữ số do Excel"
            " mất số 0 đầu được tự thêm số 0",
            f"{what_en}: official 5-digit ward/commune code (2025 scheme); {need_en}; a 4-digit"
            " code (leading zero lost by Excel) is zero-padded",
            group="place",
        ),
        _spec(
            "address",
            "address",
            False,
            f"{what_vi}: địa chỉ; địa chỉ cũ theo huyện được chuyển sang phường/xã 2025; nếu có"
            " ward_code thì ward_code được dùng và địa chỉ chỉ lưu làm văn bản",
            f"{what_en}: free-text address; old district-based addresses are converted to the"
            " 2025 ward; when ward_code is given it wins and the address is kept as text",
            max_length=MAX_ADDRESS_LENGTH,
            group="place",
        ),
        _spec(
            "lat",
            "lat",
            False,
            "vĩ độ WGS84 (8 đến 24), đi cùng lon, thay toạ độ của phường/xã",
            "WGS84 latitude (8 to 24), together with lon; overrides the ward's coordinates",
            minimum=LAT_RANGE[0],
            maximum=LAT_RANGE[1],
            group="place",
        ),
        _spec(
            "lon",
            "lon",
            False,
            "kinh độ WGS84 (102 đến 110), đi cùng lat",
            "WGS84 longitude (102 to 110), together with lat",
            minimum=LON_RANGE[0],
            maximum=LON_RANGE[1],
            group="place",
        ),
    ]


def _trade(required: bool) -> ColumnSpec:
    return _spec(
        "trade",
        "choice",
        required,
        "nghề: " + ", ".join(TRADE_CODES),
        "trade: " + ", ".join(TRADE_CODES),
        choices=TRADE_CODES,
    )


def _skills(name: str, vi: str, en: str) -> ColumnSpec:
    return _spec(
        name,
        "skills",
        False,
        f"{vi}; danh sách cách nhau bởi ';': mã kỹ năng hoặc mô tả tự do (hệ thống chuẩn hoá;"
        " mục không nhận ra được báo lại và giữ làm ghi chú, không dùng để kết nối)",
        f"{en}; ';'-separated list of skill codes or free text (normalised by the system;"
        " unrecognised items are reported and kept as a note, never used for matching)",
        default=(),
    )


def _date(name: str, required: bool, vi: str, en: str) -> ColumnSpec:
    return _spec(name, "date", required, f"{vi} (YYYY-MM-DD)", f"{en} (YYYY-MM-DD)")


def _boolean(name: str, vi: str, en: str) -> ColumnSpec:
    return _spec(
        name,
        "boolean",
        False,
        f"{vi}; true/false, 1/0, yes/no, có/không",
        f"{en}; true/false, 1/0, yes/no, có/không",
    )


def _by_name(specs: Iterable[ColumnSpec]) -> dict[str, ColumnSpec]:
    return {spec.name: spec for spec in specs}


COLUMNS: dict[str, dict[str, ColumnSpec]] = {
    "workers": _by_name(
        [
            _external_id("external_id", True, "mã người lao động", "the worker's id"),
            _spec(
                "full_name",
                "text",
                True,
                "họ và tên",
                "full name",
                max_length=MAX_NAME_LENGTH,
            ),
            _spec(
                "birth_year",
                "birth_year",
                True,
                "năm sinh, từ 15 đến 80 tuổi",
                "year of birth, aged 15 to 80",
            ),
            _spec(
                "gender",
                "choice",
                False,
                "giới tính (thông tin được bảo vệ): " + ", ".join(GENDERS),
                "gender (protected): " + ", ".join(GENDERS),
                choices=GENDERS,
            ),
            _boolean("ethnic_minority", "dân tộc thiểu số (được bảo vệ)", "ethnic minority"),
            _boolean("disability", "khuyết tật (được bảo vệ)", "disability (protected)"),
            *_place_columns(True, "nơi ở", "home"),
            _spec(
                "phone",
                "mobile_phone",
                False,
                "số di động Việt Nam: 0xxxxxxxxx hoặc +84xxxxxxxxx (cho phép dấu cách, '.', '-');"
                " lưu dạng +84xxxxxxxxx",
                "Vietnamese mobile: 0xxxxxxxxx or +84xxxxxxxxx (spaces, dots and dashes"
                " allowed); stored as +84xxxxxxxxx",
            ),
            _spec(
                "education",
                "choice",
                False,
                "trình độ: " + ", ".join(EDUCATION_CODES) + "; mặc định unspecified",
                "education: " + ", ".join(EDUCATION_CODES) + "; default unspecified",
                choices=EDUCATION_CODES,
                default="unspecified",
            ),
            _spec(
                "trades",
                "choice_list",
                False,
                "các nghề quan tâm, cách nhau bởi ';': " + ", ".join(TRADE_CODES),
                "trades of interest, ';'-separated: " + ", ".join(TRADE_CODES),
                choices=TRADE_CODES,
                default=(),
            ),
            _skills("skills", "kỹ năng", "skills"),
            _spec(
                "experience_years",
                "number",
                False,
                "số năm kinh nghiệm, từ 0 đến 60",
                "years of experience, 0 to 60",
                minimum=0,
                maximum=60,
            ),
            _spec("expected_wage_vnd", "money", False, _MONEY_HELP_VI, _MONEY_HELP_EN),
            _spec(
                "max_commute_km",
                "number",
                False,
                "quãng đường đi làm tối đa (km), > 0 và ≤ 200, mặc định 30",
                "maximum commute (km), > 0 and ≤ 200, default 30",
                minimum=0,
                maximum=200,
                exclusive_minimum=True,
                default=DEFAULT_MAX_COMMUTE_KM,
            ),
            _date("available_from", False, "sẵn sàng đi làm từ ngày", "available from"),
            _date(
                "consent_on",
                False,
                "ngày người lao động đồng ý xử lý dữ liệu cá nhân; không ở tương lai",
                "date the worker consented to the processing of their data; not in the future",
            ),
        ]
    ),
    "enterprises": _by_name(
        [
            _external_id("external_id", True, "mã doanh nghiệp", "the enterprise's id"),
            _spec("name", "text", True, "tên doanh nghiệp", "name", max_length=MAX_NAME_LENGTH),
            _spec(
                "tax_code",
                "tax_code",
                True,
                "mã số thuế: 10 chữ số, hoặc 10 chữ số-3 chữ số (định dạng cột là Văn bản để"
                " Excel không mất số 0 đầu)",
                "tax code: 10 digits, or 10 digits-3 digits (format the column as Text so"
                " Excel keeps the leading zero)",
            ),
            *_place_columns(True, "trụ sở", "head site"),
            _spec(
                "sector",
                "text",
                False,
                "ngành, văn bản tự do",
                "sector, free text",
                max_length=MAX_NAME_LENGTH,
            ),
            _spec(
                "contact_email",
                "email",
                False,
                "email liên hệ",
                "contact email",
                max_length=MAX_NAME_LENGTH,
            ),
            _spec(
                "contact_phone",
                "phone",
                False,
                "điện thoại liên hệ (di động hoặc cố định): 0 + 9–10 chữ số hoặc +84…;"
                " lưu dạng +84…",
                "contact phone (mobile or landline): 0 + 9 to 10 digits or +84…; stored as +84…",
            ),
        ]
    ),
    "courses": _by_name(
        [
            _external_id("external_id", True, "mã khoá học", "the course's id"),
            _spec("name", "text", True, "tên khoá học", "name", max_length=MAX_NAME_LENGTH),
            _trade(True),
            _spec(
                "provider",
                "text",
                True,
                "tên cơ sở đào tạo",
                "training centre's name",
                max_length=MAX_NAME_LENGTH,
            ),
            *_place_columns(True, "nơi học", "where it is taught"),
            _spec(
                "level",
                "choice",
                False,
                "trình độ: elementary (sơ cấp, dưới 3 tháng), intermediate (trung cấp),"
                " college (cao đẳng)",
                "level: elementary (under 3 months), intermediate, college",
                choices=COURSE_LEVELS,
            ),
            _date("start_date", True, "ngày khai giảng", "start date"),
            _date("end_date", True, "ngày kết thúc, không trước start_date", "end date, ≥ start"),
            _spec(
                "capacity",
                "integer",
                True,
                "số chỗ, số nguyên ≥ 1",
                "places, whole number ≥ 1",
                minimum=1,
            ),
        ]
    ),
    "enrollments": _by_name(
        [
            _external_id("worker_external_id", True, "mã người lao động", "the worker's id"),
            _external_id("course_external_id", True, "mã khoá học", "the course's id"),
            _spec(
                "status",
                "choice",
                True,
                "trạng thái: " + ", ".join(ENROLLMENT_STATUSES),
                "status: " + ", ".join(ENROLLMENT_STATUSES),
                choices=ENROLLMENT_STATUSES,
            ),
            _date(
                "completed_on",
                False,
                "ngày tốt nghiệp hoặc bỏ học; để trống khi enrolled; không ở tương lai",
                "date of graduating or dropping out; empty when enrolled; not in the future",
            ),
        ]
    ),
    "commitments": _by_name(
        [
            _external_id("external_id", True, "mã cam kết", "the commitment's id"),
            _external_id("enterprise_external_id", True, "mã doanh nghiệp", "the enterprise's id"),
            _trade(True),
            _spec(
                "occupation_isco",
                "isco",
                False,
                "mã nghề ISCO-08 4 chữ số; phải thuộc nghề (trade) đã khai",
                "ISCO-08 4-digit occupation code; must belong to the trade given",
            ),
            _spec(
                "slots",
                "integer",
                True,
                "số chỗ cam kết, 1 đến 100.000",
                "places promised, 1 to 100,000",
                minimum=1,
                maximum=100_000,
            ),
            _spec("wage_vnd", "money", True, _MONEY_HELP_VI, _MONEY_HELP_EN),
            *_place_columns(False, "nơi làm việc (mặc định trụ sở doanh nghiệp)", "site"),
            _date("start_date", True, "ngày bắt đầu", "start date"),
            _date("expires_on", False, "hết hạn, không trước start_date", "expiry, ≥ start"),
            _spec(
                "min_education",
                "choice",
                False,
                "trình độ tối thiểu: " + ", ".join(EDUCATION_CODES),
                "minimum education: " + ", ".join(EDUCATION_CODES),
                choices=EDUCATION_CODES,
            ),
            _skills("required_skills", "kỹ năng yêu cầu", "required skills"),
            _boolean("shift_work", "làm ca", "shift work"),
            _external_id(
                "course_external_id",
                False,
                "khoá học mà doanh nghiệp sẽ tuyển học viên tốt nghiệp",
                "the course whose graduates it will hire",
            ),
        ]
    ),
    "referrals": _by_name(
        [
            _external_id(
                "external_id",
                False,
                "mã giới thiệu (nếu trống, khoá là người lao động + cam kết + ngày)",
                "the referral's id (when empty, worker + commitment + referred_on is the key)",
            ),
            _external_id("worker_external_id", True, "mã người lao động", "the worker's id"),
            _external_id("commitment_external_id", True, "mã cam kết", "the commitment's id"),
            _date("referred_on", True, "ngày giới thiệu, không ở tương lai", "referral date"),
            _spec(
                "outcome",
                "choice",
                True,
                "kết quả: " + ", ".join(REFERRAL_OUTCOMES),
                "outcome: " + ", ".join(REFERRAL_OUTCOMES),
                choices=REFERRAL_OUTCOMES,
            ),
            _date(
                "hired_on",
                False,
                "ngày nhận việc, chỉ khi outcome là hired; không trước referred_on",
                "hire date, only when outcome is hired; ≥ referred_on",
            ),
            _date(
                "left_on",
                False,
                "ngày nghỉ việc, chỉ khi outcome là hired; không trước hired_on",
                "date the worker left, only when hired; ≥ hired_on",
            ),
        ]
    ),
}

# Columns whose values together identify a record within one file.
_KEYS: dict[str, tuple[str, ...]] = {
    "workers": ("external_id",),
    "enterprises": ("external_id",),
    "courses": ("external_id",),
    "enrollments": ("worker_external_id", "course_external_id"),
    "commitments": ("external_id",),
    "referrals": ("external_id",),
}
_REFERRAL_NATURAL_KEY = ("worker_external_id", "commitment_external_id", "referred_on")

# Which kinds carry a place, and whether it is required.
_PLACE_REQUIRED: dict[str, bool] = {
    "workers": True,
    "enterprises": True,
    "courses": True,
    "commitments": False,
}


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Table:
    """Cells of a file as strings; ``row_numbers`` are spreadsheet rows (the header is row 1)."""

    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]


@dataclass(slots=True)
class RowError:
    """One problem of one row (``row`` 1 with a column name is a header problem)."""

    row: int
    column: str | None
    reason: str


@dataclass(slots=True)
class SkillNote:
    """What one free-text skill item became; ``code`` None means it was not recognised."""

    row: int
    column: str
    text: str
    code: str | None
    confidence: float | None


@dataclass(slots=True)
class PlaceNote:
    """How a row's place was found, when it took more than reading a ward code."""

    row: int
    text: str
    ward_code: str
    ward_name: str
    method: str
    note: str


@dataclass(slots=True)
class Record:
    """A valid row's typed, canonical values, keyed by column name."""

    row: int
    values: dict[str, object]


@dataclass
class Batch:
    """The outcome of validating one file: good records, and every problem of the bad rows."""

    kind: str
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skill_notes: list[SkillNote] = field(default_factory=list)
    place_notes: list[PlaceNote] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    total_rows: int = 0

    @property
    def rejected_rows(self) -> list[int]:
        """Return the sorted row numbers that have at least one error."""
        return sorted({error.row for error in self.errors})

    @property
    def file_rejected(self) -> bool:
        """Return whether a header problem rejected the whole file."""
        return any(error.row == 1 for error in self.errors)


# --------------------------------------------------------------------------------------------
# Reading


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc)
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_DELIMITERS = (",", ";")


def read_table(
    data: bytes,
    filename: str,
    *,
    max_rows: int | None = None,
    max_columns: int = MAX_COLUMNS,
    max_cells: int = MAX_CELLS,
) -> Table:
    """Read a CSV (UTF-8, ',' or ';') or .xlsx file into a :class:`Table` of cell strings.

    The header must be row 1. Fully blank rows are skipped but keep their numbering, so a
    row number always points at the row the user sees in Excel. ``max_rows`` limits the
    number of (non-blank) data rows, ``max_columns`` the header's width and ``max_cells``
    rows × width; cells right of the header are ignored. An .xlsx is streamed (read-only,
    its declared dimensions ignored), so memory follows these limits, not the file's claims.

    Raises
    ------
    FileFormatError
        When the file is empty, not a CSV or .xlsx, not UTF-8, has no header row, or breaks
        one of the limits.
    """
    if not data.removeprefix(_UTF8_BOM).strip():
        raise FileFormatError("Tệp rỗng / the file is empty", code="empty_file")
    name = (filename or "").lower()
    limits = _Limits(max_rows, max_columns, max_cells)
    if data.startswith(_ZIP_MAGIC):
        header, rows, numbers = _read_xlsx(data, limits)
    elif data.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise FileFormatError(
            "Tệp Excel cũ (.xls) không được hỗ trợ, hãy lưu thành .xlsx hoặc CSV UTF-8 / legacy"
            " Excel .xls files are not supported; save as .xlsx or CSV UTF-8",
            code="unsupported_format",
        )
    elif name.endswith((".xlsx", ".xlsm")):
        raise FileFormatError(
            "Tệp có đuôi .xlsx nhưng không phải bảng tính Excel hợp lệ / the file is named"
            " .xlsx but is not a valid Excel workbook",
            code="unreadable",
        )
    else:
        header, rows, numbers = _read_csv(data, limits)
    return Table(header=header, rows=rows, row_numbers=numbers)


@dataclass(frozen=True)
class _Limits:
    rows: int | None
    columns: int
    cells: int


def _too_many_rows(max_rows: int) -> FileFormatError:
    return FileFormatError(
        f"Tệp có hơn {max_rows} dòng dữ liệu, hãy chia nhỏ tệp / the file has more than"
        f" {max_rows} data rows; split it",
        code="too_many_rows",
    )


def _no_header() -> FileFormatError:
    return FileFormatError(
        "Dòng 1 trống: dòng đầu tiên phải là tên các cột / row 1 is empty: the first row must"
        " hold the column names",
        code="no_header",
        row=1,
    )


def _collect(
    records: Iterable[list[str]], limits: _Limits
) -> tuple[list[str], list[list[str]], list[int]]:
    """Split header from data rows, dropping fully blank rows but keeping row numbers.

    The header's last named column sets the width; every row is cut to it, so a row padded
    to thousands of cells costs no more than a short one.
    """
    iterator = iter(records)
    header = next(iterator, None)
    if header is None:
        raise FileFormatError("Tệp rỗng / the file is empty", code="empty_file")
    width = len(header)
    while width and not header[width - 1].strip():
        width -= 1
    if width == 0:
        if any(any(cell.strip() for cell in row[: limits.columns]) for row in iterator):
            raise _no_header()
        raise FileFormatError("Tệp rỗng / the file is empty", code="empty_file")
    if width > limits.columns:
        raise FileFormatError(
            f"Dòng tiêu đề có hơn {limits.columns} cột / the header row has more than"
            f" {limits.columns} columns",
            code="too_many_columns",
            row=1,
        )
    header = header[:width]
    rows: list[list[str]] = []
    numbers: list[int] = []
    limit = limits.rows if limits.rows is not None else -1
    max_rows_by_cells = limits.cells // width
    for number, row in enumerate(iterator, start=2):
        if len(row) > width:
            # Keep one stray cell, if any, so that validation can name the row.
            stray = next((cell for cell in row[width:] if cell and not cell.isspace()), None)
            row = row[:width] if stray is None else [*row[:width], stray]
        for cell in row:
            if cell and not cell.isspace():
                break
        else:
            continue
        if len(rows) == limit:
            raise _too_many_rows(limit)
        if len(rows) == max_rows_by_cells:
            raise FileFormatError(
                f"Tệp có hơn {limits.cells} ô dữ liệu, hãy chia nhỏ tệp / the file has more"
                f" than {limits.cells} cells; split it",
                code="too_many_cells",
            )
        rows.append(row)
        numbers.append(number)
    return header, rows, numbers


def _decode(data: bytes) -> str:
    if data.startswith(_UTF16_BOMS):
        raise FileFormatError(
            "Tệp mã UTF-16 (Excel 'Unicode Text'), hãy lưu thành 'CSV UTF-8' / the file is"
            " UTF-16 (Excel 'Unicode Text'); save it as 'CSV UTF-8 (Comma delimited)'",
            code="encoding",
            offset=0,
            row=1,
        )
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise FileFormatError(
            f"Tệp không phải CSV hay .xlsx (có byte 0 ở vị trí {offset}) / the file is neither"
            f" CSV nor .xlsx (NUL byte at byte offset {offset})",
            code="unsupported_format",
            offset=offset,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # exc.start counts from after the BOM, if one was stripped.
        offset = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        byte = data[offset : offset + 1].hex().upper()
        raise FileFormatError(
            f"Tệp không phải mã UTF-8: byte 0x{byte} ở vị trí {offset} (dòng {line}) không đọc"
            " được; có thể tệp lưu bằng mã Windows (cp1258/cp1252). Hãy lưu lại bằng"
            f" 'CSV UTF-8' / the file is not UTF-8: byte 0x{byte} at byte offset {offset}"
            f" (line {line}) cannot be decoded, probably a Windows code page (cp1258/cp1252);"
            " save it as 'CSV UTF-8 (Comma delimited)'",
            code="encoding",
            offset=offset,
            row=line,
        ) from None


def _sniff_delimiter(text: str) -> str:
    """Pick ',' or ';' by which one splits the header row into more columns."""
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            count = len(next(reader, []))
        except csv.Error:
            continue
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _read_csv(data: bytes, limits: _Limits) -> tuple[list[str], list[list[str]], list[int]]:
    text = _decode(data)
    delimiter = _sniff_delimiter(text)
    for number, line in enumerate(text.split("\n"), start=1):
        if line.count(delimiter) > MAX_CSV_SEPARATORS:
            raise FileFormatError(
                f"Dòng {number} có hơn {MAX_CSV_SEPARATORS} dấu phân cách '{delimiter}' / line"
                f" {number} has more than {MAX_CSV_SEPARATORS} '{delimiter}' separators",
                code="too_many_columns",
                row=number,
            )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _collect(reader, limits)
    except csv.Error as exc:
        raise FileFormatError(
            f"CSV không đọc được ở dòng {reader.line_num}: {exc} / malformed CSV at line"
            f" {reader.line_num}: {exc}",
            code="malformed_csv",
            row=reader.line_num,
        ) from None


def _xlsx_cell(value: object) -> str:
    """Render an Excel cell as the canonical string a CSV would have held."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _check_zip(data: bytes) -> None:
    """Refuse a workbook that would inflate beyond the caps before any XML is parsed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileFormatError(
            "Không đọc được tệp .xlsx (tệp hỏng hoặc không phải bảng tính Excel) / cannot"
            f" read the .xlsx file (damaged, or not an Excel workbook): {exc}",
            code="unreadable",
        ) from None
    total = sum(member.file_size for member in members)
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if total > MAX_XLSX_UNCOMPRESSED or strings > MAX_XLSX_SHARED_STRINGS:
        raise FileFormatError(
            f"Tệp .xlsx giải nén ra {total // 2**20} MB, vượt giới hạn"
            f" {MAX_XLSX_UNCOMPRESSED // 2**20} MB; hãy lưu thành CSV hoặc chia nhỏ tệp / the"
            f" .xlsx inflates to {total // 2**20} MB, over the"
            f" {MAX_XLSX_UNCOMPRESSED // 2**20} MB limit; save it as CSV or split it",
            code="too_large",
        )


class _CellCounter:
    """Counts one worksheet's cells as expat reports its elements (nothing is built)."""

    def __init__(self, limits: _Limits) -> None:
        self.limits = limits
        self.in_row = 0
        self.total = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        local = tag.rpartition(":")[2]
        if local == "c":
            self.in_row += 1
            self.total += 1
            if self.in_row > MAX_XLSX_CELLS_PER_ROW:
                raise _too_many_cells(
                    f"một dòng có hơn {MAX_XLSX_CELLS_PER_ROW} ô",
                    f"a row has more than {MAX_XLSX_CELLS_PER_ROW} cells",
                )
            if self.total > 2 * self.limits.cells:
                cap = 2 * self.limits.cells
                raise _too_many_cells(f"tệp có hơn {cap} ô", f"more than {cap} cells")
        elif local == "row":
            self.in_row = 0
            number = attributes.get("r", "")
            if number.isdigit() and int(number) > MAX_XLSX_ROW_NUMBER:
                raise _too_many_cells(
                    f"số dòng {number} vượt quá dòng cuối của Excel",
                    f"row number {number} is beyond Excel's last row",
                )


def _too_many_cells(vi: str, en: str) -> FileFormatError:
    return FileFormatError(f"{vi} / {en}", code="too_many_cells")


def _scan_sheets(data: bytes, limits: _Limits) -> None:
    """Count the cells of every worksheet with expat and refuse a row of more cells than
    Excel allows, more cells than twice the cell limit, or a row number beyond Excel's last
    row, before openpyxl would build them."""
    from xml.parsers import expat

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if not name.lower().startswith("xl/worksheets/"):
                continue
            parser = expat.ParserCreate()
            parser.StartElementHandler = _CellCounter(limits).start
            try:
                with archive.open(name) as stream:
                    parser.ParseFile(stream)
            except expat.ExpatError as exc:
                raise FileFormatError(
                    f"Không đọc được tệp .xlsx (XML hỏng) / cannot read the .xlsx (broken XML):"
                    f" {exc}",
                    code="unreadable",
                ) from None


def _read_xlsx(data: bytes, limits: _Limits) -> tuple[list[str], list[list[str]], list[int]]:
    import openpyxl  # deferred: a CSV import should not pay for loading openpyxl

    _check_zip(data)
    _scan_sheets(data, limits)
    with warnings.catch_warnings():
        # openpyxl warns about workbook features it drops (styles, data validation,
        # drawings); none of them affects cell values, and the test suite turns warnings
        # into errors.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a bad zip; all mean the same
            raise FileFormatError(
                "Không đọc được tệp .xlsx (tệp hỏng hoặc không phải bảng tính Excel) / cannot"
                f" read the .xlsx file (damaged, or not an Excel workbook): {exc}",
                code="unreadable",
            ) from None
        try:
            if not workbook.worksheets:
                raise FileFormatError("Tệp rỗng / the file is empty", code="empty_file")
            sheet = workbook.worksheets[0]
            # The declared dimension (say A1:XFD8001) would pad every row to its width and
            # could stop reading early; ignore it and read at most one column past the cap.
            sheet.reset_dimensions()
            cells = (
                [_xlsx_cell(value) for value in row]
                for row in sheet.iter_rows(max_col=limits.columns + 1, values_only=True)
            )
            return _collect(cells, limits)
        finally:
            workbook.close()


# --------------------------------------------------------------------------------------------
# Cell parsing


class _Invalid(Exception):
    """A cell's value breaks its column's rule; ``reason`` is bilingual."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.reason = f"{vi} / {en}"


_REQUIRED = "bắt buộc / required"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"\d+", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DECIMAL = re.compile(r"(\d+)(?:[.,](\d+))?", re.ASCII)
_MONEY = re.compile(r"\d+|\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+", re.ASCII)
_PHONE_SEPARATORS = str.maketrans("", "", " .-\u00a0")
_MOBILE = re.compile(r"(?:0|\+84)([35789]\d{8})", re.ASCII)
_ANY_PHONE = re.compile(r"(?:0|\+84)([1-9]\d{8,9})", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TAX_CODE = re.compile(r"\d{10}(?:-\d{3})?", re.ASCII)
_ISCO = re.compile(r"\d{4}", re.ASCII)
_BOOLEANS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "có": True,
    "co": True,
    "không": False,
    "khong": False,
}


# Free text may carry an invisible format character pasted from the web or a chat app; it is
# dropped. In an identifier or a code it would make a look-alike record ("NLD000001" and
# "NLD000001" + U+200B), so it is refused.
_FREE_TEXT_TYPES = frozenset({"text", "address", "skills"})


def _invisible(text: str) -> str | None:
    """The first invisible format character (Unicode category Cf: U+200B, U+FEFF, …)."""
    for char in text:
        if unicodedata.category(char) == "Cf":
            return char
    return None


def _clean(raw: str, free_text: bool = True) -> str:
    """Trim and NFC-normalise a cell; refuse control characters; drop (in free text) or
    refuse (in identifiers and codes) invisible format characters."""
    text = raw.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        hidden = _invisible(text)
        if hidden is not None and free_text:
            text = "".join(c for c in text if unicodedata.category(c) != "Cf")
        elif hidden is not None:
            raise _Invalid(
                f"chứa ký tự vô hình U+{ord(hidden):04X} (thường do sao chép từ web); hãy gõ lại",
                f"contains the invisible character U+{ord(hidden):04X} (usually pasted from the"
                " web); retype it",
            )
        text = text.strip()
    found = _CONTROL.search(text)
    if found:
        code = f"U+{ord(found.group()):04X}"
        raise _Invalid(
            f"chứa ký tự điều khiển {code} (xuống dòng, tab…)",
            f"contains control character {code} (line break, tab, …)",
        )
    return text


def _check_length(text: str, limit: int | None) -> str:
    if limit is not None and len(text) > limit:
        raise _Invalid(f"dài quá {limit} ký tự", f"longer than {limit} characters")
    return text


def _parse_integer(text: str) -> int:
    if not _DIGITS.fullmatch(text):
        if text.startswith("-") and _DIGITS.fullmatch(text[1:]):
            raise _Invalid(f"số âm '{text}'", f"negative number '{text}'")
        raise _Invalid(f"không phải số nguyên '{text}'", f"not a whole number '{text}'")
    return int(text)


def _parse_decimal(text: str) -> float:
    match = _DECIMAL.fullmatch(text)
    if match is None:
        if text.startswith("-") and _DECIMAL.fullmatch(text[1:]):
            raise _Invalid(f"số âm '{text}'", f"negative number '{text}'")
        raise _Invalid(f"không phải số '{text}'", f"not a number '{text}'")
    whole, fraction = match.groups()
    return float(f"{whole}.{fraction}" if fraction else whole)


def _check_range(value: float, spec: ColumnSpec) -> None:
    low, high = spec.minimum, spec.maximum
    if low is not None and (value <= low if spec.exclusive_minimum else value < low):
        sign = ">" if spec.exclusive_minimum else "≥"
        raise _Invalid(f"phải {sign} {low:g}, nhận '{value:g}'", f"must be {sign} {low:g}")
    if high is not None and value > high:
        raise _Invalid(f"phải ≤ {high:g}, nhận '{value:g}'", f"must be ≤ {high:g}")


def _parse_coordinate(text: str, spec: ColumnSpec) -> float:
    negative = text.startswith("-")
    value = _parse_decimal(text[1:] if negative else text)
    value = -value if negative else value
    low, high = spec.minimum, spec.maximum
    if not low <= value <= high:
        axis_vi = "vĩ độ" if spec.name == "lat" else "kinh độ"
        raise _Invalid(
            f"{axis_vi} {value:g} nằm ngoài Việt Nam ({low:g} đến {high:g})",
            f"{spec.name} {value:g} is outside Vietnam ({low:g} to {high:g})",
        )
    return value


def _parse_money(text: str) -> int:
    if not _MONEY.fullmatch(text):
        if text.startswith("-"):
            raise _Invalid(f"số tiền âm '{text}'", f"negative amount '{text}'")
        raise _Invalid(
            f"số tiền không hợp lệ '{text}' (đồng/tháng, số nguyên, vd. 8000000 hoặc 8.000.000)",
            f"invalid amount '{text}' (whole VND per month, e.g. 8000000 or 8.000.000)",
        )
    amount = int(text.replace(".", "").replace(",", ""))
    if amount > MAX_WAGE_VND:
        raise _Invalid(
            f"số tiền quá lớn '{text}' (tối đa 1.000.000.000)",
            f"amount too large '{text}' (at most 1,000,000,000)",
        )
    return amount


#: The day as Vietnamese forms write it (15/12/2026, 1/2/2027, 15.12.2026): day first.
_DAY_FIRST = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


def _parse_date(text: str) -> dt.date:
    day_first = _DAY_FIRST.fullmatch(text)
    if not _DATE.fullmatch(text) and not day_first:
        raise _Invalid(
            f"ngày phải có dạng YYYY-MM-DD hoặc ngày/tháng/năm (15/12/2026), nhận '{text}'",
            f"date must be YYYY-MM-DD or day/month/year (15/12/2026), got '{text}'",
        )
    try:
        if day_first:
            day, month, year = (int(part) for part in day_first.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _Invalid(f"ngày không tồn tại '{text}'", f"no such date '{text}'") from None


@functools.cache
def _choice_words(choices: tuple[str, ...]) -> dict[str, str]:
    """The words a caseworker may write instead of a code: its Vietnamese or English label,
    with or without diacritics ("Nữ", "nu", "May mặc", "Trung học phổ thông")."""
    from matcher import labels

    words: dict[str, str] = {}
    for kind in labels.KINDS:
        for code, (vi, en) in labels.table(kind).items():
            if code in choices:
                words.setdefault(fold(vi), code)
                words.setdefault(fold(en), code)
    return words


def _choice_value(text: str, choices: tuple[str, ...]) -> str | None:
    value = text.lower()
    if value in choices:
        return value
    return _choice_words(choices).get(fold(text))


def _parse_boolean(text: str) -> bool:
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise _Invalid(
            f"giá trị đúng/sai không hợp lệ '{text}' (dùng true/false, 1/0, yes/no, có/không)",
            f"not a boolean '{text}' (use true/false, 1/0, yes/no, có/không)",
        )
    return value


def _choice(text: str, choices: tuple[str, ...]) -> str:
    value = _choice_value(text, choices)
    if value is None:
        allowed = ", ".join(choices)
        raise _Invalid(
            f"giá trị không hợp lệ '{text}' (cho phép: {allowed})",
            f"invalid value '{text}' (allowed: {allowed})",
        )
    return value


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


def _parse_choice_list(text: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    values: list[str] = []
    bad: list[str] = []
    for item in _split_list(text):
        value = _choice_value(item, choices)
        if value is None:
            bad.append(item)
        elif value not in values:
            values.append(value)
    if bad:
        allowed = ", ".join(choices)
        quoted = ", ".join(f"'{item}'" for item in bad)
        raise _Invalid(
            f"giá trị không hợp lệ {quoted} (cho phép: {allowed})",
            f"invalid value {quoted} (allowed: {allowed})",
        )
    return tuple(values)


def _parse_mobile(text: str) -> str:
    match = _MOBILE.fullmatch(text.translate(_PHONE_SEPARATORS))
    if match is None:
        raise _Invalid(
            f"số di động Việt Nam không hợp lệ '{text}' (0xxxxxxxxx hoặc +84xxxxxxxxx, đầu số"
            " 3, 5, 7, 8, 9; nếu Excel mất số 0 đầu, định dạng cột là Văn bản)",
            f"not a Vietnamese mobile number '{text}' (0xxxxxxxxx or +84xxxxxxxxx, prefix 3, 5,"
            " 7, 8 or 9; if Excel dropped the leading zero, format the column as Text)",
        )
    return "+84" + match.group(1)


def _parse_phone(text: str) -> str:
    match = _ANY_PHONE.fullmatch(text.translate(_PHONE_SEPARATORS))
    if match is None:
        raise _Invalid(
            f"số điện thoại Việt Nam không hợp lệ '{text}' (0 + 9–10 chữ số hoặc +84…)",
            f"not a Vietnamese phone number '{text}' (0 + 9 to 10 digits, or +84…)",
        )
    return "+84" + match.group(1)


def _parse_email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise _Invalid(f"email không hợp lệ '{text}'", f"invalid email address '{text}'")
    return text


def _parse_tax_code(text: str) -> str:
    if not _TAX_CODE.fullmatch(text):
        hint_vi = hint_en = ""
        if _DIGITS.fullmatch(text) and len(text) == 9:
            hint_vi = "; có thể Excel đã mất số 0 đầu, định dạng cột là Văn bản"
            hint_en = "; Excel may have dropped a leading zero, format the column as Text"
        raise _Invalid(
            f"mã số thuế phải là 10 chữ số hoặc 10 chữ số-3 chữ số, nhận '{text}'{hint_vi}",
            f"tax code must be 10 digits or 10 digits-3 digits, got '{text}'{hint_en}",
        )
    return text


def _parse_isco(text: str) -> str:
    if not _ISCO.fullmatch(text):
        raise _Invalid(
            f"mã ISCO-08 phải có 4 chữ số, nhận '{text}'",
            f"ISCO-08 code must be 4 digits, got '{text}'",
        )
    return text


def _parse_ward_code(text: str) -> tuple[str, bool]:
    """Return the 5-digit code and whether a lost leading zero was restored."""
    if _DIGITS.fullmatch(text):
        if len(text) == 5:
            return text, False
        if len(text) == 4:
            return "0" + text, True
    raise _Invalid(
        f"mã phường/xã phải có 5 chữ số, nhận '{text}'",
        f"ward code must be 5 digits, got '{text}'",
    )


# --------------------------------------------------------------------------------------------
# Validation


_Result = tuple[bool, Any]  # (True, value) or (False, bilingual reason)
_CACHED_TYPES = frozenset(
    {
        "integer",
        "birth_year",
        "number",
        "money",
        "date",
        "boolean",
        "choice",
        "choice_list",
        "skills",
        "ward_code",
        "isco",
    }
)


class _Column:
    """One column of the file as read for one validate() call, with its value cache."""

    __slots__ = ("name", "index", "spec", "parse", "cache")

    def __init__(
        self, spec: ColumnSpec, index: int | None, parse: Callable[[str], Any], cached: bool
    ) -> None:
        self.name = spec.name
        self.index = index
        self.spec = spec
        self.parse = parse
        self.cache: dict[str, _Result] | None = {} if cached else None

    def read(self, raw: str) -> _Result:
        try:
            text = _clean(raw, self.spec.type in _FREE_TEXT_TYPES)
            if not text:
                if self.spec.required:
                    return False, _REQUIRED
                return True, self.spec.default
            return True, self.parse(text)
        except _Invalid as exc:
            return False, exc.reason


@dataclass(frozen=True)
class _SkillItem:
    text: str
    code: str | None
    confidence: float | None
    free_text: bool


class _Validator:
    """Per-call state: the reference data, today's date and the value caches."""

    def __init__(self, kind: str, today: dt.date, gazetteer: Any, taxonomy: Any) -> None:
        self.kind = kind
        self.today = today
        self.gazetteer = gazetteer
        self.taxonomy = taxonomy
        self.min_birth_year = today.year - 80
        self.max_birth_year = today.year - 15
        self.skill_cache: dict[str, tuple[_SkillItem, ...]] = {}
        self.address_cache: dict[str, Any] = {}

    # Parsers per column type ------------------------------------------------------------

    def parser(self, spec: ColumnSpec) -> Callable[[str], Any]:
        """Return the function that turns a trimmed, non-empty cell of ``spec`` into a value."""
        kind = spec.type
        if kind in ("id", "text", "address"):
            limit = spec.max_length
            return lambda text: _check_length(text, limit)
        if kind == "integer":

            def parse_integer(text: str) -> int:
                value = _parse_integer(text)
                _check_range(value, spec)
                return value

            return parse_integer
        if kind == "number":

            def parse_number(text: str) -> float:
                value = _parse_decimal(text)
                _check_range(value, spec)
                return value

            return parse_number
        if kind in ("lat", "lon"):
            return lambda text: _parse_coordinate(text, spec)
        if kind == "birth_year":
            return self.parse_birth_year
        simple: dict[str, Callable[[str], Any]] = {
            "money": _parse_money,
            "date": _parse_date,
            "boolean": _parse_boolean,
            "mobile_phone": _parse_mobile,
            "phone": _parse_phone,
            "email": lambda text: _parse_email(_check_length(text, spec.max_length)),
            "tax_code": _parse_tax_code,
            "isco": _parse_isco,
            "ward_code": self.parse_ward_code,
            "skills": self.parse_skills,
        }
        if kind in simple:
            return simple[kind]
        if kind == "choice":
            choices = spec.choices
            return lambda text: _choice(text, choices)
        if kind == "choice_list":
            choices = spec.choices
            return lambda text: _parse_choice_list(text, choices)
        raise AssertionError(f"no parser for column type {kind!r}")

    def parse_birth_year(self, text: str) -> int:
        year = _parse_integer(text)
        low, high = self.min_birth_year, self.max_birth_year
        if not low <= year <= high:
            raise _Invalid(
                f"năm sinh {year} ngoài khoảng {low}–{high} (15 đến 80 tuổi)",
                f"birth year {year} outside {low}–{high} (aged 15 to 80)",
            )
        return year

    def parse_ward_code(self, text: str) -> tuple[str, bool, Any]:
        code, padded = _parse_ward_code(text)
        ward = self.gazetteer.get(code)
        if ward is None:
            raise _Invalid(f"Mã phường/xã không tồn tại '{code}'", f"unknown ward code '{code}'")
        return code, padded, ward

    def parse_skills(self, text: str) -> tuple[_SkillItem, ...]:
        items: list[_SkillItem] = []
        for item in _split_list(text):
            cached = self.skill_cache.get(item)
            if cached is None:
                cached = self.skill_cache[item] = self.normalise_skill(item)
            items.extend(cached)
        return tuple(items)

    def normalise_skill(self, item: str) -> tuple[_SkillItem, ...]:
        taxonomy = self.taxonomy
        if taxonomy.is_skill_code(item):
            return (_SkillItem(item, item.lower(), 1.0, free_text=False),)
        results = []
        for normalization in taxonomy.normalize_list(item):
            match = normalization.match
            if match is None:
                results.append(_SkillItem(normalization.text, None, None, free_text=True))
            else:
                results.append(
                    _SkillItem(normalization.text, match.code, match.confidence, free_text=True)
                )
        return tuple(results) or (_SkillItem(item, None, None, free_text=True),)

    def resolve_address(self, text: str) -> Any:
        if text not in self.address_cache:
            self.address_cache[text] = self.gazetteer.resolve_address(text)
        return self.address_cache[text]


def _header_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).replace("\ufeff", "").strip().lower()


#: The Vietnamese header of each column, as the template file (and docs/import-format.md)
#: writes it. A file may head a column by its code or by this label, with or without
#: diacritics, in any case, with or without the part in brackets.
HEADERS_VI: dict[str, dict[str, str]] = {
    "workers": {
        "external_id": "Mã người lao động",
        "full_name": "Họ và tên",
        "birth_year": "Năm sinh",
        "gender": "Giới tính",
        "ethnic_minority": "Dân tộc thiểu số",
        "disability": "Khuyết tật",
        "ward_code": "Mã phường/xã",
        "address": "Địa chỉ",
        "lat": "Vĩ độ",
        "lon": "Kinh độ",
        "phone": "Số điện thoại",
        "education": "Trình độ học vấn",
        "trades": "Nghề quan tâm",
        "skills": "Kỹ năng",
        "experience_years": "Số năm kinh nghiệm",
        "expected_wage_vnd": "Mức lương mong muốn (đồng/tháng)",
        "max_commute_km": "Quãng đường đi làm tối đa (km)",
        "available_from": "Sẵn sàng đi làm từ ngày",
        "consent_on": "Ngày đồng ý xử lý dữ liệu",
    },
    "enterprises": {
        "external_id": "Mã doanh nghiệp",
        "name": "Tên doanh nghiệp",
        "tax_code": "Mã số thuế",
        "ward_code": "Mã phường/xã",
        "address": "Địa chỉ",
        "lat": "Vĩ độ",
        "lon": "Kinh độ",
        "sector": "Ngành nghề",
        "contact_email": "Email liên hệ",
        "contact_phone": "Điện thoại liên hệ",
    },
    "courses": {
        "external_id": "Mã khóa đào tạo",
        "name": "Tên khóa đào tạo",
        "trade": "Nghề",
        "provider": "Cơ sở đào tạo",
        "ward_code": "Mã phường/xã",
        "address": "Địa chỉ",
        "lat": "Vĩ độ",
        "lon": "Kinh độ",
        "level": "Trình độ đào tạo",
        "start_date": "Ngày khai giảng",
        "end_date": "Ngày kết thúc",
        "capacity": "Số chỗ",
    },
    "enrollments": {
        "worker_external_id": "Mã người lao động",
        "course_external_id": "Mã khóa đào tạo",
        "status": "Trạng thái",
        "completed_on": "Ngày hoàn thành",
    },
    "commitments": {
        "external_id": "Mã đơn hàng",
        "enterprise_external_id": "Mã doanh nghiệp",
        "trade": "Nghề",
        "occupation_isco": "Mã nghề ISCO",
        "slots": "Số chỗ cam kết",
        "wage_vnd": "Mức lương (đồng/tháng)",
        "ward_code": "Mã phường/xã",
        "address": "Địa chỉ",
        "lat": "Vĩ độ",
        "lon": "Kinh độ",
        "start_date": "Ngày bắt đầu tuyển",
        "expires_on": "Ngày hết hạn",
        "min_education": "Trình độ tối thiểu",
        "required_skills": "Kỹ năng yêu cầu",
        "shift_work": "Làm ca",
        "course_external_id": "Mã khóa đào tạo",
    },
    "referrals": {
        "external_id": "Mã lượt giới thiệu",
        "worker_external_id": "Mã người lao động",
        "commitment_external_id": "Mã đơn hàng",
        "referred_on": "Ngày giới thiệu",
        "outcome": "Kết quả",
        "hired_on": "Ngày được tuyển",
        "left_on": "Ngày nghỉ việc",
    },
}


def _label_keys(label: str) -> set[str]:
    """The folded spellings a Vietnamese header may take: whole, and without its brackets."""
    keys = {fold(label)}
    if "(" in label:
        keys.add(fold(label.split("(", 1)[0]))
    return keys


@functools.cache
def _vietnamese_headers(kind: str) -> dict[str, str]:
    return {key: name for name, label in HEADERS_VI[kind].items() for key in _label_keys(label)}


def column_for_header(kind: str, raw: str) -> str:
    """The column a header names: its code (any case), else its Vietnamese label."""
    name = _header_key(raw)
    if name in COLUMNS[kind]:
        return name
    return _vietnamese_headers(kind).get(fold(name), name)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _check_header(kind: str, table: Table, batch: Batch) -> dict[str, int] | None:
    """Map column names to positions, or record file-level errors and return None."""
    specs = COLUMNS[kind]
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(table.header):
        name = column_for_header(kind, raw)
        if not name:
            if any(index < len(row) and row[index].strip() for row in table.rows):
                letter = _column_letter(index)
                errors.append(
                    RowError(
                        1,
                        None,
                        f"cột {letter} có dữ liệu nhưng không có tên / column {letter} has"
                        " data but no name",
                    )
                )
            continue
        if name in positions:
            first, again = _column_letter(positions[name]), _column_letter(index)
            errors.append(
                RowError(
                    1,
                    name,
                    f"cột '{name}' xuất hiện hai lần (cột {first} và {again}) / column '{name}'"
                    f" appears twice (columns {first} and {again})",
                )
            )
            continue
        positions[name] = index
        if name not in specs:
            batch.unknown_columns.append(raw.replace("\ufeff", "").strip())
            guess = difflib.get_close_matches(name, list(specs), n=1)
            hint_vi = f" (có phải '{guess[0]}'?)" if guess else ""
            hint_en = f" (did you mean '{guess[0]}'?)" if guess else ""
            allowed = ", ".join(specs)
            errors.append(
                RowError(
                    1,
                    name,
                    f"cột không được hỗ trợ '{name}'{hint_vi} / unknown column '{name}'"
                    f"{hint_en}; columns: {allowed}",
                )
            )
    for name, spec in specs.items():
        if spec.required and name not in positions:
            errors.append(
                RowError(1, name, f"thiếu cột bắt buộc '{name}' / missing required column '{name}'")
            )
    if _PLACE_REQUIRED.get(kind) and "ward_code" not in positions and "address" not in positions:
        errors.append(
            RowError(
                1,
                "ward_code",
                "thiếu cột ward_code hoặc address / the file needs a ward_code or an address"
                " column",
            )
        )
    if errors:
        batch.errors.extend(errors)
        return None
    return positions


def validate(
    kind: str,
    table: Table,
    *,
    today: dt.date,
    gazetteer: Any = None,
    taxonomy: Any = None,
) -> Batch:
    """Check every row of ``table`` as a file of ``kind`` and return the typed good rows.

    A header problem (unknown, missing or repeated column) rejects the whole file: the batch
    then holds only row-1 errors and no records. Otherwise every cell of every row is
    checked, every problem is reported, and only rows without problems become records.
    ``today`` anchors ages and "not in the future"; ``gazetteer`` and ``taxonomy`` default
    to the packaged reference data.
    """
    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    batch = Batch(kind=kind, total_rows=len(table.rows))
    positions = _check_header(kind, table, batch)
    if positions is None:
        return batch
    if gazetteer is None and kind in _PLACE_REQUIRED:
        from matcher.places import gazetteer as load_gazetteer

        gazetteer = load_gazetteer()
    if taxonomy is None and kind in ("workers", "commitments"):
        from matcher.taxonomy import taxonomy as load_taxonomy

        taxonomy = load_taxonomy()

    validator = _Validator(kind, today, gazetteer, taxonomy)
    columns = [
        _Column(spec, positions.get(name), validator.parser(spec), spec.type in _CACHED_TYPES)
        for name, spec in COLUMNS[kind].items()
    ]
    has_place = kind in _PLACE_REQUIRED
    check_row = _ROW_CHECKS.get(kind)
    key_columns = _KEYS[kind]
    seen_keys: dict[object, int] = {}
    width = len(table.header)
    # Reused for every row: allocating fewer container objects keeps the garbage collector,
    # which would otherwise take half the time on a large file, out of the way.
    problems: list[tuple[str | None, str]] = []
    single_key = key_columns[0] if kind != "referrals" and len(key_columns) == 1 else None
    has_lists = kind in ("workers", "commitments")
    errors = batch.errors
    records = batch.records

    for number, cells in zip(table.row_numbers, table.rows, strict=True):
        count = len(cells)
        values: dict[str, object] = {}
        problems.clear()
        if count > width and any(cell.strip() for cell in cells[width:]):
            problems.append(
                (
                    None,
                    f"dòng có dữ liệu bên phải cột cuối (tiêu đề chỉ có {width} cột) / row has"
                    f" data right of the last column (the header has {width} columns)",
                )
            )
        for column in columns:
            index = column.index
            raw = cells[index] if index is not None and index < count else ""
            cache = column.cache
            if cache is None:
                ok, value = column.read(raw)
            else:
                hit = cache.get(raw)
                if hit is None:
                    hit = cache[raw] = column.read(raw)
                ok, value = hit
            if ok:
                values[column.name] = value
            else:
                problems.append((column.name, value))

        skill_notes = _finish_lists(kind, number, values) if has_lists else None
        place_note = (
            _resolve_place(kind, validator, values, problems, number) if has_place else None
        )
        if check_row is not None:
            check_row(validator, values, problems)
        key = values.get(single_key) if single_key else _row_key(key_columns, values)
        if key is not None:
            first = seen_keys.setdefault(key, number)
            if first != number:
                problems.append(_duplicate(kind, key_columns, values, first))

        if skill_notes:
            batch.skill_notes.extend(skill_notes)
        if place_note is not None:
            batch.place_notes.append(place_note)
        if problems:
            errors.extend(RowError(number, column, reason) for column, reason in problems)
        else:
            records.append(Record(number, values))
    return batch


def load(
    kind: str,
    data: bytes,
    filename: str,
    *,
    today: dt.date,
    max_rows: int | None = None,
    gazetteer: Any = None,
    taxonomy: Any = None,
) -> Batch:
    """Read and validate one import file: :func:`read_table` then :func:`validate`."""
    table = read_table(data, filename, max_rows=max_rows)
    return validate(kind, table, today=today, gazetteer=gazetteer, taxonomy=taxonomy)


def _finish_lists(kind: str, number: int, values: dict[str, object]) -> list[SkillNote]:
    """Turn cached tuples into fresh lists, and skill items into codes plus notes."""
    if "trades" in values:
        values["trades"] = list(values["trades"])
    name = "skills" if kind == "workers" else "required_skills"
    items = values.get(name)
    if items is None:
        return []
    codes: list[str] = []
    unrecognised: list[str] = []
    notes: list[SkillNote] = []
    for item in items:
        if item.code is not None and item.code not in codes:
            codes.append(item.code)
        if item.code is None and item.text not in unrecognised:
            unrecognised.append(item.text)
        if item.free_text:
            notes.append(SkillNote(number, name, item.text, item.code, item.confidence))
    values[name] = codes
    # Text no skill matched is kept for caseworkers to read (never a model feature).
    values[f"{name}_unrecognised"] = unrecognised
    return notes


def _resolve_place(
    kind: str,
    validator: _Validator,
    values: dict[str, object],
    problems: list[tuple[str | None, str]],
    number: int,
) -> PlaceNote | None:
    """Replace the place cells by ward_code, province_code, address, lat, lon, place_source."""
    failed = {column for column, _ in problems}
    ward_cell = values.pop("ward_code", None)
    address = values.get("address")
    lat, lon = values.get("lat"), values.get("lon")
    values.update(ward_code=None, province_code=None, lat=None, lon=None, place_source=None)
    note = None
    coordinates_ok = True
    if "lat" not in failed and "lon" not in failed and (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        problems.append((missing, "cần cả lat và lon / lat and lon must be given together"))
        coordinates_ok = False
    if "ward_code" in failed or "address" in failed:
        return None
    ward = None
    source = None
    if ward_cell is not None:
        code, padded, ward = ward_cell
        source = "ward_code"
        if padded:
            note = PlaceNote(
                number,
                code[1:],
                code,
                ward.name,
                "ward_code",
                "mã 4 chữ số, đã thêm số 0 đầu (Excel làm mất) / 4-digit code, leading zero"
                " restored (lost by Excel)",
            )
    elif address is not None:
        match = validator.resolve_address(address)
        if match is None:
            problems.append(
                (
                    "address",
                    f"không xác định được phường/xã từ địa chỉ '{address}' / cannot resolve the"
                    f" address '{address}' to a ward",
                )
            )
            return None
        ward, source = match.ward, match.method
        note = PlaceNote(number, address, ward.code, ward.name, match.method, match.note or "")
    elif _PLACE_REQUIRED[kind]:
        problems.append(
            (
                "ward_code",
                "cần mã phường/xã (ward_code) hoặc địa chỉ (address) / ward_code or address"
                " required",
            )
        )
        return None
    if ward is not None:
        values.update(
            ward_code=ward.code, province_code=ward.province_code, lat=ward.lat, lon=ward.lon
        )
    if coordinates_ok and lat is not None and lon is not None:
        values.update(lat=lat, lon=lon)
        source = "coordinates"
    values["place_source"] = source
    return note


def _row_key(key_columns: tuple[str, ...], values: dict[str, object]) -> object:
    """Return what identifies a row within its file, or None when a key cell is missing."""
    if key_columns == ("external_id",):  # referrals: the id when given, else the natural key
        external_id = values.get("external_id")
        if external_id is not None:
            return external_id
        key_columns = _REFERRAL_NATURAL_KEY
    key = tuple(values.get(name) for name in key_columns)
    return None if None in key else key


def _duplicate(
    kind: str, key_columns: tuple[str, ...], values: dict[str, object], first: int
) -> tuple[str, str]:
    if kind == "referrals" and values.get("external_id") is None:
        key_columns = _REFERRAL_NATURAL_KEY
    label = key_columns[0] if len(key_columns) == 1 else "(" + ", ".join(key_columns) + ")"
    return (
        key_columns[0],
        f"trùng {label} với dòng {first} / duplicate {label}, first at row {first}",
    )


# Cross-column rules, run after every cell was read; each skips columns that already failed.

_FUTURE_VI = "ngày ở tương lai"
_FUTURE_EN = "date is in the future"


def _not_future(
    validator: _Validator, values: dict[str, object], problems: list, name: str
) -> None:
    value = values.get(name)
    if value is not None and value > validator.today:
        problems.append((name, f"{_FUTURE_VI} '{value}' / {_FUTURE_EN} '{value}'"))


def _not_before(values: dict[str, object], problems: list, later: str, earlier: str) -> None:
    late, early = values.get(later), values.get(earlier)
    if late is not None and early is not None and late < early:
        problems.append(
            (later, f"{later} trước {earlier} / {later} is before {earlier} ({late} < {early})")
        )


def _check_course(validator: _Validator, values: dict[str, object], problems: list) -> None:
    _not_before(values, problems, "end_date", "start_date")


def _check_enrollment(validator: _Validator, values: dict[str, object], problems: list) -> None:
    if values.get("status") == "enrolled" and values.get("completed_on") is not None:
        problems.append(
            (
                "completed_on",
                "completed_on phải để trống khi status là enrolled / completed_on must be empty"
                " when status is enrolled",
            )
        )
    _not_future(validator, values, problems, "completed_on")


def _check_commitment(validator: _Validator, values: dict[str, object], problems: list) -> None:
    _not_before(values, problems, "expires_on", "start_date")
    isco, trade = values.get("occupation_isco"), values.get("trade")
    if isco is not None and trade is not None:
        expected = validator.taxonomy.occupation_trade(isco)
        if expected is not None and expected != trade:
            problems.append(
                (
                    "occupation_isco",
                    f"mã ISCO {isco} thuộc nghề {expected}, không phải {trade} / ISCO {isco}"
                    f" belongs to trade {expected}, not {trade}",
                )
            )


def _check_referral(validator: _Validator, values: dict[str, object], problems: list) -> None:
    for name in ("referred_on", "hired_on", "left_on"):
        _not_future(validator, values, problems, name)
    outcome = values.get("outcome")
    if outcome is not None and outcome != "hired":
        for name in ("hired_on", "left_on"):
            if values.get(name) is not None:
                problems.append(
                    (
                        name,
                        f"{name} chỉ điền khi outcome là hired / {name} only when outcome is"
                        f" hired (got {outcome})",
                    )
                )
        return
    _not_before(values, problems, "hired_on", "referred_on")
    if values.get("hired_on") is not None:
        _not_before(values, problems, "left_on", "hired_on")
    else:
        _not_before(values, problems, "left_on", "referred_on")


def _check_worker(validator: _Validator, values: dict[str, object], problems: list) -> None:
    _not_future(validator, values, problems, "consent_on")


_ROW_CHECKS: dict[str, Callable[[_Validator, dict[str, object], list], None]] = {
    "workers": _check_worker,
    "courses": _check_course,
    "enrollments": _check_enrollment,
    "commitments": _check_commitment,
    "referrals": _check_referral,
}


def _synthetic_workers_csv(rows: int, ward_codes: list[str]) -> bytes:
    """Build a workers CSV of ``rows`` plausible rows, for measuring validation speed."""
    import random

    rng = random.Random(7)
    skills = ["may công nghiệp", "sua dien dan dung", "hàn điện", "đan lát", "lắp ráp linh kiện"]
    lines = [
        "external_id,full_name,birth_year,gender,ward_code,phone,education,trades,skills,"
        "experience_years,expected_wage_vnd,max_commute_km,available_from"
    ]
    for number in range(rows):
        lines.append(
            f"W{number:07d},Nguyễn Thị {number},{rng.randint(1960, 2005)},"
            f"{rng.choice(GENDERS)},{rng.choice(ward_codes)},09{rng.randrange(10**8):08d},"
            f"{rng.choice(EDUCATION_CODES)},{rng.choice(TRADE_CODES)},"
            f"{';'.join(rng.sample(skills, 2))},{rng.randint(0, 20)},"
            f"{rng.randrange(40, 150) * 100_000},{rng.choice([10, 20, 30])},"
            f"2025-0{rng.randint(1, 9)}-01"
        )
    return "\n".join(lines).encode()
