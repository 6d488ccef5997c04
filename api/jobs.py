"""Background jobs: long work leaves the request and runs in a consumer process.

The queue is Huey: on a SQLite file beside the database by default (``make run`` needs no
Redis), on Redis when ``CAUNOI_REDIS_URL`` is set (production, several machines). It only
carries a job's id. The record users see is the ``jobs`` row: kind, parameters, who asked,
status, progress with a message, attempts, heartbeat, result, timestamps.

A job is claimed by one consumer at a time (a conditional UPDATE), and its consumer writes
the heartbeat every ``JOB_HEARTBEAT_S`` seconds while it works. The reaper — a thread of
every consumer, with a pass when the consumer starts — requeues a running job whose
heartbeat is older than ``JOB_STALE_S`` (its consumer died: kill -9, a lost machine) once,
and fails it with the reason the second time: a job is never ``running`` for ever. A
handler that raises fails its job with the error's text; such errors (too little history,
a bad file) would only repeat, so they are not retried.

Heartbeats are real UTC time, not :mod:`matcher.clock`'s product day: they are about
processes, which must agree across machines whatever day the product is set to.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab

from api.extensions import db
from api.models import Job

log = logging.getLogger(__name__)

#: Statuses a job can still leave.
ACTIVE = ("queued", "running")
CANCELLED = "Đã hủy / cancelled"
Progress = Callable[[float, str], None]
Handler = Callable[[Job, Progress], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}
#: Called with a job's parameters and the reason when it fails, is cancelled or is given up,
#: so that the work's own record (an allocation round) says so too.
FAILURE_HOOKS: dict[str, Callable[[dict[str, Any], str], None]] = {}
#: Where the handlers live, next to the work they do.
HANDLER_MODULES = ("api.training", "api.importing", "api.allocations", "api.planning")


class Cancelled(Exception):
    """Raised inside a handler, at a progress report, once a cancel was asked for."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does one kind of job (it returns the job's result)."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def on_failure(kind: str) -> Callable[[Callable], Callable]:
    """Register what to do to a kind's own record when one of its jobs ends without result."""

    def register(function: Callable[[dict[str, Any], str], None]) -> Callable:
        FAILURE_HOOKS[kind] = function
        return function

    return register


def _failed(kind: str, params: dict[str, Any], reason: str) -> None:
    hook = FAILURE_HOOKS.get(kind)
    if hook is None:
        return
    try:
        hook(params, reason)
    except Exception:  # the job row already says why; the hook is a courtesy
        db.session.rollback()
        log.exception("failure hook of a %s job", kind)


def real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- the queue


def init_app(app: Flask) -> None:
    """Register the handlers; the queue itself is made on first use (:func:`queue_of`), so
    an app that never queues anything (a CLI command, most tests) opens no queue file."""
    for module in HANDLER_MODULES:  # each registers the kinds it does
        importlib.import_module(module)
    app.extensions["caunoi.jobs.lock"] = threading.Lock()


@dataclass(frozen=True)
class _Queue:
    huey: Huey
    run_job: Any  # the Huey task: calling it enqueues a job id


def _queue(app: Flask | None = None) -> _Queue:
    app = app or current_app._get_current_object()
    with app.extensions["caunoi.jobs.lock"]:
        if "caunoi.jobs" not in app.extensions:
            app.extensions["caunoi.jobs"] = _make_queue(app)
    return app.extensions["caunoi.jobs"]


def queue_of(app: Flask | None = None) -> Huey:
    """The app's Huey (Redis when ``REDIS_URL`` is set, else a SQLite file)."""
    return _queue(app).huey


