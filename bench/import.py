"""Import throughput: 100,000 workers and 10,000 commitments into a fresh SQLite file.

Prints a table (rows, seconds, rows/s) for a first import and for re-importing the same file
(which must change nothing). Target on the 2-core reference machine: 100,000 workers < 60 s.

    .venv/bin/python bench/import.py [--workers 100000] [--commitments 10000] [--database URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from api.importing import run_import  # noqa: E402
from matcher.demo import DemoConfig, generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--commitments", type=int, default=10_000)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(
        DemoConfig(
            n_workers=args.workers,
            n_enterprises=max(120, args.commitments // 5),
            n_courses=max(80, args.workers // 60),
            referrals_per_month=50,
            today=dt.date(2026, 11, 27),
        )
    )
    generated_s = time.perf_counter() - started
    frames = data.frames()
    commitments = frames["commitments"].head(args.commitments)
    files = {
        "enterprises": frames["enterprises"],
        "courses": frames["courses"],
        "workers": frames["workers"],
        "commitments": commitments,
    }
    payloads = {k: f.to_csv(index=False).encode("utf-8") for k, f in files.items()}

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{os.path.join(folder, 'bench.sqlite3')}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.drop_all()
            db.create_all()
            print(f"database: {db.engine.url.render_as_string(hide_password=True).split('///')[0]}")
            print(f"generated demo data in {generated_s:.1f} s")
            print()
            print(
                f"{'kind':<12} {'pass':<9} {'rows':>8} {'MB':>6} {'seconds':>8} {'rows/s':>9}"
                f" {'created':>8} {'unchanged':>9} {'rejected':>8}"
            )
            for attempt in ("first", "re-import"):
                for kind, payload in payloads.items():
                    t0 = time.perf_counter()
                    report = run_import(kind, payload, f"{kind}.csv", today=dt.date(2026, 11, 27))
                    seconds = time.perf_counter() - t0
                    rows = report["total_rows"]
                    print(
                        f"{kind:<12} {attempt:<9} {rows:>8,} {len(payload) / 1e6:>6.1f} "
                        f"{seconds:>8.2f} {rows / seconds:>9,.0f} {report['created']:>8,} "
                        f"{report['unchanged']:>9,} {report['rejected']:>8,}"
                    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"peak resident memory: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
