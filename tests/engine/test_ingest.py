"""Tests for matcher.ingest: reading CSV/.xlsx import files and validating them by the contract."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import unicodedata
import zipfile

import openpyxl
import pytest

from matcher import ingest
from matcher.errors import FileFormatError
from matcher.ingest import COLUMNS, KINDS, Batch, Table, read_table, validate
from matcher.places import gazetteer
from tests import xlsx_files

TODAY = dt.date(2025, 10, 1)
YEN_MY = "12073"  # Xã Yên Mỹ, Hưng Yên (2025 scheme)
YEN_THANH = "01234"  # a real code with a leading zero, for Excel's lost-zero case
OLD_ADDRESS = "xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên"  # Tân Lập merged into Xã Yên Mỹ

# One valid row per kind; each test changes only what it is about.
BASE: dict[str, dict[str, str]] = {
    "workers": {
        "external_id": "W1",
        "full_name": "Nguyễn Thị Lan",
        "birth_year": "1995",
        "ward_code": YEN_MY,
    },
    "enterprises": {
        "external_id": "E1",
        "name": "Công ty May Hưng Yên",
        "tax_code": "0900123456",
        "ward_code": YEN_MY,
    },
    "courses": {
        "external_id": "C1",
        "name": "May công nghiệp K1",
        "trade": "garment",
        "provider": "Trường Cao đẳng nghề Hưng Yên",
        "ward_code": YEN_MY,
        "start_date": "2025-03-01",
        "end_date": "2025-05-30",
        "capacity": "30",
    },
    "enrollments": {
        "worker_external_id": "W1",
        "course_external_id": "C1",
        "status": "graduated",
        "completed_on": "2025-06-01",
    },
    "commitments": {
        "external_id": "K1",
        "enterprise_external_id": "E1",
        "trade": "garment",
        "slots": "20",
        "wage_vnd": "7500000",
        "start_date": "2025-07-01",
    },
    "referrals": {
        "worker_external_id": "W1",
        "commitment_external_id": "K1",
        "referred_on": "2025-07-05",
        "outcome": "hired",
        "hired_on": "2025-07-10",
    },
}

# The contract's required columns, written out again so a change to COLUMNS must be deliberate.
CONTRACT_REQUIRED = {
    "workers": {"external_id", "full_name", "birth_year"},
    "enterprises": {"external_id", "name", "tax_code"},
    "courses": {
        "external_id",
        "name",
        "trade",
        "provider",
        "start_date",
        "end_date",
        "capacity",
    },
    "enrollments": {"worker_external_id", "course_external_id", "status"},
    "commitments": {
        "external_id",
        "enterprise_external_id",
        "trade",
        "slots",
        "wage_vnd",
        "start_date",
    },
    "referrals": {"worker_external_id", "commitment_external_id", "referred_on", "outcome"},
}


# ----- helpers ------------------------------------------------------------------------------


def make_table(rows: list[dict[str, str]]) -> Table:
    """Build a Table whose header is the union of the rows' keys, in first-seen order."""
    header = list(dict.fromkeys(name for row in rows for name in row))
    return Table(
        header=header,
        rows=[[row.get(name, "") for name in header] for row in rows],
        row_numbers=list(range(2, len(rows) + 2)),
    )


def run(kind: str, rows: list[dict[str, str]]) -> Batch:
    return validate(kind, make_table(rows), today=TODAY)


def one(kind: str, **changes: str | None) -> Batch:
    """Validate the kind's base row with some cells changed (None removes the column)."""
    row = {**BASE[kind], **changes}
    return run(kind, [{name: value for name, value in row.items() if value is not None}])


def accepted(kind: str, **changes: str | None) -> dict[str, object]:
    batch = one(kind, **changes)
    assert batch.errors == []
    assert len(batch.records) == 1
    return batch.records[0].values


def csv_bytes(lines: list[str], delimiter: str = ",", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join(cells) for cells in (line.split("|") for line in lines))
    return (("\ufeff" if bom else "") + text + "\r\n").encode()


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----- reading ------------------------------------------------------------------------------


def test_read_csv_with_bom_strips_bom():
    data = csv_bytes(["external_id|full_name", "W1|Lan"], bom=True)

    table = read_table(data, "workers.csv")

    assert table.header == ["external_id", "full_name"]
    assert table.rows == [["W1", "Lan"]]
    assert table.row_numbers == [2]


def test_read_csv_semicolon_delimiter_detected():
    data = csv_bytes(["external_id|full_name|skills", "W1|Lan|may, hàn"], delimiter=";")

    table = read_table(data, "workers.csv")

    assert table.header == ["external_id", "full_name", "skills"]
    assert table.rows == [["W1", "Lan", "may, hàn"]]


def test_read_csv_quoted_cells_keep_delimiters():
    data = 'external_id,address\nW1,"Thôn 3, xã Yên Mỹ"\n'.encode()

    table = read_table(data, "w.csv")

    assert table.rows == [["W1", "Thôn 3, xã Yên Mỹ"]]


def test_read_csv_blank_rows_skipped_numbers_kept():
    data = b"external_id,full_name\n\nW1,Lan\n,\n  ,  \nW2,Hoa\n"

    table = read_table(data, "w.csv")

    assert table.rows == [["W1", "Lan"], ["W2", "Hoa"]]
    assert table.row_numbers == [3, 6]


def test_read_csv_header_only_gives_no_rows():
    table = read_table(b"external_id,full_name\n", "w.csv")

    assert table.header == ["external_id", "full_name"]
    assert table.rows == []


def test_read_xlsx_converts_dates_and_numbers():
    data = xlsx_bytes(
        [
            ["external_id", "birth_year", "ward_code", "available_from", "expected_wage_vnd"],
            ["W1", 1995, 1234, dt.datetime(2025, 11, 3), 8_000_000.0],
            [None, None, None, None, None],
            ["W2", 1990.0, "12073", dt.date(2025, 12, 1), 7.5],
        ]
    )

    table = read_table(data, "workers.xlsx")

    assert table.header == [
        "external_id",
        "birth_year",
        "ward_code",
        "available_from",
        "expected_wage_vnd",
    ]
    assert table.rows == [
        ["W1", "1995", "1234", "2025-11-03", "8000000"],
        ["W2", "1990", "12073", "2025-12-01", "7.5"],
    ]
    assert table.row_numbers == [2, 4]


def test_read_xlsx_detected_by_content_not_name():
    data = xlsx_bytes([["external_id"], ["W1"]])

    table = read_table(data, "upload.bin")

    assert table.rows == [["W1"]]


