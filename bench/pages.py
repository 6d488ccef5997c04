"""Page weight and slow-connection speed of the caseworkers' and enterprises' pages.

Sets up what `make run` serves — the full Hưng Yên demo (8,000 workers, trained model) in a
temporary SQLite file, `caunoi serve` (gunicorn, 2 workers) — signs in as a caseworker and
an enterprise, and measures each page:

- weight: the HTML as sent (brotli, as Chromium asks for it) and uncompressed, and all CSS+JS
  the pages load, compressed (targets: HTML ≤ 40 KB, CSS+JS ≤ 60 KB);
- speed: Debian's Chromium with network emulation at 400 kbit/s both ways and 400 ms
  latency, DOMContentLoaded from navigation start, from a cold cache (browser cache cleared)
  and once static files are cached (targets: ≤ 4 s cold, ≤ 2 s cached), median of 3.

Prints a table; asserts nothing.

    .venv/bin/python bench/pages.py [--workers 8000] [--no-train]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CAUNOI_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "mat-khau-do-toc-do"
KBIT = 400
LATENCY_MS = 400


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, check=True,
    ).stdout  # fmt: skip


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8000)
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="caunoi-pages-"))
    db_file = folder / "caunoi.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_file}",
        "CAUNOI_SECRET_KEY": "bench-pages",
        "CAUNOI_JOBS_SQLITE": str(folder / "jobs.sqlite3"),
        "CAUNOI_MODELS_DIR": str(folder / "models"),
        "OMP_NUM_THREADS": "1",
    }
    started = time.perf_counter()
    _cli(env, "init-db")
    demo = ["demo", "--workers", str(args.workers)] + (["--no-train"] if args.no_train else [])
    _cli(env, *demo)
    with sqlite3.connect(db_file) as db:
        enterprise = db.execute(
            "SELECT e.external_id FROM enterprises e JOIN commitments c ON c.enterprise_id = e.id"
            " GROUP BY e.id ORDER BY count(*) DESC, e.id LIMIT 1"
        ).fetchone()[0]
        worker_id = db.execute(
            "SELECT w.id FROM workers w WHERE w.erased_at IS NULL ORDER BY w.id LIMIT 1"
        ).fetchone()[0]
        commitment_id = db.execute(
            "SELECT c.id FROM commitments c JOIN enterprises e ON e.id = c.enterprise_id"
            " WHERE e.external_id = ? ORDER BY c.slots - c.slots_filled DESC, c.id LIMIT 1",
            (enterprise,),
        ).fetchone()[0]
    _cli(env, "user", "create", "--login", "do-cb", "--name", "Đo tốc độ", "--role",
         "caseworker", "--password", PASSWORD)  # fmt: skip
    _cli(env, "user", "create", "--login", "do-dn", "--name", "Đo tốc độ DN", "--role",
         "enterprise", "--enterprise", enterprise, "--password", PASSWORD)  # fmt: skip
    _cli(env, "user", "create", "--login", "do-kh", "--name", "Đo tốc độ KH", "--role",
         "planner", "--password", PASSWORD)  # fmt: skip
    _cli(env, "planning-refresh")  # what the consumer's first refresh stores
    print(f"demo of {args.workers} workers ready in {time.perf_counter() - started:.0f} s")
    port = _port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/readyz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        pages = {
            "do-cb": [
                ("home", "/"),
                ("search", "/workers?q=nguyen+thi"),
                ("worker", f"/workers/{worker_id}"),
                ("matches", f"/workers/{worker_id}/matches"),
                ("register", "/workers/new"),
                ("enrol", f"/workers/{worker_id}/enrol"),
                ("uploads", "/uploads"),
            ],
            "do-dn": [
                ("commitments", "/commitments"),
                ("commitment", f"/commitments/{commitment_id}"),
                ("post", "/commitments/new"),
            ],
            "do-kh": [
                ("overview", "/planning"),
                ("forecast", "/planning/forecast"),
                ("course plan", "/planning/course-plan"),
                ("fairness", "/planning/fairness"),
            ],
        }
        measure(url, pages, args.runs)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def measure(url: str, pages: dict[str, list[tuple[str, str]]], runs: int) -> None:
    from playwright.sync_api import sync_playwright

    rows = []
    static_bytes: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"],
        )  # fmt: skip
        for login, items in pages.items():
            context = browser.new_context(viewport={"width": 360, "height": 740})
            page = context.new_page()
            page.goto(url + "/login")
            page.fill("#login", login)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")

            def on_response(response, sizes=static_bytes):
                if "/static/" in response.url:
                    length = response.headers.get("content-length")
                    if length and response.status == 200:
                        sizes[response.url.split("?")[0].rsplit("/", 1)[-1]] = int(length)

            page.on("response", on_response)
            for name, path in items:
                html = _html_size(context, url + path)
                cold, warm = [], []
                for _ in range(runs):
                    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                             "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
                    cdp.send("Network.clearBrowserCache")
                    _throttle(cdp)
                    cold.append(_dom_content_loaded(page, url + path))
                    warm.append(_dom_content_loaded(page, url + path))
                rows.append((login, name, *html, statistics.median(cold), statistics.median(warm)))
            context.close()
        browser.close()
    print(
        f"\nChromium {KBIT} kbit/s, {LATENCY_MS} ms latency; median of {runs}; HTML as sent"
        " (brotli) / uncompressed"
    )
    print(f"{'page':<24} {'HTML KB':>8} {'raw KB':>8} {'cold s':>8} {'cached s':>9}")
    for login, name, sent, raw, cold, warm in rows:
        who = {"do-cb": "caseworker", "do-dn": "enterprise", "do-kh": "planner"}[login]
        print(
            f"{who + ' ' + name:<24} {sent / 1024:8.1f} {raw / 1024:8.1f} {cold:8.2f} {warm:9.2f}"
        )
    total = sum(static_bytes.values())
    files = ", ".join(f"{k} {v / 1024:.1f}" for k, v in sorted(static_bytes.items()))
    print(f"CSS+JS compressed: {total / 1024:.1f} KB ({files})")


def _throttle(cdp) -> None:
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": KBIT * 1000 / 8,
            "uploadThroughput": KBIT * 1000 / 8,
        },
    )


def _dom_content_loaded(page, target: str) -> float:
    page.goto(target, wait_until="domcontentloaded")
    return page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.domContentLoadedEventEnd / 1000; }"
    )


def _html_size(context, target: str) -> tuple[int, int]:
    """The page's HTML as sent (brotli) and uncompressed, with the session's cookie."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    sizes = []
    for encoding in ("br, gzip", "identity"):
        request = urllib.request.Request(
            target, headers={"Cookie": cookies, "Accept-Encoding": encoding}
        )
        with urllib.request.urlopen(request) as response:
            body = response.read()
            assert response.status == 200 and not re.search(rb"/login\?", body[:0])
            sizes.append(len(body))
    return sizes[0], sizes[1]


if __name__ == "__main__":
    main()
