"""Background jobs through a real consumer process (``caunoi worker``), on both queues: the
SQLite file of the embedded default and the Redis at 127.0.0.1:6379."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from api import create_app, jobs
from api.auth import create_token
from api.extensions import db
from api.models import Job, Worker
from tests.consumer import Consumer, wait_for
from tests.db import ON_POSTGRES, app_config, empty_tables

REDIS_URL = "redis://127.0.0.1:6379/0"
FINAL = ("done", "failed", "cancelled")


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


#: Both queues on the SQLite pass; on PostgreSQL the production pair, PostgreSQL and Redis
#: (the SQLite queue file beside a PostgreSQL registry is no deployment's).
QUEUES = ["redis-queue"] if ON_POSTGRES else ["sqlite-queue", "redis-queue"]


@pytest.fixture(params=QUEUES)
def job_app(request, tmp_path: Path, database: str | None):
    """An app on a database a second process can open (a file on SQLite), with its queue."""
    overrides = {"JOBS_QUEUE": f"test-{uuid.uuid4().hex[:12]}"}
    if request.param == "redis-queue":
        assert _redis_up(), "Redis must run on 127.0.0.1:6379 (see README)"
        overrides["REDIS_URL"] = REDIS_URL
    config = app_config(tmp_path, schema=database, sqlite_file=tmp_path / "registry.sqlite3")
    app = create_app({**config, **overrides})
    with app.app_context():
        if ON_POSTGRES:
            empty_tables(app)
        else:
            db.create_all()
        tokens = {r: create_token(r, label=f"test {r}")[0] for r in ("admin", "caseworker")}
        db.session.commit()
        app.config["TEST_TOKENS"] = tokens
        yield app
        if request.param == "redis-queue":
            jobs.queue_of(app).storage.flush_all()
        db.session.remove()
        db.engine.dispose()


def _headers(app, role: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {app.config['TEST_TOKENS'][role]}"}


def test_training_is_a_job_a_consumer_runs_and_reports(job_app, tmp_path):
    client = job_app.test_client()
    queued = client.post("/api/v1/models/train", json={}, headers=_headers(job_app))
    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert body["status"] == "queued" and queued.headers["Location"] == body["url"]

    with Consumer(job_app, tmp_path / "consumer.log") as consumer:
        ended = wait_for(client, body["url"], _headers(job_app), lambda b: b["status"] in FINAL)

    # An empty registry cannot train: the job fails with the reason, once (not retried).
    assert ended["status"] == "failed", consumer.output()
    assert "need at least 200 decided referrals" in ended["error"]
    assert ended["attempts"] == 1 and ended["finished_at"] and ended["started_at"]
    host, pid = ended["worker"].rsplit(":", 1)  # the consumer's process did it, not this one
    assert host and int(pid) == consumer.process.pid
    listed = client.get("/api/v1/jobs", headers=_headers(job_app)).get_json()["items"]
    assert [j["id"] for j in listed] == [body["id"]]
    # A caseworker neither sees nor can cancel the admin's job.
    assert client.get(body["url"], headers=_headers(job_app, "caseworker")).status_code == 404
    assert (
        client.get("/api/v1/jobs", headers=_headers(job_app, "caseworker")).get_json()["items"]
        == []
    )


def test_a_queued_job_cancelled_is_never_run(job_app, tmp_path):
    client = job_app.test_client()
    body = client.post("/api/v1/models/train", json={}, headers=_headers(job_app)).get_json()
    cancelled = client.post(f"{body['url']}/cancel", headers=_headers(job_app))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    # A second job behind it shows the consumer did look at the queue.
    second = client.post("/api/v1/models/train", json={}, headers=_headers(job_app)).get_json()

    with Consumer(job_app, tmp_path / "consumer.log"):
        wait_for(client, second["url"], _headers(job_app), lambda b: b["status"] in FINAL)

    again = client.get(body["url"], headers=_headers(job_app)).get_json()
    assert again["status"] == "cancelled" and again["attempts"] == 0
    assert client.post(f"{body['url']}/cancel", headers=_headers(job_app)).status_code == 409


def test_a_job_whose_consumer_died_is_retried_once_then_failed_with_the_reason(job_app, tmp_path):
    # Two jobs left "running" by consumers that died (their heartbeats stopped long ago):
    # one on its first attempt is run again; one on its last is failed, saying why.
    long_ago = jobs.real_now() - dt.timedelta(minutes=10)
    rows = [
        Job(kind="train", params={"promote": "gate", "version": f"v{k}-test"}, status="running",
            attempts=attempts, heartbeat_at=long_ago, started_at=long_ago)
        for k, attempts in enumerate((1, 2))
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.commit()
    client = job_app.test_client()
    first, last = (f"/api/v1/jobs/{row.id}" for row in rows)

    with Consumer(job_app, tmp_path / "consumer.log") as consumer:
        retried = wait_for(
            client, first, _headers(job_app), lambda b: b["status"] in FINAL and b["attempts"] == 2
        )
        given_up = wait_for(client, last, _headers(job_app), lambda b: b["status"] in FINAL)

    assert retried["attempts"] == 2, consumer.output()
    assert "need at least 200" in retried["error"]  # it ran again, to its own end
    assert given_up["status"] == "failed" and given_up["attempts"] == 2
    assert "the consumer stopped 2 times" in given_up["error"]


def test_unknown_job_is_404(client, auth, world):
    assert client.get("/api/v1/jobs/999", headers=auth("admin")).status_code == 404
    assert client.post("/api/v1/jobs/999/cancel", headers=auth("admin")).status_code == 404


def test_a_large_import_is_a_job_and_reports_when_done(job_app, tmp_path):
    from tests.api.test_imports import WORKERS_CSV

    job_app.config["IMPORT_JOB_ABOVE_BYTES"] = 100  # this small file counts as large here
    client = job_app.test_client()
    headers = _headers(job_app, "caseworker")
    upload = {"file": (io.BytesIO(WORKERS_CSV.encode()), "w.csv"), "atomic": "false"}
    queued = client.post("/api/v1/imports/workers", data=upload, headers=headers)
    assert queued.status_code == 202, queued.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Worker)) == 0

    with Consumer(job_app, tmp_path / "consumer.log") as consumer:
        ended = wait_for(
            client, queued.headers["Location"], headers, lambda b: b["status"] in FINAL
        )

    assert ended["status"] == "done", consumer.output()[-2000:]
    report = ended["result"]
    assert (report["created"], report["rejected"]) == (3, 0) and report["errors"] == []
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Worker)) == 3
    # The upload is not kept once the job has ended.
    assert db.session.scalar(sa.select(Job.payload).where(Job.id == ended["id"])) is None


def test_an_allocation_round_is_a_job_answered_directly_when_quick(job_app, tmp_path):
    from tests import factories

    world = factories.build_world()
    db.session.commit()
    client = job_app.test_client()
    headers = _headers(job_app, "caseworker")
    queued = client.post("/api/v1/allocations", json={}, headers=headers)
    assert queued.status_code == 202, queued.get_json()  # no consumer yet
    url = queued.headers["Location"]

    job_app.config["ALLOCATION_WAIT_S"] = 20.0  # a consumer is there: wait for it
    with Consumer(job_app, tmp_path / "consumer.log") as consumer:
        ended = wait_for(client, url, headers, lambda b: b["status"] != "running")
        direct = client.post("/api/v1/allocations", json={"policy": "stable"}, headers=headers)

    assert ended["status"] == "done" and ended["progress"] == 1.0, consumer.output()[-2000:]
    assert ended["summary"]["population"] >= 1
    assert {p["worker_id"] for p in ended["pairs"]} <= {world.worker.id, world.referred_worker.id}
    assert direct.status_code == 201, direct.get_json()
    assert direct.get_json()["status"] == "done" and direct.get_json()["pairs"] is not None
    job = client.get(f"/api/v1/jobs/{ended['job_id']}", headers=headers).get_json()
    assert job["kind"] == "allocation" and job["status"] == "done" and job["attempts"] == 1


def test_a_round_whose_job_is_given_up_ends_failed_with_the_reason(client, world, auth):
    from api.models import AllocationRun

    long_ago = jobs.real_now() - dt.timedelta(minutes=10)
    run = AllocationRun(policy="max_hires", params={}, status="running", progress=0.5)
    db.session.add(run)
    db.session.flush()
    job = Job(kind="allocation", params={"run_id": run.id}, status="running", attempts=2,
              heartbeat_at=long_ago, started_at=long_ago)  # fmt: skip
    db.session.add(job)
    db.session.flush()
    run.job_id = job.id
    db.session.commit()

    assert jobs.reap() == {"requeued": [], "failed": [job.id]}

    body = client.get(f"/api/v1/allocations/{run.id}", headers=auth("caseworker")).get_json()
    assert body["status"] == "failed" and "the consumer stopped 2 times" in body["message"]
    assert body["job_id"] == job.id


def test_a_cancelled_round_ends_failed_and_is_not_run(client, world, auth):
    response = client.post("/api/v1/allocations", json={}, headers=auth("caseworker"))
    body = response.get_json()
    cancelled = client.post(f"/api/v1/jobs/{body['job_id']}/cancel", headers=auth("caseworker"))
    assert cancelled.status_code == 200, cancelled.get_json()

    jobs.execute(body["job_id"])  # a consumer that takes it now finds it cancelled

    run = client.get(f"/api/v1/allocations/{body['id']}", headers=auth("caseworker")).get_json()
    assert run["status"] == "failed" and "cancelled" in run["message"] and run["pairs"] is None


def test_nightly_training_is_queued_once_and_only_for_new_referrals(client, world, auth):
    from api.training import schedule_nightly
    from api.versions import touch

    first = schedule_nightly()
    assert first is not None and first.params["scheduled"] == "nightly"
    assert first.params["promote"] == "gate" and first.token_id is None
    assert schedule_nightly() is None  # one is queued already (a second consumer's schedule)

    first.status = "done"
    db.session.commit()
    assert schedule_nightly() is None  # nothing new since it trained

    touch("referrals")
    db.session.commit()
    second = schedule_nightly()
    assert second is not None and second.params["version"] != first.params["version"]


def test_the_schedule_is_registered_on_the_queue(job_app):
    names = {name.rsplit(".", 1)[-1] for name in jobs.queue_of(job_app)._registry._registry}
    assert {"run_job", "nightly_training", "hourly_reaper", "planning_watch"} <= names
    periodic = {
        task.name for task in jobs.queue_of(job_app).read_periodic(dt.datetime(2026, 12, 2, 19, 0))
    }
    assert {"nightly_training", "hourly_reaper", "planning_watch"} <= periodic
    assert {
        t.name for t in jobs.queue_of(job_app).read_periodic(dt.datetime(2026, 12, 2, 19, 5))
    } == {"planning_watch"}


def test_a_planning_refresh_is_a_job_a_consumer_runs_and_requests_then_read(job_app, tmp_path):
    client = job_app.test_client()
    queued = client.get("/api/v1/planning/series", headers=_headers(job_app))
    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert body["kind"] == "planning_refresh" and queued.headers["Location"] == body["url"]

    with Consumer(job_app, tmp_path / "consumer.log") as consumer:
        ended = wait_for(client, body["url"], _headers(job_app), lambda b: b["status"] in FINAL)

    assert ended["status"] == "done", consumer.output()[-2000:]
    assert int(ended["worker"].rsplit(":", 1)[1]) == consumer.process.pid
    assert ended["result"]["scope"] == "*/former_district" and ended["progress"] == 1.0
    # An empty registry: stored, with the reason there is nothing to show.
    assert "panel" in ended["result"]["not_enough_history"]
    db.session.rollback()
    answer = client.get("/api/v1/planning/series", headers=_headers(job_app))
    assert answer.status_code == 200, answer.get_json()
    served = answer.get_json()
    assert served["stale"] is False and "no commitments" in served["message"]
    assert served["computed_at"].startswith(ended["finished_at"][:10])
    files = client.get("/api/v1/planning/series?format=csv", headers=_headers(job_app))
    assert files.status_code == 409  # nothing to put in a file, said so
