"""A real job consumer for tests: ``caunoi worker`` in a subprocess, on the test app's
database, models folder and queue (the SQLite file, or Redis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask

from matcher import clock

ROOT = Path(__file__).resolve().parent.parent
#: Fast beats for tests: a dead consumer's job is noticed within a few seconds.
FAST = {"JOB_HEARTBEAT_S": "0.5", "JOB_STALE_S": "3", "JOB_REAP_S": "1"}


def consumer_env(app: Flask, **settings: str) -> dict[str, str]:
    """The environment that makes ``caunoi worker`` open what ``app`` uses."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {})
    if url.startswith("postgresql") and "options" in options:
        url += ("&" if "?" in url else "?") + "options=" + quote(options["options"])
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CAUNOI_MODELS_DIR": app.config["MODELS_DIR"],
        "CAUNOI_JOBS_SQLITE": app.config["JOBS_SQLITE"],
        "CAUNOI_JOBS_QUEUE": app.config["JOBS_QUEUE"],
        "CAUNOI_SECRET_KEY": app.config["SECRET_KEY"],
        "CAUNOI_TODAY": clock.today().isoformat(),
        "OMP_NUM_THREADS": "1",
        **{f"CAUNOI_{k}": v for k, v in {**FAST, **settings}.items()},
    }
    if app.config.get("REDIS_URL"):
        env["CAUNOI_REDIS_URL"] = app.config["REDIS_URL"]
    return env


class Consumer:
    """Start with ``with Consumer(app):``; ``kill()`` is SIGKILL, as a crash would be."""

    def __init__(self, app: Flask, log: Path, **settings: str) -> None:
        self.env = consumer_env(app, **settings)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Consumer:
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                # No schedule: a nightly training queued at 19:00 UTC mid-test would compete
                # with the test's own jobs (test_jobs checks the schedule itself).
                [sys.executable, "-m", "api.cli", "worker", "--no-schedule"], cwd=ROOT,
                env=self.env,
                stdout=handle, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Server(Consumer):
    """``caunoi serve`` (gunicorn) in a subprocess on the app's database, at ``url``."""

    def __init__(self, app: Flask, log: Path, port: int, **settings: str) -> None:
        super().__init__(app, log, **settings)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Server:
        import urllib.request

        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port),
                 "--workers", "1"],
                cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:  # up once it answers its health check
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return self
            except OSError as error:
                if time.monotonic() > deadline or not self.alive():
                    message = "the server did not start:\n" + self.output()[-2000:]
                    raise RuntimeError(message) from error
                time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to gunicorn's master and its workers, as a crashed machine."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def __exit__(self, *exc: Any) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(client: Any, url: str, headers: dict[str, str], until: Any, timeout: float = 60):
    """Poll a job's URL until ``until(body)`` holds; the last body.

    Each poll first ends the test's own transaction: requests of the test client share the
    test's session, and an open SQLite/PostgreSQL transaction would keep reading the snapshot
    taken before the consumer wrote.
    """
    from api.extensions import db

    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        body = client.get(url, headers=headers).get_json()
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)
