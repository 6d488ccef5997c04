"""Planner pages and allocation rounds over the WSGI app, on both storages: roles, the page
that follows the first refresh, freshness and staleness, filters (bad ones named), the
downloads in the page's language, and a round started, read and confirmed from pages.

Their browser-level flows (Chromium on a live gunicorn, scripts on and off) are in
tests/browser/test_planner_pages.py."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from api import jobs
from api.extensions import db
from api.models import AllocationRun, Enterprise, Job, Referral
from api.versions import touch
from tests import factories
from tests.api.test_exports import _history
from tests.api.test_pages import ROLES, Pages, csrf, sign_in, text

PLANNER_PAGES = (
    "/planning",
    "/planning/forecast",
    "/planning/gaps",
    "/planning/course-plan",
    "/planning/placement",
    "/planning/fairness",
)


def _run_refreshes() -> None:
    """Run every queued planning refresh here, as the consumer would."""
    queued = db.session.scalars(
        sa.select(Job.id).where(Job.kind == "planning_refresh", Job.status == "queued")
    ).all()
    for job_id in queued:
        jobs.execute(job_id)
    db.session.expire_all()


@pytest.fixture
def planner(app, world, users) -> Pages:
    client = Pages(app)
    sign_in(client, "planner")
    return client


def test_planner_pages_answer_planners_and_admins_only(app, world, users):
    for role in ROLES:
        client = Pages(app)
        sign_in(client, role)
        for path in (*PLANNER_PAGES, "/planning/course-plan.xlsx"):
            expected = 200 if role in ("planner", "admin") else 403
            assert client.get(path).status_code == expected, (role, path)
        expected = 403 if role == "enterprise" else 200
        assert client.get("/rounds").status_code == expected, role
    anonymous = Pages(app)
    for path in (*PLANNER_PAGES, "/rounds"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_before_the_first_refresh_a_page_follows_the_job_then_shows_the_figures(planner):
    waiting = planner.get("/planning")
    assert waiting.status_code == 200
    assert "Đang tính" in text(waiting) or "Computing" in text(waiting)
    job_id = int(re.search(r"/planning/jobs/(\d+)", text(waiting)).group(1))
    partial = planner.get(f"/planning/jobs/{job_id}?back=/planning", headers={"HX-Request": "1"})
    assert "<progress" in text(partial) and "<html" not in text(partial)
    _run_refreshes()
    done = planner.get(f"/planning/jobs/{job_id}?back=/planning", headers={"HX-Request": "1"})
    assert 'href="/planning"' in text(done)
    # The small world has too little history for forecasts: each page says so in words.
    for path in PLANNER_PAGES:
        response = planner.get(path)
        assert response.status_code == 200, path
        assert "Traceback" not in text(response)
    assert "tháng dữ liệu" in text(planner.get("/planning/forecast"))


def test_the_pages_show_the_stored_figures_their_freshness_and_when_they_are_stale(
    app, world, users, auth
):
    _history(app.test_client(), auth)
    planner = Pages(app)
    sign_in(planner, "planner")
    planner.get("/planning")
    _run_refreshes()

    overview = text(planner.get("/planning"))
    assert "Số liệu tính lúc" in overview and "May mặc" in overview
    assert "<svg" in overview and "chart-narrow" in overview and "chart-wide" in overview
    forecast = text(planner.get("/planning/forecast?kind=demand&trade=garment"))
    assert "<svg" in forecast and "Cùng tháng năm trước" in forecast
    plan = text(planner.get("/planning/course-plan?sort=places"))
    assert "Tải kế hoạch mở lớp" in plan or "Download the course plan" in plan
    assert "Thiếu hụt" in plan or "Shortfall" in plan
    fairness = text(planner.get("/planning/fairness"))
    assert "four-fifths" in fairness or "4/5" in fairness or "bốn phần năm" in fairness

    # A write makes the figures stale: the page says so and names the refresh queued.
    evil = db.session.query(Enterprise).filter_by(external_id="EVIL-1").one()
    factories.commitment(evil, slots=5)
    touch("commitments")  # as every write of the registry does (api.versions)
    db.session.commit()
    stale = text(planner.get("/planning"))
    assert "đang được tính lại" in stale or "being computed again" in stale
    assert re.search(r"/planning/jobs/\d+", stale)


def test_bad_filters_are_named_and_the_page_still_answers(app, world, users, auth):
    _history(app.test_client(), auth)
    planner = Pages(app)
    sign_in(planner, "planner")
    planner.get("/planning")
    _run_refreshes()
    for path in (
        "/planning?trade=khong-co&area_level=moon",
        "/planning/forecast?kind=people&trade=x",
        "/planning/course-plan?start=abc&sort=nonsense",
        "/planning/placement?by=nobody",
        "/planning/course-plan.pdf",
        "/planning/nothing.xlsx",
    ):
        response = planner.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert "Traceback" not in text(response)
    named = text(planner.get("/planning?trade=khong-co"))
    assert "trade" in named and 'class="error-box"' in named
    # A province is a scope of its own: one with nothing stored yet is being computed.
    other = text(planner.get("/planning?province=01"))
    assert "<progress" in other and "Đang tính số liệu kế hoạch" in other
    unknown = text(planner.get("/planning?province=99"))
    assert "Không có tỉnh mã 99" in unknown and "Số liệu tính lúc" in unknown


def test_downloads_are_the_api_files_in_the_pages_language(app, world, users, auth):
    _history(app.test_client(), auth)
    planner = Pages(app)
    sign_in(planner, "planner")
    planner.get("/planning")
    _run_refreshes()
    response = planner.get("/planning/course-plan.xlsx?trade=garment")
    assert response.status_code == 200 and response.headers["X-Stale"] == "false"
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "Tóm tắt"
    assert book["Kế hoạch mở lớp"]["A1"].value == "Nghề"
    planner.get("/lang/en?next=/planning")
    english = load_workbook(io.BytesIO(planner.get("/planning/course-plan.xlsx").data))
    assert english.sheetnames[0] == "Summary"
    csv_text = planner.get("/planning/gaps.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffTrade,")


def _form(client, path: str) -> str:
    return csrf(client, path)


def test_a_round_from_the_pages_started_followed_and_confirmed(app, world, users):
    for _n in range(3):  # graduates free to refer (the world's own have referrals pending)
        fresh = factories.worker()
        factories.enrollment(
            fresh, world.course, status="graduated", completed_on=world.course.end_date
        )
    db.session.commit()
    caseworker = Pages(app)
    sign_in(caseworker, "caseworker")
    runs = db.session.query(AllocationRun).count()
    bad = caseworker.post(
        "/rounds",
        data={"csrf_token": _form(caseworker, "/rounds"), "over_referral_factor": "9",
              "graduated_since": "hôm qua"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert text(bad).count('class="field-error"') == 2
    assert "Tối đa 5" in text(bad) and "Must be at most" not in text(bad)  # one language
    assert db.session.query(AllocationRun).count() == runs

    started = caseworker.post(
        "/rounds",
        data={"csrf_token": _form(caseworker, "/rounds"), "policy": "max_hires",
              "trade": "garment", "over_referral_factor": "1,5", "graduated_since": "01/01/2020"},
    )  # fmt: skip
    assert started.status_code == 303
    run_id = int(started.headers["Location"].rsplit("/", 1)[-1])
    run = db.session.get(AllocationRun, run_id)
    assert run.status == "running"  # no consumer here: the job waits
    polled = text(caseworker.get(f"/rounds/{run_id}", headers={"HX-Request": "true"}))
    assert 'id="round"' in polled and "<progress" in polled  # what htmx swaps in
    jobs.execute(run.job_id)
    db.session.expire_all()
    page = text(caseworker.get(f"/rounds/{run_id}"))
    pair_ids = re.findall(r'name="pair_ids" value="(\d+)"', page)
    assert pair_ids, page[:2000]
    referrals = db.session.query(Referral).count()

    nothing = caseworker.post(
        f"/rounds/{run_id}/confirm", data={"csrf_token": _form(caseworker, f"/rounds/{run_id}")}
    )
    assert nothing.status_code == 303 and db.session.query(Referral).count() == referrals
    confirmed = caseworker.post(
        f"/rounds/{run_id}/confirm",
        data={"csrf_token": _form(caseworker, f"/rounds/{run_id}"), "pair_ids": pair_ids},
    )
    assert confirmed.status_code == 303
    db.session.expire_all()
    made = db.session.query(Referral).count() - referrals
    assert 1 <= made <= len(pair_ids), (pair_ids, text(caseworker.get(f"/rounds/{run_id}"))[:6000])
    after = text(caseworker.get(f"/rounds/{run_id}"))
    assert "Đã giới thiệu" in after or "Referred" in after
    export = caseworker.get(f"/rounds/{run_id}.xlsx")
    assert load_workbook(io.BytesIO(export.data)).sheetnames == ["Tóm tắt", "Cặp đề xuất"]

    # A planner reads the round's summary, never its pairs (the API's rule).
    planner = Pages(app)
    sign_in(planner, "planner")
    summary = text(planner.get(f"/rounds/{run_id}"))
    assert 'name="pair_ids"' not in summary and "#" + str(run_id) in summary
    assert planner.post(
        f"/rounds/{run_id}/confirm", data={"csrf_token": _form(planner, "/rounds")}
    ).status_code == 403
