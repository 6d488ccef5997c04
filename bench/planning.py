"""Planning as served: the refresh job's duration, and the endpoints' latency after it.

1. **The demo** (`make run`'s Hưng Yên registry, generated as of ``--today``, imported and
   trained as ``caunoi demo`` does), in a SQLite file:
   * the national refresh job (``planning_refresh``, the handler a consumer runs), its
     duration, stored size and peak memory;
   * every planning endpoint and format over HTTP through gunicorn (``caunoi serve``, two
     workers, as production), p50 and p99 after a warm-up request per worker; and the same
     in-process (Flask's test client, no network) to separate the network from the work.
2. **The country**: a registry of all 34 provinces (a smaller demo per province, external
   ids prefixed by the province), and the national refresh on it.

Targets on the 2-core reference machine: endpoint p50 ≤ 100 ms; national refresh ≤ 90 s.
Prints tables; asserts nothing.

    .venv/bin/python bench/planning.py [--today 2026-11-27] [--requests 40] [--skip-national]
                                       [--provinces 34] [--workers-per-province 600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# As `caunoi worker` and `caunoi serve` run on this machine: one OpenMP thread per process.
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import requests  # noqa: E402

from api import create_app, jobs  # noqa: E402
from api import planning as svc  # noqa: E402
from api.auth import create_token  # noqa: E402
from api.cli import import_frames, run_training  # noqa: E402
from api.extensions import db  # noqa: E402
from api.models import Job  # noqa: E402
from matcher import clock  # noqa: E402
from matcher.demo import DemoConfig, generate  # noqa: E402
from matcher.places import gazetteer  # noqa: E402

#: What a planner's pages ask for: the default page of each, and each download.
ENDPOINTS = (
    "/series?kind=demand", "/series?kind=demand&format=csv",
    "/forecasts?kind=demand", "/forecasts?kind=demand&trade=garment&area=33&format=svg",
    "/forecasts?kind=demand&format=xlsx",
    "/gaps", "/gaps?format=svg", "/course-plan", "/course-plan?format=xlsx",
    "/placement-results?by=provider", "/fairness",
)  # fmt: skip
#: Columns that hold an external id, prefixed by the province in the national registry.
ID_COLUMNS = (
    "external_id", "worker_external_id", "course_external_id", "commitment_external_id",
    "enterprise_external_id",
)  # fmt: skip


def _ms(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app(path: Path):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "MODELS_DIR": str(path.parent / "models"),
            "JOBS_SQLITE": str(path.parent / "jobs.sqlite3"),
        }
    )


def refresh_job(app) -> tuple[Job, float]:
    """The national refresh through the job's own handler, as a consumer runs it."""
    with app.app_context():
        job_id = svc.request_refresh(svc.Scope(None, "former_district", clock.today())).id
        started = time.perf_counter()
        jobs.execute(job_id)
        seconds = time.perf_counter() - started
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job, seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latencies(app, path: Path, n: int) -> list[tuple]:
    """Per endpoint: status, bytes, the first answer in-process (a file is made from the
    stored result then, and kept by the process), in-process p50/p99 and HTTP p50/p99 (ms)."""
    with app.app_context():
        token, _ = create_token("planner", label="bench")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    inproc: dict[str, list[float]] = {}
    first: dict[str, float] = {}
    client.get("/api/v1/planning/series?kind=demand", headers=headers)  # loads the result
    for endpoint in ENDPOINTS:
        t0 = time.perf_counter()
        client.get("/api/v1/planning" + endpoint, headers=headers)
        first[endpoint] = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            client.get("/api/v1/planning" + endpoint, headers=headers)
            times.append(time.perf_counter() - t0)
        inproc[endpoint] = times
    port = _free_port()
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{path}",
        "CAUNOI_MODELS_DIR": str(path.parent / "models"),
        "CAUNOI_JOBS_SQLITE": str(path.parent / "jobs.sqlite3"),
    }  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    rows = []
    try:
        session = requests.Session()
        session.headers.update(headers)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                session.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)
        for endpoint in ENDPOINTS:
            url = f"{base}/api/v1/planning{endpoint}"
            for _ in range(4):  # each gunicorn worker reads the stored result once
                session.get(url, timeout=120)
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                response = session.get(url, timeout=120)
                times.append(time.perf_counter() - t0)
            rows.append(
                (endpoint, response.status_code, len(response.content), first[endpoint],
                 *_ms(inproc[endpoint]), *_ms(times))
            )  # fmt: skip
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return rows


