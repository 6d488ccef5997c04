"""The pages over the WSGI app, on both storages: roles × routes, CSRF, sign-in, languages,
consent, uploads with Vietnamese headers, and the access log naming the person.

The browser-level flows (a real Chromium on a live gunicorn) are in tests/browser."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from api import accounts
from api.extensions import db
from api.models import AccessLog, Consent, Referral, Worker
from tests import factories, xlsx_files

PASSWORD = "mat-khau-thu-nghiem"
ROLES = ("caseworker", "enterprise", "planner", "admin")


class Pages:
    """A test client whose every request has an app context of its own, as under a server:
    the test's own context (held by the app fixture) would otherwise share ``g`` (the signed-in
    user, the CSRF token, the language) across requests and clients."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def get(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.post(*args, **kwargs)


@pytest.fixture
def client(app) -> Pages:
    return Pages(app)


def csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, role: str) -> None:
    response = client.post(
        "/login",
        data={"login": f"test-{role}", "password": PASSWORD, "csrf_token": csrf(client)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def text(response) -> str:
    return response.get_data(as_text=True)


# Each page, and who may open it: 200 for these roles, 403 for the other signed-in roles.
def page_routes(world: factories.World) -> list[tuple[str, set[str]]]:
    worker, referred = world.worker.id, world.referred_worker.id
    return [
        ("/", set(ROLES)),
        ("/account/password", set(ROLES)),
        ("/workers?q=a", {"caseworker", "admin"}),
        ("/workers/new", {"caseworker", "admin"}),
        (f"/workers/{worker}", {"caseworker", "admin"}),
        (f"/workers/{worker}/edit", {"caseworker", "admin"}),
        (f"/workers/{worker}/matches", {"caseworker", "admin"}),
        (f"/workers/{worker}/enrol", {"caseworker", "admin"}),
        (f"/workers/{referred}/consent/withdraw", {"caseworker", "admin"}),
        ("/uploads", {"caseworker", "admin"}),
        ("/uploads/template/workers.xlsx", {"caseworker", "admin"}),
        ("/commitments", {"caseworker", "enterprise", "admin"}),
        ("/commitments/new", {"caseworker", "enterprise", "admin"}),
        (f"/commitments/{world.commitment.id}", {"caseworker", "enterprise", "admin"}),
        (f"/commitments/{world.commitment.id}/edit", {"caseworker", "enterprise", "admin"}),
    ]


def test_every_page_answers_its_roles_and_refuses_the_others(app, world, users):
    for role in ROLES:
        client = Pages(app)
        sign_in(client, role)
        for path, allowed in page_routes(world):
            response = client.get(path)
            expected = 200 if role in allowed else 403
            assert response.status_code == expected, (role, path, response.status_code)
            if expected == 403:
                assert "Không có quyền" in text(response) and "Forbidden" in text(response)


def test_a_visitor_not_signed_in_is_sent_to_sign_in_and_brought_back(client, world):
    for path, _allowed in page_routes(world)[1:]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    assert "Đăng nhập" in text(client.get("/"))


def test_another_enterprises_commitment_is_a_404_page(app, world, users):
    client = Pages(app)
    sign_in(client, "enterprise")
    for path in (
        f"/commitments/{world.other_commitment.id}",
        f"/commitments/{world.other_commitment.id}/edit",
    ):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html", path
        assert "Không tìm thấy" in text(response) and "Traceback" not in text(response)


def test_an_enterprise_sees_referred_candidates_contacts_but_no_protected_field(app, world, users):
    worker = world.referred_worker
    worker.birth_year, worker.gender = 1999, "female"
    worker.ethnic_minority, worker.disability = True, True
    db.session.commit()
    client = Pages(app)
    sign_in(client, "enterprise")
    page = text(client.get(f"/commitments/{world.commitment.id}"))
    assert worker.full_name in page and worker.phone in page
    assert "1999" not in page and "Nữ" not in page and "Năm sinh" not in page
    assert "Dân tộc" not in page and "Khuyết tật" not in page and "Giới tính" not in page
    # The unreferred worker is on the shortlist only as a pseudonym.
    assert world.worker.full_name not in page
    # Every read of personal data names the person who read it.
    rows = db.session.scalars(sa.select(AccessLog).where(AccessLog.worker_id == worker.id)).all()
    assert rows and {row.user_id for row in rows} == {users["enterprise"].id}


def test_a_form_without_its_csrf_token_is_refused_with_a_page(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Worker))
    response = client.post("/workers/new", data={"full_name": "Không Có Mã", "birth_year": "1990"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "mã bảo vệ" in text(response) and "protection token" in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Worker)) == before
    assert client.post("/login", data={"login": "x", "password": "y"}).status_code == 400


def test_wrong_passwords_are_limited_and_successes_are_not(app, world, users):
    app.config["RATELIMIT_ENABLED"] = True
    client = Pages(app)
    token = csrf(client)
    wrong = {"login": "test-admin", "password": "sai", "csrf_token": token}
    right = {"login": "test-admin", "password": PASSWORD, "csrf_token": token}
    for _ in range(9):
        assert client.post("/login", data=wrong).status_code == 401
    for _ in range(3):  # an office signing in at eight: successes are not counted
        other = Pages(app)
        assert other.post("/login", data={**right, "csrf_token": csrf(other)}).status_code == 303
    assert client.post("/login", data=wrong).status_code == 401  # the tenth failure
    response = client.post("/login", data=right)
    assert response.status_code == 429 and "Quá nhiều" in text(response)


def test_sign_out_ends_the_session_token(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    assert client.get("/workers/new").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert client.get("/workers/new").status_code == 302


def test_a_disabled_account_is_signed_out_at_once(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    accounts.disable_user(users["caseworker"])
    db.session.commit()
    assert client.get("/workers/new").status_code == 302


def test_the_language_switch_changes_the_page(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    assert "<h1>Đăng ký người lao động</h1>" in text(client.get("/workers/new"))
    response = client.get("/lang/en?next=/workers/new")
    assert response.status_code == 302 and response.headers["Location"] == "/workers/new"
    assert "<h1>Register a worker</h1>" in text(client.get("/workers/new"))
    # Only same-site targets.
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:x"):
        location = client.get("/lang/vi", query_string={"next": target}).headers["Location"]
        assert location == "/", (target, location)


def test_registering_a_worker_records_consent_and_withdrawal_erases(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    form = {
        "csrf_token": csrf(client, "/workers/new"),
        "full_name": "Đỗ Thị Mai",
        "birth_year": "1998",
        "phone": "0912 345 678",
        "ward_code": world.worker.ward_code,
        "trades": ["garment"],
        "skills_text": "biết may máy 1 kim",
        "expected_wage_vnd": "7.200.000",
        "consent_method": "paper",
        "consent_on": "2026-12-01",
    }
    refused = client.post("/workers/new", data=form)
    assert refused.status_code == 422 and "đồng ý" in text(refused)
    assert db.session.scalar(sa.select(Worker).where(Worker.full_name == "Đỗ Thị Mai")) is None
    response = client.post("/workers/new", data={**form, "consent_given": "yes"})
    assert response.status_code == 303
    worker = db.session.scalar(sa.select(Worker).where(Worker.full_name == "Đỗ Thị Mai"))
    assert worker.expected_wage_vnd == 7_200_000 and worker.phone == "+84912345678"
    consent = db.session.scalar(sa.select(Consent).where(Consent.worker_id == worker.id))
    assert consent.method == "paper" and str(consent.given_on) == "2026-12-01"
    assert consent.recorded_by_user_id == users["caseworker"].id
    page = text(client.get(response.headers["Location"]))
    assert "7.200.000 ₫" in page and "01/12/2026" in page
    assert "Người dùng caseworker" in page  # who recorded the consent
    # Found without diacritics, by phone and by commune.
    for q in ("do thi mai", "0912345678"):
        assert "Đỗ Thị Mai" in text(client.get(f"/workers?q={q}")), q
    token = csrf(client, f"/workers/{worker.id}/consent/withdraw")
    assert (
        client.post(
            f"/workers/{worker.id}/consent/withdraw", data={"csrf_token": token}
        ).status_code
        == 422
    )
    client.post(
        f"/workers/{worker.id}/consent/withdraw", data={"csrf_token": token, "confirm": "yes"}
    )
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).full_name is None
    assert db.session.get(Consent, consent.id).withdrawn_on is not None


def _xlsx(rows: list[list[object]]) -> bytes:
    return xlsx_files.from_rows(rows)


def test_an_upload_with_vietnamese_headers_reports_its_bad_row(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    template = load_workbook(io.BytesIO(client.get("/uploads/template/workers.xlsx").data))
    headers = [c.value for c in template["Dữ liệu"][1]]
    assert headers[:3] == ["Mã người lao động", "Họ và tên", "Năm sinh"]
    assert template["Hướng dẫn"]["B2"].value == "external_id"
    ward = world.worker.ward_code
    data = _xlsx(
        [
            ["Ma nguoi lao dong", "Họ và tên", "NĂM SINH", "Mã phường/xã", "Nghề quan tâm"],
            ["VN-1", "Phạm Văn Hùng", 1995, ward, "electrical"],
            ["VN-2", "Lò Thị Sen", 1890, ward, "garment"],
        ]
    )
    token = csrf(client, "/uploads")
    unconfirmed = client.post(
        "/uploads",
        data={"csrf_token": token, "kind": "workers", "file": (io.BytesIO(data), "ds.xlsx")},
    )
    assert unconfirmed.status_code == 422
    response = client.post(
        "/uploads",
        data={
            "csrf_token": token,
            "kind": "workers",
            "consent_confirmed": "yes",
            "file": (io.BytesIO(data), "ds.xlsx"),
        },
    )
    assert response.status_code == 303
    report = text(client.get(response.headers["Location"]))
    assert "Các dòng có lỗi" in report
    assert re.search(r'<td data-label="Dòng">3</td><td data-label="Cột">Năm sinh', report)
    assert "(birth_year)" in report
    hung = db.session.scalar(sa.select(Worker).where(Worker.external_id == "VN-1"))
    assert hung is not None and hung.trades == ["electrical"]
    consent = db.session.scalar(sa.select(Consent).where(Consent.worker_id == hung.id))
    assert consent.method == "upload"
    assert db.session.scalar(sa.select(Worker).where(Worker.external_id == "VN-2")) is None
    # Another caseworker's report is not theirs to read.
    other = accounts.create_user("other-cw", "Cán bộ khác", "caseworker", PASSWORD)
    db.session.commit()
    db.session.expire_all()
    second = Pages(app)
    second.post(
        "/login", data={"login": "other-cw", "password": PASSWORD, "csrf_token": csrf(second)}
    )
    assert second.get(response.headers["Location"]).status_code == 404
    assert other.id


def test_refer_from_a_match_and_record_the_hire(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    worker = world.worker
    matches = text(client.get(f"/workers/{worker.id}/matches"))
    assert "Gợi ý việc làm" in matches
    commitment = re.search(r'name="commitment_id" value="(\d+)"', matches)
    assert commitment, matches[:2000]
    token = csrf(client, "/")
    fields = dict(
        re.findall(r'name="(score|scorer|model_version|reasons)" value="([^"]*)"', matches)
    )
    import html

    response = client.post(
        f"/workers/{worker.id}/referrals",
        data={
            "csrf_token": token,
            "commitment_id": commitment.group(1),
            **{k: html.unescape(v) for k, v in fields.items()},
        },
    )
    assert response.status_code == 303
    referral = db.session.scalar(
        sa.select(Referral).where(Referral.worker_id == worker.id).order_by(Referral.id.desc())
    )
    assert referral.score is not None and referral.reasons and referral.model_version
    assert referral.events[0].actor_token_id is not None
    response = client.post(
        f"/referrals/{referral.id}/outcome",
        data={"csrf_token": token, "status": "hired", "back": f"/workers/{worker.id}"},
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/workers/{worker.id}"
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "hired"


def test_api_validation_messages_are_bilingual(app, auth):
    client = app.test_client()
    response = client.post("/api/v1/workers", json={"full_name": "A"}, headers=auth("caseworker"))
    assert response.status_code == 422
    messages = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert messages["external_id"] == "Bắt buộc phải có / Field required"


def test_the_api_accepts_vietnamese_headers_and_consent_on(app, auth, world):
    client = app.test_client()
    body = (
        "Mã người lao động,Họ và tên,Năm sinh,Mã phường/xã,Ngày đồng ý xử lý dữ liệu\n"
        f"API-1,Vũ Văn An,1990,{world.worker.ward_code},2026-11-30\n"
    ).encode()
    response = client.post(
        "/api/v1/imports/workers",
        data={"file": (io.BytesIO(body), "w.csv")},
        headers=auth("caseworker"),
    )
    assert response.status_code == 200 and response.get_json()["created"] == 1, response.get_json()
    worker = db.session.scalar(sa.select(Worker).where(Worker.external_id == "API-1"))
    consent = db.session.scalar(sa.select(Consent).where(Consent.worker_id == worker.id))
    assert consent.method == "declared" and str(consent.given_on) == "2026-11-30"


def test_the_access_log_api_names_the_person(app, world, users, auth):
    client = Pages(app)
    sign_in(client, "caseworker")
    client.get(f"/workers/{world.worker.id}")
    log = app.test_client().get(
        f"/api/v1/access-log?user_id={users['caseworker'].id}", headers=auth("admin")
    )
    items = log.get_json()["items"]
    assert items and items[0]["user_login"] == "test-caseworker"
    assert (
        items[0]["user_name"] == "Người dùng caseworker"
        and items[0]["worker_id"] == world.worker.id
    )


def test_change_password(app, world, users):
    client = Pages(app)
    sign_in(client, "planner")
    token = csrf(client, "/account/password")
    short = client.post(
        "/account/password",
        data={"csrf_token": token, "current": PASSWORD, "new": "ngan", "again": "ngan"},
    )
    assert short.status_code == 422 and "10" in text(short)
    done = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "new": "mat-khau-moi-dai",
            "again": "mat-khau-moi-dai",
        },
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert accounts.verify("test-planner", "mat-khau-moi-dai") is not None
    assert accounts.verify("test-planner", PASSWORD) is None


def test_a_large_upload_is_a_job_whose_page_follows_it(app, world, users):
    from api import jobs
    from api.models import Job

    app.config["IMPORT_JOB_ABOVE_BYTES"] = 10
    client = Pages(app)
    sign_in(client, "caseworker")
    body = (
        "Mã người lao động,Họ và tên,Năm sinh,Mã phường/xã\n"
        f"JOB-1,Trịnh Văn Bảo,1991,{world.worker.ward_code}\n"
    ).encode()
    response = client.post(
        "/uploads",
        data={
            "csrf_token": csrf(client, "/uploads"),
            "kind": "workers",
            "consent_confirmed": "yes",
            "file": (io.BytesIO(body), "lon.csv"),
        },
    )
    assert response.status_code == 303 and "/uploads/jobs/" in response.headers["Location"]
    waiting = client.get(response.headers["Location"])
    assert waiting.status_code == 200 and "Đang chờ xử lý" in text(waiting)
    assert 'hx-trigger="every 2s"' in text(waiting)
    job_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    jobs.execute(job_id)
    db.session.expire_all()
    assert db.session.get(Job, job_id).status == "done"
    finished = client.get(response.headers["Location"])
    assert finished.status_code == 303 and "/uploads/" in finished.headers["Location"]
    report = text(client.get(finished.headers["Location"]))
    assert "Báo cáo tải lên" in report and "Tất cả các dòng đã được đọc" in report
    worker = db.session.scalar(sa.select(Worker).where(Worker.external_id == "JOB-1"))
    assert (
        db.session.scalar(sa.select(Consent.method).where(Consent.worker_id == worker.id))
        == "upload"
    )


def test_a_province_bound_caseworker_finds_only_their_province(app, world, users):
    from tests.factories import worker as make_worker

    far = make_worker(full_name="Nguyễn Văn Xa", ward_code="00004")  # Hà Nội
    near = make_worker(full_name="Nguyễn Văn Gần")
    bound = accounts.create_user(
        "cb-tinh", "Cán bộ tỉnh", "caseworker", PASSWORD, province_code=near.province_code
    )
    db.session.commit()
    assert far.province_code != near.province_code and bound.id
    client = Pages(app)
    client.post(
        "/login", data={"login": "cb-tinh", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    found = text(client.get("/workers?q=nguyen van"))
    assert "Nguyễn Văn Gần" in found and "Nguyễn Văn Xa" not in found
    assert client.get(f"/workers/{far.id}").status_code == 404


def test_previews_say_what_free_text_becomes(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    skills = text(client.get("/skills/preview?skills_text=biết may máy 1 kim; bay lượn"))
    assert "→ <strong>" in skills and "chưa nhận ra" in skills
    place = text(client.get("/places/preview?address=xã Tân Lập, huyện Yên Mỹ, Hưng Yên"))
    assert "<strong>" in place and "Hưng Yên" in place


def test_an_unexpected_error_is_a_friendly_page_and_nothing_is_written(tmp_path, database):
    from tests.api.conftest import make_app

    app = make_app(tmp_path, database)

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    with app.app_context():
        response = app.test_client().get("/broken")
        assert response.status_code == 500 and response.mimetype == "text/html"
        page = text(response)
        assert "Lỗi máy chủ" in page and "Internal server error" in page
        assert "boom" not in page and "Traceback" not in page
        db.session.remove()
        db.engine.dispose()


def test_editing_the_address_moves_the_worker(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    worker = world.worker
    page = text(client.get(f"/workers/{worker.id}/edit"))
    assert f'value="{worker.ward_code}"' in page  # the stored ward is shown beside the address
    response = client.post(
        f"/workers/{worker.id}/edit",
        data={
            "csrf_token": csrf(client, "/"),
            "full_name": worker.full_name,
            "birth_year": str(worker.birth_year),
            "ward_code": worker.ward_code,
            "address": "xã Tân Lập, huyện Yên Mỹ, Hưng Yên",
        },
    )
    assert response.status_code == 303, text(response)[:2000]
    db.session.expire_all()
    moved = db.session.get(Worker, worker.id)
    assert moved.ward_code != factories.HUNG_YEN_WARD and moved.address.startswith("xã Tân Lập")


def test_posting_and_editing_a_commitment_keeps_what_was_posted(app, world, users):
    from api.models import Commitment

    client = Pages(app)
    sign_in(client, "enterprise")
    form = {
        "csrf_token": csrf(client, "/commitments/new"),
        "trade": "garment",
        "slots": "4",
        "wage_vnd": "7.500.000",
        "start_date": "2026-12-10",
        "shift_work": "yes",
        "skills_text": "biết may máy 1 kim; bay lượn",
    }
    bad = client.post("/commitments/new", data={**form, "slots": "bốn"})
    assert bad.status_code == 422 and 'value="biết may máy 1 kim; bay lượn"' in text(bad)
    response = client.post("/commitments/new", data=form)
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "7.500.000 ₫" in page and "Làm ca</dt><dd>Có" in page and "bay lượn" in page
    commitment_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    edited = client.post(
        f"/commitments/{commitment_id}/edit",
        data={**form, "slots": "6", "shift_work": "", "skills_text": ""},
    )
    assert edited.status_code == 303
    db.session.expire_all()
    commitment = db.session.get(Commitment, commitment_id)
    assert commitment.slots == 6 and commitment.shift_work is None
    assert commitment.enterprise_id == world.enterprise.id and commitment.trade == "garment"


def test_an_enterprise_records_the_hire_of_a_referred_worker(app, world, users):
    client = Pages(app)
    sign_in(client, "enterprise")
    back = f"/commitments/{world.commitment.id}"
    response = client.post(
        f"/referrals/{world.referral.id}/outcome",
        data={"csrf_token": csrf(client, back), "status": "hired", "back": back},
    )
    assert response.status_code == 303 and response.headers["Location"] == back
    db.session.expire_all()
    assert db.session.get(Referral, world.referral.id).status == "hired"
    assert "Đã tuyển" in text(client.get(back))


def test_bad_links_and_huge_ids_are_answered_never_a_500(app, world, users):
    client = Pages(app)
    sign_in(client, "caseworker")
    assert client.get("/workers?q=nguyen&cursor=abc").status_code == 200
    for path in (
        "/workers/99999999999999999999",
        "/commitments/99999999999999999999",
        "/uploads/99999999999999999999",
        "/uploads/jobs/99999999999999999999",
    ):
        assert client.get(path).status_code == 404, path
    token = csrf(client, "/")
    huge = client.post(
        "/referrals/99999999999999999999/outcome", data={"csrf_token": token, "status": "hired"}
    )
    assert huge.status_code == 404
    refused = client.post(
        f"/workers/{world.worker.id}/referrals",
        data={"csrf_token": token, "commitment_id": world.commitment.id, "reasons": '{"a": 1}'},
    )
    assert refused.status_code == 303
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Referral.worker_id == world.worker.id))
        == 0
    )
    garbage = client.post(
        "/uploads",
        data={
            "csrf_token": token,
            "kind": "enterprises",
            "file": (io.BytesIO(b"\x00\x01"), "x.xlsx"),
        },
    )
    assert garbage.status_code == 422 and "Tải lên danh sách" in text(garbage)


def test_session_cookie_flags_and_a_new_password_ends_other_sessions(app, world, users):
    first, second = Pages(app), Pages(app)
    sign_in(first, "caseworker")
    https = "https://caunoi.example"
    login_page = text(second.get("/login", base_url=https))
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    response = second.post(
        "/login",
        data={"login": "test-caseworker", "password": PASSWORD, "csrf_token": token},
        base_url=https,
        headers={"Referer": https + "/login"},  # Flask-WTF checks it over HTTPS
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = Pages(app)
    plain_cookie = plain.post(
        "/login", data={"login": "test-caseworker", "password": PASSWORD, "csrf_token": csrf(plain)}
    ).headers["Set-Cookie"]
    assert "Secure" not in plain_cookie  # http://127.0.0.1 (make run) still signs in
    token = csrf(plain, "/account/password")
    new = "mat-khau-moi-that-dai"
    done = plain.post(
        "/account/password",
        data={"csrf_token": token, "current": PASSWORD, "new": new, "again": new},
    )
    assert done.status_code == 303
    assert first.get("/workers/new").status_code == 302  # the other session ended
    assert plain.get("/workers/new").status_code == 200  # this one goes on


def test_a_hired_worker_is_not_offered_referrals(app, world, users):
    world.referral.status, world.referral.hired_on = "hired", factories.TODAY
    db.session.commit()
    client = Pages(app)
    sign_in(client, "caseworker")
    page = text(client.get(f"/workers/{world.referred_worker.id}/matches"))
    assert "đang có việc làm" in page and "Giới thiệu việc làm này" not in page


def test_another_caseworkers_upload_job_is_not_theirs(app, world, users):
    from api import jobs

    principal = accounts.open_session(users["caseworker"])
    db.session.commit()
    from api.auth import principal_of

    job = jobs.submit("import", {"kind": "workers"}, principal_of(principal), payload=b"")
    db.session.commit()
    owner = Pages(app)
    sign_in(owner, "caseworker")
    assert owner.get(f"/uploads/jobs/{job.id}").status_code == 200
    other = Pages(app)
    sign_in(other, "admin")
    assert other.get(f"/uploads/jobs/{job.id}").status_code == 200  # admins see every job
    accounts.create_user("cw-2", "Cán bộ hai", "caseworker", PASSWORD)
    db.session.commit()
    third = Pages(app)
    third.post("/login", data={"login": "cw-2", "password": PASSWORD, "csrf_token": csrf(third)})
    assert third.get(f"/uploads/jobs/{job.id}").status_code == 404


def test_the_commitment_list_opens_on_what_is_hiring_now(app, world, users):
    from api.models import Commitment

    expired = db.session.get(Commitment, world.commitment.id)
    expired.start_date, expired.expires_on = dt.date(2022, 1, 1), dt.date(2022, 6, 30)
    db.session.commit()
    client = Pages(app)
    sign_in(client, "caseworker")
    now_open = text(client.get("/commitments"))
    assert f"/commitments/{world.other_commitment.id}\"" in now_open
    assert f"/commitments/{world.commitment.id}\"" not in now_open
    assert f"/commitments/{world.commitment.id}\"" in text(client.get("/commitments?state=all"))


def test_pages_show_a_stored_moment_on_its_day_in_vietnam():
    from api.web.filters import day

    assert day(dt.datetime(2026, 12, 2, 19, 30)) == "03/12/2026"  # 02:30 on the 3rd in Hà Nội
    assert day("2026-12-02T19:30:00") == "03/12/2026"
    assert day(dt.date(2026, 12, 2)) == "02/12/2026" and day("2026-12-02") == "02/12/2026"


def test_passwords_are_argon2id_at_rfc_9106_cost_by_default(app):
    from api.config import DefaultConfig

    app.config["PASSWORD_HASH_MEMORY_KIB"] = DefaultConfig.PASSWORD_HASH_MEMORY_KIB
    app.config["PASSWORD_HASH_PASSES"] = DefaultConfig.PASSWORD_HASH_PASSES
    assert accounts.hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,")
