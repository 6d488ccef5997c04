"""Scale-out as production runs it: two web servers (gunicorn, as two machines would run
them) and two job consumers against one PostgreSQL and one Redis.

Planning answers are the stored result of a refresh that a consumer ran, so every web
process serves the same bytes, and no request computes a backtest: each answer comes back
in well under a second while the refresh itself takes many, the stored rows name the
refresh jobs, and those jobs name consumer processes, never a web server's.

Marked ``postgres``: it runs in ``make test-postgres`` (tests/conftest.py deselects it on
SQLite), as its point is the shared database.
"""

from __future__ import annotations

import io
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import redis
import sqlalchemy as sa

from api import create_app, jobs
from api.auth import create_token
from api.cli import import_frames
from api.extensions import db
from api.models import Job, PlanningResult
from api.versions import touch
from matcher import clock
from matcher.demo import DemoConfig, generate
from tests.consumer import Consumer, Server
from tests.db import ON_POSTGRES, app_config, create_schema, drop_schema, schema_name

# One deployment for the module, so its tests go to one xdist process.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("scaleout")]

REDIS_URL = "redis://127.0.0.1:6379/0"
DAY = "2026-11-27"
#: Every planning answer, in every format a planner can download.
ANSWERS = (
    "/series?kind=demand&limit=500", "/series?kind=hires&format=csv",
    "/forecasts?kind=demand&limit=500", "/forecasts?kind=supply&format=xlsx",
    "/forecasts?kind=demand&trade=garment&area=33&format=svg",
    "/gaps?limit=2000", "/gaps?format=svg", "/course-plan?limit=2000", "/course-plan?format=xlsx",
    "/placement-results?by=provider", "/placement-results?by=course&format=csv",
    "/fairness?limit=2000", "/fairness?format=svg",
)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[dict]:
    assert ON_POSTGRES, "tests/scaleout needs CAUNOI_TEST_DATABASE_URL (make test-postgres)"
    assert redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    tmp = tmp_path_factory.mktemp("scaleout")
    schema = schema_name("scaleout")
    create_schema(schema)
    config = {
        **app_config(tmp, schema=schema),
        "REDIS_URL": REDIS_URL,
        "JOBS_QUEUE": f"scaleout-{uuid.uuid4().hex[:12]}",
    }
    app = create_app(config)
    with clock.pinned(DAY), app.app_context():
        db.create_all()
        data = generate(DemoConfig(today=clock.today(), n_workers=1500, referrals_per_month=120))
        import_frames(data.frames(), clock.today())
        token = create_token("planner", label="scale-out")[0]
        tokens = {r: create_token(r, label="scale-out")[0] for r in ("admin", "caseworker")}
        db.session.commit()
        consumers = [
            Consumer(app, tmp / f"consumer-{k}.log").__enter__() for k in range(2)
        ]
        servers = [Server(app, tmp / f"web-{k}.log", _free_port()).__enter__() for k in range(2)]
        try:
            yield {
                "app": app, "token": token, "tokens": tokens,
                "consumers": consumers, "servers": servers,
            }  # fmt: skip
        finally:
            for process in (*servers, *consumers):
                process.__exit__(None, None, None)
            jobs.queue_of(app).storage.flush_all()
            db.session.remove()
            db.engine.dispose()
    drop_schema(schema)


