"""Matching speed: top-10 for one worker over 100,000 open commitments, and training at scale.

Two registries of 100,000 open commitments each — one province (Hưng Yên, sites spread like
the demo's: industrial parks and communes) and the whole country (all 3,321 wards) — are
written to SQLite files. For each: top-10 latency for one worker in-process (p50, p99) and
over HTTP through gunicorn (p50, p99), with the served reach (every trade, twice the
commute, the nearest always: matcher.retrieval.SERVED), and what the per-trade cap and the
rule shortlist lose against the same model ranking every open commitment. Then training time
and peak memory on 1,000,000 referrals. Targets on the 2-core reference machine: in-process
p50 ≤ 8 ms and p99 ≤ 25 ms (province), HTTP p50 ≤ 12 ms; training ≤ 90 s and ≤ 4 GB.
Prints tables; asserts nothing.

    .venv/bin/python bench/matches.py [--commitments 100000] [--queries 300] [--skip-http]
                                       [--skip-training] [--referrals 1000000]
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
# Serve as `caunoi serve` does: one OpenMP thread per process (MEASURED.md); training below
# lifts the limit again with threadpoolctl.
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from api import create_app  # noqa: E402
from api.auth import create_token  # noqa: E402
from api.extensions import db  # noqa: E402
from api.matching import matches_for_worker, serving  # noqa: E402
from api.models import Commitment, Enterprise, Worker, utcnow  # noqa: E402
from api.schemas import MatchQuery  # noqa: E402
from matcher.demo import DemoConfig, generate  # noqa: E402
from matcher.places import gazetteer  # noqa: E402
from matcher.snapshot import from_contract_frames  # noqa: E402
from matcher.text import fold  # noqa: E402

TODAY = dt.date.today()
#: What the endpoint answers by default: the first page of 10 (GET .../matches).
FIRST_PAGE = MatchQuery(limit=10)


def _percentiles(times_s: list[float]) -> tuple[float, float]:
    ms = np.array(times_s) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def build_registry(url: str, scope: str, n_commitments: int, n_workers: int, seed: int) -> None:
    """Write enterprises, workers and open commitments spread like the demo's."""
    rng = np.random.default_rng(seed)
    demo = generate(DemoConfig(seed=seed, today=TODAY))
    snapshot = from_contract_frames(demo.frames(), today=TODAY)
    demo_c = snapshot.commitments
    demo_w = snapshot.workers
    if scope == "province":
        pick = rng.integers(0, len(demo_c), n_commitments)
        site_lat = demo_c["lat"].to_numpy()[pick] + rng.normal(0, 0.01, n_commitments)
        site_lon = demo_c["lon"].to_numpy()[pick] + rng.normal(0, 0.01, n_commitments)
        site_ward = demo_c["ward_code"].to_numpy()[pick]
        wpick = rng.integers(0, len(demo_w), n_workers)
        home_lat = demo_w["lat"].to_numpy()[wpick]
        home_lon = demo_w["lon"].to_numpy()[wpick]
        home_ward = demo_w["ward_code"].to_numpy()[wpick]
    else:
        wards = gazetteer().wards_frame()
        pick = rng.integers(0, len(wards), n_commitments)
        site_lat = wards["lat"].to_numpy()[pick] + rng.normal(0, 0.01, n_commitments)
        site_lon = wards["lon"].to_numpy()[pick] + rng.normal(0, 0.01, n_commitments)
        site_ward = wards["code"].to_numpy()[pick]
        wpick = rng.integers(0, len(wards), n_workers)
        home_lat = wards["lat"].to_numpy()[wpick]
        home_lon = wards["lon"].to_numpy()[wpick]
        home_ward = wards["code"].to_numpy()[wpick]
        demo_c = demo_c.iloc[rng.integers(0, len(demo_c), n_commitments)].reset_index(drop=True)
        pick = np.arange(n_commitments)
    template = demo_c.iloc[pick].reset_index(drop=True)
    n_enterprises = max(n_commitments // 50, 10)
    now = utcnow()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.execute(
            sa.insert(Enterprise),
            [
                {
                    "external_id": f"E{i}",
                    "name": f"Công ty {i}",
                    "name_key": fold(f"Cong ty {i}"),
                    "tax_code": f"{1000000000 + i}",
                    "ward_code": str(site_ward[i % n_commitments]),
                    "province_code": str(site_ward[i % n_commitments])[:2],
                    "lat": float(site_lat[i % n_commitments]),
                    "lon": float(site_lon[i % n_commitments]),
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n_enterprises)
            ],
        )
        rows = []
        for i in range(n_commitments):
            t = template.iloc[i]
            rows.append(
                {
                    "external_id": f"C{i}",
                    "enterprise_id": 1 + i % n_enterprises,
                    "trade": t["trade"],
                    "slots": int(rng.integers(5, 60)),
                    "slots_filled": 0,
                    "wage_vnd": int(t["wage_vnd"]),
                    "ward_code": str(site_ward[i]),
                    "province_code": str(site_ward[i])[:2],
                    "lat": float(site_lat[i]),
                    "lon": float(site_lon[i]),
                    "place_source": "coordinates",
                    "site_from_enterprise": False,
                    "start_date": TODAY - dt.timedelta(days=int(rng.integers(0, 60))),
                    "expires_on": TODAY + dt.timedelta(days=int(rng.integers(30, 180))),
                    "min_education": t["min_education"]
                    if isinstance(t["min_education"], str)
                    else None,
                    "required_skills": list(t["required_skills"]),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(Commitment), rows[start : start + 5000])
        wt = demo_w.iloc[rng.integers(0, len(demo_w), n_workers)].reset_index(drop=True)
        db.session.execute(
            sa.insert(Worker),
            [
                {
                    "external_id": f"W{i}",
                    "full_name": f"Người {i}",
                    "name_key": f"nguoi {i}",
                    "birth_year": 1995,
                    "ward_code": str(home_ward[i]),
                    "province_code": str(home_ward[i])[:2],
                    "lat": float(home_lat[i]),
                    "lon": float(home_lon[i]),
                    "education": wt["education"].iloc[i],
                    "trades": list(wt["trades"].iloc[i]),
                    "skills": list(wt["skills"].iloc[i]),
                    "experience_years": None
                    if pd.isna(wt["experience_years"].iloc[i])
                    else float(wt["experience_years"].iloc[i]),
                    "expected_wage_vnd": None
                    if pd.isna(wt["expected_wage_vnd"].iloc[i])
                    else int(wt["expected_wage_vnd"].iloc[i]),
                    "max_commute_km": float(wt["max_commute_km"].iloc[i]),
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n_workers)
            ],
        )
        db.session.commit()


def in_process(
    url: str, queries: int, seed: int, models_dir: str
) -> tuple[float, float, float, int]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MODELS_DIR": models_dir})
    rng = np.random.default_rng(seed)
    with app.app_context():
        started = time.perf_counter()
        serving().get()
        build_s = time.perf_counter() - started
        n_workers = db.session.scalar(sa.select(sa.func.count()).select_from(Worker))
        ids = rng.integers(1, n_workers + 1, queries)
        workers = [db.session.get(Worker, int(i)) for i in ids]
        for worker in workers[:20]:
            matches_for_worker(worker, FIRST_PAGE)
        times, considered = [], []
        for worker in workers:
            t0 = time.perf_counter()
            body = matches_for_worker(worker, FIRST_PAGE)
            times.append(time.perf_counter() - t0)
            considered.append(body["candidates_considered"])
        p50, p99 = _percentiles(times)
        kept = _capped_against_every_open(workers[:30])
        return p50, p99, build_s, int(np.median(considered)), kept


def _capped_against_every_open(workers: list) -> float:
    """What the per-trade cap and the rule shortlist cost: the served top-10's summed model
    probability over that of the same model ranking every open commitment (1.0 = nothing lost)."""
    from api.matching import _worker_arrays, _worker_context, model_holder
    from matcher import clock
    from matcher.features import day_of, pair_features
    from matcher.retrieval import match_worker

    state, active = serving().get(), model_holder().get()
    day = day_of(clock.today())
    index = state.commitments
    every = np.concatenate(index.geo.groups)
    live = np.isnan(index.commitments.expires_day[every]) | (
        index.commitments.expires_day[every] >= day
    )
    every = every[live]
    ratios = []
    for worker in workers:
        arrays = _worker_arrays(worker, state.codec)
        context = _worker_context(worker.id, state)
        served = match_worker(index, arrays, day, context, active.predict, limit=10)
        X = pair_features(
            arrays, np.zeros(len(every), dtype=np.intp), index.commitments, every, day, context
        )
        best = np.sort(active.predict(X))[-10:]
        ratios.append(served.scores.sum() / best.sum())
    return float(np.mean(ratios))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def over_http(url: str, queries: int, seed: int, models_dir: str) -> tuple[float, float]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        token, _ = create_token("caseworker", label="bench")
        db.session.commit()
        n_workers = db.session.scalar(sa.select(sa.func.count()).select_from(Worker))
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CAUNOI_MODELS_DIR": models_dir}
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
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
        rng = np.random.default_rng(seed)
        ids = rng.integers(1, n_workers + 1, queries)
        for worker_id in ids[:40]:  # both gunicorn workers build their index
            session.get(f"{base}/api/v1/workers/{worker_id}/matches?limit=10", timeout=120)
        times = []
        for worker_id in ids:
            t0 = time.perf_counter()
            response = session.get(f"{base}/api/v1/workers/{worker_id}/matches?limit=10")
            times.append(time.perf_counter() - t0)
            response.raise_for_status()
        return _percentiles(times)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def training(n_referrals: int, seed: int) -> tuple[float, float, float, int]:
    """Train on n referrals (the demo history, resampled in time to reach n rows)."""
    from matcher.evaluation import train_and_evaluate
    from matcher.snapshot import training_set

    config = DemoConfig(
        seed=seed, n_workers=100_000, n_enterprises=2_000, n_courses=1_500,
        referrals_per_month=40_000, today=TODAY,
    )  # fmt: skip
    demo = generate(config)
    snapshot = from_contract_frames(demo.frames(), today=TODAY)
    referrals = snapshot.referrals
    if len(referrals) < n_referrals:
        rng = np.random.default_rng(seed)
        extra = referrals.iloc[rng.integers(0, len(referrals), n_referrals - len(referrals))]
        shift = pd.to_timedelta(rng.integers(-30, 1, len(extra)), unit="D")
        extra = extra.assign(
            referred_on=(pd.to_datetime(extra["referred_on"]) + shift).dt.date,
            id=np.arange(len(referrals) + 1, n_referrals + 1),
        )
        hired_on = pd.to_datetime(extra["hired_on"])
        extra["hired_on"] = (hired_on + shift).dt.date.where(hired_on.notna(), None)
        extra["left_on"] = None
        snapshot.referrals = pd.concat([referrals, extra], ignore_index=True)
    snapshot.referrals = snapshot.referrals.iloc[:n_referrals]
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    ts = training_set(snapshot)
    features_s = time.perf_counter() - started
    with threadpool_limits(limits=os.cpu_count()):
        report = train_and_evaluate(snapshot, ts=ts)
    print(
        f"  (model fitted on {report.n_train:,} rows, evaluated on {report.n_eval:,}, refit on all)"
    )
    total_s = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    return features_s, total_s, peak_gb, len(ts)


def train_demo_model(path: str, models_dir: str) -> str:
    """Train on the default demo history so that latency includes the real model."""
    from api.cli import load_demo, run_training

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "MODELS_DIR": models_dir})
    with app.app_context():
        db.create_all()
        load_demo(n_workers=8000, n_enterprises=120, n_courses=300, seed=20250701, today=TODAY)
        result = run_training()
        if not result["promoted"]:
            from matcher import model_store

            model_store.promote(Path(models_dir), result["version"])
        return result["version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        models_dir = os.path.join(folder, "models")
        version = train_demo_model(os.path.join(folder, "demo.sqlite3"), models_dir)
        print(f"scoring with model {version} (trained on the default demo history)")
        print(
            f"{'scope':<10} {'commitments':>11} {'index s':>8} {'cands':>6} {'in-proc p50':>11}"
            f" {'p99':>7} {'HTTP p50':>9} {'p99':>7} {'kept':>7}   (ms; kept: served top-10's"
            " summed probability / every open commitment ranked, 30 workers)"
        )
        for scope in ("province", "country"):
            url = f"sqlite:///{os.path.join(folder, scope + '.sqlite3')}"
            build_registry(url, scope, args.commitments, args.workers, args.seed)
            p50, p99, build_s, cands, kept = in_process(url, args.queries, args.seed, models_dir)
            h50 = h99 = float("nan")
            if not args.skip_http:
                h50, h99 = over_http(url, args.queries, args.seed, models_dir)
            print(
                f"{scope:<10} {args.commitments:>11,} {build_s:>8.2f} {cands:>6} {p50:>11.2f}"
                f" {p99:>7.2f} {h50:>9.2f} {h99:>7.2f} {kept:>7.4f}"
            )
    if not args.skip_training:
        features_s, total_s, peak_gb, rows = training(args.referrals, args.seed)
        print()
        print(
            f"training on {rows:,} referrals: features {features_s:.1f} s, features + train +"
            f" evaluate + refit {total_s:.1f} s, peak memory {peak_gb:.2f} GB"
        )


if __name__ == "__main__":
    main()
