"""Writing validated records into the database: one upsert path for imports and the JSON API.

matcher.ingest decides whether each row is well-formed; this module resolves references to
other records (by external id), keeps capacity invariants (hires never exceed slots), and
writes all good rows in one transaction so a row is either wholly written or not at all.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from api.extensions import db
from api.models import (
    REFERRAL_TRANSITIONS,
    ApiToken,
    Commitment,
    Consent,
    Course,
    Enrollment,
    Enterprise,
    Referral,
    ReferralEvent,
    Worker,
    utcnow,
)
from api.versions import touch
from matcher import clock, ingest
from matcher import consent as consent_rules
from matcher.places import gazetteer
from matcher.taxonomy import taxonomy
from matcher.text import fold

MODELS: dict[str, type[db.Model]] = {
    "workers": Worker,
    "enterprises": Enterprise,
    "courses": Course,
    "enrollments": Enrollment,
    "commitments": Commitment,
    "referrals": Referral,
}

PLACE_COLUMNS = ("ward_code", "province_code", "address", "lat", "lon", "place_source")
# Contract columns that feed each table column group, so an absent column keeps its old value.
PLACE_INPUTS = {"ward_code", "address", "lat", "lon"}

_CHUNK = 5000
# Stored columns the upsert's guards read even though no file writes them.
GUARD_COLUMNS = {"workers": ("erased_at",), "commitments": ("slots_filled",)}


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ingest.RowError] = field(default_factory=list)
    ids: dict[int, int] = field(default_factory=dict)  # spreadsheet row → database id
    written: bool = False


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def id_map(
    model: type[db.Model], external_ids: Iterable[str], province_code: str | None = None
) -> dict[str, int]:
    """Map external ids to database ids, in chunks to stay under bind-parameter limits.

    With a province, records of other provinces are not found (a scoped caseworker's view).
    """
    wanted = sorted({e for e in external_ids if e})
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        stmt = sa.select(model.external_id, model.id).where(model.external_id.in_(chunk))
        if province_code is not None:
            stmt = stmt.where(model.province_code == province_code)
        rows = db.session.execute(stmt)
        found.update({ext: pk for ext, pk in rows})
    return found


def _existing_rows(model: type[db.Model], columns: list[str], key: str, keys: list[Any]):
    """Load the current values of the given columns for rows whose key is in keys."""
    table = model.__table__
    cols = [table.c.id] + [table.c[c] for c in columns]
    found: dict[Any, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        rows = db.session.execute(sa.select(*cols).where(table.c[key].in_(chunk))).mappings()
        for row in rows:
            found[row[key]] = dict(row)
    return found


def _place_columns(values: dict[str, Any]) -> dict[str, Any]:
    ward = gazetteer().get(values["ward_code"])
    return {
        "ward_code": values["ward_code"],
        "province_code": ward.province_code if ward else values["ward_code"][:2],
        "address": values.get("address"),
        "lat": values["lat"],
        "lon": values["lon"],
        "place_source": values.get("place_source") or "ward_code",
    }


def _keep_present(columns: dict[str, Any], present: set[str], mapping: dict[str, str]) -> dict:
    """Drop table columns whose source column was absent from the file (update keeps them)."""
    kept = {}
    for column, value in columns.items():
        source = mapping.get(column, column)
        if source == "*" or source in present or (source == "place" and present & PLACE_INPUTS):
            kept[column] = value
    return kept


# Which contract column each derived table column comes from ("*": always written).
SOURCE_OF = {
    "workers": {
        "name_key": "full_name",
        **{c: "place" for c in PLACE_COLUMNS},
        "external_id": "*",
    },
    "enterprises": {"name_key": "name", **{c: "place" for c in PLACE_COLUMNS}, "external_id": "*"},
    "courses": {"name_key": "name", **{c: "place" for c in PLACE_COLUMNS}, "external_id": "*"},
    "commitments": {
        **{c: "place" for c in PLACE_COLUMNS},
        "site_from_enterprise": "place",
        "enterprise_id": "enterprise_external_id",
        "course_id": "course_external_id",
        "external_id": "*",
    },
    "enrollments": {"worker_id": "*", "course_id": "*"},
    "referrals": {
        "worker_id": "*",
        "commitment_id": "*",
        "external_id": "*",
        "status": "outcome",
    },
}


def _row_error(row: int, column: str | None, vi: str, en: str) -> ingest.RowError:
    return ingest.RowError(row=row, column=column, reason=f"{vi} / {en}")


class _Context:
    """Per-batch lookups of referenced records, loaded once for the whole file."""

    def __init__(
        self, kind: str, records: list[ingest.Record], province_scope: str | None = None
    ) -> None:
        def values(name: str) -> list[str]:
            return [r.values.get(name) for r in records if r.values.get(name)]

        self.enterprises = self.enterprise_sites = {}
        self.courses: dict[str, int] = {}
        self.workers: dict[str, int] = {}
        self.commitments: dict[str, int] = {}
        if kind == "commitments":
            ext = sorted(set(values("enterprise_external_id")))
            self.enterprise_sites = {}
            for chunk in _chunks(ext):
                rows = db.session.execute(
                    sa.select(
                        Enterprise.external_id,
                        Enterprise.id,
                        *[Enterprise.__table__.c[c] for c in PLACE_COLUMNS],
                    ).where(Enterprise.external_id.in_(chunk))
                ).mappings()
                for row in rows:
                    self.enterprise_sites[row["external_id"]] = dict(row)
            self.courses = id_map(Course, values("course_external_id"))
        if kind in ("enrollments", "referrals"):
            self.workers = id_map(Worker, values("worker_external_id"), province_scope)
        if kind == "enrollments":
            self.courses = id_map(Course, values("course_external_id"))
        if kind == "referrals":
            self.commitments = id_map(Commitment, values("commitment_external_id"))


def _columns(kind: str, values: dict[str, Any], ctx: _Context, row: int, errors: list) -> dict:
    """Turn one validated record into table columns, or append errors and return {}."""
    v = values
    if kind == "workers":
        cols = {
            "external_id": v["external_id"],
            "full_name": v["full_name"],
            "name_key": fold(v["full_name"]),
            "birth_year": v["birth_year"],
            "gender": v.get("gender"),
            "ethnic_minority": v.get("ethnic_minority"),
            "disability": v.get("disability"),
            "phone": v.get("phone"),
            **_place_columns(v),
            "education": v.get("education") or "unspecified",
            "trades": list(v.get("trades") or []),
            "skills": list(v.get("skills") or []),
            "skills_unrecognised": list(v.get("skills_unrecognised") or []),
            "experience_years": v.get("experience_years"),
            "expected_wage_vnd": v.get("expected_wage_vnd"),
            "max_commute_km": v.get("max_commute_km") or 30.0,
            "available_from": v.get("available_from"),
        }
        return cols
    if kind == "enterprises":
        return {
            "external_id": v["external_id"],
            "name": v["name"],
            "name_key": fold(v["name"]),
            "tax_code": v["tax_code"],
            **_place_columns(v),
            "sector": v.get("sector"),
            "contact_email": v.get("contact_email"),
            "contact_phone": v.get("contact_phone"),
        }
    if kind == "courses":
        return {
            "external_id": v["external_id"],
            "name": v["name"],
            "name_key": fold(v["name"]),
            "trade": v["trade"],
            "provider": v["provider"],
            **_place_columns(v),
            "level": v.get("level"),
            "start_date": v["start_date"],
            "end_date": v["end_date"],
            "capacity": v["capacity"],
        }
    if kind == "commitments":
        site = ctx.enterprise_sites.get(v["enterprise_external_id"])
        if site is None:
            errors.append(
                _row_error(
                    row,
                    "enterprise_external_id",
                    f"doanh nghiệp '{v['enterprise_external_id']}' chưa có",
                    "unknown enterprise",
                )
            )
            return {}
        course_id = None
        if v.get("course_external_id"):
            course_id = ctx.courses.get(v["course_external_id"])
            if course_id is None:
                errors.append(
                    _row_error(
                        row,
                        "course_external_id",
                        f"khóa học '{v['course_external_id']}' chưa có",
                        "unknown course",
                    )
                )
                return {}
        if v.get("ward_code"):
            place = _place_columns(v)
            from_enterprise = False
        elif v.get("lat") is not None:
            # Coordinates alone: the site is there, counted in the enterprise's ward.
            place = {c: site[c] for c in PLACE_COLUMNS}
            place.update(lat=v["lat"], lon=v["lon"], place_source="coordinates", address=None)
            from_enterprise = False
        else:
            place = {c: site[c] for c in PLACE_COLUMNS}
            from_enterprise = True
        return {
            "external_id": v["external_id"],
            "enterprise_id": site["id"],
            "trade": v["trade"],
            "occupation_isco": v.get("occupation_isco"),
            "slots": v["slots"],
            "wage_vnd": v["wage_vnd"],
            **place,
            "site_from_enterprise": from_enterprise,
            "start_date": v["start_date"],
            "expires_on": v.get("expires_on"),
            "min_education": v.get("min_education"),
            "required_skills": list(v.get("required_skills") or []),
            "required_skills_unrecognised": list(v.get("required_skills_unrecognised") or []),
            "shift_work": v.get("shift_work"),
            "course_id": course_id,
        }
    if kind == "enrollments":
        worker_id = ctx.workers.get(v["worker_external_id"])
        course_id = ctx.courses.get(v["course_external_id"])
        if worker_id is None:
            errors.append(
                _row_error(row, "worker_external_id", "người lao động chưa có", "unknown worker")
            )
        if course_id is None:
            errors.append(
                _row_error(row, "course_external_id", "khóa học chưa có", "unknown course")
            )
        if worker_id is None or course_id is None:
            return {}
        return {
            "worker_id": worker_id,
            "course_id": course_id,
            "status": v["status"],
            "completed_on": v.get("completed_on"),
        }
    if kind == "referrals":
        worker_id = ctx.workers.get(v["worker_external_id"])
        commitment_id = ctx.commitments.get(v["commitment_external_id"])
        if worker_id is None:
            errors.append(
                _row_error(row, "worker_external_id", "người lao động chưa có", "unknown worker")
            )
        if commitment_id is None:
            errors.append(
                _row_error(row, "commitment_external_id", "đơn hàng chưa có", "unknown commitment")
            )
        if worker_id is None or commitment_id is None:
            return {}
        if v.get("left_on") and not v.get("hired_on"):
            errors.append(
                _row_error(
                    row, "hired_on", "cần ngày tuyển khi có ngày nghỉ", "left_on needs hired_on"
                )
            )
            return {}
        return {
            "external_id": v.get("external_id"),
            "worker_id": worker_id,
            "commitment_id": commitment_id,
            "referred_on": v["referred_on"],
            "status": v["outcome"],
            "hired_on": v.get("hired_on"),
            "left_on": v.get("left_on"),
        }
    raise ValueError(f"unknown kind {kind}")


def _key(kind: str, cols: dict[str, Any]) -> Any:
    if kind == "enrollments":
        return (cols["worker_id"], cols["course_id"])
    if kind == "referrals" and not cols.get("external_id"):
        return ("pair", cols["worker_id"], cols["commitment_id"], cols["referred_on"])
    return cols["external_id"]


def _load_existing(kind: str, model, rows: list[dict[str, Any]], columns: list[str]):
    """Current values of the rows this batch touches, keyed like _key."""
    if kind == "enrollments":
        keyed = {}
        worker_ids = sorted({c["worker_id"] for c in rows})
        for chunk in _chunks(worker_ids):
            result = db.session.execute(
                sa.select(model.__table__).where(model.worker_id.in_(chunk))
            ).mappings()
            for row in result:
                keyed[(row["worker_id"], row["course_id"])] = dict(row)
        return keyed
    if kind == "referrals":
        keyed = {}
        table = model.__table__
        pairs = sorted({(c["worker_id"], c["commitment_id"]) for c in rows})
        external_ids = sorted({c["external_id"] for c in rows if c.get("external_id")})
        for chunk in _chunks(external_ids):
            for row in db.session.execute(
                sa.select(table).where(table.c.external_id.in_(chunk))
            ).mappings():
                keyed[row["external_id"]] = dict(row)
        for chunk in _chunks(sorted({w for w, _ in pairs})):
            for row in db.session.execute(
                sa.select(table).where(table.c.worker_id.in_(chunk))
            ).mappings():
                keyed[("pair", row["worker_id"], row["commitment_id"], row["referred_on"])] = dict(
                    row
                )
        return keyed
    return _existing_rows(model, columns, "external_id", [c["external_id"] for c in rows])


def _match_referral(
    cols: dict[str, Any], old: dict[str, Any] | None, existing: dict[Any, dict[str, Any]]
) -> tuple[dict[str, Any] | None, tuple[str, str, str] | None]:
    """Find the stored referral a row updates, and refuse changes history must not take.

    A referral is the same referral when its external id matches or, failing that, when its
    worker, commitment and date match. Its worker and commitment never change, and a decided
    outcome moves no further (REFERRAL_TRANSITIONS), whichever door the change comes in by.
    """
    by_pair = existing.get(("pair", cols["worker_id"], cols["commitment_id"], cols["referred_on"]))
    if old is None and by_pair is not None:
        if by_pair["external_id"] and cols.get("external_id"):
            return None, (
                "external_id",
                f"lượt giới thiệu này đã có mã '{by_pair['external_id']}'",
                f"this referral already has external_id '{by_pair['external_id']}'",
            )
        old = by_pair
    if old is None:
        return None, None
    if (old["worker_id"], old["commitment_id"]) != (cols["worker_id"], cols["commitment_id"]):
        return None, (
            "commitment_external_id",
            "không được đổi người lao động hay đơn hàng của một lượt giới thiệu",
            "a referral's worker and commitment cannot change",
        )
    if (
        cols["status"] != old["status"]
        and cols["status"] not in REFERRAL_TRANSITIONS[old["status"]]
    ):
        return None, (
            "outcome",
            f"không thể chuyển từ '{old['status']}' sang '{cols['status']}'",
            f"cannot move from '{old['status']}' to '{cols['status']}'",
        )
    return old, None


def apply_batch(
    kind: str,
    records: list[ingest.Record],
    *,
    present: set[str],
    atomic: bool = False,
    prior_errors: int = 0,
    actor: tuple[int | None, str | None] = (None, None),
    source: str = "import",
    only_create: bool = False,
    only_update_id: int | None = None,
    province_scope: str | None = None,
    consent: ConsentTaken | None = None,
) -> ApplyResult:
    """Upsert validated records; with atomic, write nothing if any row (prior or here) fails.

    Workers' consents are written in the same transaction: a row's ``consent_on``, or, for
    rows without one, ``consent`` (a caseworker's form, an uploader's confirmation).
    The caller commits. Returns counts, the row errors found here, and the ids written.
    """
    model = MODELS[kind]
    result = ApplyResult()
    ctx = _Context(kind, records, province_scope)
    prepared: list[tuple[int, dict[str, Any]]] = []
    for record in records:
        cols = _columns(kind, record.values, ctx, record.row, result.errors)
        if cols:
            prepared.append((record.row, cols))
    columns = sorted({c for _, cols in prepared for c in cols} | set(GUARD_COLUMNS.get(kind, ())))
    existing = _load_existing(kind, model, [c for _, c in prepared], columns)

    inserts: list[tuple[int, dict[str, Any]]] = []
    updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for row, cols in prepared:
        old = existing.get(_key(kind, cols))
        if (
            kind == "workers"
            and province_scope
            and {cols["province_code"], (old or cols)["province_code"]} != {province_scope}
        ):
            result.errors.append(
                _row_error(
                    row,
                    "ward_code",
                    f"ngoài tỉnh bạn phụ trách ({province_scope})",
                    f"outside your province ({province_scope})",
                )
            )
            continue
        if kind == "referrals":
            old, problem = _match_referral(cols, old, existing)
            if problem:
                result.errors.append(_row_error(row, *problem))
                continue
        if only_update_id is not None and (old is None or old["id"] != only_update_id):
            result.errors.append(
                _row_error(row, "external_id", "không được đổi mã", "external_id cannot change")
            )
            continue
        if old is None:
            inserts.append((row, cols))
            continue
        if only_create:
            result.errors.append(
                _row_error(row, "external_id", "mã đã tồn tại", "a record with this id exists")
            )
            continue
        if kind == "workers" and old.get("erased_at") is not None:
            result.errors.append(
                _row_error(
                    row,
                    "external_id",
                    "người này đã yêu cầu xóa dữ liệu cá nhân",
                    "this worker asked for erasure; personal data cannot be re-imported",
                )
            )
            continue
        changed = _keep_present(cols, present, SOURCE_OF[kind])
        if kind == "referrals" and changed.get("external_id") is None:
            changed.pop("external_id", None)  # a row without an id never erases one
        diff = {k: v for k, v in changed.items() if old.get(k) != v}
        if diff:
            updates.append((row, old, diff))
        else:
            result.unchanged += 1
            result.ids[row] = old["id"]

    _check_invariants(kind, inserts, updates, existing, result)

    if atomic and (result.errors or prior_errors):
        result.created = result.updated = result.unchanged = 0
        result.ids.clear()
        return result
    bad_rows = {e.row for e in result.errors}
    inserts = [(r, c) for r, c in inserts if r not in bad_rows]
    updates = [(r, o, d) for r, o, d in updates if r not in bad_rows]

    now = utcnow()
    for batch in _chunks(inserts):
        payload = [{**cols, "created_at": now, "updated_at": now} for _, cols in batch]
        if kind == "commitments":
            for item in payload:
                item.setdefault("slots_filled", 0)
        new_ids = _insert_returning_ids(model, payload)
        for (row, _), new_id in zip(batch, new_ids, strict=True):
            result.ids[row] = new_id
    for batch in _chunks(updates):
        for row, old, _diff in batch:
            result.ids[row] = old["id"]
        db.session.execute(
            sa.update(model.__table__).where(model.__table__.c.id == sa.bindparam("_id")),
            [{"_id": old["id"], **diff, "updated_at": now} for _, old, diff in batch],
        )
    if kind == "enterprises":
        moved = [old["id"] for _, old, diff in updates if set(diff) & set(PLACE_COLUMNS)]
        _resync_default_sites(moved)
        if moved:
            touch("commitments")
    result.created = len(inserts)
    result.updated = len(updates)
    if kind == "referrals":
        _after_referrals(inserts, updates, result, actor, source)
    if kind == "workers":
        _record_consents(records, result, actor, consent)
    result.written = bool(inserts or updates)
    if result.written:
        touch(kind)
    return result


@dataclass(frozen=True)
class ConsentTaken:
    """How the consent of the people in a batch was taken, when a row has no consent_on."""

    method: str
    given_on: dt.date | None = None  # None: only rows with their own consent_on get one


def _record_consents(
    records: list[ingest.Record],
    result: ApplyResult,
    actor: tuple[int | None, str | None],
    taken: ConsentTaken | None,
) -> None:
    """One consent per written worker that has none in force for the purpose yet."""
    given: dict[int, tuple[dt.date, str]] = {}
    for record in records:
        worker_id = result.ids.get(record.row)
        if worker_id is None:
            continue
        if record.values.get("consent_on") is not None:
            given[worker_id] = (record.values["consent_on"], "declared")
        elif taken is not None and taken.given_on is not None:
            given[worker_id] = (taken.given_on, taken.method)
    if not given:
        return
    held: set[int] = set()
    for chunk in _chunks(list(given)):
        held.update(
            db.session.scalars(
                sa.select(Consent.worker_id).where(
                    Consent.worker_id.in_(chunk),
                    Consent.purpose == consent_rules.PURPOSE,
                    Consent.withdrawn_on.is_(None),
                )
            )
        )
    token_id = actor[0]
    user_id = (
        db.session.scalar(sa.select(ApiToken.user_id).where(ApiToken.id == token_id))
        if token_id is not None
        else None
    )
    rows = [
        {
            "worker_id": worker_id,
            "purpose": consent_rules.PURPOSE,
            "text_version": consent_rules.CURRENT.version,
            "given_on": on,
            "method": method,
            "recorded_at": utcnow(),
            "recorded_by_token_id": token_id,
            "recorded_by_user_id": user_id,
        }
        for worker_id, (on, method) in given.items()
        if worker_id not in held
    ]
    for chunk in _chunks(rows):
        db.session.execute(sa.insert(Consent), list(chunk))


def _resync_default_sites(enterprise_ids: list[int]) -> None:
    """Commitments without a site of their own follow their enterprise when it moves."""
    for chunk in _chunks(enterprise_ids):
        columns = {
            c: sa.select(Enterprise.__table__.c[c])
            .where(Enterprise.id == Commitment.enterprise_id)
            .scalar_subquery()
            for c in PLACE_COLUMNS
        }
        db.session.execute(
            sa.update(Commitment)
            .where(Commitment.enterprise_id.in_(chunk), Commitment.site_from_enterprise.is_(True))
            .values(**columns, updated_at=utcnow()),
            execution_options={"synchronize_session": False},
        )


def _insert_returning_ids(model, payload: list[dict[str, Any]]) -> list[int]:
    """Insert many rows and return their ids in order (RETURNING works on SQLite and PG)."""
    if not payload:
        return []
    rows = db.session.execute(
        sa.insert(model.__table__).returning(model.__table__.c.id, sort_by_parameter_order=True),
        payload,
    )
    return [r[0] for r in rows]


def _check_invariants(kind, inserts, updates, existing, result: ApplyResult) -> None:
    """Refuse rows that would break capacity: filled ≤ slots, hires ≤ open slots."""
    if kind == "commitments":
        for row, old, diff in updates:
            if "slots" in diff and diff["slots"] < old["slots_filled"]:
                result.errors.append(
                    _row_error(
                        row,
                        "slots",
                        f"đã tuyển {old['slots_filled']} người, không giảm được xuống "
                        f"{diff['slots']}",
                        f"{old['slots_filled']} already hired; slots cannot drop below that",
                    )
                )
        return
    if kind != "referrals":
        return
    # Hires each commitment would hold after this batch, counted in file order.
    touched = {c["commitment_id"] for _, c in inserts} | {o["commitment_id"] for _, o, _ in updates}
    if not touched:
        return
    slots: dict[int, int] = {}
    hired_now: dict[int, int] = defaultdict(int)
    for chunk in _chunks(sorted(touched)):
        for cid, n_slots in db.session.execute(
            sa.select(Commitment.id, Commitment.slots).where(Commitment.id.in_(chunk))
        ):
            slots[cid] = n_slots
        for cid, n in db.session.execute(
            sa.select(Referral.commitment_id, sa.func.count())
            .where(Referral.commitment_id.in_(chunk), Referral.status == "hired")
            .group_by(Referral.commitment_id)
        ):
            hired_now[cid] = n
    changes: list[tuple[int, int, int]] = []  # (row, commitment, +1/-1)
    for row, cols in inserts:
        if cols["status"] == "hired":
            changes.append((row, cols["commitment_id"], 1))
    for row, old, diff in updates:
        if "status" in diff:
            if diff["status"] == "hired":
                changes.append((row, old["commitment_id"], 1))
            elif old["status"] == "hired":
                changes.append((row, old["commitment_id"], -1))
    for row, cid, delta in sorted(changes, key=lambda c: (c[2], c[0])):
        if delta > 0 and hired_now[cid] + 1 > slots[cid]:
            result.errors.append(
                _row_error(
                    row,
                    "outcome",
                    f"đơn hàng đã đủ {slots[cid]} chỗ",
                    f"the commitment's {slots[cid]} slots are all filled",
                )
            )
            continue
        hired_now[cid] += delta


def _after_referrals(inserts, updates, result: ApplyResult, actor, source: str) -> None:
    """Write status history for new and changed referrals and resync slots_filled."""
    token_id, role = actor
    events = []
    for row, cols in inserts:
        events.append(
            {
                "referral_id": result.ids[row],
                "from_status": None,
                "to_status": cols["status"],
                "actor_token_id": token_id,
                "actor_role": role,
                "source": source,
            }
        )
    for _row, old, diff in updates:
        if "status" in diff:
            events.append(
                {
                    "referral_id": old["id"],
                    "from_status": old["status"],
                    "to_status": diff["status"],
                    "actor_token_id": token_id,
                    "actor_role": role,
                    "source": source,
                }
            )
    if events:
        db.session.execute(sa.insert(ReferralEvent), events)
    touched = sorted(
        {c["commitment_id"] for _, c in inserts} | {o["commitment_id"] for _, o, _ in updates}
    )
    for chunk in _chunks(touched):
        hired = (
            sa.select(sa.func.count())
            .where(Referral.commitment_id == Commitment.id, Referral.status == "hired")
            .scalar_subquery()
        )
        db.session.execute(
            sa.update(Commitment).where(Commitment.id.in_(chunk)).values(slots_filled=hired),
            execution_options={"synchronize_session": False},
        )


# ---------------------------------------------------------------- single records (JSON API)


def to_cell(value: Any) -> str:
    """Render a JSON value as the cell text the import format expects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(to_cell(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        # Plain digits: the import format has no exponents, and 5e-324 is a valid JSON number.
        return format(decimal.Decimal(repr(value)), "f")
    return str(value)


def validate_one(kind: str, values: dict[str, Any], today: dt.date) -> ingest.Batch:
    """Run the import rules on one JSON record, so API and files obey the same contract."""
    header = list(values)
    table = ingest.Table(
        header=header, rows=[[to_cell(values[h]) for h in header]], row_numbers=[2]
    )
    return ingest.validate(kind, table, today=today, gazetteer=gazetteer(), taxonomy=taxonomy())


def cells_of(kind: str, obj: Any) -> dict[str, Any]:
    """The contract columns of a stored record, for merging a PATCH before re-validating it."""
    if kind == "workers":
        names = [
            "external_id", "full_name", "birth_year", "gender", "ethnic_minority", "disability",
            "phone", "education", "trades", "skills", "experience_years", "expected_wage_vnd",
            "max_commute_km", "available_from",
        ]  # fmt: skip
    elif kind == "enterprises":
        names = ["external_id", "name", "tax_code", "sector", "contact_email", "contact_phone"]
    elif kind == "courses":
        names = [
            "external_id", "name", "trade", "provider", "level", "start_date", "end_date",
            "capacity",
        ]  # fmt: skip
    elif kind == "commitments":
        names = [
            "external_id", "trade", "occupation_isco", "slots", "wage_vnd", "start_date",
            "expires_on", "min_education", "required_skills", "shift_work",
        ]  # fmt: skip
    elif kind == "enrollments":
        names = ["status", "completed_on"]
    else:
        raise ValueError(kind)
    cells = {name: getattr(obj, name) for name in names}
    # Kept free text goes back in, so that a PATCH of another field does not drop it.
    if kind == "workers":
        cells["skills"] = [*(obj.skills or []), *(obj.skills_unrecognised or [])]
    if kind == "commitments":
        cells["required_skills"] = [
            *(obj.required_skills or []),
            *(obj.required_skills_unrecognised or []),
        ]
        cells["enterprise_external_id"] = obj.enterprise.external_id
        cells["course_external_id"] = obj.course.external_id if obj.course else None
        if not obj.site_from_enterprise:
            cells.update(_place_cells(obj))
    elif kind == "enrollments":
        cells["worker_external_id"] = obj.worker.external_id
        cells["course_external_id"] = obj.course.external_id
    else:
        cells.update(_place_cells(obj))
    return cells


def _place_cells(obj: Any) -> dict[str, Any]:
    """The place as it was given, so re-validating it yields the same place and source."""
    cells: dict[str, Any] = {"ward_code": obj.ward_code, "address": obj.address}
    if obj.place_source.startswith("address"):
        cells["ward_code"] = None  # re-resolve the address, keeping its place_source
    if obj.place_source == "coordinates":
        cells.update(lat=obj.lat, lon=obj.lon)
    return cells


def erase_worker(worker: Worker, by_user_id: int | None = None) -> None:
    """Honour an erasure request: blank personal data, keep the anonymous record for statistics.

    Erasure ends consent too (and withdrawing consent asks for erasure): the consent rows
    stay, with the day it ended, as the proof of both."""
    db.session.execute(
        sa.update(Consent)
        .where(Consent.worker_id == worker.id, Consent.withdrawn_on.is_(None))
        .values(
            withdrawn_on=clock.today(),
            withdrawn_by_user_id=by_user_id,
        )
    )
    ward = gazetteer().get(worker.ward_code)
    worker.full_name = None
    worker.name_key = None
    worker.birth_year = None
    worker.gender = None
    worker.ethnic_minority = None
    worker.disability = None
    worker.phone = None
    worker.address = None
    worker.skills_unrecognised = None  # free text may say who the person is
    if ward is not None:  # the ward centroid, not the home
        worker.lat, worker.lon = ward.lat, ward.lon
        worker.place_source = "ward_code"
    worker.erased_at = utcnow()
    touch("workers")