def _get(server: Server, path: str, token: str) -> tuple[int, dict, bytes, float]:
    request = urllib.request.Request(
        f"{server.url}/api/v1/planning{path}", headers={"Authorization": f"Bearer {token}"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers), error.read()
    return status, headers, body, time.perf_counter() - started


def _call(server: Server, method: str, path: str, token: str, body: dict | None = None):
    """One API call over HTTP: status and JSON body."""
    request = urllib.request.Request(
        f"{server.url}/api/v1{path}", method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=json.dumps(body).encode() if body is not None else None,
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _until(server: Server, path: str, token: str, done, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        _, body = _call(server, "GET", path, token)
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def _job(server: Server, job_id: int, token: str, timeout: float = 240) -> dict:
    return _until(
        server, f"/jobs/{job_id}", token, lambda b: b["status"] not in jobs.ACTIVE, timeout
    )


def _content(body: bytes, headers: dict) -> tuple:
    """An answer as compared across processes, with the refresh it names: the bytes, except
    for .xlsx files, whose zip entries carry the time they were written (the cells, then)."""
    keys = ("X-Computed-At", "X-As-Of", "X-Stale", "X-Refresh-Job")
    if body[:2] == b"PK":
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        body = repr([[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book])
    return body, tuple(headers.get(k) for k in keys)


def test_every_web_process_serves_the_same_stored_result_and_none_runs_a_backtest(deployment):
    token, servers, consumers = deployment["token"], deployment["servers"], deployment["consumers"]
    first, second = servers
    consumer_pids = {c.process.pid for c in consumers}
    web_pids = {s.process.pid for s in servers}

    # Nothing stored yet: both web servers answer 202 with the same refresh job.
    status, _, body, seconds = _get(first, ANSWERS[0], token)
    assert status == 202, body[:300]
    job_id = json.loads(body)["id"]
    status, _, body, _ = _get(second, ANSWERS[2], token)
    assert status == 202 and json.loads(body)["id"] == job_id
    ended = _job(second, job_id, token)
    assert ended["status"] == "done", (ended, consumers[0].output()[-1500:])
    assert int(ended["worker"].rsplit(":", 1)[1]) in consumer_pids  # a consumer ran it

    answers = {}
    slowest = 0.0
    for path in ANSWERS:
        seen = []
        for server in (first, second, first, second):
            status, headers, body, seconds = _get(server, path, token)
            assert status == 200, (path, body[:300])
            assert headers.get("X-Stale", "false") == "false"
            slowest = max(slowest, seconds)
            seen.append(_content(body, headers))
        assert all(s == seen[0] for s in seen), path  # byte for byte, from every process
        answers[path] = seen[0]

    # After a write, both servers serve the last result marked stale and wait for one refresh.
    with clock.pinned(DAY), deployment["app"].app_context():
        touch("referrals")
        db.session.commit()
    stale = [json.loads(_get(server, ANSWERS[0], token)[2]) for server in servers]
    assert [s["stale"] for s in stale] == [True, True]
    assert stale[0]["refresh_job_id"] == stale[1]["refresh_job_id"]
    assert stale[0]["computed_at"] == stale[1]["computed_at"]
    again = _job(first, stale[0]["refresh_job_id"], token)
    assert again["status"] == "done" and int(again["worker"].rsplit(":", 1)[1]) in consumer_pids
    fresh = [json.loads(_get(server, ANSWERS[0], token)[2]) for server in servers]
    assert fresh[0] == fresh[1] and fresh[0]["stale"] is False
    assert fresh[0]["computed_at"] > stale[0]["computed_at"]

    # No request ran a backtest: every stored result was made by a refresh job of a
    # consumer (never a web server's process), which took far longer than any answer.
    with deployment["app"].app_context():
        rows = db.session.execute(
            sa.select(PlanningResult.job_id, PlanningResult.seconds, Job.worker).join(
                Job, Job.id == PlanningResult.job_id, isouter=True
            )
        ).all()
        db.session.remove()
    assert len(rows) == 2 and all(job is not None for job, _, _ in rows)
    workers = {int(worker.rsplit(":", 1)[1]) for _, _, worker in rows}
    assert workers <= consumer_pids and not workers & web_pids
    refresh_seconds = min(seconds for _, seconds, _ in rows)
    assert slowest < 2.0 and refresh_seconds > 3 * slowest, (slowest, refresh_seconds)
    for server in servers:
        assert "planning refresh" not in Path(server.log).read_text(errors="replace")


def test_training_a_round_and_matches_across_the_two_servers(deployment):
    """The demo-scale flows on PostgreSQL (tests/acceptance runs them on SQLite): training
    asked of one server and run by a consumer; the model then served by both; a round with
    date filters (PostgreSQL once refused dates stored as text) asked of the other."""
    admin, caseworker = deployment["tokens"]["admin"], deployment["tokens"]["caseworker"]
    first, second = deployment["servers"]
    consumer_pids = {c.process.pid for c in deployment["consumers"]}

    status, queued = _call(first, "POST", "/models/train", admin, {})
    assert status == 202, queued
    trained = _job(second, queued["id"], admin)
    assert trained["status"] == "done", trained
    assert int(trained["worker"].rsplit(":", 1)[1]) in consumer_pids
    version = trained["result"]["version"]

    answers = [_call(server, "GET", "/workers/1/matches?limit=10", caseworker) for server in
               (first, second)]  # fmt: skip
    assert answers[0] == answers[1] and answers[0][0] == 200
    if trained["result"].get("promoted"):
        assert answers[0][1]["model_version"] == version

    body = {"graduated_since": "2000-01-01", "available_by": DAY}
    status, run = _call(second, "POST", "/allocations", caseworker, body)
    assert status in (201, 202), run
    url = f"/allocations/{run['id']}"
    done = _until(first, url, caseworker, lambda b: b["status"] != "running")
    assert done["status"] == "done", done
    assert done["summary"]["population"] > 0 and done["summary"]["policy"]["workers_placed"] > 0
