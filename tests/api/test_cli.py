"""The CLI: migrations, tokens, the demo, and `caunoi serve` running gunicorn over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.cli import init_database
from api.extensions import db
from api.models import ApiToken, Commitment, Referral, Worker

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_build_exactly_the_models_schema(migrated_app):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_init_db_twice_is_harmless(migrated_app):
    init_database()
    assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0009"


def test_token_create_prints_a_working_token(migrated_app):
    runner = migrated_app.test_cli_runner()
    result = runner.invoke(args=["token", "create", "--role", "planner", "--label", "kế hoạch"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("cn_")
    stored = db.session.scalar(sa.select(ApiToken))
    assert stored.token_hash != token and stored.role == "planner"
    client = migrated_app.test_client()
    assert (
        client.get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_token_create_replace_revokes_the_previous_one(migrated_app):
    runner = migrated_app.test_cli_runner()
    args = ["token", "create", "--role", "admin", "--label", "make run", "--replace"]
    first = runner.invoke(args=args).output.strip()
    second = runner.invoke(args=args).output.strip()
    client = migrated_app.test_client()
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {first}"}).status_code
        == 401
    )
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {second}"}).status_code
        == 200
    )


def test_token_create_enterprise_needs_known_enterprise(migrated_app):
    runner = migrated_app.test_cli_runner()
    result = runner.invoke(args=["token", "create", "--role", "enterprise", "--enterprise", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output


@pytest.mark.slow
def test_demo_loads_cleanly_and_twice_changes_nothing(migrated_app):
    runner = migrated_app.test_cli_runner()
    args = ["demo", "--workers", "400", "--enterprises", "20", "--courses", "12"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "rejected 0" in result.output and "từ chối/rejected 0" in result.output
    assert "rejected/từ chối" not in result.output
    workers = db.session.scalar(sa.select(sa.func.count()).select_from(Worker))
    referrals = db.session.scalar(sa.select(sa.func.count()).select_from(Referral))
    assert workers == 400 and referrals > 100
    overfilled = db.session.scalar(
        sa.select(sa.func.count()).where(Commitment.slots_filled > Commitment.slots)
    )
    assert overfilled == 0
    again = runner.invoke(args=args)
    assert again.exit_code == 0
    assert "created 0" in again.output.replace("tạo mới/created 0", "created 0")
    skipped = runner.invoke(args=[*args, "--if-empty"])
    assert "not loaded" in skipped.output
    # The demo's consent: every worker consented on the day they registered.
    from api.models import Consent

    consents = db.session.scalar(sa.select(sa.func.count()).select_from(Consent))
    assert consents == 400
    # One demo account per role, printed with a password that signs in; again: new passwords.
    from api import accounts

    printed = runner.invoke(args=["user", "demo"])
    assert printed.exit_code == 0, printed.output
    sign_ins = [line.split() for line in printed.output.strip().splitlines()]
    assert [role for role, _login, _password in sign_ins] == [
        "admin", "caseworker", "enterprise", "planner"
    ]
    for _role, login, password in sign_ins:
        assert accounts.verify(login, password) is not None, login
    again = runner.invoke(args=["user", "demo"]).output.split()
    assert accounts.verify(sign_ins[0][1], sign_ins[0][2]) is None and again[2] != sign_ins[0][2]


def test_user_create(migrated_app):
    from api import accounts

    runner = migrated_app.test_cli_runner()
    made = runner.invoke(
        args=["user", "create", "--login", "Lan.Nguyễn", "--name", "Nguyễn Thị Lan",
              "--role", "caseworker", "--province", "33"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    login, password = made.output.split()
    assert login == "lan.nguyen" and accounts.verify("LAN.NGUYEN", password).province_code == "33"
    twice = runner.invoke(
        args=["user", "create", "--login", "lan.nguyen", "--name", "X", "--role", "planner"]
    )
    assert twice.exit_code != 0 and "đã có" in twice.output
    unbound = runner.invoke(
        args=["user", "create", "--login", "dn", "--name", "DN", "--role", "enterprise"]
    )
    assert unbound.exit_code != 0 and "enterprise" in unbound.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_runs_gunicorn_over_http(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "CAUNOI_MODELS_DIR": str(tmp_path / "models"),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "api.cli", "init-db"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server did not start"
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.2)
        assert response.json() == {"status": "ok"}
        assert "gunicorn" in response.headers.get("Server", "").lower()
        denied = requests.get(f"http://127.0.0.1:{port}/api/v1/workers", timeout=5)
        assert denied.status_code == 401
        assert denied.headers["Content-Type"].startswith("application/problem+json")
        assert denied.headers["Cache-Control"] == "no-store"
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        # The documented request-line limit (docs/security.md): up to 8,190 bytes reach the
        # app, which answers in problem+json; beyond, gunicorn answers 414 itself.
        long_query = "/api/v1/places?q=" + "a" * 8000
        inside = requests.get(f"http://127.0.0.1:{port}{long_query}", timeout=5)
        assert inside.headers["Content-Type"].startswith("application/problem+json")
        beyond = requests.get(f"http://127.0.0.1:{port}{long_query}{'a' * 300}", timeout=5)
        assert beyond.status_code == 414
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=15)
        server.stdout.close()