def test_read_xlsx_datetime_with_time_kept_for_the_date_rule_to_refuse():
    data = xlsx_bytes([["referred_on"], [dt.datetime(2025, 7, 5, 8, 30)]])

    table = read_table(data, "r.xlsx")

    assert table.rows == [["2025-07-05 08:30:00"]]


def test_read_xlsx_without_stylesheet_reads_despite_openpyxl_warning():
    # openpyxl warns "Workbook contains no stylesheet"; with filterwarnings=error a careless
    # reader would fail here.
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["external_id"], ["W1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/styles.xml":
                content = (
                    b'<?xml version="1.0"?><styleSheet xmlns='
                    b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
                )
            target.writestr(name, content)

    table = read_table(buffer.getvalue(), "w.xlsx")

    assert table.rows == [["W1"]]


def test_read_xlsx_end_to_end_restores_lost_leading_zero():
    data = xlsx_bytes(
        [
            ["external_id", "full_name", "birth_year", "ward_code", "available_from"],
            ["W1", "Nguyễn Thị Lan", 1995, int(YEN_THANH), dt.datetime(2025, 11, 3)],
        ]
    )

    batch = validate("workers", read_table(data, "w.xlsx"), today=TODAY)

    assert batch.errors == []
    values = batch.records[0].values
    assert values["ward_code"] == YEN_THANH
    assert values["available_from"] == dt.date(2025, 11, 3)
    assert values["birth_year"] == 1995
    [note] = batch.place_notes
    assert (note.row, note.text, note.ward_code, note.method) == (2, "1234", YEN_THANH, "ward_code")
    assert "leading zero" in note.note


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        # cp1258 writes "ễ" as "ê" plus a combining tilde, as Vietnamese Windows does.
        ("cp1258", "Nguy\u00ea\u0303n V\u0103n \u0110\u00f4ng"),
        ("cp1252", "Café Noël"),
    ],
)
def test_read_non_utf8_csv_raises_encoding_error(encoding, text):
    prefix = b"external_id,full_name\nW1,"
    data = prefix + text.encode(encoding) + b"\n"

    with pytest.raises(FileFormatError) as caught:
        read_table(data, "w.csv")

    error = caught.value
    assert error.code == "encoding"
    assert error.row == 2
    assert error.offset is not None and error.offset >= len(prefix)
    assert "UTF-8" in str(error)
    assert f"offset {error.offset}" in str(error)


def test_read_non_utf8_after_bom_reports_true_offset():
    data = b"\xef\xbb\xbfexternal_id\nCaf\xe9\n"

    with pytest.raises(FileFormatError) as caught:
        read_table(data, "w.csv")

    assert caught.value.offset == data.index(b"\xe9")


def test_read_utf16_csv_raises_encoding_error():
    data = "external_id\tfull_name\nW1\tLan\n".encode("utf-16")

    with pytest.raises(FileFormatError) as caught:
        read_table(data, "w.csv")

    assert caught.value.code == "encoding"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n \r\n", b",,\n ,\t,\n"])
def test_read_empty_file_raises_empty_file(data):
    with pytest.raises(FileFormatError) as caught:
        read_table(data, "w.csv")

    assert caught.value.code == "empty_file"


def test_read_blank_first_row_raises_no_header():
    with pytest.raises(FileFormatError) as caught:
        read_table(b",\nexternal_id,full_name\nW1,Lan\n", "w.csv")

    assert caught.value.code == "no_header"
    assert caught.value.row == 1


# ----- upload limits (issue 10: what a file declares must not set the cost) ----------------


def test_read_xlsx_padded_dimension_costs_no_more_than_its_cells():
    # 143 kB declaring A1:XFD8001 took 31 s and 1 GB: every row was padded to 16,384 cells.
    tracemalloc.start()
    try:
        table = read_table(xlsx_files.padded_rows(8000), "w.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert table.header == ["external_id", "full_name"]
    assert len(table.rows) == 8000
    assert max(len(row) for row in table.rows) == 2
    assert peak < 40 * 2**20


def test_read_xlsx_stray_cells_cost_nothing_and_near_ones_are_named():
    # A cell in column XFD made openpyxl build a 16,384-cell row; only 101 columns are read.
    far = read_table(xlsx_files.far_right_cells(2000, "XFD"), "w.xlsx")
    near = read_table(xlsx_files.far_right_cells(50, "CW"), "w.xlsx")  # column 101

    assert max(len(row) for row in far.rows) == 1
    # The stray is kept after the header's cells, so validation names the row (see
    # test_validate_extra_cells_beyond_header_is_row_error).
    assert near.rows[0] == ["NLD000002", "x"]


def test_read_header_wider_than_limit_rejects_file():
    assert len(read_table(xlsx_files.wide_header(100), "w.xlsx").header) == 100

    with pytest.raises(FileFormatError) as caught:
        read_table(xlsx_files.wide_header(101), "w.xlsx")

    assert caught.value.code == "too_many_columns"
    with pytest.raises(FileFormatError) as caught:
        read_table((",".join(f"c{i}" for i in range(101)) + "\nx\n").encode(), "w.csv")
    assert caught.value.code == "too_many_columns"


def test_read_more_cells_than_limit_rejects_file():
    data = b"a,b,c\n" + b"1,2,3\n" * 4

    assert len(read_table(data, "w.csv", max_cells=12).rows) == 4
    with pytest.raises(FileFormatError) as caught:
        read_table(data, "w.csv", max_cells=11)
    assert caught.value.code == "too_many_cells"


def test_read_xlsx_row_of_millions_of_cells_is_refused_before_openpyxl_builds_it():
    # 21 kB holding 5,000,000 empty <c/> in one row took 1.6 GB inside openpyxl.
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>external_id</t></is></c></row>'
    data = xlsx_files.workbook([header, '<row r="2">' + "<c/>" * 5_000_000 + "</row>"])
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError) as caught:
            read_table(data, "w.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert caught.value.code == "too_many_cells" and "16384" in str(caught.value)
    assert peak < 40 * 2**20


def test_read_xlsx_row_number_beyond_excel_is_refused():
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>external_id</t></is></c></row>'
    far = '<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>x</t></is></c></row>'

    with pytest.raises(FileFormatError) as caught:
        read_table(xlsx_files.workbook([header, far]), "w.xlsx")

    assert caught.value.code == "too_many_cells" and "2000000" in str(caught.value)


def test_read_csv_line_of_a_million_separators_is_refused_before_splitting():
    with pytest.raises(FileFormatError) as caught:
        read_table(b"a,b\nx,y\n" + b"," * 1_000_000 + b"\n", "w.csv")

    assert caught.value.code == "too_many_columns" and caught.value.row == 3


def test_read_xlsx_inflating_beyond_cap_rejected_before_parsing(monkeypatch):
    data = xlsx_files.padded_rows(2000)
    monkeypatch.setattr(ingest, "MAX_XLSX_UNCOMPRESSED", 100_000)

    with pytest.raises(FileFormatError) as caught:
        read_table(data, "w.xlsx")

    assert caught.value.code == "too_large"
    assert "MB" in str(caught.value)


def test_read_empty_xlsx_raises_empty_file():
    with pytest.raises(FileFormatError) as caught:
        read_table(xlsx_bytes([]), "w.xlsx")

    assert caught.value.code == "empty_file"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_read_too_many_rows_raises(fmt):
    rows = [["external_id"], ["W1"], ["W2"], ["W3"]]
    data = xlsx_bytes(rows) if fmt == "xlsx" else csv_bytes([row[0] for row in rows])

    assert len(read_table(data, f"w.{fmt}", max_rows=3).rows) == 3
    with pytest.raises(FileFormatError) as caught:
        read_table(data, f"w.{fmt}", max_rows=2)

    assert caught.value.code == "too_many_rows"


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "w.xls", "unsupported_format"),
        (b"external_id\nW1\n", "w.xlsx", "unreadable"),
        (b"PK\x03\x04 not really a zip", "w.xlsx", "unreadable"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "unsupported_format"),
    ],
)
def test_read_not_a_table_raises_file_format_error(data, filename, code):
    with pytest.raises(FileFormatError) as caught:
        read_table(data, filename)

    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_read_zip_that_is_not_a_workbook_raises_unreadable():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")

    with pytest.raises(FileFormatError) as caught:
        read_table(buffer.getvalue(), "w.xlsx")

    assert caught.value.code == "unreadable"


