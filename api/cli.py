"""The `caunoi` command: Flask's CLI for the app plus the commands of CONTRACT.md."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from api.extensions import db
from matcher import clock
from matcher.ingest import KINDS
from matcher.taxonomy import TRADE_CODES

IMPORT_KINDS = KINDS


def _create_app() -> Flask:
    from api import create_app

    return create_app()


def main() -> None:
    """Entry point of the `caunoi` console script."""
    cli = FlaskGroup(create_app=_create_app, add_default_commands=True, load_dotenv=False)
    cli(prog_name="caunoi")


def init_database() -> None:
    """Create or migrate the schema with the project's Alembic migrations."""
    from flask_migrate import upgrade

    if current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(current_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    upgrade(directory=current_app.extensions["migrate"].directory)


def _print_report(report: dict[str, Any], *, limit: int = 50) -> None:
    click.echo(
        f"{report['kind']}: {report['total_rows']} dòng/rows — "
        f"tạo mới/created {report['created']}, cập nhật/updated {report['updated']}, "
        f"không đổi/unchanged {report['unchanged']}, từ chối/rejected {report['rejected']}"
        f" ({report['seconds']} s)"
    )
    if report["atomic"] and report["errors"]:
        click.echo("--atomic: không ghi gì / nothing was written")
    for error in report["errors"][:limit]:
        column = error["column"] or "-"
        click.echo(f"  dòng/row {error['row']}, cột/column {column}: {error['reason']}")
    if len(report["errors"]) > limit:
        click.echo(f"  … {len(report['errors']) - limit} lỗi khác / more errors (use --json)")
    unknown = [n for n in report["skill_notes"] if n["code"] is None]
    mapped = [n for n in report["skill_notes"] if n["code"] is not None]
    if mapped:
        click.echo(f"  kỹ năng chuẩn hoá / skills normalised: {len(mapped)}")
    for note in unknown[:limit]:
        click.echo(
            f"  dòng/row {note['row']}: kỹ năng không nhận ra / unknown skill '{note['text']}'"
        )
    if report["place_notes"]:
        click.echo(f"  địa chỉ đã quy đổi / addresses resolved: {len(report['place_notes'])}")


def register(app: Flask) -> None:
    """Attach the project's commands to the app's CLI group."""

    @app.cli.command("init-db")
    @with_appcontext
    def init_db_command() -> None:
        """Create or migrate the database named by DATABASE_URL."""
        init_database()
        click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")

    @app.cli.command("import")
    @click.argument("kind", type=click.Choice(IMPORT_KINDS))
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--atomic", is_flag=True, help="Reject the whole file when one row is bad.")
    @click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
    @with_appcontext
    def import_command(kind: str, file: Path, atomic: bool, as_json: bool) -> None:
        """Import a CSV or .xlsx file of KIND (upsert by external_id)."""
        from api.importing import run_import
        from matcher.errors import FileFormatError

        try:
            report = run_import(
                kind, file.read_bytes(), file.name, atomic=atomic, actor=(None, "cli")
            )
        except FileFormatError as error:
            click.echo(f"tệp không đọc được / unreadable file: {error}", err=True)
            sys.exit(2)
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        else:
            _print_report(report)
        if report["rejected"]:
            sys.exit(1)

    @app.cli.group("token")
    def token_group() -> None:
        """Manage API tokens."""

    def _enterprise_option(external_id: str | None):
        from api.models import Enterprise

        if not external_id:
            return None
        enterprise = db.session.scalar(
            sa.select(Enterprise).where(Enterprise.external_id == external_id)
        )
        if enterprise is None:
            raise click.BadParameter(f"no enterprise {external_id!r}", param_hint="--enterprise")
        return enterprise

    @token_group.command("create")
    @click.option(
        "--role", required=True, type=click.Choice(["caseworker", "enterprise", "planner", "admin"])
    )
    @click.option("--enterprise", "enterprise_external_id", help="External id (enterprise role).")
    @click.option("--province", "province_code", help="Limit a caseworker to one province code.")
    @click.option("--label", help="Who or what the token is for.")
    @click.option(
        "--expires",
        help="Days (30, 30d) or last day YYYY-MM-DD; default CAUNOI_TOKEN_LIFETIME_DAYS (90).",
    )
    @click.option(
        "--replace", is_flag=True, help="Revoke earlier tokens with the same role and label."
    )
    @with_appcontext
    def token_create_command(
        role: str,
        enterprise_external_id: str | None,
        province_code: str | None,
        label: str | None,
        expires: str | None,
        replace: bool,
    ) -> None:
        """Print a new API token (shown once; only its hash is stored)."""
        from api.auth import create_token, hash_token, parse_expiry
        from api.models import Enterprise

        enterprise = None
        if enterprise_external_id:
            enterprise = db.session.scalar(
                sa.select(Enterprise).where(Enterprise.external_id == enterprise_external_id)
            )
            if enterprise is None:
                raise click.BadParameter(
                    f"no enterprise {enterprise_external_id!r}", param_hint="--enterprise"
                )
        try:
            clear, _ = create_token(
                role,
                enterprise=enterprise,
                province_code=province_code,
                label=label,
                expires=parse_expiry(expires) if expires else None,
            )
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        if replace:
            from api.models import ApiToken

            db.session.execute(
                sa.update(ApiToken)
                .where(
                    ApiToken.role == role,
                    ApiToken.label == label,
                    ApiToken.revoked_at.is_(None),
                    ApiToken.token_hash != hash_token(clear),
                )
                .values(revoked_at=clock.now())
            )
        db.session.commit()
        click.echo(clear)

    @app.cli.group("user")
    def user_group() -> None:
        """Manage the accounts people sign in to the pages with."""

    @user_group.command("create")
    @click.option("--login", required=True, help="Sign-in name (case and diacritics ignored).")
    @click.option("--name", required=True, help="The person's full name.")
    @click.option(
        "--role", required=True, type=click.Choice(["caseworker", "enterprise", "planner", "admin"])
    )
    @click.option("--enterprise", "enterprise_external_id", help="External id (enterprise role).")
    @click.option("--province", "province_code", help="Limit the account to one province code.")
    @click.option(
        "--password",
        help="Default: a random one, printed once (give it to the person; they change it).",
    )
    @with_appcontext
    def user_create_command(
        login: str,
        name: str,
        role: str,
        enterprise_external_id: str | None,
        province_code: str | None,
        password: str | None,
    ) -> None:
        """Create an account for the pages; prints its login and password."""
        from api import accounts

        enterprise = _enterprise_option(enterprise_external_id)
        password = password or accounts.random_password()
        try:
            user = accounts.create_user(
                login, name, role, password, enterprise=enterprise, province_code=province_code
            )
        except accounts.AccountError as error:
            raise click.UsageError(str(error)) from None
        db.session.commit()
        click.echo(f"{user.login}\t{password}")

    def _user(login: str):
        from api import accounts
        from api.models import User

        user = db.session.scalar(
            sa.select(User).where(User.login == accounts.normalise_login(login))
        )
        if user is None:
            raise click.BadParameter(f"no account {login!r}", param_hint="LOGIN")
        return user

    @user_group.command("reset-password")
    @click.argument("login")
    @with_appcontext
    def user_reset_command(login: str) -> None:
        """Give an account a new random password (printed once) and end its sessions."""
        from api import accounts

        user = _user(login)
        password = accounts.random_password()
        accounts.set_password(user, password)
        user.disabled_at = None
        db.session.commit()
        click.echo(f"{user.login}\t{password}")

    @user_group.command("disable")
    @click.argument("login")
    @with_appcontext
    def user_disable_command(login: str) -> None:
        """Lock an account at once: its sessions and tokens stop working."""
        from api import accounts

        user = _user(login)
        accounts.disable_user(user)
        db.session.commit()
        click.echo(f"{user.login}: đã khóa / disabled")

    @user_group.command("demo")
    @with_appcontext
    def user_demo_command() -> None:
        """Create (or reset) one demo account per role and print their sign-ins."""
        from api import accounts

        for login, role, password in accounts.demo_users():
            click.echo(f"  {role:<11} {login:<12} {password}")

    @app.cli.command("demo")
    @click.option("--workers", "n_workers", default=8000, show_default=True)
    @click.option("--enterprises", "n_enterprises", default=120, show_default=True)
    @click.option("--courses", "n_courses", default=300, show_default=True)
    @click.option("--seed", default=20250701, show_default=True)
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database has workers.")
    @click.option("--no-train", is_flag=True, help="Load the data only; do not train a model.")
    @click.option(
        "--csv-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Also write the generated files here.",
    )
    @with_appcontext
    def demo_command(
        n_workers: int,
        n_enterprises: int,
        n_courses: int,
        seed: int,
        if_empty: bool,
        no_train: bool,
        csv_dir: Path | None,
    ) -> None:
        """Load the deterministic Hưng Yên demo data set through the import path."""
        from api.models import Worker

        if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Worker)):
            click.echo("database already has data; demo not loaded")
            return
        load_demo(
            n_workers=n_workers,
            n_enterprises=n_enterprises,
            n_courses=n_courses,
            seed=seed,
            csv_dir=csv_dir,
        )
        if not no_train:
            from api.training import NotEnoughHistory

            try:
                run_training()
            except NotEnoughHistory as error:
                click.echo(f"không huấn luyện / not trained: {error}")
        from api import planning

        # The planners' national view, queued now so the consumer `make run` starts next
        # has it ready within a minute (the schedule would queue it too, a minute later).
        job = planning.request_refresh(planning.Scope(None, "former_district", clock.today()))
        click.echo(f"làm mới kế hoạch / planning refresh queued: job #{job.id}")

    @app.cli.command("train")
    @click.option("--no-promote", is_flag=True, help="Store the model but never make it current.")
    @with_appcontext
    def train_command(no_promote: bool) -> None:
        """Train a model on the referrals in the database, evaluate it, store it under models/,
        and make it current if it passes the quality gate; print its metrics."""
        from api.training import NotEnoughHistory

        try:
            result = run_training(promote="never" if no_promote else "gate")
        except NotEnoughHistory as error:
            click.echo(str(error), err=True)
            sys.exit(1)
        if not result["promoted"]:
            sys.exit(0)

    @app.cli.command("promote")
    @click.argument("version")
    @click.option("--reason", required=True, help="Why, for the audit (e.g. a fairness review).")
    @with_appcontext
    def promote_command(version: str, reason: str) -> None:
        """Make a stored model version current even though a gate held it back; the reason
        is recorded beside the version."""
        from matcher import model_store

        root = Path(current_app.config["MODELS_DIR"])
        if len(reason.strip()) < 3:
            raise click.BadParameter(
                "give a reason of at least 3 characters", param_hint="--reason"
            )
        try:
            model_store.verify(root, version)
        except model_store.ModelError as error:
            click.echo(str(error), err=True)
            sys.exit(1)
        model_store.record_promotion(root, version, {"by": "cli", "reason": reason.strip()})
        model_store.promote(root, version)
        click.echo(f"đã áp dụng / promoted {version}: {reason.strip()}")

    @app.cli.command("planning-refresh")
    @click.option("--province", "province_code", help="One province's code; all if omitted.")
    @click.option(
        "--area-level",
        type=click.Choice(["former_district", "park", "province"]),
        default="former_district",
        show_default=True,
    )
    @click.option("--queue", "queue_it", is_flag=True, help="Queue it for a consumer instead.")
    @with_appcontext
    def planning_refresh_command(
        province_code: str | None, area_level: str, queue_it: bool
    ) -> None:
        """Compute and store one scope's planning results here (or queue the job); a scope
        whose stored results are current is left as it is."""
        from api import planning

        scope = planning.Scope(province_code, area_level, clock.today())
        if queue_it:
            job = planning.request_refresh(scope)
            click.echo(f"tác vụ / job #{job.id} ({job.status})")
            return
        row = planning.refresh(scope)
        click.echo(
            f"{row.scope_key} {row.as_of}: {row.seconds:.1f} s, {row.size / 1e6:.1f} MB "
            f"(kết quả / result #{row.id})"
        )

    @app.cli.command("allocate")
    @click.option(
        "--policy",
        type=click.Choice(["max_hires", "stable"]),
        default="max_hires",
        show_default=True,
    )
    @click.option(
        "--factor",
        "over_referral_factor",
        type=click.FloatRange(1.0, 5.0),
        default=1.0,
        show_default=True,
        help="Referrals per open slot.",
    )
    @click.option("--trade", type=click.Choice(list(TRADE_CODES)))
    @click.option("--province", "province_code", help="Province code of the workers' homes.")
    @click.option("--ward", "ward_codes", multiple=True, help="Ward codes (repeatable).")
    @click.option("--graduated-since", type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--available-by", type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--max-distance", "max_distance_km", type=click.FloatRange(0, 200, min_open=True))
    @click.option(
        "--per-worker",
        "candidates_per_worker",
        type=click.IntRange(1, 50),
        default=20,
        show_default=True,
    )
    @click.option(
        "--csv",
        "csv_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the proposed pairs here.",
    )
    @with_appcontext
    def allocate_command(
        policy: str,
        over_referral_factor: float,
        trade: str | None,
        province_code: str | None,
        ward_codes: tuple[str, ...],
        graduated_since: dt.datetime | None,
        available_by: dt.datetime | None,
        max_distance_km: float | None,
        candidates_per_worker: int,
        csv_path: Path | None,
    ) -> None:
        """Propose an allocation round (stored, nothing referred) and print its summary."""
        from pydantic import ValidationError

        from api.allocations import run_here
        from api.models import AllocationPair, AllocationRun
        from api.schemas import AllocationIn

        try:
            params = AllocationIn(
                policy=policy,
                over_referral_factor=over_referral_factor,
                trade=trade,
                province_code=province_code,
                ward_codes=list(ward_codes) or None,
                graduated_since=graduated_since.date() if graduated_since else None,
                available_by=available_by.date() if available_by else None,
                max_distance_km=max_distance_km,
                candidates_per_worker=candidates_per_worker,
            )
        except ValidationError as error:
            raise click.UsageError(str(error)) from None
        run = AllocationRun(
            policy=policy,
            params=params.model_dump(mode="json"),
            role="cli",
            status="running",
            progress=0.0,
        )
        db.session.add(run)
        db.session.commit()
        with click.progressbar(length=100, label="phân bổ / allocating") as bar:
            done = [0]

            def progress(fraction: float, message: str) -> None:
                step = int(fraction * 100) - done[0]
                if step > 0:
                    bar.update(step)
                    done[0] += step

            run_here(run, progress)  # it commits the round, or records why it failed
        summary = run.summary
        mine, greedy = summary["policy"], summary["greedy_top1"]
        click.echo(
            f"lượt phân bổ / allocation #{run.id} ({policy}, {run.scorer} {run.model_version}): "
            f"{summary['population']:,} người / workers, {summary['candidate_pairs']:,} cặp / "
            f"pairs, {summary['capacity']:,} chỗ / places"
        )
        for name, figures in (("policy", mine), ("greedy top-1", greedy)):
            click.echo(
                f"  {name:<13} expected hires {figures['expected_hires']:>10,.1f}  placed "
                f"{figures['workers_placed']:>7,}  median km {figures['median_distance_km']}"
            )
        click.echo(f"  gain / tăng: {summary['gain_percent']} %")
        if csv_path is not None:
            from api.exports import csv_text

            pairs = db.session.scalars(
                sa.select(AllocationPair).where(AllocationPair.run_id == run.id)
            ).all()
            header = ["pair_id", "worker_id", "commitment_id", "probability", "distance_km"]
            rows = (
                [p.id, p.worker_id, p.commitment_id, round(p.probability, 4),
                 round(p.distance_km, 2)]
                for p in pairs
            )  # fmt: skip
            csv_path.write_text(csv_text(header, rows), encoding="utf-8-sig")
            click.echo(f"  {len(pairs):,} cặp đã ghi / pairs written to {csv_path}")

    @app.cli.group("docs")
    def docs_group() -> None:
        """Print documentation generated from the code."""

    @docs_group.command("import-format")
    def docs_import_format_command() -> None:
        """Print the import columns of every kind as Markdown (docs/import-format.md)."""
        from api.docsgen import import_format_markdown

        click.echo(import_format_markdown(), nl=False)

    @docs_group.command("rule-scorer")
    def docs_rule_scorer_command() -> None:
        """Print the rule scorer's weights as Markdown (docs/rule-scorer.md)."""
        from api.docsgen import rule_scorer_markdown

        click.echo(rule_scorer_markdown(), nl=False)

    @app.cli.command("worker")
    @click.option("--workers", "n_workers", default=1, show_default=True, type=int,
                  help="Jobs run at once in this consumer (threads)")  # fmt: skip
    @click.option("--no-schedule", "no_schedule", is_flag=True,
                  help="Leave the scheduled jobs (nightly training, hourly reaper) to "
                  "other consumers")  # fmt: skip
    def worker_command(n_workers: int, no_schedule: bool) -> None:
        """Consume background jobs (training, rounds, large imports) and run the schedule
        (nightly training, hourly reaper) until Ctrl-C or SIGTERM."""
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import logging

        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
        )
        from api.jobs import run_consumer

        run_consumer(current_app._get_current_object(), workers=n_workers, schedule=not no_schedule)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--workers", "n_workers", default=2, show_default=True, type=int)
    def serve_command(host: str, port: int, n_workers: int) -> None:
        """Serve the API and pages with gunicorn (a production WSGI server)."""
        serve(host, port, n_workers)


