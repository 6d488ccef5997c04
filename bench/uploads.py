"""Peak memory of an upload: the largest allowed .xlsx and issue 10's padded-row file.

Each case runs in a fresh child process (so its peak resident memory, ru_maxrss, is its own):
once reading the file only (ingest.read_table, what the limits bound) and once importing it
(api.importing.run_import into a new SQLite file, the path of POST /imports and
`caunoi import`). The baseline is a child that builds the app and reads nothing.

    .venv/bin/python bench/uploads.py [--rows 500000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRADES = ("garment", "electrical", "electronics", "textile", "carpentry", "handicraft")


def largest_xlsx(path: Path, rows: int) -> None:
    """A workers file with ``rows`` data rows (MAX_IMPORT_ROWS by default), 9 columns."""
    from openpyxl import Workbook

    from matcher.places import gazetteer

    wards = [w.code for w in gazetteer().wards() if w.province_code == "33"]
    rng = random.Random(10)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(
        ["external_id", "full_name", "birth_year", "gender", "ward_code", "phone", "trades",
         "skills", "expected_wage_vnd"]
    )  # fmt: skip
    for n in range(rows):
        sheet.append(
            [f"NLD{n:07d}", f"Nguyễn Thị Hoa {n}", 1970 + n % 40, ("female", "male")[n % 2],
             rng.choice(wards), f"09{n % 100_000_000:08d}", rng.choice(TRADES),
             "may công nghiệp;vắt sổ", 6_000_000 + (n % 40) * 100_000]
        )  # fmt: skip
    book.save(path)


def child(mode: str, path: str) -> None:
    """Run one case and print its figures as JSON (called in a fresh process)."""
    import resource

    from api import create_app
    from api.extensions import db
    from api.importing import run_import
    from matcher import ingest

    data = Path(path).read_bytes() if path else b""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "b"}
        )
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            result: dict = {}
            if mode == "read":
                table = ingest.read_table(
                    data, "upload.xlsx", max_rows=app.config["MAX_IMPORT_ROWS"]
                )
                result = {"rows": len(table.rows), "columns": len(table.header)}
            elif mode == "import":
                report = run_import("workers", data, "upload.xlsx")
                result = {k: report[k] for k in ("total_rows", "created", "rejected")}
            result["seconds"] = round(time.perf_counter() - started, 1)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(result))


def run(mode: str, path: Path | None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path or "")],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from matcher import ingest
    from tests import xlsx_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="rows of the largest file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    with tempfile.TemporaryDirectory() as folder:
        padded = Path(folder) / "padded.xlsx"
        padded.write_bytes(xlsx_files.padded_rows(8000))
        largest = Path(folder) / "largest.xlsx"
        started = time.perf_counter()
        largest_xlsx(largest, args.rows)
        print(f"limits: {ingest.MAX_COLUMNS} columns, {ingest.MAX_CELLS:,} cells, rows"
              f" {args.rows:,}; .xlsx inflating to at most"
              f" {ingest.MAX_XLSX_UNCOMPRESSED // 2**20} MB")  # fmt: skip
        print(f"largest .xlsx: {largest.stat().st_size / 2**20:.1f} MB, written in"
              f" {time.perf_counter() - started:.0f} s; padded-row .xlsx:"
              f" {padded.stat().st_size / 1024:.0f} kB declaring A1:XFD8001")  # fmt: skip
        print(f"{'case':<28}{'peak MB':>9}{'seconds':>9}  result")
        base = run("none", None)
        print(f"{'baseline (app, no file)':<28}{base['peak_mb']:>9}{base['seconds']:>9}")
        for name, path in (("padded-row file", padded), ("largest allowed .xlsx", largest)):
            for mode in ("read", "import"):
                figures = run(mode, path)
                rest = {k: v for k, v in figures.items() if k not in ("peak_mb", "seconds")}
                label = f"{name}, {mode}"
                print(f"{label:<28}{figures['peak_mb']:>9}{figures['seconds']:>9}  {rest}")


if __name__ == "__main__":
    main()