def test_load_reads_and_validates():
    data = csv_bytes(["external_id|full_name|birth_year|ward_code", f"W1|Lan|1995|{YEN_MY}"])

    batch = ingest.load("workers", data, "w.csv", today=TODAY)

    assert [record.values["external_id"] for record in batch.records] == ["W1"]


# ----- header -------------------------------------------------------------------------------


def test_validate_header_case_space_and_bom_insensitive():
    table = make_table([BASE["workers"]])
    table.header = ["\ufeff External_ID ", "FULL_NAME", " Birth_Year", "Ward_Code"]

    batch = validate("workers", table, today=TODAY)

    assert batch.errors == []
    assert batch.records[0].values["external_id"] == "W1"


def test_validate_header_nfd_matches():
    table = make_table([{**BASE["workers"], "address": "Xã Yên Mỹ, Hưng Yên"}])
    table.header[-1] = unicodedata.normalize("NFD", "ADDRESS")

    assert validate("workers", table, today=TODAY).errors == []


def test_validate_unknown_column_rejects_file():
    batch = one("workers", fullname="Lan", hobby="fishing")

    assert batch.records == []
    assert batch.unknown_columns == ["fullname", "hobby"]
    assert [(e.row, e.column) for e in batch.errors] == [(1, "fullname"), (1, "hobby")]
    assert "unknown column 'fullname'" in batch.errors[0].reason
    assert "did you mean 'full_name'" in batch.errors[0].reason
    assert batch.file_rejected
    assert batch.total_rows == 1


@pytest.mark.parametrize(
    ("kind", "column"),
    [(kind, column) for kind in KINDS for column in sorted(CONTRACT_REQUIRED[kind])],
)
def test_validate_missing_required_column_rejects_file(kind, column):
    batch = one(kind, **{column: None})

    assert batch.records == []
    assert [(e.row, e.column) for e in batch.errors] == [(1, column)]
    assert "missing required column" in batch.errors[0].reason


@pytest.mark.parametrize("kind", ["workers", "enterprises", "courses"])
def test_validate_missing_place_columns_rejects_file(kind):
    batch = one(kind, ward_code=None)

    assert batch.records == []
    assert [(e.row, e.column) for e in batch.errors] == [(1, "ward_code")]


def test_validate_duplicate_header_rejects_file():
    table = make_table([BASE["workers"]])
    table.header.append("Full_Name")
    table.rows[0].append("Lan")

    batch = validate("workers", table, today=TODAY)

    assert batch.records == []
    assert [(e.row, e.column) for e in batch.errors] == [(1, "full_name")]
    assert "appears twice (columns B and E)" in batch.errors[0].reason


def test_validate_unnamed_column_with_data_rejects_file():
    table = make_table([BASE["workers"]])
    table.header.append("")
    table.rows[0].append("ghi chú")

    batch = validate("workers", table, today=TODAY)

    assert batch.records == []
    assert "column E has data but no name" in batch.errors[0].reason


def test_validate_unnamed_empty_column_ignored():
    table = make_table([BASE["workers"]])
    table.header.append("")
    table.rows[0].append("  ")

    assert validate("workers", table, today=TODAY).errors == []


def test_validate_extra_cells_beyond_header_is_row_error():
    table = make_table([BASE["workers"]])
    table.rows[0].append("stray")

    batch = validate("workers", table, today=TODAY)

    assert [(e.row, e.column) for e in batch.errors] == [(2, None)]
    assert "header has 4 columns" in batch.errors[0].reason


def test_validate_short_row_reads_missing_cells_as_empty():
    table = make_table([{**BASE["workers"], "phone": "0912345678"}])
    table.rows[0] = table.rows[0][:4]

    batch = validate("workers", table, today=TODAY)

    assert batch.errors == []
    assert batch.records[0].values["phone"] is None


def test_validate_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown import kind"):
        validate("people", make_table([{}]), today=TODAY)


# ----- column specifications ----------------------------------------------------------------


def test_columns_cover_every_kind_with_help_text():
    assert tuple(COLUMNS) == KINDS
    for specs in COLUMNS.values():
        for name, spec in specs.items():
            assert spec.name == name
            assert spec.help_vi and spec.help_en