def load_demo(
    *,
    n_workers: int,
    n_enterprises: int,
    n_courses: int,
    seed: int,
    csv_dir: Path | None = None,
    today: dt.date | None = None,
) -> dict[str, dict[str, Any]]:
    """Generate the demo data set and import it kind by kind, as a caseworker's files would be."""
    from matcher.demo import DemoConfig, generate

    config = DemoConfig(
        seed=seed,
        n_workers=n_workers,
        n_enterprises=n_enterprises,
        n_courses=n_courses,
        today=today or clock.today(),
    )
    data = generate(config)
    if csv_dir is not None:
        data.write_csv(csv_dir)
    return import_frames(data.frames(), config.today)


def import_frames(frames: dict[str, Any], today: dt.date) -> dict[str, dict[str, Any]]:
    """Import contract-format frames kind by kind through the ordinary import path."""
    from api.importing import run_import

    reports = {}
    for kind, frame in frames.items():
        payload = frame.to_csv(index=False).encode("utf-8")
        report = run_import(kind, payload, f"demo-{kind}.csv", actor=(None, "demo"), today=today)
        _print_report(report, limit=5)
        reports[kind] = report
    return reports


def run_training(promote: str = "gate") -> dict[str, Any]:
    """Train, print the evaluation table and the gate's decision."""
    from api.training import train

    result = train(promote=promote)
    window = result["training_window"]
    click.echo(
        f"mô hình / model {result['version']}: {window['n_rows']:,} lượt giới thiệu / referrals"
        f" {window['first_day']} → {window['eval_last_day']}, tỉ lệ tuyển / hire rate "
        f"{window['hire_rate']:.1%}, {result['seconds']:.1f} s"
    )
    names = ["auc", "log_loss", "brier", "ece", "ndcg@10", "hires@10"]
    click.echo(f"  {'scorer':<18}" + "".join(f"{n:>10}" for n in names))
    for scorer, figures in result["metrics"].items():
        cells = "".join(
            f"{figures[n]:>10.4f}" if isinstance(figures.get(n), float) else f"{'—':>10}"
            for n in names
        )
        click.echo(f"  {scorer:<18}{cells}")
    state = "đã áp dụng / promoted" if result["promoted"] else "chưa áp dụng / not promoted"
    click.echo(f"  {state}: {result['gate']['reason']}")
    return result


def serve(host: str, port: int, n_workers: int) -> None:
    """Run gunicorn in-process; each worker builds its own app after the fork."""
    # One OpenMP thread per worker: shared cores and forked OpenMP pools hang or crawl
    # (MEASURED.md: 20× slower, or a hang with --preload).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", n_workers)
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)
            # Request limits (docs/security.md): gunicorn answers a longer request line (414)
            # or header (431) itself, before the app, so its own (HTML) page is what the
            # client gets; the limits are the most gunicorn allows, and no valid call of the
            # API comes near them.
            self.cfg.set("limit_request_line", 8190)
            self.cfg.set("limit_request_fields", 100)
            self.cfg.set("limit_request_field_size", 8190)
            # gunicorn's control socket is one path per user; two servers would fight over it.
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            from api import create_app

            return create_app()

    click.echo(f"Cầu Nối: http://{host}:{port}/  (API docs: http://{host}:{port}/api/v1/docs)")
    Server().run()


if __name__ == "__main__":
    main()
