"""One import path for the CLI, the HTTP endpoint and the demo loader."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from flask import current_app

from api import jobs
from api.extensions import db
from api.models import ImportRun
from api.registry import ConsentTaken, apply_batch
from matcher import clock, ingest
from matcher.places import gazetteer
from matcher.taxonomy import taxonomy


def run_import(
    kind: str,
    data: bytes,
    filename: str | None,
    *,
    atomic: bool = False,
    actor: tuple[int | None, str | None] = (None, None),
    today: dt.date | None = None,
    province_scope: str | None = None,
    consent_confirmed: bool = False,
) -> dict[str, Any]:
    """Read, validate and upsert one file; commit good rows (or nothing, with atomic).

    ``consent_confirmed``: the uploader vouched that everyone listed consented (a worker
    row without consent_on then records a consent of today, method "upload").
    Raises FileFormatError when the file cannot be read as a table at all.
    """
    started = time.perf_counter()
    table = ingest.read_table(
        data, filename or f"{kind}.csv", max_rows=current_app.config["MAX_IMPORT_ROWS"]
    )
    batch = ingest.validate(
        kind, table, today=today or clock.today(), gazetteer=gazetteer(), taxonomy=taxonomy()
    )
    present = {ingest.column_for_header(kind, h) for h in table.header}
    day = today or clock.today()
    consent = ConsentTaken("upload", day) if consent_confirmed and kind == "workers" else None
    errors = list(batch.errors)
    if batch.file_rejected:
        records: list[ingest.Record] = []
    else:
        records = batch.records
    result = apply_batch(
        kind,
        records,
        present=present,
        atomic=atomic,
        prior_errors=len(errors),
        actor=actor,
        source="import",
        province_scope=province_scope,
        consent=consent,
    )
    errors.extend(result.errors)
    errors.sort(key=lambda e: (e.row, e.column or ""))
    rejected = len({e.row for e in errors if e.row != 1})
    if batch.file_rejected:
        rejected = batch.total_rows
    written = result.written and not (atomic and errors)
    report = {
        "kind": kind,
        "filename": filename,
        "atomic": atomic,
        "total_rows": batch.total_rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": rejected,
        "written": written,
        "errors": [dataclasses.asdict(e) for e in errors],
        "skill_notes": [dataclasses.asdict(n) for n in batch.skill_notes],
        "place_notes": [dataclasses.asdict(n) for n in batch.place_notes],
        "seconds": round(time.perf_counter() - started, 3),
    }
    if atomic and errors:
        db.session.rollback()
    summary = {k: v for k, v in report.items() if k not in ("skill_notes", "place_notes")}
    summary["errors"] = report["errors"][:200]
    run = ImportRun(kind=kind, filename=filename, atomic=atomic, token_id=actor[0], report=summary)
    db.session.add(run)
    db.session.commit()
    report["import_id"] = run.id
    return report


@jobs.handler("import")
def import_job(job: Any, progress: jobs.Progress) -> dict[str, Any]:
    """A large file's import as a background job: the same path as a small one's.

    Idempotent as imports are: rows are upserted by external_id, so a retry after a consumer
    died writes what one run would have (an atomic import's rows are all or nothing)."""
    params = job.params
    progress(0.05, "Đang đọc tệp / reading the file")
    return run_import(
        params["kind"],
        job.payload or b"",
        params.get("filename"),
        atomic=bool(params.get("atomic")),
        actor=(job.token_id, job.role),
        province_scope=job.province_scope,
        consent_confirmed=bool(params.get("consent_confirmed")),
    )