@pytest.mark.parametrize("kind", KINDS)
def test_columns_required_match_contract(kind):
    required = {name for name, spec in COLUMNS[kind].items() if spec.required}

    assert required == CONTRACT_REQUIRED[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_validate_base_row_accepted(kind):
    assert one(kind).errors == []


# ----- accepted values and their canonical form ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "expected"),
    [
        # strings: trimmed, NFC
        (
            "workers",
            {"full_name": "  " + unicodedata.normalize("NFD", "Nguyễn Thị Lan") + "\u00a0"},
            {"full_name": "Nguyễn Thị Lan"},
        ),
        ("workers", {"external_id": " W-001 "}, {"external_id": "W-001"}),
        ("workers", {"full_name": "L" * 200}, {"full_name": "L" * 200}),
        ("workers", {"external_id": "x" * 100}, {"external_id": "x" * 100}),
        # birth year: ages 15 to 80 inclusive
        ("workers", {"birth_year": "1945"}, {"birth_year": 1945}),
        ("workers", {"birth_year": "2010"}, {"birth_year": 2010}),
        # choices are case-insensitive, output lower-case
        ("workers", {"gender": "Female"}, {"gender": "female"}),
        ("workers", {"gender": ""}, {"gender": None}),
        ("workers", {"education": "College"}, {"education": "college"}),
        ("workers", {"education": ""}, {"education": "unspecified"}),
        ("workers", {}, {"education": "unspecified", "max_commute_km": 30.0}),
        # booleans
        ("workers", {"ethnic_minority": "có"}, {"ethnic_minority": True}),
        ("workers", {"ethnic_minority": "Không"}, {"ethnic_minority": False}),
        ("workers", {"ethnic_minority": "CO"}, {"ethnic_minority": True}),
        ("workers", {"ethnic_minority": "khong"}, {"ethnic_minority": False}),
        ("workers", {"disability": "TRUE"}, {"disability": True}),
        ("workers", {"disability": "false"}, {"disability": False}),
        ("workers", {"disability": "1"}, {"disability": True}),
        ("workers", {"disability": "0"}, {"disability": False}),
        ("workers", {"disability": "Yes"}, {"disability": True}),
        ("workers", {"disability": "no"}, {"disability": False}),
        ("workers", {"disability": ""}, {"disability": None}),
        # mobile phones
        ("workers", {"phone": "0912345678"}, {"phone": "+84912345678"}),
        ("workers", {"phone": "0912 345 678"}, {"phone": "+84912345678"}),
        ("workers", {"phone": "+84 912.345.678"}, {"phone": "+84912345678"}),
        ("workers", {"phone": "091-234-5678"}, {"phone": "+84912345678"}),
        ("workers", {"phone": "0387654321"}, {"phone": "+84387654321"}),
        ("workers", {"phone": "0587654321"}, {"phone": "+84587654321"}),
        ("workers", {"phone": "0787654321"}, {"phone": "+84787654321"}),
        ("workers", {"phone": "0887654321"}, {"phone": "+84887654321"}),
        ("workers", {"phone": ""}, {"phone": None}),
        # lists
        (
            "workers",
            {"trades": "Garment; electrical;;garment; "},
            {"trades": ["garment", "electrical"]},
        ),
        ("workers", {"trades": ""}, {"trades": []}),
        ("workers", {"skills": ""}, {"skills": []}),
        ("workers", {"skills": "Garment.Overlock_Sewing"}, {"skills": ["garment.overlock_sewing"]}),
        # numbers
        ("workers", {"experience_years": "0"}, {"experience_years": 0.0}),
        ("workers", {"experience_years": "2,5"}, {"experience_years": 2.5}),
        ("workers", {"experience_years": "60"}, {"experience_years": 60.0}),
        ("workers", {"max_commute_km": "0.5"}, {"max_commute_km": 0.5}),
        ("workers", {"max_commute_km": "200"}, {"max_commute_km": 200.0}),
        ("workers", {"max_commute_km": ""}, {"max_commute_km": 30.0}),
        # money
        ("workers", {"expected_wage_vnd": "8000000"}, {"expected_wage_vnd": 8_000_000}),
        ("workers", {"expected_wage_vnd": "8.000.000"}, {"expected_wage_vnd": 8_000_000}),
        ("workers", {"expected_wage_vnd": "8,000,000"}, {"expected_wage_vnd": 8_000_000}),
        ("workers", {"expected_wage_vnd": "1.500"}, {"expected_wage_vnd": 1_500}),
        ("workers", {"expected_wage_vnd": "0"}, {"expected_wage_vnd": 0}),
        ("workers", {"expected_wage_vnd": "1.000.000.000"}, {"expected_wage_vnd": 10**9}),
        ("workers", {"expected_wage_vnd": ""}, {"expected_wage_vnd": None}),
        # dates
        ("workers", {"available_from": "2026-02-28"}, {"available_from": dt.date(2026, 2, 28)}),
        # As Vietnamese forms write it: day first.
        ("workers", {"available_from": "01/11/2025"}, {"available_from": dt.date(2025, 11, 1)}),
        ("workers", {"available_from": "5.1.2026"}, {"available_from": dt.date(2026, 1, 5)}),
        # Vietnamese (or English) words for codes, with or without diacritics.
        ("workers", {"gender": "Nữ"}, {"gender": "female"}),
        ("workers", {"gender": "nam"}, {"gender": "male"}),
        ("workers", {"education": "Trung hoc pho thong"}, {"education": "upper_secondary"}),
        ("workers", {"trades": "May mặc; Điện tử"}, {"trades": ["garment", "electronics"]}),
        ("workers", {"available_from": ""}, {"available_from": None}),
        # enterprises
        ("enterprises", {"tax_code": " 0900123456-001 "}, {"tax_code": "0900123456-001"}),
        (
            "enterprises",
            {"contact_email": "hr@may-hy.com.vn"},
            {"contact_email": "hr@may-hy.com.vn"},
        ),
        ("enterprises", {"contact_phone": "0221 3861 234"}, {"contact_phone": "+842213861234"}),
        ("enterprises", {"contact_phone": "+84 912 345 678"}, {"contact_phone": "+84912345678"}),
        ("enterprises", {"sector": "Dệt may"}, {"sector": "Dệt may", "contact_email": None}),
        # courses
        ("courses", {"level": "Elementary"}, {"level": "elementary"}),
        ("courses", {"level": ""}, {"level": None}),
        ("courses", {"trade": " GARMENT "}, {"trade": "garment", "capacity": 30}),
        (
            "courses",
            {"end_date": "2025-03-01"},
            {"start_date": dt.date(2025, 3, 1), "end_date": dt.date(2025, 3, 1)},
        ),
        # enrollments
        ("enrollments", {"status": "enrolled", "completed_on": ""}, {"completed_on": None}),
        ("enrollments", {"status": "Dropped"}, {"status": "dropped"}),
        ("enrollments", {"completed_on": "2025-10-01"}, {"completed_on": TODAY}),
        # invisible format characters are dropped from free text (issue 10)
        ("workers", {"full_name": "Nguyễn\u200b Thị\u00ad Lan"}, {"full_name": "Nguyễn Thị Lan"}),
        ("enterprises", {"name": "\ufeffMay Hưng Yên\u200d"}, {"name": "May Hưng Yên"}),
        # commitments
        ("commitments", {"occupation_isco": "7533"}, {"occupation_isco": "7533"}),
        ("commitments", {"occupation_isco": "9999"}, {"occupation_isco": "9999"}),
        ("commitments", {"expires_on": "2025-07-01"}, {"expires_on": dt.date(2025, 7, 1)}),
        ("commitments", {"shift_work": "có"}, {"shift_work": True}),
        ("commitments", {"min_education": "Lower_Secondary"}, {"min_education": "lower_secondary"}),
        ("commitments", {"slots": "100000"}, {"slots": 100_000}),
        ("commitments", {"wage_vnd": "0"}, {"wage_vnd": 0}),
        ("commitments", {"course_external_id": "C1"}, {"course_external_id": "C1"}),
        (
            "commitments",
            {},
            {
                "slots": 20,
                "wage_vnd": 7_500_000,
                "start_date": dt.date(2025, 7, 1),
                "expires_on": None,
                "required_skills": [],
                "shift_work": None,
                "course_external_id": None,
            },
        ),
        # referrals
        ("referrals", {"external_id": ""}, {"external_id": None}),
        ("referrals", {"outcome": "Pending", "hired_on": ""}, {"outcome": "pending"}),
        ("referrals", {"left_on": "2025-09-30"}, {"left_on": dt.date(2025, 9, 30)}),
        ("referrals", {"hired_on": "2025-07-05", "left_on": "2025-07-05"}, {}),
        ("referrals", {"hired_on": "", "left_on": "2025-08-01"}, {"hired_on": None}),
    ],
)
def test_validate_value_accepted_canonical(kind, changes, expected):
    values = accepted(kind, **changes)

    for name, value in expected.items():
        assert values[name] == value
        assert type(values[name]) is type(value)


