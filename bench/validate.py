"""Validation throughput: caseworkers' worker rows read and validated, without a database.

Reads and validates synthetic workers CSVs of 10,000 and 100,000 rows (free-text skills,
every Hưng Yên ward, phones, wages) and prints rows/s for reading alone and for reading plus
validation. Target on the 2-core reference machine: 100,000 rows < 10 s. Asserts nothing;
tests/engine/test_ingest.py checks that the same rows validate cleanly.

    .venv/bin/python bench/validate.py [--rows 10000 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matcher import ingest  # noqa: E402
from matcher.places import gazetteer  # noqa: E402
from matcher.taxonomy import taxonomy  # noqa: E402

TODAY = dt.date(2025, 10, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    wards = [ward.code for ward in gazetteer().wards("33")]
    taxonomy()  # loaded once per process, as in the api
    print(f"{'rows':>8} {'read s':>8} {'read+validate s':>16} {'rows/s':>10} {'errors':>7}")
    for rows in args.rows:
        data = ingest._synthetic_workers_csv(rows, wards)
        started = time.perf_counter()
        table = ingest.read_table(data, "workers.csv")
        read_s = time.perf_counter() - started
        batch = ingest.validate("workers", table, today=TODAY)
        total_s = time.perf_counter() - started
        print(
            f"{rows:>8,} {read_s:>8.2f} {total_s:>16.2f} {rows / total_s:>10,.0f}"
            f" {len(batch.errors):>7}"
        )


if __name__ == "__main__":
    main()