def _make_queue(app: Flask) -> _Queue:
    url, name = app.config.get("REDIS_URL"), app.config["JOBS_QUEUE"]
    if url:
        queue: Huey = RedisHuey(name, url=url, results=False)
    else:
        path = app.config.get("JOBS_SQLITE") or os.path.join(app.instance_path, "jobs.sqlite3")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        queue = SqliteHuey(name, filename=path, results=False)

    @queue.task(name="run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            execute(job_id)

    # Scheduled work (UTC; Vietnam is UTC+7). Every consumer that runs the schedule enqueues
    # it, so each task queues its job only when none is queued, running or already done for
    # the same data (``caunoi worker --no-schedule`` leaves the schedule to other consumers).
    @queue.periodic_task(crontab(minute="0", hour=str(app.config["NIGHTLY_TRAIN_UTC_HOUR"])))
    def nightly_training() -> None:
        from api.training import schedule_nightly

        with app.app_context():
            schedule_nightly()
            db.session.remove()

    @queue.periodic_task(crontab())
    def planning_watch() -> None:
        """Every minute: refresh the stale planning scopes whose data have gone quiet."""
        from api.planning import watch

        with app.app_context():
            watch()
            db.session.remove()

    @queue.periodic_task(crontab(minute="0"))
    def hourly_reaper() -> None:
        """A pass of the reaper on the schedule as well as each consumer's own thread."""
        with app.app_context():
            reap()
            db.session.remove()

    return _Queue(queue, run_job)


_PRINCIPALS = object()


def submit(
    kind: str,
    params: dict[str, Any],
    principal: Any | None = None,
    payload: bytes | None = None,
    province_scope: str | None | object = _PRINCIPALS,
) -> Job:
    """Record a job and put it on the queue; the caller answers 202 with the row.

    ``province_scope`` is the province the work is about, when it is not the asker's (a
    planning refresh of one province, which every planner of that province may follow)."""
    if province_scope is _PRINCIPALS:
        province_scope = getattr(principal, "province_code", None)
    if kind not in HANDLERS:
        raise KeyError(kind)
    job = Job(
        kind=kind,
        params=params,
        token_id=getattr(principal, "token_id", None),
        role=getattr(principal, "role", None),
        province_scope=province_scope,
        status="queued",
        message="Đang chờ / queued",
        payload=payload,
    )
    db.session.add(job)
    db.session.commit()
    _enqueue(job.id)
    return job


def _enqueue(job_id: int) -> None:
    _queue().run_job(job_id)


# ---------------------------------------------------------------- running one


def _update(engine: sa.Engine, job_id: int, *where: Any, **values: Any) -> bool:
    """Write to a job row, if it still meets ``where``, in a transaction of its own (the
    handler's session is busy); whether it did. The conditions are what keep two consumers
    or reapers from both acting on one job."""
    with engine.begin() as connection:
        stmt = sa.update(Job).where(Job.id == job_id, *where).values(**values)
        return bool(connection.execute(stmt).rowcount)


class _Heartbeat(threading.Thread):
    def __init__(self, engine: sa.Engine, job_id: int, interval_s: float) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.engine, self.job_id, self.interval_s = engine, job_id, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                _update(self.engine, self.job_id, Job.status == "running", heartbeat_at=real_now())
            except sa.exc.SQLAlchemyError:  # a busy database: the next beat will do
                log.warning("heartbeat of job %s not written", self.job_id, exc_info=True)


def execute(job_id: int) -> None:
    """Claim a queued job, run its handler with a heartbeat, and record how it ended."""
    engine = db.engine
    if not _claim(engine, job_id):
        return  # cancelled, or taken by another consumer
    job = db.session.get(Job, job_id)
    kind, params = job.kind, dict(job.params)
    beat = _Heartbeat(engine, job_id, float(current_app.config["JOB_HEARTBEAT_S"]))
    beat.start()

    def progress(fraction: float, message: str) -> None:
        _update(
            engine, job_id, progress=round(min(max(fraction, 0.0), 1.0), 3),
            message=message[:500], heartbeat_at=real_now(),
        )  # fmt: skip
        with engine.connect() as connection:
            asked = connection.execute(
                sa.select(Job.cancel_requested).where(Job.id == job_id)
            ).scalar()
        if asked:
            raise Cancelled

    try:
        result = HANDLERS[job.kind](job, progress)
    except Cancelled:
        db.session.rollback()
        _finish(engine, job_id, "cancelled", message=CANCELLED)
        _failed(kind, params, CANCELLED)
    except Exception as error:  # the job fails with the reason; the consumer goes on
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, kind)
        reason = f"{type(error).__name__}: {error}"[:2000]
        _finish(engine, job_id, "failed", message="Thất bại / failed", error=str(error)[:2000])
        _failed(kind, params, reason)
    else:
        # Handlers return what they computed; the row stores it as JSON (dates as text).
        result = json.loads(json.dumps(result, default=str))
        _finish(engine, job_id, "done", message="Xong / done", progress=1.0, result=result)
    finally:
        beat.stopped.set()
        db.session.remove()