# ----- refused values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "column", "fragment"),
    [
        # required cells and strings
        ("workers", {"external_id": ""}, "external_id", "bắt buộc / required"),
        ("workers", {"external_id": "   "}, "external_id", "required"),
        ("workers", {"external_id": "x" * 101}, "external_id", "longer than 100"),
        ("workers", {"full_name": ""}, "full_name", "required"),
        ("workers", {"full_name": "L" * 201}, "full_name", "longer than 200"),
        ("workers", {"full_name": "Lan\x07"}, "full_name", "control character U+0007"),
        ("workers", {"full_name": "Lan\nAnh"}, "full_name", "control character U+000A"),
        ("workers", {"full_name": "Lan\tAnh"}, "full_name", "control character U+0009"),
        ("workers", {"full_name": "Lan\x85Anh"}, "full_name", "control character U+0085"),
        # invisible format characters make look-alike identifiers (issue 10)
        ("workers", {"external_id": "W1\u200b"}, "external_id", "invisible character U+200B"),
        ("workers", {"external_id": "\ufeffW1"}, "external_id", "invisible character U+FEFF"),
        ("workers", {"phone": "0912\u2060345678"}, "phone", "invisible character U+2060"),
        ("enterprises", {"tax_code": "0900123456\u200d"}, "tax_code", "invisible"),
        ("workers", {"trades": "garment\u200c"}, "trades", "invisible character U+200C"),
        # birth year
        ("workers", {"birth_year": ""}, "birth_year", "required"),
        ("workers", {"birth_year": "1944"}, "birth_year", "outside 1945–2010"),
        ("workers", {"birth_year": "2011"}, "birth_year", "outside 1945–2010"),
        ("workers", {"birth_year": "95"}, "birth_year", "outside"),
        ("workers", {"birth_year": "1995.5"}, "birth_year", "not a whole number"),
        ("workers", {"birth_year": "năm 1995"}, "birth_year", "not a whole number"),
        # choices and booleans
        ("workers", {"gender": "nữ giới"}, "gender", "invalid value 'nữ giới'"),
        ("workers", {"ethnic_minority": "maybe"}, "ethnic_minority", "not a boolean"),
        ("workers", {"disability": "2"}, "disability", "not a boolean"),
        ("workers", {"education": "phd"}, "education", "invalid value 'phd'"),
        ("workers", {"trades": "garment;cooking"}, "trades", "invalid value 'cooking'"),
        ("workers", {"trades": "garment, electrical"}, "trades", "invalid value"),
        # phone
        ("workers", {"phone": "0212345678"}, "phone", "not a Vietnamese mobile"),
        ("workers", {"phone": "0112345678"}, "phone", "not a Vietnamese mobile"),
        ("workers", {"phone": "0612345678"}, "phone", "not a Vietnamese mobile"),
        ("workers", {"phone": "091234567"}, "phone", "not a Vietnamese mobile"),
        ("workers", {"phone": "09123456789"}, "phone", "not a Vietnamese mobile"),
        ("workers", {"phone": "+8491234567"}, "phone", "not a Vietnamese mobile"),
        ("workers", {"phone": "912345678"}, "phone", "format the column as Text"),
        ("workers", {"phone": "0912/345/678"}, "phone", "not a Vietnamese mobile"),
        # numbers
        ("workers", {"experience_years": "-1"}, "experience_years", "negative"),
        ("workers", {"experience_years": "61"}, "experience_years", "≤ 60"),
        ("workers", {"experience_years": "abc"}, "experience_years", "not a number"),
        ("workers", {"experience_years": "1.000,5"}, "experience_years", "not a number"),
        ("workers", {"max_commute_km": "0"}, "max_commute_km", "must be > 0"),
        ("workers", {"max_commute_km": "201"}, "max_commute_km", "≤ 200"),
        ("workers", {"max_commute_km": "-5"}, "max_commute_km", "negative"),
        # money
        ("workers", {"expected_wage_vnd": "-1"}, "expected_wage_vnd", "negative amount"),
        ("workers", {"expected_wage_vnd": "-8.000.000"}, "expected_wage_vnd", "negative"),
        ("workers", {"expected_wage_vnd": "8000000.5"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "8000000.00"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "8.5"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "8,5"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "8 triệu"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "8.000,000"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "80.00.000"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "8.000.000,00"}, "expected_wage_vnd", "invalid"),
        ("workers", {"expected_wage_vnd": "8000000đ"}, "expected_wage_vnd", "invalid amount"),
        ("workers", {"expected_wage_vnd": "1000000001"}, "expected_wage_vnd", "too large"),
        # dates
        ("workers", {"available_from": "11/2025"}, "available_from", "YYYY-MM-DD"),
        ("workers", {"available_from": "31/02/2026"}, "available_from", "no such date"),
        ("workers", {"available_from": "2025-1-5"}, "available_from", "YYYY-MM-DD"),
        ("workers", {"available_from": "20251105"}, "available_from", "YYYY-MM-DD"),
        ("workers", {"available_from": "2025-02-30"}, "available_from", "no such date"),
        ("workers", {"available_from": "2025-07-05 08:30:00"}, "available_from", "YYYY-MM-DD"),
        # enterprises
        ("enterprises", {"tax_code": ""}, "tax_code", "required"),
        ("enterprises", {"tax_code": "090012345"}, "tax_code", "leading zero"),
        ("enterprises", {"tax_code": "09001234567"}, "tax_code", "10 digits"),
        ("enterprises", {"tax_code": "0900123456-1"}, "tax_code", "10 digits-3 digits"),
        ("enterprises", {"tax_code": "0900123456001"}, "tax_code", "10 digits"),
        ("enterprises", {"tax_code": "09001234ab"}, "tax_code", "10 digits"),
        ("enterprises", {"name": "N" * 201}, "name", "longer than 200"),
        ("enterprises", {"contact_email": "hr.may-hy.vn"}, "contact_email", "invalid email"),
        ("enterprises", {"contact_email": "hr@localhost"}, "contact_email", "invalid email"),
        ("enterprises", {"contact_email": "h r@may.vn"}, "contact_email", "invalid email"),
        ("enterprises", {"contact_email": "a@b@c.vn"}, "contact_email", "invalid email"),
        ("enterprises", {"contact_phone": "12345"}, "contact_phone", "phone"),
        ("enterprises", {"contact_phone": "0912345"}, "contact_phone", "phone"),
        ("enterprises", {"contact_phone": "0022138612345"}, "contact_phone", "phone"),
        # courses
        ("courses", {"trade": "cooking"}, "trade", "invalid value 'cooking'"),
        ("courses", {"trade": ""}, "trade", "required"),
        ("courses", {"provider": ""}, "provider", "required"),
        ("courses", {"level": "advanced"}, "level", "invalid value"),
        ("courses", {"end_date": "2025-02-28"}, "end_date", "end_date is before start_date"),
        ("courses", {"capacity": "0"}, "capacity", "≥ 1"),
        ("courses", {"capacity": "-3"}, "capacity", "negative"),
        ("courses", {"capacity": "ba mươi"}, "capacity", "not a whole number"),
        ("courses", {"start_date": ""}, "start_date", "required"),
        # enrollments
        ("enrollments", {"status": "finished"}, "status", "invalid value"),
        ("enrollments", {"status": ""}, "status", "required"),
        ("enrollments", {"worker_external_id": ""}, "worker_external_id", "required"),
        ("enrollments", {"status": "enrolled"}, "completed_on", "must be empty"),
        ("enrollments", {"completed_on": "2025-10-02"}, "completed_on", "in the future"),
        # commitments
        ("commitments", {"slots": "0"}, "slots", "≥ 1"),
        ("commitments", {"slots": "100001"}, "slots", "≤ 100000"),
        ("commitments", {"wage_vnd": ""}, "wage_vnd", "required"),
        ("commitments", {"wage_vnd": "-5"}, "wage_vnd", "negative"),
        ("commitments", {"trade": "farming"}, "trade", "invalid value"),
        ("commitments", {"occupation_isco": "753"}, "occupation_isco", "4 digits"),
        ("commitments", {"occupation_isco": "75331"}, "occupation_isco", "4 digits"),
        (
            "commitments",
            {"occupation_isco": "7411"},
            "occupation_isco",
            "ISCO 7411 belongs to trade electrical, not garment",
        ),
        ("commitments", {"expires_on": "2025-06-30"}, "expires_on", "before start_date"),
        ("commitments", {"min_education": "phd"}, "min_education", "invalid value"),
        ("commitments", {"shift_work": "sometimes"}, "shift_work", "not a boolean"),
        ("commitments", {"course_external_id": "c" * 101}, "course_external_id", "100"),
        ("commitments", {"enterprise_external_id": ""}, "enterprise_external_id", "required"),
        # referrals
        ("referrals", {"outcome": "maybe"}, "outcome", "invalid value"),
        ("referrals", {"outcome": "not_hired"}, "hired_on", "only when outcome is hired"),
        (
            "referrals",
            {"outcome": "pending", "hired_on": "", "left_on": "2025-08-01"},
            "left_on",
            "only when outcome is hired",
        ),
        ("referrals", {"hired_on": "2025-07-04"}, "hired_on", "hired_on is before referred_on"),
        ("referrals", {"left_on": "2025-07-09"}, "left_on", "left_on is before hired_on"),
        (
            "referrals",
            {"hired_on": "", "left_on": "2025-07-01"},
            "left_on",
            "left_on is before referred_on",
        ),
        ("referrals", {"referred_on": "2025-10-02", "hired_on": ""}, "referred_on", "future"),
        ("referrals", {"hired_on": "2025-10-02"}, "hired_on", "in the future"),
        ("referrals", {"left_on": "2026-01-01"}, "left_on", "in the future"),
        ("referrals", {"referred_on": ""}, "referred_on", "required"),
        ("referrals", {"external_id": "r" * 101}, "external_id", "100"),
    ],
)
def test_validate_value_refused(kind, changes, column, fragment):
    batch = one(kind, **changes)

    assert batch.records == []
    assert [(e.row, e.column) for e in batch.errors] == [(2, column)]
    reason = batch.errors[0].reason
    assert fragment in reason
    assert " / " in reason  # Vietnamese, then English


