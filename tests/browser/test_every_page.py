"""Every page, for each role that may open it, at 360 and 1280 px, checked by axe-core
(no serious or critical WCAG 2.1 AA violation) and kept as a screenshot to look at."""

from __future__ import annotations

import sqlite3

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _one(site, sql: str, *args: object):
    with sqlite3.connect(site.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return db.execute(sql, args).fetchone()


def test_every_page_passes_axe_and_is_looked_at(pages, site, tmp_path):
    visitor = pages("caseworker")
    for path, name in (("/", "welcome"), ("/login", "login"), ("/khong-co", "404-anonymous")):
        visitor.go(path)
        visitor.look(name)
    visitor.go("/login")
    visitor.page.fill("#login", "khong-ai")
    visitor.page.fill("#password", "sai-mat-khau")
    visitor.page.click("button[type=submit]")
    visitor.look("login-failed")

    me = pages("caseworker")
    me.sign_in()
    worker_id, ward = _one(
        site, "SELECT id, ward_code FROM workers WHERE erased_at IS NULL ORDER BY id LIMIT 1"
    )
    commitment_id = _one(site, "SELECT id FROM commitments ORDER BY id LIMIT 1")[0]
    for path, name in (
        ("/", "home"),
        ("/workers", "search-empty"),
        ("/workers?q=khong+co+ai+ten+nay", "search-none"),
        (f"/workers/{worker_id}", "worker-demo"),
        (f"/workers/{worker_id}/edit", "edit"),
        (f"/workers/{worker_id}/matches", "matches-demo"),
        (f"/workers/{worker_id}/enrol", "enrol"),
        (f"/workers/{worker_id}/consent/withdraw", "withdraw"),
        ("/uploads", "uploads"),
        ("/commitments", "commitments-staff"),
        (f"/commitments/{commitment_id}", "commitment-staff"),
        ("/account/password", "password"),
    ):
        response = me.go(path)
        assert response.status == 200, (path, response.status)
        me.look(name)
    # A form that fails validation, a form without its CSRF token, a large upload as a job.
    me.go("/workers/new")
    me.page.fill("#birth_year", "năm ngoái")
    me.page.click("form.stack button[type=submit]")
    assert me.page.locator(".field-error").count() >= 2
    me.look("register-errors")
    me.page.evaluate("document.querySelector('form.stack input[name=csrf_token]').remove()")
    me.page.click("form.stack button[type=submit]")
    assert "mã bảo vệ" in me.page.inner_text("main")
    me.look("400-csrf")
    rows = ["Mã người lao động,Họ và tên,Năm sinh,Mã phường/xã"]
    rows += [f"LON-{i},Người Thứ {i},1990,{ward}" for i in range(1200)]
    big = tmp_path / "danh-sach-lon.csv"
    big.write_text("\n".join(rows), encoding="utf-8")
    me.go("/uploads")
    me.page.set_input_files("#file", str(big))
    me.page.check("input[name=consent_confirmed]")
    me.page.click("form.stack button[type=submit]")
    me.page.wait_for_selector("progress")
    assert "/uploads/jobs/" in me.page.url
    me.look("upload-job")
    # An erased worker's page.
    me.go(f"/workers/{worker_id}/consent/withdraw")
    me.page.check("input[name=confirm]")
    me.page.click("button.danger")
    me.page.wait_for_selector(".notice")
    me.look("worker-erased")
    me.go("/lang/en?next=/workers/new")
    me.look("register-en")
    me.go("/lang/vi?next=/")

    planner = pages("planner")
    planner.sign_in()
    planner.look("home")
    assert planner.go("/workers").status == 403
    planner.look("403")

    admin = pages("admin")
    admin.sign_in()
    admin.look("home")

    hr = pages("enterprise")
    hr.sign_in()
    own = _one(
        site,
        "SELECT c.id FROM commitments c JOIN enterprises e ON e.id = c.enterprise_id"
        " JOIN users u ON u.enterprise_id = e.id WHERE u.login = ? ORDER BY c.id LIMIT 1",
        site.logins["enterprise"],
    )[0]
    for path, name in (
        ("/", "home"),
        ("/commitments?state=expired", "commitments-expired"),
        (f"/commitments/{own}", "commitment"),
        (f"/commitments/{own}/edit", "commitment-edit"),
        ("/commitments/new", "post-empty"),
    ):
        response = hr.go(path)
        assert response.status == 200, (path, response.status)
        hr.look(name)


def test_the_accessibility_check_can_fail(pages):
    """The check above is real: axe-core flags an unlabelled field and grey-on-grey text."""
    from tests.browser.conftest import serious_violations

    me = pages("caseworker")
    me.page.set_content(
        '<html lang="vi"><title>x</title><main><input name="q">'
        '<p style="color:#aaa;background:#bbb">chữ mờ</p></main></html>'
    )
    found = " ".join(serious_violations(me.page))
    assert "label" in found and "color-contrast" in found
