"""A planner's day in Chromium, with scripts on and off: the overview, another trade and
area, one forecast's chart, the course plan downloaded and read back, every planner page
looked at (screenshots, axe-core), and no worker page opened."""

from __future__ import annotations

import sqlite3

import openpyxl
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _worker_id(site) -> int:
    with sqlite3.connect(site.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return db.execute("SELECT id FROM workers ORDER BY id LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_planner_reads_the_demand_to_come_and_downloads_the_course_plan(
    pages, site, consumer, javascript, tmp_path
):
    me = pages("planner", javascript=javascript)
    me.sign_in()
    me.page.click("nav a[href='/planning']")
    main = me.page.locator("main")
    assert "Số liệu tính lúc" in main.inner_text()
    assert me.page.locator("table.stack tbody tr").count() >= 5
    me.look("overview")

    # Another trade and one area: the form's own submit, with or without scripts.
    me.page.select_option("#trade", "garment")
    me.page.click("form.filters button[type=submit]")
    me.page.wait_for_load_state()
    assert "trade=garment" in me.page.url
    first = me.page.locator("table.stack tbody tr a").first.get_attribute("href")
    area = first.split("area=")[1].split("&")[0]  # the garment area with most shortfall
    me.page.select_option("#area", area)
    me.page.click("form.filters button[type=submit]")
    me.page.wait_for_load_state()
    assert "trade=garment" in me.page.url and f"area={area}" in me.page.url
    rows = me.page.locator("table.stack tbody tr")
    assert rows.count() == 1 and "May mặc" in rows.first.inner_text()
    me.look("overview-one-area")

    # That row's forecast: a chart the page draws inline, with its words.
    rows.first.locator("a").click()
    me.page.wait_for_load_state()
    assert "/planning/forecast" in me.page.url
    assert me.page.locator(".chart-narrow svg").is_visible()  # 360 px: the narrow one
    assert "khoảng 80 %" in me.page.locator(".chart-narrow svg").inner_html()
    assert "Cùng tháng năm trước" in main.inner_text()
    me.look("forecast")

    me.go("/planning/course-plan")
    with me.page.expect_download() as download:
        me.page.click("a[href^='/planning/course-plan.xlsx']")
    saved = tmp_path / download.value.suggested_filename
    assert saved.name == "ke-hoach-dao-tao.xlsx"
    download.value.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == ["Tóm tắt", "Kế hoạch mở lớp", "Theo nghề và khu vực"]
    plan = book["Kế hoạch mở lớp"]
    header = [c.value for c in plan[1]]
    assert header[:4] == ["Nghề", "Mã khu vực", "Khu vực", "Cơ sở đào tạo"]
    places = header.index("Số chỗ học")
    classes = header.index("Số lớp")
    sizes = [(r[places], r[classes]) for r in plan.iter_rows(min_row=2, values_only=True)]
    assert sizes and all(p >= 10 * c for p, c in sizes)  # no class under the minimum
    summary = dict(book["Tóm tắt"].iter_rows(min_row=2, values_only=True))
    assert summary["Báo cáo"] == "Kế hoạch mở lớp" and summary["Số lớp"] == sum(
        c for _p, c in sizes
    )
    me.look("course-plan")

    for path, name in (
        ("/planning/gaps", "gaps"),
        ("/planning/placement", "placement"),
        ("/planning/placement?by=course", "placement-course"),
        ("/planning/fairness", "fairness"),
        ("/rounds", "rounds"),
    ):
        assert me.go(path).status == 200, path
        me.look(name)
    # A province with nothing stored yet: the page follows its first refresh.
    me.go("/planning?province=" + ("01" if javascript else "79"))
    assert me.page.locator("progress").count() == 1
    me.look("waiting")

    # An allocation round from the page: set it, watch it, read its summary.
    me.go("/rounds")
    me.page.select_option("#trade", "garment")
    me.page.click("form.stack button[type=submit]")
    me.page.wait_for_load_state()
    assert "/rounds/" in me.page.url
    for _ in range(60):
        if me.page.locator("dl.figures").count():
            break
        me.page.wait_for_timeout(1000)
        if not javascript:
            me.page.reload()
    assert "Người được đề xuất" in me.page.locator("main").inner_text()
    assert me.page.locator("input[name=pair_ids]").count() == 0  # planners see no pairs
    me.look("round")
    assert me.go("/workers").status == 403
    assert me.go(f"/workers/{_worker_id(site)}").status == 403
    assert me.go(f"/workers/{_worker_id(site)}/matches").status == 403