def test_validate_row_with_three_problems_reports_all_three():
    batch = one("workers", birth_year="1900", phone="123", expected_wage_vnd="-1")

    assert batch.records == []
    assert [e.column for e in batch.errors] == ["birth_year", "phone", "expected_wage_vnd"]
    assert batch.rejected_rows == [2]


def test_validate_bad_row_does_not_stop_good_rows():
    rows = [BASE["workers"], {**BASE["workers"], "external_id": "W2", "birth_year": "x"}]
    rows.append({**BASE["workers"], "external_id": "W3"})

    batch = run("workers", rows)

    assert [record.row for record in batch.records] == [2, 4]
    assert [(e.row, e.column) for e in batch.errors] == [(3, "birth_year")]
    assert batch.total_rows == 3
    assert not batch.file_rejected


def test_validate_birth_year_window_moves_with_today():
    batch = validate("workers", make_table([BASE["workers"]]), today=dt.date(2076, 1, 1))

    assert "outside 1996–2061" in batch.errors[0].reason


# ----- duplicate keys -----------------------------------------------------------------------


def test_validate_duplicate_external_id_rejects_later_rows():
    rows = [
        {**BASE["workers"], "external_id": "W5"},
        {**BASE["workers"], "external_id": "W6"},
        {**BASE["workers"], "external_id": " W5 "},
        {**BASE["workers"], "external_id": "W5"},
    ]

    batch = run("workers", rows)

    assert [record.row for record in batch.records] == [2, 3]
    assert [(e.row, e.column) for e in batch.errors] == [(4, "external_id"), (5, "external_id")]
    assert batch.errors[0].reason == (
        "trùng external_id với dòng 2 / duplicate external_id, first at row 2"
    )