def national_frames(today: dt.date, provinces: int, workers: int) -> dict[str, pd.DataFrame]:
    """A smaller demo per province, ids prefixed so that the provinces never collide."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for k, province in enumerate(gazetteer().provinces()[:provinces]):
        config = DemoConfig(
            seed=20250701 + k, province_code=province.code, today=today,
            n_workers=workers, n_enterprises=max(8, workers // 40),
            n_courses=max(20, workers // 15), referrals_per_month=max(20, workers // 25),
        )  # fmt: skip
        for kind, frame in generate(config).frames().items():
            frame = frame.copy()
            for column in ID_COLUMNS:
                if column in frame.columns:
                    filled = frame[column].astype(str).str.len() > 0
                    frame.loc[filled, column] = province.code + "-" + frame.loc[filled, column]
            if "tax_code" in frame.columns:
                frame["tax_code"] = province.code + frame["tax_code"].astype(str).str[2:]
            parts.setdefault(kind, []).append(frame)
    return {kind: pd.concat(frames, ignore_index=True) for kind, frames in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", default="2026-11-27")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--workers-per-province", type=int, default=600)
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today)
    os.environ[clock.ENV_VAR] = today.isoformat()  # the servers started below too

    with tempfile.TemporaryDirectory(prefix="caunoi-bench-planning-") as tmp:
        path = Path(tmp) / "demo.sqlite3"
        app = _app(path)
        with app.app_context():
            db.create_all()
            t0 = time.perf_counter()
            import_frames(generate(DemoConfig(today=today)).frames(), today)
            run_training()
            print(f"demo as of {today}: imported and trained in {time.perf_counter() - t0:.1f} s")
        job, seconds = refresh_job(app)
        result = job.result or {}
        print(
            f"refresh job (demo, */former_district): {job.status}, {seconds:.1f} s "
            f"(stored {result.get('size', 0) / 1e6:.1f} MB; peak RSS {_peak_mb():.0f} MB)"
        )
        print(
            f"\n{'endpoint':<58} {'status':>6} {'kB':>7} {'first':>7} {'in-proc p50':>11}"
            f" {'p99':>7} {'HTTP p50':>9} {'p99':>7}   (ms, {args.requests} requests each)"
        )
        for row in latencies(app, path, args.requests):
            endpoint, status, size, cold, ip50, ip99, h50, h99 = row
            print(
                f"{endpoint:<58} {status:>6} {size / 1000:>7.1f} {cold:>7.1f} {ip50:>11.1f}"
                f" {ip99:>7.1f} {h50:>9.1f} {h99:>7.1f}"
            )

    if args.skip_national:
        return
    with tempfile.TemporaryDirectory(prefix="caunoi-bench-planning-") as tmp:
        path = Path(tmp) / "country.sqlite3"
        app = _app(path)
        with app.app_context():
            db.create_all()
        t0 = time.perf_counter()
        frames = national_frames(today, args.provinces, args.workers_per_province)
        generated = time.perf_counter() - t0
        with app.app_context():
            t0 = time.perf_counter()
            reports = import_frames(frames, today)
            rejected = sum(r.get("rejected", 0) for r in reports.values())
            print(
                f"\ncountry: {args.provinces} provinces, "
                + ", ".join(f"{len(f):,} {k}" for k, f in frames.items())
                + f"; generated in {generated:.0f} s, imported in {time.perf_counter() - t0:.0f} s"
                f" ({rejected} rows rejected)"
            )
        job, seconds = refresh_job(app)
        result = job.result or {}
        with app.app_context():
            bundle = svc.load(svc.latest(None, "former_district"))
            n_series = bundle.panel.n_series if bundle.panel is not None else 0
        print(
            f"refresh job (country, */former_district): {job.status}, {seconds:.1f} s for "
            f"{n_series:,} series (stored {result.get('size', 0) / 1e6:.1f} MB; "
            f"peak RSS {_peak_mb():.0f} MB)"
        )
        if job.status != "done":
            print(job.error)


if __name__ == "__main__":
    main()
