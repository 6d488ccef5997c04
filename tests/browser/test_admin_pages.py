"""An admin's work in a real Chromium against a live gunicorn on the demo, with JavaScript on
and off: accounts, API tokens, training and promoting a model (a real consumer runs the
job), and the personal-data access log. Screenshots: tests/browser/screenshots/admin-*."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _one(site, sql: str, *args: object):
    with sqlite3.connect(site.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return db.execute(sql, args).fetchone()


def _wait_for_job(me, javascript: bool) -> str:
    """Follow the job's page to its end: htmx polls it, or a person presses "Tải lại"."""
    if javascript:
        me.page.wait_for_selector(".job-status:text-matches('Đã xong|Lỗi|Đã hủy')", timeout=90_000)
    else:
        deadline = time.monotonic() + 90
        while not re.search("Đã xong|Lỗi|Đã hủy", me.page.inner_text(".job-status")):
            assert time.monotonic() < deadline, me.page.inner_text("main")
            time.sleep(1)
            me.page.click("a.refresh")  # "Tải lại": the page works without htmx
            me.page.wait_for_load_state()
    return me.page.inner_text(".job-status")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_an_admins_day(pages, site, consumer, javascript):
    tag = "js" if javascript else "nojs"
    me = pages("admin", javascript=javascript)
    me.sign_in()

    def look(name: str) -> None:
        """Every page is looked at with scripts on (axe runs then); without scripts only the
        pages that differ (the job's, followed by hand) and the first, to keep the file lean."""
        if javascript or name in ("index", "job-running", "job-done", "access-log"):
            me.look(name)

    me.go("/admin")
    assert "Nhật ký truy cập dữ liệu cá nhân" in me.page.inner_text("main")
    look("index")

    # An account: a bad login first (taken), then a caseworker of Hưng Yên.
    me.go("/admin/users/new")
    me.page.fill("#login", site.logins["caseworker"].upper())
    me.page.fill("#name", "Trùng Tên")
    me.page.click("form.stack button[type=submit]")
    assert "đã có" in me.page.inner_text("#login-error")
    look("user-errors")
    me.page.fill("#login", f"can-bo-{tag}")
    me.page.fill("#name", f"Phạm Văn Mới {tag}")
    me.page.select_option("#role", "caseworker")
    me.page.select_option("#province_code", "33")
    look("user-new")
    me.page.click("form.stack button[type=submit]")
    password = me.page.inner_text("#secret")
    assert re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", password)
    look("user-created")
    me.page.click("a.button:has-text('Xong')")
    assert f"Phạm Văn Mới {tag}" in me.page.inner_text("h1")
    look("user")
    me.go(f"/admin/users?q=can-bo-{tag}")
    assert f"can-bo-{tag}" in me.page.inner_text("table")
    look("users")

    # An API token: issued, shown once, listed by its prefix, revoked after a confirmation.
    me.go("/admin/tokens/new")
    me.page.select_option("#role", "planner")
    me.page.fill("#label", f"Báo cáo tỉnh {tag}")
    me.page.fill("#expires_in_days", "30")
    look("token-new")
    me.page.click("form.stack button[type=submit]")
    secret = me.page.inner_text("#secret")
    assert secret.startswith("cn_")
    look("token-created")
    me.go("/admin/tokens")
    row = me.page.locator("tr", has_text=f"Báo cáo tỉnh {tag}")
    assert secret not in me.page.content() and secret[:10] in row.inner_text()
    look("tokens")
    row.locator("a.danger-link").click()
    me.page.wait_for_selector("button.danger")
    look("token-revoke")
    me.page.check("input[name=confirm]")
    me.page.click("button.danger")
    me.page.wait_for_selector(".flash.ok")
    row = me.page.locator("tr", has_text=f"Báo cáo tỉnh {tag}")
    assert "Đã thu hồi" in row.inner_text()

    # A model: trained by the consumer without promotion, then put into use with a reason.
    me.go("/admin/models")
    look("models")
    me.page.check("input[name=promote][value=never]")
    me.page.click("form[action$='/models/train'] button")
    me.page.wait_for_selector("#job")
    assert "/admin/jobs/" in me.page.url
    look("job-running")
    assert _wait_for_job(me, javascript) == "Đã xong", me.page.inner_text("main")
    assert "chưa được đưa vào dùng" in me.page.inner_text("#job")
    look("job-done")
    me.page.click("text=Xem phiên bản")
    me.page.wait_for_selector("#reason")
    look("model")
    me.page.fill("#reason", "ng")  # too short: the field says why
    me.page.click("#promote button[type=submit]")
    assert me.page.locator("#reason-error").count() == 1
    me.page.fill("#reason", f"Đã đọc kết quả kiểm tra chất lượng và công bằng ({tag})")
    me.page.click("#promote button[type=submit]")
    me.page.wait_for_selector(".flash.ok")
    main = me.page.inner_text("main")
    assert "đang dùng" in main and "Thử admin" in main and f"công bằng ({tag})" in main
    look("model-promoted")
    me.go("/admin/jobs?kind=train")
    assert "Huấn luyện mô hình" in me.page.inner_text("table")
    look("jobs")

    # The access log: a caseworker opens a worker; the admin finds that read by the worker.
    worker_id = _one(
        site, "SELECT id FROM workers WHERE erased_at IS NULL ORDER BY id DESC LIMIT 1"
    )[0]
    caseworker = pages("caseworker", javascript=javascript)
    caseworker.sign_in()
    assert caseworker.go(f"/workers/{worker_id}").status == 200
    me.go("/admin/access-log")
    me.page.fill("#worker", str(worker_id))
    me.page.click("form.log-filters button[type=submit]")
    me.page.wait_for_selector("table")
    log = me.page.inner_text("table")
    assert "Thử caseworker" in log and f"#{worker_id}" in log
    look("access-log")
    with me.page.expect_download() as download:
        me.page.click("text=Excel (.xlsx)")
    assert download.value.suggested_filename.endswith(".xlsx")
