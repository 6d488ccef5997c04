"""Demo generation at scale: the default demo and a 100,000-worker province.

Prints, per size, the time and peak memory to generate the six import frames, and the
counts a reader checks (workers, enterprises, referrals, hire rate). The 100,000-worker case
keeps 50 workers and 0.75 courses per enterprise; tests/engine/test_demo.py checks the same
shape at 1 % of the size. Asserts nothing.

    .venv/bin/python bench/demo.py [--workers 8000 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matcher.demo import DemoConfig, generate  # noqa: E402

TODAY = dt.date(2026, 12, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[8_000, 100_000])
    args = parser.parse_args()
    print(
        f"{'workers':>8} {'enterprises':>11} {'courses':>8} {'referrals':>10} {'hired %':>8}"
        f" {'seconds':>8} {'peak MB':>8}"
    )
    for n_workers in args.workers:
        if n_workers == DemoConfig.n_workers:
            config = DemoConfig(today=TODAY)
        else:
            config = DemoConfig(
                today=TODAY,
                n_workers=n_workers,
                n_enterprises=max(1, n_workers // 50),
                n_courses=max(1, n_workers * 3 // 200),
            )
        started = time.perf_counter()
        data = generate(config)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        settled = data.referrals[data.referrals["outcome"] != "pending"]
        hired = (settled["outcome"] == "hired").mean() * 100
        print(
            f"{len(data.workers):>8,} {len(data.enterprises):>11,} {len(data.courses):>8,}"
            f" {len(data.referrals):>10,} {hired:>8.1f} {seconds:>8.1f} {peak_mb:>8.0f}"
        )


if __name__ == "__main__":
    main()
