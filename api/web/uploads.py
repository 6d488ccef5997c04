"""Upload a list (CSV or .xlsx, Vietnamese or English headers), get the template, read the
report. A large file is imported by a background job; its page shows the progress."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _

from api.errors import ApiError
from api.exports import import_template_xlsx
from api.extensions import db
from api.models import ApiToken, ImportRun, Job
from api.resources import imports as import_api
from api.schemas import ImportForm
from api.web.common import act, lang, page, principal, render, see_other
from matcher import ingest
from matcher.errors import FileFormatError

bp = Blueprint("uploads", __name__)

KINDS = import_api.KINDS
#: The template's file name per kind, in Vietnamese without diacritics (safe everywhere).
TEMPLATE_NAMES = {
    "workers": "nguoi-lao-dong",
    "enterprises": "doanh-nghiep",
    "courses": "khoa-dao-tao",
    "enrollments": "ghi-danh",
    "commitments": "don-hang-tuyen-dung",
    "referrals": "luot-gioi-thieu",
}


@bp.get("/uploads")
@page("imports.import_file")
def index() -> Any:
    return render(
        "web/uploads/index.html", kinds=KINDS, kind=request.args.get("kind", "workers"), errors={}
    )


@bp.post("/uploads")
@page("imports.import_file")
def upload() -> Any:
    kind = request.form.get("kind", "")
    errors: dict[str, str] = {}
    confirmed = request.form.get("consent_confirmed") == "yes"
    if kind not in KINDS:
        errors["kind"] = _("Choose what the list contains.")
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        errors["file"] = _("Choose a CSV or Excel (.xlsx) file.")
    if kind == "workers" and not confirmed:
        errors["consent_confirmed"] = _(
            "A list of workers can be uploaded only when everyone on it consented."
        )
    if errors:
        return render("web/uploads/index.html", 422, kinds=KINDS, kind=kind, errors=errors)
    form = ImportForm(
        file=b"", atomic=request.form.get("atomic") == "yes", consent_confirmed=confirmed
    )
    try:
        result = act(import_api.import_file, kind=kind, form=form)
    except ApiError as error:
        errors["file"] = error.detail
        return render("web/uploads/index.html", 422, kinds=KINDS, kind=kind, errors=errors)
    except FileFormatError as error:  # not a table at all: say why, on the form
        db.session.rollback()
        errors["file"] = str(error)
        return render("web/uploads/index.html", 422, kinds=KINDS, kind=kind, errors=errors)
    if isinstance(result, Response):  # 202: a background job
        job_id = result.get_json()["id"]
        return see_other("uploads.job", job_id=job_id)
    return see_other("uploads.report", import_id=result["import_id"])


def _mine(token_id: int | None) -> bool:
    """An import's report is its uploader's (any of their sessions) and the admins'."""
    me = principal()
    if me.role == "admin":
        return True
    if token_id is None:
        return False
    owner = db.session.scalar(sa.select(ApiToken.user_id).where(ApiToken.id == token_id))
    return token_id == me.token_id or (owner is not None and owner == me.user_id)


@bp.get("/uploads/<int:import_id>")
@page("imports.import_file")
def report(import_id: int) -> Any:
    run = db.session.get(ImportRun, import_id)
    if run is None or not _mine(run.token_id):
        abort(404)
    headers = ingest.HEADERS_VI.get(run.kind, {}) if lang() == "vi" else {}
    return render("web/uploads/report.html", run=run, report=run.report, headers=headers)


@bp.get("/uploads/jobs/<int:job_id>")
@page("imports.import_file")
def job(job_id: int) -> Any:
    row = db.session.get(Job, job_id)
    if row is None or row.kind != "import" or not _mine(row.token_id):
        abort(404)
    if row.status == "done" and row.result and row.result.get("import_id"):
        return see_other("uploads.report", import_id=row.result["import_id"])
    partial = bool(request.headers.get("HX-Request"))
    return render("web/uploads/_job.html" if partial else "web/uploads/job.html", job=row)


@bp.get("/uploads/template/<kind>.xlsx")
@page("imports.import_file")
def template(kind: str) -> Any:
    """The template ("Tải file mẫu"): Vietnamese headers, a guide sheet, text columns kept as
    text so Excel does not drop the leading zero of a ward code or phone."""
    if kind not in KINDS:
        abort(404)
    content = import_template_xlsx(kind)
    name = f"mau-{TEMPLATE_NAMES[kind]}.xlsx"
    return Response(
        content,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
