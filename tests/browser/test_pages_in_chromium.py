"""Caseworkers' and enterprises' daily work in a real Chromium against a live gunicorn on
the demo, with JavaScript on and off. Screenshots: tests/browser/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest

from tests import xlsx_files
from tests.browser.conftest import TODAY

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _db(site) -> sqlite3.Connection:
    return sqlite3.connect(site.env["DATABASE_URL"].removeprefix("sqlite:///"))


def _xlsx(rows: list[list[object]]) -> bytes:
    return xlsx_files.from_rows(rows)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_caseworkers_day(pages, site, tmp_path, javascript):
    me = pages("caseworker", javascript=javascript)
    tag = "js" if javascript else "nojs"
    me.sign_in()
    me.look("home")
    # Find a worker by name, typed without diacritics.
    with _db(site) as db:
        name, ward = db.execute(
            "SELECT full_name, ward_code FROM workers WHERE full_name LIKE 'Nguyễn Thị %'"
            " ORDER BY id LIMIT 1"
        ).fetchone()
    folded = "nguyen thi " + name.split()[-1].lower()
    import unicodedata

    folded = "".join(
        c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
    )
    folded = folded.replace("đ", "d")
    me.go("/workers")
    me.page.fill("#q", folded)
    if javascript:
        me.page.wait_for_selector("#results li")
    else:
        me.page.click("form.search button[type=submit]")
    assert name in me.page.inner_text("#results")
    me.look("search")
    # Register a new worker, with consent.
    me.go("/workers/new")
    new_name = f"Bùi Thị Thử {tag}"
    me.page.fill("#full_name", new_name)
    me.page.fill("#birth_year", "1997")
    me.page.fill("#phone", "0987 654 321")
    me.page.fill("#ward_code", ward)
    me.page.check("input[name=trades][value=garment]")
    me.page.fill("#skills_text", "biết may máy 1 kim")
    me.page.fill("#expected_wage_vnd", "6.500.000")
    me.look("register")
    me.page.click("form.stack button[type=submit]")
    assert "đồng ý" in " ".join(me.page.locator(".field-error").all_inner_texts())  # consent
    me.page.check("input[name=consent_given]")
    me.page.click("form.stack button[type=submit]")
    me.page.wait_for_selector("h1")
    assert me.page.inner_text("h1") == new_name
    assert "6.500.000 ₫" in me.page.content() and "Ký phiếu đồng ý" in me.page.content()
    worker_url = me.page.url
    me.look("worker")
    # Upload an .xlsx with Vietnamese headers and one bad row; read the report.
    upload = tmp_path / f"danh-sach-{tag}.xlsx"
    upload.write_bytes(
        _xlsx(
            [
                ["Mã người lao động", "Họ và tên", "Năm sinh", "Mã phường/xã", "Nghề quan tâm"],
                [f"XL-{tag}-1", "Hà Văn Lực", 1994, ward, "electrical"],
                [f"XL-{tag}-2", "Sai Năm Sinh", 1850, ward, "garment"],
            ]
        )
    )
    me.go("/uploads")
    me.page.select_option("#kind", "workers")
    me.page.set_input_files("#file", str(upload))
    me.page.check("input[name=consent_confirmed]")
    me.page.click("form.stack button[type=submit]")
    me.page.wait_for_selector("table")
    report = me.page.inner_text("main")
    assert "Báo cáo tải lên" in report and "birth_year" in report
    assert re.search(r"\b3\b\s+Năm sinh \(birth_year\)", report), report
    me.look("upload-report")
    # Open the new worker's matches, refer to the best, record the hire.
    me.page.goto(worker_url)
    me.page.click("text=Gợi ý việc làm")
    me.page.wait_for_selector("ol.matches li")
    me.look("matches")
    enterprise = me.page.inner_text("ol.matches li h2")
    me.page.click("ol.matches li button")
    me.page.wait_for_selector(".status-pending")
    assert enterprise in me.page.inner_text("main")
    me.page.select_option("select[name=status]", "hired")
    me.page.click("form.outcome button")
    me.page.wait_for_selector(".status-hired")
    me.look("worker-hired")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_an_enterprise_posts_sees_its_shortlist_and_confirms_a_hire(pages, site, javascript):
    hr = pages("enterprise", javascript=javascript)
    hr.sign_in()
    hr.go("/commitments")
    hr.look("commitments")
    hr.go("/commitments/new")
    hr.page.select_option("#trade", "garment")
    hr.page.fill("#slots", "6")
    hr.page.fill("#wage_vnd", "7.800.000")
    hr.page.fill("#start_date", TODAY)
    hr.look("post")
    hr.page.click("form.stack button[type=submit]")
    hr.page.wait_for_selector("h1")
    assert "7.800.000 ₫" in hr.page.content()
    assert hr.page.locator("ol.matches li").count() > 0
    hr.look("commitment-shortlist")
    commitment_url = hr.page.url
    # A caseworker refers the top candidate from the same shortlist.
    caseworker = pages("caseworker")
    caseworker.sign_in()
    caseworker.page.goto(commitment_url)
    caseworker.page.click("ol.matches li button")
    caseworker.page.wait_for_selector(".status-pending")
    # The enterprise now sees the candidate's name and phone, and confirms the hire.
    hr.page.goto(commitment_url)
    with _db(site) as db:
        name, phone = db.execute(
            "SELECT w.full_name, w.phone FROM referrals r JOIN workers w ON w.id = r.worker_id"
            " WHERE r.commitment_id = ?", (int(commitment_url.rsplit("/", 1)[-1]),),
        ).fetchone()  # fmt: skip
    assert name in hr.page.inner_text("main")
    if phone:
        assert hr.page.locator(f"a[href='tel:{phone}']").count() == 1
    hr.page.click("form.outcome button[value=hired]")
    hr.page.wait_for_selector(".status-hired")
    hr.look("commitment-hired")
    # Another enterprise's commitment is a 404 page.
    own = int(commitment_url.rsplit("/", 1)[-1])
    with _db(site) as db:
        mine = db.execute("SELECT enterprise_id FROM commitments WHERE id = ?", (own,)).fetchone()[
            0
        ]
        other = db.execute(
            "SELECT id FROM commitments WHERE enterprise_id != ? LIMIT 1", (mine,)
        ).fetchone()[0]
    response = hr.go(f"/commitments/{other}")
    assert response.status == 404 and "Không tìm thấy" in hr.page.inner_text("h1")
    hr.look("not-found")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_csrf_and_language(pages, site, javascript):
    me = pages("caseworker", javascript=javascript)
    me.sign_in()
    response = me.page.request.post(
        site.url + "/workers/new", form={"full_name": "Không Mã", "birth_year": "1990"}
    )
    assert response.status == 400 and "mã bảo vệ" in response.text()
    me.go("/workers/new")
    assert me.page.inner_text("h1") == "Đăng ký người lao động"
    me.page.click("text=English")
    me.page.wait_for_load_state()
    assert me.page.inner_text("h1") == "Register a worker"
    me.look("register-en-switched")
    me.page.click("text=Tiếng Việt")
    assert me.page.inner_text("h1") == "Đăng ký người lao động"
    assert dt.date.fromisoformat(TODAY)
