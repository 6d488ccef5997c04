"""A live `caunoi serve` (gunicorn) on a small demo, and Debian's Chromium driven by
pytest-playwright: the pages as caseworkers and enterprises meet them.

The demo is the generator of `caunoi demo` at a smaller size (1,500 workers), loaded through
the import path into a SQLite file, as of a pinned day. Screenshots of every page visited go
to SCREENSHOTS (360 px and 1280 px); axe-core (vendored) checks each page.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CAUNOI_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "browser" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
TODAY = "2026-12-03"
PASSWORD = "mat-khau-trinh-duyet"
ROLES = ("caseworker", "enterprise", "planner", "admin")

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Site:
    url: str
    env: dict[str, str]
    logins: dict[str, str]

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    folder = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'caunoi.sqlite3'}",
        "CAUNOI_SECRET_KEY": "browser-test-secret",
        "CAUNOI_TODAY": TODAY,
        "CAUNOI_JOBS_SQLITE": str(folder / "jobs.sqlite3"),
        "CAUNOI_MODELS_DIR": str(folder / "models"),
        "OMP_NUM_THREADS": "1",
        # An upload above 40 kB is a background job (no consumer runs here: it stays queued,
        # and its page shows the progress a caseworker would watch).
        "CAUNOI_IMPORT_JOB_ABOVE_BYTES": "40000",
    }
    env.pop("CAUNOI_TEST_DATABASE_URL", None)
    site = Site("", env, {})
    site.cli("init-db")
    site.cli("demo", "--workers", "1500", "--enterprises", "30", "--courses", "60", "--no-train")
    _make_users(env)
    # Planner pages read stored planning results: compute them once, as the refresh job would.
    site.cli("planning-refresh")
    site.logins = {role: f"thu-{role}" for role in ROLES}
    port = _free_port()
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    site.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(site.url + "/readyz", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((folder / "server.log").read_text()[-3000:]) from None
            time.sleep(0.2)
    yield site
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)
    log.close()


def _make_users(env: dict[str, str]) -> None:
    """One account per role (in one process: each CLI call would import the app again); the
    enterprise account speaks for the demo enterprise with most commitments."""
    code = f"""
import sqlalchemy as sa
from api import accounts, create_app
from api.extensions import db
from api.models import Commitment, Enterprise
app = create_app()
with app.app_context():
    busiest = db.session.scalar(
        sa.select(Enterprise).join(Commitment).group_by(Enterprise.id)
        .order_by(sa.func.count().desc(), Enterprise.id).limit(1)
    )
    for role in {ROLES!r}:
        accounts.create_user(
            "thu-" + role, "Thử " + role, role, {PASSWORD!r},
            enterprise=busiest if role == "enterprise" else None,
        )
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


@pytest.fixture(scope="session")
def consumer(site: Site) -> Iterator[subprocess.Popen]:
    """A real job consumer (`caunoi worker`) beside the server, for the tests that watch a
    job run to its end (training, a planning refresh, an allocation round)."""
    log = (Path(site.env["CAUNOI_JOBS_SQLITE"]).parent / "consumer.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--no-schedule"],
        cwd=ROOT, env=site.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """Debian's Chromium, never a downloaded browser (none can be downloaded here)."""
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _screenshot_folder() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA findings on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
          const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
          return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
        }"""
    )


class Pages:
    """One person's browser: sign in, open pages, and look at each page as its user would
    (screenshots at phone and desktop widths; axe-core's serious and critical findings)."""

    def __init__(self, browser, site: Site, role: str, *, javascript: bool) -> None:
        self.site, self.role, self.javascript = site, role, javascript
        self.context = browser.new_context(
            java_script_enabled=javascript,
            viewport={"width": 360, "height": 740},
            bypass_csp=True,  # only so that axe-core can be injected; the pages run none inline
            locale="vi-VN",
        )
        self.page = self.context.new_page()
        self.violations: dict[str, list[str]] = {}

    def go(self, path: str):
        response = self.page.goto(self.site.url + path)
        return response

    def sign_in(self) -> None:
        self.go("/login")
        self.page.fill("#login", self.site.logins[self.role])
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.content()[:2000]

    def look(self, name: str) -> None:
        """Screenshots at 360 px and 1280 px, and axe-core (WCAG 2.1 AA) when scripts run."""
        suffix = "js" if self.javascript else "nojs"
        for width in (360, 1280):
            self.page.set_viewport_size({"width": width, "height": 740 if width == 360 else 900})
            self.page.screenshot(
                path=str(SCREENSHOTS / f"{self.role}-{name}-{width}-{suffix}.png"), full_page=True
            )
        self.page.set_viewport_size({"width": 360, "height": 740})
        if self.javascript:
            found = serious_violations(self.page)
            if found:
                self.violations[name] = found

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def pages(browser, site):
    opened: list[Pages] = []

    def open_as(role: str, *, javascript: bool = True) -> Pages:
        person = Pages(browser, site, role, javascript=javascript)
        opened.append(person)
        return person

    yield open_as
    for person in opened:
        person.close()
    found = {f"{p.role}/{name}": v for p in opened for name, v in p.violations.items()}
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