def test_validate_duplicate_counts_first_row_even_when_it_is_bad():
    rows = [
        {**BASE["courses"], "capacity": "0"},
        {**BASE["courses"]},
    ]

    batch = run("courses", rows)

    assert batch.records == []
    assert [(e.row, e.column) for e in batch.errors] == [(2, "capacity"), (3, "external_id")]


def test_validate_external_ids_are_case_sensitive():
    rows = [BASE["enterprises"], {**BASE["enterprises"], "external_id": "e1"}]

    assert len(run("enterprises", rows).records) == 2


def test_validate_duplicate_enrollment_pair_rejected():
    rows = [
        BASE["enrollments"],
        {**BASE["enrollments"], "course_external_id": "C2"},
        {**BASE["enrollments"], "status": "dropped"},
    ]

    batch = run("enrollments", rows)

    assert [record.row for record in batch.records] == [2, 3]
    assert [(e.row, e.column) for e in batch.errors] == [(4, "worker_external_id")]
    assert "duplicate (worker_external_id, course_external_id), first at row 2" in (
        batch.errors[0].reason
    )


def test_validate_duplicate_referral_without_id_uses_worker_commitment_date():
    rows = [
        BASE["referrals"],
        {**BASE["referrals"], "referred_on": "2025-07-06"},
        {**BASE["referrals"], "outcome": "pending", "hired_on": ""},
    ]

    batch = run("referrals", rows)

    assert [record.row for record in batch.records] == [2, 3]
    assert [e.row for e in batch.errors] == [4]
    assert "(worker_external_id, commitment_external_id, referred_on)" in batch.errors[0].reason


def test_validate_duplicate_referral_external_id_rejected():
    rows = [
        {**BASE["referrals"], "external_id": "R1"},
        {**BASE["referrals"], "external_id": "R1", "referred_on": "2025-07-06"},
        {**BASE["referrals"], "external_id": "R2", "referred_on": "2025-07-07"},
    ]

    batch = run("referrals", rows)

    assert [record.row for record in batch.records] == [2, 4]
    assert [(e.row, e.column) for e in batch.errors] == [(3, "external_id")]


# ----- places -------------------------------------------------------------------------------


def test_validate_ward_code_gives_ward_coordinates():
    ward = gazetteer().get(YEN_MY)

    values = accepted("workers")

    assert values["ward_code"] == YEN_MY
    assert values["province_code"] == ward.province_code == "33"
    assert (values["lat"], values["lon"]) == (ward.lat, ward.lon)
    assert values["address"] is None
    assert values["place_source"] == "ward_code"


def test_validate_unknown_ward_code_is_error():
    batch = one("workers", ward_code="99999")

    assert [(e.column, e.reason) for e in batch.errors] == [
        ("ward_code", "Mã phường/xã không tồn tại '99999' / unknown ward code '99999'")
    ]


@pytest.mark.parametrize("code", ["123", "123456", "12a45", "1207.3"])
def test_validate_malformed_ward_code_is_error(code):
    batch = one("workers", ward_code=code)

    assert [e.column for e in batch.errors] == ["ward_code"]
    assert "5 digits" in batch.errors[0].reason


def test_validate_four_digit_ward_code_zero_padded_with_note():
    batch = one("workers", ward_code=YEN_THANH.lstrip("0"))

    assert batch.errors == []
    assert batch.records[0].values["ward_code"] == YEN_THANH
    [note] = batch.place_notes
    assert note.method == "ward_code"
    assert note.ward_name == gazetteer().get(YEN_THANH).name


def test_validate_old_district_address_converted():
    batch = one("workers", ward_code=None, address=OLD_ADDRESS)

    assert batch.errors == []
    values = batch.records[0].values
    assert values["place_source"] == "address_legacy_converted"
    assert values["ward_code"] == YEN_MY
    assert values["address"] == OLD_ADDRESS
    [note] = batch.place_notes
    assert (note.row, note.text, note.ward_code) == (2, OLD_ADDRESS, YEN_MY)
    assert note.method == "address_legacy_converted"
    assert note.ward_name == "Xã Yên Mỹ"


def test_validate_2025_address_resolved():
    values = accepted("enterprises", ward_code=None, address="Xã Yên Mỹ, tỉnh Hưng Yên")

    assert values["place_source"] == "address_2025"
    assert values["ward_code"] == YEN_MY


def test_validate_unresolvable_address_is_error():
    batch = one("workers", ward_code="", address="Trái Đất, Dải Ngân Hà")

    assert [(e.column, "cannot resolve" in e.reason) for e in batch.errors] == [("address", True)]


def test_validate_ward_code_wins_over_address():
    values = accepted("courses", address="Trái Đất, Dải Ngân Hà")

    assert values["ward_code"] == YEN_MY
    assert values["place_source"] == "ward_code"
    assert values["address"] == "Trái Đất, Dải Ngân Hà"


@pytest.mark.parametrize("kind", ["workers", "enterprises", "courses"])
def test_validate_no_place_is_error(kind):
    batch = one(kind, ward_code="", address="")

    assert [e.column for e in batch.errors] == ["ward_code"]
    assert "ward_code or address required" in batch.errors[0].reason


