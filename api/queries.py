"""Queries and scopes: what each role may see, expressed once, as SQL filters.

Views never write their own WHERE clauses for visibility; they ask for a scoped select here.
A record outside the caller's scope is indistinguishable from one that does not exist (404).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from api.auth import Principal
from api.errors import NotFound
from api.extensions import db
from api.models import Commitment, Enrollment, Enterprise, Referral, Worker
from api.schemas import RANKED_DEPTH, PageQuery, RankCursor, RankedPageQuery, encode_cursor
from matcher.places import gazetteer
from matcher.text import fold


def _referred_to_enterprise(enterprise_id: int) -> sa.Select:
    return (
        sa.select(Referral.worker_id)
        .join(Commitment, Commitment.id == Referral.commitment_id)
        .where(Commitment.enterprise_id == enterprise_id)
    )


def in_province_scope(principal: Principal, column: sa.ColumnElement) -> sa.ColumnElement:
    """The one province rule: a token bound to a province reaches that province only.

    Every place a population, a round or a referral is formed applies it through here (the
    scoped selects below, allocation populations, a round's visibility and its confirmation).
    """
    if principal.province_code is None:
        return sa.true()
    return column == principal.province_code


def scoped(model: type[db.Model], principal: Principal) -> sa.Select:
    """Select the rows of model that the principal may see."""
    stmt = sa.select(model)
    role, enterprise_id, province = principal.role, principal.enterprise_id, principal.province_code
    if model is Worker:
        if role == "enterprise":
            stmt = stmt.where(Worker.id.in_(_referred_to_enterprise(enterprise_id)))
        elif role in ("caseworker", "admin"):
            stmt = stmt.where(in_province_scope(principal, Worker.province_code))
        else:
            stmt = stmt.where(sa.false())
    elif model is Enterprise:
        if role == "enterprise":
            stmt = stmt.where(Enterprise.id == enterprise_id)
    elif model is Commitment:
        if role == "enterprise":
            stmt = stmt.where(Commitment.enterprise_id == enterprise_id)
    elif model is Referral:
        if role == "enterprise":
            stmt = stmt.join(Commitment, Commitment.id == Referral.commitment_id).where(
                Commitment.enterprise_id == enterprise_id
            )
        elif role in ("caseworker", "admin"):
            if province:
                stmt = stmt.join(Worker, Worker.id == Referral.worker_id).where(
                    in_province_scope(principal, Worker.province_code)
                )
        else:
            stmt = stmt.where(sa.false())
    elif model is Enrollment:
        if role in ("caseworker", "admin"):
            if province:
                stmt = stmt.join(Worker, Worker.id == Enrollment.worker_id).where(
                    in_province_scope(principal, Worker.province_code)
                )
        else:
            stmt = stmt.where(sa.false())
    return stmt


#: What a record is called in a "not found" message, Vietnamese / English.
RECORD_NAMES = {
    "workers": ("người lao động", "worker"),
    "enterprises": ("doanh nghiệp", "enterprise"),
    "courses": ("khóa đào tạo", "course"),
    "enrollments": ("ghi danh", "enrolment"),
    "commitments": ("đơn hàng tuyển dụng", "hiring commitment"),
    "referrals": ("lượt giới thiệu", "referral"),
}


def get_scoped(model: type[db.Model], record_id: int, principal: Principal) -> Any:
    """Fetch one visible record or raise 404 — never 403, which would confirm it exists."""
    obj = db.session.execute(scoped(model, principal).where(model.id == record_id)).scalar()
    if obj is None:
        vi, en = RECORD_NAMES.get(model.__tablename__, (model.__tablename__,) * 2)
        raise NotFound(f"Không tìm thấy {vi} #{record_id} / {en} #{record_id} not found")
    return obj


def paginate(stmt: sa.Select, model: type[db.Model], page: PageQuery) -> tuple[list, str | None]:
    """Keyset pagination on id: stable under inserts, cheap at any depth."""
    rows = list(
        db.session.execute(
            stmt.where(model.id > page.after_id).order_by(model.id).limit(page.limit + 1)
        ).scalars()
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def page_of(items: Sequence[Any], page: PageQuery) -> tuple[list[Any], str | None]:
    """One page of a list held in memory in a fixed order (reference data, a computed table);
    the cursor is a position in it."""
    start = page.after_id
    chunk = list(items[start : start + page.limit])
    more = start + page.limit < len(items)
    return chunk, encode_cursor(start + page.limit) if more else None


def ranked_page(
    scores: np.ndarray, ids: np.ndarray, page: RankedPageQuery, *, complete: bool
) -> tuple[np.ndarray, str | None]:
    """Which items of a ranking make this page (indices, best first), and the next cursor.

    The ranking is ``scores`` and record ``ids``, produced down to ``page.depth``;
    ``complete`` says it holds every candidate rather than the best ``depth``. The page is
    what ranks strictly after the cursor's item, by (score descending, id), so a page never
    repeats one of the page before. A short page can still have a next one: items of the
    registry may have gone (filled, hired) since the last page.
    """
    order = np.lexsort((ids, -scores))
    after = page.after
    if after is not None:
        s, i = scores[order], ids[order]
        order = order[(s < after.score) | ((s == after.score) & (i > after.record_id))]
    chosen = order[: page.limit]
    offset = (after.offset if after else 0) + len(chosen)
    more = len(order) > len(chosen) or (not complete and len(scores) >= page.depth)
    if not len(chosen) or not more or offset >= RANKED_DEPTH:
        return chosen, None
    last = chosen[-1]
    return chosen, RankCursor(offset, float(scores[last]), int(ids[last])).encode()


def name_filter(column: sa.ColumnElement, q: str) -> sa.ColumnElement:
    """Match folded names so that search works with or without diacritics."""
    pattern = "%" + fold(q).replace("%", "").replace("_", " ") + "%"
    return column.like(pattern)


@functools.cache
def _folded_wards() -> tuple[tuple[str, str], ...]:
    return tuple((w.code, fold(w.name)) for w in gazetteer().wards())


def worker_search(q: str) -> sa.ColumnElement:
    """The caseworker's one search box: a name, a phone number or a commune, with or without
    diacritics. Digits search phones (0912 345 678 finds +84912345678); words search names
    and the names of wards (\"Phu Cu\" finds every worker of xã Phù Cừ)."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if digits and len(digits) >= 4 and not any(ch.isalpha() for ch in q):
        stripped = q.strip()
        if stripped.startswith(("0", "+84", "84")):  # the start of a number: a prefix
            national = digits[1:] if digits.startswith("0") else digits.removeprefix("84")
            return Worker.phone.like(f"+84{national}%")
        return Worker.phone.like(f"%{digits}%")  # a part of it (the last digits, say)
    key = fold(q)
    conditions = [name_filter(Worker.name_key, q), Worker.external_id == q.strip()]
    if len(key) >= 3:
        wards = [code for code, name in _folded_wards() if key in name][:500]
        if wards:
            conditions.append(Worker.ward_code.in_(wards))
    return sa.or_(*conditions)


def json_list_contains(column: sa.ColumnElement, code: str) -> sa.ColumnElement:
    """Portable test for a code in a JSON list column (codes are plain [a-z_.] strings)."""
    return sa.cast(column, sa.String).like(f'%"{code}"%')


def commitment_state_filter(state: str, today: dt.date) -> sa.ColumnElement:
    expired = sa.and_(Commitment.expires_on.is_not(None), Commitment.expires_on < today)
    full = Commitment.slots_filled >= Commitment.slots
    if state == "expired":
        return expired
    if state == "full":
        return sa.and_(sa.not_(expired), full)
    if state == "upcoming":
        return sa.and_(sa.not_(expired), sa.not_(full), Commitment.start_date > today)
    return sa.and_(sa.not_(expired), sa.not_(full), Commitment.start_date <= today)


def commitment_state(c: Commitment, today: dt.date) -> str:
    if c.expires_on is not None and c.expires_on < today:
        return "expired"
    if c.slots_filled >= c.slots:
        return "full"
    return "upcoming" if c.start_date > today else "open"


def enrolled_counts(course_ids: list[int]) -> dict[int, int]:
    if not course_ids:
        return {}
    rows = db.session.execute(
        sa.select(Enrollment.course_id, sa.func.count())
        .where(Enrollment.course_id.in_(course_ids), Enrollment.status != "dropped")
        .group_by(Enrollment.course_id)
    )
    return dict(rows.all())


def ward_name(code: str) -> str | None:
    ward = gazetteer().get(code)
    return ward.name if ward else None


def place_dict(obj: Any) -> dict[str, Any]:
    return {
        "ward_code": obj.ward_code,
        "ward_name": ward_name(obj.ward_code),
        "province_code": obj.province_code,
        "address": obj.address,
        "lat": obj.lat,
        "lon": obj.lon,
        "place_source": obj.place_source,
    }


def pending_referral_id(worker_id: int, commitment_id: int) -> int | None:
    """The open (pending) referral of this worker to this commitment, if there is one."""
    return db.session.scalar(
        sa.select(Referral.id).where(
            Referral.worker_id == worker_id,
            Referral.commitment_id == commitment_id,
            Referral.status == "pending",
        )
    )


def employed_worker_ids(worker_ids: list[int], today: dt.date) -> set[int]:
    """Workers in a job today: hired and not (yet) left."""
    if not worker_ids:
        return set()
    rows = db.session.execute(
        sa.select(Referral.worker_id).where(
            Referral.worker_id.in_(worker_ids),
            Referral.status == "hired",
            sa.or_(Referral.left_on.is_(None), Referral.left_on > today),
        )
    )
    return {r[0] for r in rows}


@dataclass(frozen=True)
class Refusal:
    """Why a worker cannot be referred to a commitment now; ``status`` is the HTTP answer."""

    status: int
    code: str
    detail: str


def referral_refusal(
    worker: Worker | None, commitment: Commitment | None, principal: Principal, today: dt.date
) -> Refusal | None:
    """The one referral rule, for POST /referrals and for confirming an allocation round.

    ``worker`` and ``commitment`` are None when the caller cannot see them (out of scope or
    gone), which answers 404 like any record outside one's scope.
    """
    if worker is None or not _visible(Worker, worker.id, principal):
        return Refusal(404, "not_found", "Không tìm thấy người lao động / worker not found")
    if commitment is None or not _visible(Commitment, commitment.id, principal):
        return Refusal(404, "not_found", "Không tìm thấy đơn hàng / commitment not found")
    if worker.erased_at is not None:
        return Refusal(
            409, "erased", "Người này đã yêu cầu xóa dữ liệu / this worker asked for erasure"
        )
    if worker.id in employed_worker_ids([worker.id], today):
        return Refusal(409, "employed", "Người này đang có việc làm / this worker is in a job now")
    state = commitment_state(commitment, today)
    if state in ("full", "expired"):
        return Refusal(409, state, f"Đơn hàng không còn nhận ({state}) / the commitment is {state}")
    pending = pending_referral_id(worker.id, commitment.id)
    if pending:
        return Refusal(
            409,
            "pending",
            f"Đã có giới thiệu đang chờ #{pending} / a pending referral #{pending} exists",
        )
    return None


def _visible(model: type[db.Model], record_id: int, principal: Principal) -> bool:
    stmt = scoped(model, principal).where(model.id == record_id).with_only_columns(model.id)
    return db.session.execute(stmt).first() is not None
