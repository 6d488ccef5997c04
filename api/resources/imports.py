"""File imports over HTTP: the same reader, rules and report as `caunoi import`."""

from __future__ import annotations

from typing import Any, get_args

from flask import Blueprint, current_app, request

from api import jobs
from api.auth import current_principal
from api.errors import ValidationFailed
from api.importing import run_import
from api.openapi import operation
from api.resources.jobs import accepted
from api.schemas import ImportForm, ImportKind, ImportReport, JobOut

bp = Blueprint("imports", __name__, url_prefix="/api/v1")

KINDS: tuple[str, ...] = get_args(ImportKind)


@operation(
    bp,
    "/imports/<kind>",
    "POST",
    summary="Import a CSV or .xlsx file",
    roles=("caseworker", "admin"),
    multipart=ImportForm,
    response=ImportReport,
    also={202: (JobOut, "A large file: queued as a background job; follow its url")},
    path_schemas={"kind": {"type": "string", "enum": list(KINDS)}},
)
def import_file(kind: str, form: ImportForm) -> dict[str, Any]:
    """Upsert by external_id. The report lists every bad row (row number, column, reason) and
    what each free-text skill and address became. With atomic=true one bad row rejects the
    whole file; otherwise good rows are written and bad rows are not written at all.
    Columns may be headed by their codes or by their Vietnamese labels (docs/import-format.md).
    consent_confirmed=true records, for each worker row without consent_on, that the uploader
    vouched for the person's consent today. A file
    over 2 MB (CAUNOI_IMPORT_JOB_ABOVE_BYTES) is imported by a background job: the answer
    is 202 with the job, whose `result` is this report when it is done."""
    if kind not in KINDS:
        raise ValidationFailed(
            f"Loại dữ liệu '{kind[:30]}' không hợp lệ / unknown kind; one of {', '.join(KINDS)}",
            errors=[{"field": "kind", "message": f"one of {', '.join(KINDS)}"}],
        )
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(
            "Thiếu tệp 'file' / missing multipart field 'file'",
            errors=[{"field": "file", "message": "required"}],
        )
    principal = current_principal()
    data = upload.read()
    if len(data) > current_app.config["IMPORT_JOB_ABOVE_BYTES"]:
        job = jobs.submit(
            "import",
            {
                "kind": kind,
                "filename": upload.filename,
                "atomic": form.atomic,
                "bytes": len(data),
                "consent_confirmed": form.consent_confirmed,
            },
            principal,
            payload=data,
        )
        return accepted(job)
    return run_import(
        kind,
        data,
        upload.filename,
        atomic=form.atomic,
        actor=(principal.token_id, principal.role),
        province_scope=principal.province_code,
        consent_confirmed=form.consent_confirmed,
    )