def test_validate_coordinates_override_ward():
    values = accepted("workers", lat="20,95", lon="106.05")

    assert (values["lat"], values["lon"]) == (20.95, 106.05)
    assert values["ward_code"] == YEN_MY
    assert values["place_source"] == "coordinates"


@pytest.mark.parametrize(
    ("changes", "column", "fragment"),
    [
        ({"lat": "20.9"}, "lon", "together"),
        ({"lon": "106.0"}, "lat", "together"),
        ({"lat": "20.9", "lon": ""}, "lon", "together"),
        ({"lat": "7.9", "lon": "106"}, "lat", "outside Vietnam (8 to 24)"),
        ({"lat": "24.1", "lon": "106"}, "lat", "outside Vietnam"),
        ({"lat": "-20.9", "lon": "106"}, "lat", "outside Vietnam"),
        ({"lat": "20.9", "lon": "101.9"}, "lon", "outside Vietnam (102 to 110)"),
        ({"lat": "20.9", "lon": "110.5"}, "lon", "outside Vietnam"),
        ({"lat": "N20.9", "lon": "106"}, "lat", "not a number"),
    ],
)
def test_validate_bad_coordinates_is_error(changes, column, fragment):
    batch = one("workers", **changes)

    assert [e.column for e in batch.errors] == [column]
    assert fragment in batch.errors[0].reason


@pytest.mark.parametrize(("lat", "lon"), [("8", "102"), ("24", "110"), ("10.2", "103.96")])
def test_validate_coordinates_range_bounds_accepted(lat, lon):
    values = accepted("enterprises", lat=lat, lon=lon)

    assert (values["lat"], values["lon"]) == (float(lat), float(lon))


def test_validate_commitment_without_place_defaults_to_enterprise():
    values = accepted("commitments")

    assert values["ward_code"] is None
    assert values["province_code"] is None
    assert values["lat"] is None and values["lon"] is None
    assert values["address"] is None
    assert values["place_source"] is None


def test_validate_commitment_with_site_uses_it():
    values = accepted("commitments", address=OLD_ADDRESS)

    assert values["ward_code"] == YEN_MY
    assert values["place_source"] == "address_legacy_converted"


def test_validate_commitment_unknown_ward_code_is_error():
    assert [e.column for e in one("commitments", ward_code="99999").errors] == ["ward_code"]


def test_validate_repeated_addresses_resolved_once(monkeypatch):
    calls: list[str] = []
    real = gazetteer()

    class CountingGazetteer:
        def get(self, code):
            return real.get(code)

        def resolve_address(self, text):
            calls.append(text)
            return real.resolve_address(text)

    rows = [
        {**BASE["workers"], "external_id": f"W{i}", "ward_code": "", "address": OLD_ADDRESS}
        for i in range(50)
    ]

    batch = validate("workers", make_table(rows), today=TODAY, gazetteer=CountingGazetteer())

    assert len(batch.records) == 50
    assert calls == [OLD_ADDRESS]


# ----- skills -------------------------------------------------------------------------------


def test_validate_free_text_skills_normalised_and_unknown_reported():
    cell = "may công nghiệp; sua dien dan dung; nấu phở; garment.overlock_sewing"

    batch = one("workers", skills=cell)

    assert batch.errors == []
    assert batch.records[0].values["skills"] == [
        "garment.industrial_sewing",
        "electrical.household_repair",
        "garment.overlock_sewing",
    ]
    notes = [(n.row, n.column, n.text, n.code) for n in batch.skill_notes]
    assert notes == [
        (2, "skills", "may công nghiệp", "garment.industrial_sewing"),
        (2, "skills", "sua dien dan dung", "electrical.household_repair"),
        (2, "skills", "nấu phở", None),
    ]
    assert batch.skill_notes[0].confidence == pytest.approx(1.0)
    assert batch.skill_notes[2].confidence is None


def test_validate_skills_deduplicated():
    values = accepted("workers", skills="may công nghiệp;May Công Nghiệp;garment.industrial_sewing")

    assert values["skills"] == ["garment.industrial_sewing"]


def test_validate_commitment_required_skills_normalised():
    batch = one("commitments", required_skills="May công nghiệp;lái máy bay")

    assert batch.records[0].values["required_skills"] == ["garment.industrial_sewing"]
    assert [(n.column, n.code) for n in batch.skill_notes] == [
        ("required_skills", "garment.industrial_sewing"),
        ("required_skills", None),
    ]


def test_validate_skill_lists_are_fresh_per_record():
    rows = [{**BASE["workers"], "skills": "may", "trades": "garment"}]
    rows.append({**rows[0], "external_id": "W9"})

    first, second = run("workers", rows).records

    assert first.values["skills"] == second.values["skills"]
    assert first.values["skills"] is not second.values["skills"]
    assert first.values["trades"] is not second.values["trades"]


# ----- CSV end to end -----------------------------------------------------------------------


def test_validate_semicolon_bom_csv_end_to_end():
    lines = [
        "External_ID|Full_Name|birth_year|address|phone|trades|skills|expected_wage_vnd",
        f"W1|Nguyễn Thị Lan|1995|{OLD_ADDRESS}|0912 345 678|garment|may công nghiệp|8.000.000",
        "W2|Trần Văn Nam|1988||091234|electrical|sua dien dan dung|7,000,000",
    ]
    data = csv_bytes(lines, delimiter=";", bom=True)

    batch = ingest.load("workers", data, "danh-sach.csv", today=TODAY)

    [record] = batch.records
    assert record.values["phone"] == "+84912345678"
    assert record.values["expected_wage_vnd"] == 8_000_000
    assert record.values["ward_code"] == YEN_MY
    assert [(e.row, e.column) for e in batch.errors] == [(3, "phone"), (3, "ward_code")]


# ----- the benchmark's data ------------------------------------------------------------------


def test_synthetic_workers_of_the_benchmark_validate_cleanly():
    """bench/validate.py times 100,000 of these rows; here 2,000 must all be valid records."""
    wards = [ward.code for ward in gazetteer().wards("33")]
    data = ingest._synthetic_workers_csv(2_000, wards)
    batch = validate("workers", read_table(data, "workers.csv"), today=TODAY)
    assert batch.errors == []
    assert len(batch.records) == 2_000
    assert len({r.values["external_id"] for r in batch.records}) == 2_000