def _claim(engine: sa.Engine, job_id: int) -> bool:
    now = real_now()
    return _update(
        engine, job_id, Job.status == "queued", ~Job.cancel_requested,
        status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now,
        message="Đang chạy / running", worker=f"{socket.gethostname()}:{os.getpid()}"[:120],
    )  # fmt: skip


def _finish(engine: sa.Engine, job_id: int, status: str, **values: Any) -> None:
    _update(engine, job_id, status=status, finished_at=real_now(), payload=None, **values)


# ---------------------------------------------------------------- recovery and cancelling


def reap(stale_s: float | None = None) -> dict[str, list[int]]:
    """Requeue (once) or fail the running jobs whose consumer stopped beating.

    Every consumer reaps; the updates are conditional on the stale heartbeat, so two reapers
    never both act on one job.
    """
    stale_s = float(current_app.config["JOB_STALE_S"] if stale_s is None else stale_s)
    engine = db.engine
    cutoff = real_now() - dt.timedelta(seconds=stale_s)
    stale = sa.and_(Job.status == "running", Job.heartbeat_at < cutoff)
    rows = db.session.execute(
        sa.select(
            Job.id, Job.attempts, Job.max_attempts, Job.cancel_requested, Job.heartbeat_at,
            Job.kind, Job.params,
        ).where(stale)
    ).all()
    db.session.commit()
    requeued, failed = [], []
    for job_id, attempts, max_attempts, cancel_requested, heartbeat, kind, params in rows:
        since = heartbeat.isoformat(timespec="seconds")
        if attempts < max_attempts and not cancel_requested:
            if _update(
                engine, job_id, stale,
                status="queued", message=f"Thử lại / retrying (no heartbeat since {since})",
            ):  # fmt: skip
                requeued.append(job_id)
        else:
            reason = (
                f"Tiến trình xử lý dừng giữa chừng {attempts} lần (nhịp cuối {since} UTC) / "
                f"the consumer stopped {attempts} times (last heartbeat {since} UTC)"
            )
            if _update(
                engine, job_id, stale,
                status="failed", finished_at=real_now(), message="Thất bại / failed",
                error=reason,
            ):  # fmt: skip
                failed.append(job_id)
                _failed(kind, params, reason)
    for job_id in requeued:
        _enqueue(job_id)
    if requeued or failed:
        log.warning("reaper: requeued %s, failed %s", requeued, failed)
    return {"requeued": requeued, "failed": failed}


def cancel(job: Job) -> Job:
    """A queued job is cancelled at once; a running one at its next progress report."""
    queued = job.status == "queued"
    if queued:
        job.status, job.finished_at, job.message = "cancelled", real_now(), CANCELLED
    job.cancel_requested = True
    db.session.commit()
    if queued:
        _failed(job.kind, dict(job.params), CANCELLED)
    return job


# ---------------------------------------------------------------- the consumer


def run_consumer(app: Flask, workers: int = 1, schedule: bool = True) -> None:
    """``caunoi worker``: consume until Ctrl-C or SIGTERM, reaping every ``JOB_REAP_S``.

    The reaper runs in each consumer (a thread), starting with a pass over what a dead
    consumer left, so recovery needs no extra process and takes at most
    ``JOB_STALE_S`` + ``JOB_REAP_S`` seconds (60 + 30 by default).
    """
    interval = float(app.config["JOB_REAP_S"])
    stop = threading.Event()

    def reaper() -> None:
        while True:
            try:
                with app.app_context():
                    reap()
                    db.session.remove()
            except Exception:  # a busy or restarting database: try again next time
                log.warning("reaper pass failed", exc_info=True)
            if stop.wait(interval):
                return

    threading.Thread(target=reaper, daemon=True, name="reaper").start()
    consumer = queue_of(app).create_consumer(
        workers=workers, worker_type="thread", periodic=schedule
    )
    try:
        consumer.run()
    finally:
        stop.set()
