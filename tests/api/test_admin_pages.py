"""The admin pages over the WSGI app, on both storages: admins only, users, tokens, models,
jobs and the personal-data access log with its formula-safe exports.

The browser-level flows (a real Chromium on a live gunicorn) are in
tests/browser/test_admin_pages.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from api import accounts, jobs
from api.extensions import db
from api.models import AccessLog, ApiToken, Job, User
from matcher import clock, model_store
from tests.api.test_pages import PASSWORD, ROLES, Pages, csrf, sign_in, text  # noqa: F401

ADMIN_PAGES = (
    "/admin",
    "/admin/users",
    "/admin/users/new",
    "/admin/tokens",
    "/admin/tokens/new",
    "/admin/models",
    "/admin/jobs",
    "/admin/access-log",
    "/admin/access-log/export?format=csv",
)


@pytest.fixture
def admin(app, world, users):  # noqa: F811
    client = Pages(app)
    sign_in(client, "admin")
    return client


def once(page_text: str) -> dict[str, str]:
    """The hidden fields a form posts: its CSRF token and its single-use token."""
    fields = dict(re.findall(r'name="(csrf_token|once)" value="([^"]+)"', page_text))
    return fields


def form_of(client, path: str) -> dict[str, str]:
    return once(text(client.get(path)))


def _version(app, name: str) -> str:
    root = Path(app.config["MODELS_DIR"])
    model_store.save(root, {"stand-in": name}, {"scorer": "model"}, version=name)
    return name


def test_every_admin_page_is_for_admins_only(app, world, users):  # noqa: F811
    job = jobs.submit("train", {"promote": "never", "version": "v-x"}, None)
    version = _version(app, "v1-test")
    token = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.kind == "api"))
    paths = [
        *ADMIN_PAGES,
        f"/admin/users/{users['caseworker'].id}",
        f"/admin/tokens/{token}/revoke",
        f"/admin/models/{version}",
        f"/admin/jobs/{job.id}",
    ]
    for role in ROLES:
        client = Pages(app)
        sign_in(client, role)
        for path in paths:
            response = client.get(path)
            expected = 200 if role == "admin" else 403
            assert response.status_code == expected, (role, path, response.status_code)
            if expected == 403:
                assert "Không có quyền" in text(response) and "Forbidden" in text(response)
    anonymous = Pages(app)
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/login?next="
        ), path


def test_the_index_links_the_five_sections_with_counts(admin):
    page = text(admin.get("/admin"))
    for words in ("Người dùng", "Mã truy cập API", "Mô hình", "Tác vụ", "Nhật ký truy cập"):
        assert words in page
    assert "4 đang hoạt động" in page  # the four accounts of the fixture


def _new_user(admin, **values: str):
    fields = form_of(admin, "/admin/users/new")
    data = {"login": "", "name": "", "role": "caseworker", "enterprise": "", "province_code": ""}
    return admin.post("/admin/users/new", data={**fields, **data, **values})


def test_create_a_user_shows_the_password_once_and_it_signs_in(app, admin, world):
    response = _new_user(
        admin, login="Lan.Nguyễn", name="Nguyễn Thị Lan", role="caseworker", province_code="33"
    )
    assert response.status_code == 200
    page = text(response)
    password = re.search(r'id="secret">([^<]+)<', page).group(1)
    assert "chỉ hiện một lần" in page and "lan.nguyen" in page
    user = db.session.scalar(sa.select(User).where(User.login == "lan.nguyen"))
    assert user.province_code == "33" and password not in user.password_hash
    assert accounts.verify("LAN.NGUYEN", password) is not None


def test_a_reloaded_create_form_is_refused(app, admin, world):
    fields = form_of(admin, "/admin/users/new")
    data = {**fields, "login": "hai", "name": "Hai", "role": "planner"}
    assert admin.post("/admin/users/new", data=data).status_code == 200
    twice = admin.post("/admin/users/new", data={**data, "login": "hai-2"})
    assert twice.status_code == 303 and twice.headers["Location"].endswith("/admin/users")
    assert db.session.scalar(sa.select(User.id).where(User.login == "hai-2")) is None


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"login": "test-caseworker", "name": "Trùng"}, "login", "đã có"),
        ({"login": "TEST-Caseworker", "name": "Trùng hoa"}, "login", "đã có"),
        ({"login": "dn-moi", "name": "Doanh nghiệp", "role": "enterprise"}, "enterprise", "cần"),
        ({"login": "tinh", "name": "Tỉnh lạ", "province_code": "99"}, "province_code", "99"),
        ({"login": "qt", "name": "Q", "role": "admin", "province_code": "33"},
         "province_code", "chỉ"),
        ({"login": "khong ten!", "name": "Ai"}, "login", "chỉ gồm"),
        ({"login": "khongten", "name": "  "}, "name", "họ tên"),
    ],
)  # fmt: skip
def test_create_a_user_with_bad_input_names_the_field_and_writes_nothing(
    admin, values, field, words
):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = _new_user(admin, **values)
    assert response.status_code == 422
    page = text(response)
    error = re.search(rf'id="{field}-error">([^<]+)<', page)
    assert error and words in error.group(1), page[:3000]
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_an_enterprise_user_is_made_for_an_enterprise_chosen_by_name(admin, world):
    response = _new_user(
        admin, login="hr-2", name="Phòng nhân sự", role="enterprise",
        enterprise=world.enterprise.external_id,
    )  # fmt: skip
    assert response.status_code == 200
    user = db.session.scalar(sa.select(User).where(User.login == "hr-2"))
    assert user.enterprise_id == world.enterprise.id
    assert f">{world.enterprise.name} ({world.enterprise.external_id})<" in text(
        admin.get("/admin/users/new")
    )


def test_a_post_without_its_csrf_token_is_a_400_page_and_writes_nothing(admin, users):  # noqa: F811
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = admin.post("/admin/users/new", data={"login": "x1", "name": "X", "role": "admin"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "mã bảo vệ" in text(response) and "protection token" in text(response)
    target = users["caseworker"]
    assert admin.post(f"/admin/users/{target.id}/disable").status_code == 400
    db.session.refresh(target)
    assert target.disabled_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_reset_password_changes_the_hash_and_ends_the_sessions(app, admin, users):  # noqa: F811
    person = users["caseworker"]
    theirs = Pages(app)
    sign_in(theirs, "caseworker")
    assert theirs.get("/workers/new").status_code == 200
    old_hash = person.password_hash
    page = text(admin.get(f"/admin/users/{person.id}"))
    response = admin.post(f"/admin/users/{person.id}/password", data=once(page))
    assert response.status_code == 200
    shown = text(response)
    password = re.search(r'id="secret">([^<]+)<', shown).group(1)
    assert "phải đổi" in shown
    db.session.refresh(person)
    assert person.password_hash != old_hash and password not in person.password_hash
    assert theirs.get("/workers/new").status_code == 302  # their session has ended
    assert accounts.verify("test-caseworker", PASSWORD) is None
    assert accounts.verify("test-caseworker", password) is not None
    # Posting the same form again does not reset it a second time.
    twice = admin.post(f"/admin/users/{person.id}/password", data=once(page))
    assert twice.status_code == 303
    assert accounts.verify("test-caseworker", password) is not None


def test_disable_ends_sessions_and_tokens_and_enable_lets_them_back(app, admin, users):  # noqa: F811
    person = users["planner"]
    theirs = Pages(app)
    sign_in(theirs, "planner")
    fields = form_of(admin, f"/admin/users/{person.id}")
    response = admin.post(f"/admin/users/{person.id}/disable", data=fields)
    assert response.status_code == 303
    page = text(admin.get(response.headers["Location"]))
    assert "đã bị khóa" in page or "Đã khóa" in page
    db.session.refresh(person)
    assert person.disabled_at is not None
    assert theirs.get("/").status_code == 200 and "Đăng nhập" in text(theirs.get("/"))
    live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == person.id, ApiToken.revoked_at.is_(None))
    )
    assert live == 0
    assert admin.post(f"/admin/users/{person.id}/enable", data=fields).status_code == 303
    db.session.refresh(person)
    assert person.disabled_at is None
    sign_in(Pages(app), "planner")


def test_an_admin_cannot_disable_themselves_or_drop_their_admin_role(admin, users):  # noqa: F811
    me = users["admin"]
    page = text(admin.get(f"/admin/users/{me.id}"))
    assert "không thể tự khóa" in page
    response = admin.post(f"/admin/users/{me.id}/disable", data=once(page))
    assert response.status_code == 303
    assert "không thể tự khóa" in text(admin.get(response.headers["Location"]))
    response = admin.post(
        f"/admin/users/{me.id}",
        data={**once(page), "name": me.name, "role": "planner", "province_code": ""},
    )
    assert response.status_code == 422
    error = re.search(r'id="role-error">([^<]+)<', text(response)).group(1)
    assert "không thể bỏ vai trò quản trị" in error
    db.session.refresh(me)
    assert me.role == "admin" and me.disabled_at is None
    assert admin.get("/admin").status_code == 200


def test_changing_a_role_ends_the_old_sessions(app, admin, users, world):  # noqa: F811
    person = users["caseworker"]
    theirs = Pages(app)
    sign_in(theirs, "caseworker")
    fields = form_of(admin, f"/admin/users/{person.id}")
    response = admin.post(
        f"/admin/users/{person.id}",
        data={**fields, "name": "Cán bộ đổi", "role": "enterprise", "enterprise": ""},
    )
    assert response.status_code == 422 and 'id="enterprise-error"' in text(response)
    response = admin.post(
        f"/admin/users/{person.id}",
        data={
            **fields,
            "name": "Nhân sự mới",
            "role": "enterprise",
            "enterprise": world.enterprise.external_id,
        },
    )
    assert response.status_code == 303
    db.session.refresh(person)
    assert (person.role, person.enterprise_id, person.name) == (
        "enterprise",
        world.enterprise.id,
        "Nhân sự mới",
    )
    assert theirs.get("/workers/new").status_code == 302  # signs in again, as an enterprise


def test_the_user_list_searches_and_filters(admin, users):  # noqa: F811
    accounts.disable_user(users["planner"])
    db.session.commit()
    page = text(admin.get("/admin/users?q=CASEWORKER"))
    assert "test-caseworker" in page and "test-enterprise" not in page
    page = text(admin.get("/admin/users?role=enterprise"))
    assert "test-enterprise" in page and "test-caseworker" not in page
    page = text(admin.get("/admin/users?state=disabled"))
    assert "test-planner" in page and "test-admin" not in page
    assert "test-planner" not in text(admin.get("/admin/users"))


def test_a_token_is_shown_once_listed_and_revoked_with_confirmation(app, admin, world):
    fields = form_of(admin, "/admin/tokens/new")
    bad = admin.post(
        "/admin/tokens/new",
        data={**fields, "role": "enterprise", "expires_in_days": "30"},
    )
    assert bad.status_code == 422 and 'id="enterprise_external_id-error"' in text(bad)
    bad = admin.post(
        "/admin/tokens/new",
        data={**once(text(bad)), "role": "planner", "expires_in_days": "9999"},
    )
    assert bad.status_code == 422 and 'id="expires_in_days-error"' in text(bad)
    response = admin.post(
        "/admin/tokens/new",
        data={
            **once(text(bad)),
            "role": "enterprise",
            "enterprise_external_id": world.enterprise.external_id,
            "label": "Hệ thống nhân sự",
            "expires_in_days": "30",
        },
    )
    assert response.status_code == 200
    secret = re.search(r'id="secret">(cn_[^<]+)<', text(response)).group(1)
    assert world.enterprise.name in text(response)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/commitments", headers=headers).status_code == 200
    listed = text(admin.get("/admin/tokens"))
    assert secret not in listed and secret[:10] in listed and "Hệ thống nhân sự" in listed
    assert "<code>session…</code>" not in listed  # sign-in sessions are not API tokens
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.label == "Hệ thống nhân sự"))
    expires = token.expires_at - token.created_at
    assert dt.timedelta(days=29) < expires <= dt.timedelta(days=30, minutes=1)
    confirm = text(admin.get(f"/admin/tokens/{token.id}/revoke"))
    unconfirmed = admin.post(f"/admin/tokens/{token.id}/revoke", data=once(confirm))
    assert unconfirmed.status_code == 422
    assert api.get("/api/v1/commitments", headers=headers).status_code == 200
    done = admin.post(f"/admin/tokens/{token.id}/revoke", data={**once(confirm), "confirm": "yes"})
    assert done.status_code == 303
    assert api.get("/api/v1/commitments", headers=headers).status_code == 401
    session_token = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.kind == "session"))
    assert admin.get(f"/admin/tokens/{session_token}/revoke").status_code == 404


def test_train_queues_a_job_whose_page_follows_it_and_can_be_cancelled(admin):
    fields = form_of(admin, "/admin/models")
    response = admin.post("/admin/models/train", data={**fields, "promote": "never"})
    assert response.status_code == 303 and "/admin/jobs/" in response.headers["Location"]
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert db.session.get(Job, job_id).params["promote"] == "never"
    page = text(admin.get(f"/admin/jobs/{job_id}"))
    assert "Đang chờ xử lý" in page and 'hx-trigger="every 2s"' in page
    assert "Người dùng admin" in page  # who asked
    partial = admin.get(f"/admin/jobs/{job_id}", headers={"HX-Request": "true"})
    assert text(partial).startswith('<div id="job"')
    listed = text(admin.get("/admin/jobs?kind=train&status=queued"))
    assert f"#{job_id}" in listed and "Huấn luyện mô hình" in listed
    assert f"#{job_id}" not in text(admin.get("/admin/jobs?status=failed"))
    cancelled = admin.post(
        f"/admin/jobs/{job_id}/cancel", data=form_of(admin, f"/admin/jobs/{job_id}")
    )
    assert cancelled.status_code == 303
    db.session.expire_all()
    assert db.session.get(Job, job_id).status == "cancelled"
    again = admin.post(f"/admin/jobs/{job_id}/cancel", data=form_of(admin, f"/admin/jobs/{job_id}"))
    assert "đã kết thúc" in text(admin.get(again.headers["Location"]))


def test_a_failed_training_job_says_why(admin):
    fields = form_of(admin, "/admin/models")
    response = admin.post("/admin/models/train", data={**fields, "promote": "gate"})
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    jobs.execute(job_id)  # a consumer: the small world has too little history
    db.session.expire_all()
    page = text(admin.get(f"/admin/jobs/{job_id}"))
    assert "Lỗi" in page and "error-box" in page and "hx-trigger" not in page


def test_promote_needs_a_reason_and_records_who_and_why(app, admin, users):  # noqa: F811
    version = _version(app, "v2-test")
    page = text(admin.get(f"/admin/models/{version}"))
    assert "chưa từng được đưa vào dùng" in page
    short = admin.post(f"/admin/models/{version}", data={**once(page), "reason": "x"})
    assert short.status_code == 422 and 'id="reason-error"' in text(short)
    assert model_store.current_version(Path(app.config["MODELS_DIR"])) is None
    done = admin.post(
        f"/admin/models/{version}", data={**once(page), "reason": "Đã xem kết quả kiểm tra"}
    )
    assert done.status_code == 303
    assert model_store.current_version(Path(app.config["MODELS_DIR"])) == version
    shown = text(admin.get(f"/admin/models/{version}"))
    assert "Người dùng admin" in shown and "Đã xem kết quả kiểm tra" in shown
    listed = text(admin.get("/admin/models"))
    assert version in listed and "đang dùng" in listed
    assert admin.get("/admin/models/khong-co").status_code == 404
    assert admin.get("/admin/models/..%2Fx").status_code == 404


def _read(client, worker_id: int) -> None:
    assert client.get(f"/workers/{worker_id}").status_code == 200


def test_the_access_log_filters_by_person_worker_and_day(app, admin, users, world):  # noqa: F811
    reader = Pages(app)
    sign_in(reader, "caseworker")
    _read(reader, world.worker.id)
    _read(admin, world.referred_worker.id)
    old = AccessLog(
        at=clock.now() - dt.timedelta(days=40), user_id=users["caseworker"].id,
        role="caseworker", worker_id=world.referred_worker.id, action="read",
        endpoint="/api/v1/workers/old",
    )  # fmt: skip
    db.session.add(old)
    db.session.commit()
    page = text(admin.get(f"/admin/access-log?user={users['caseworker'].id}"))
    assert f"#{world.worker.id}<" in page and "/api/v1/workers/old" in page
    assert "Người dùng admin" not in page.split("<tbody>")[1]
    page = text(admin.get(f"/admin/access-log?worker={world.referred_worker.id}"))
    assert f"#{world.worker.id}<" not in page and f"#{world.referred_worker.id}<" in page
    page = text(admin.get(f"/admin/access-log?worker={world.worker.external_id}"))
    body = page.split("<tbody>")[1]
    assert f"#{world.worker.id}<" in body and f"#{world.referred_worker.id}<" not in body
    today = clock.today()
    recent = text(admin.get(f"/admin/access-log?from={today - dt.timedelta(days=7):%d/%m/%Y}"))
    assert "/api/v1/workers/old" not in recent and f"#{world.worker.id}<" in recent
    long_ago = (today - dt.timedelta(days=40)).isoformat()
    page = text(admin.get(f"/admin/access-log?from={long_ago}&to={long_ago}"))
    assert "/api/v1/workers/old" in page and f"#{world.worker.id}<" not in page
    bad = admin.get("/admin/access-log?from=hôm qua&to=2026-01-01")
    assert bad.status_code == 422 and 'id="from-error"' in text(bad)
    backwards = admin.get("/admin/access-log?from=2026-02-01&to=2026-01-01")
    assert backwards.status_code == 422 and 'id="to-error"' in text(backwards)


def test_the_access_log_api_filters_by_worker_external_id_and_until(app, auth, world, users):  # noqa: F811
    reader = Pages(app)
    sign_in(reader, "caseworker")
    _read(reader, world.worker.id)
    api = app.test_client()
    items = api.get(
        f"/api/v1/access-log?worker_external_id={world.worker.external_id}",
        headers=auth("admin"),
    ).get_json()["items"]
    assert items and {i["worker_id"] for i in items} == {world.worker.id}
    nobody = api.get("/api/v1/access-log?worker_external_id=KHONG-CO", headers=auth("admin"))
    assert nobody.status_code == 200 and nobody.get_json()["items"] == []
    before = api.get(
        "/api/v1/access-log?until=2000-01-01T00:00:00Z", headers=auth("admin")
    ).get_json()["items"]
    assert before == []
    newest = api.get("/api/v1/access-log?order=newest&limit=1", headers=auth("admin")).get_json()
    oldest = api.get("/api/v1/access-log?limit=1", headers=auth("admin")).get_json()
    assert newest["items"][0]["id"] >= oldest["items"][0]["id"]


def test_the_access_log_exports_have_vietnamese_headers_and_formulas_stay_text(app, admin, world):
    # Given a caseworker whose name is a spreadsheet formula, created through the page,
    formula = '=HYPERLINK("http://x","y")'
    created = _new_user(admin, login="cong-thuc", name=formula, role="caseworker")
    assert created.status_code == 200
    password = re.search(r'id="secret">([^<]+)<', text(created)).group(1)
    reader = Pages(app)
    reader.post(
        "/login",
        data={"login": "cong-thuc", "password": password, "csrf_token": csrf(reader)},
    )
    # who reads a worker,
    _read(reader, world.worker.id)
    user_id = db.session.scalar(sa.select(User.id).where(User.login == "cong-thuc"))
    # when the log is exported, then the name is text, never a formula, in both formats.
    response = admin.get(f"/admin/access-log/export?format=csv&user={user_id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Ngày", "Giờ (giờ Việt Nam)", "Người đọc"]
    assert "Mã người lao động (số)" in rows[0]
    assert len(rows) >= 2 and all(row[2] == "'" + formula for row in rows[1:])
    assert {row[rows[0].index("Mã người lao động (số)")] for row in rows[1:]} == {
        str(world.worker.id)
    }
    response = admin.get(f"/admin/access-log/export?format=xlsx&user={user_id}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Ngày", "Giờ (giờ Việt Nam)", "Người đọc"]
    name_cell = sheet.cell(row=2, column=3)
    assert name_cell.data_type == "s" and name_cell.value == "'" + formula
    assert isinstance(sheet.cell(row=2, column=1).value, dt.datetime)  # a real date
    assert sheet.cell(row=2, column=6).value == world.worker.id  # a number stays a number
    # The page itself shows the name as text (escaped), not as markup.
    page = text(admin.get(f"/admin/access-log?user={user_id}"))
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page


def test_the_access_log_export_refuses_a_bad_day_with_a_page(admin):
    response = admin.get("/admin/access-log/export?format=xlsx&from=31/02/2026")
    assert response.status_code == 422 and response.mimetype == "text/html"


def test_the_english_pages_speak_english(admin):
    admin.get("/lang/en?next=/admin")
    page = text(admin.get("/admin"))
    assert "Users" in page and "Personal-data access log" in page
    response = admin.get("/admin/access-log/export?format=csv")
    assert response.get_data(as_text=True).lstrip("\ufeff").startswith("Day,Time (Vietnam)")
