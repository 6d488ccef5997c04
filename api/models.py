"""The registry's tables: constraints live here, in the database, not only in Python."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.extensions import db
from matcher import clock, ingest
from matcher.ingest import REFERRAL_OUTCOMES

ROLES = ("caseworker", "enterprise", "planner", "admin")
REFERRAL_STATUSES = REFERRAL_OUTCOMES
ENROLLMENT_STATUSES = ingest.ENROLLMENT_STATUSES

# A referral's outcome moves only forward: once decided it is history, and history is evidence
# for the model. Corrections are made by an admin through a new referral, not by rewriting.
REFERRAL_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"hired", "not_hired", "declined", "no_show"}),
    "hired": frozenset(),
    "not_hired": frozenset(),
    "declined": frozenset(),
    "no_show": frozenset(),
}


def utcnow() -> dt.datetime:
    """Return the current UTC time; a callable so each row gets its own timestamp."""
    return clock.now()


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlaceMixin:
    """A ward of the 2025 scheme plus the coordinates distances are measured from."""

    ward_code: Mapped[str] = mapped_column(sa.String(5), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(2), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(500))
    lat: Mapped[float]
    lon: Mapped[float]
    place_source: Mapped[str] = mapped_column(sa.String(32), default="ward_code")


class Enterprise(PlaceMixin, TimestampMixin, db.Model):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    tax_code: Mapped[str] = mapped_column(sa.String(14))
    sector: Mapped[str | None] = mapped_column(sa.String(200))
    contact_email: Mapped[str | None] = mapped_column(sa.String(200))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))

    commitments: Mapped[list[Commitment]] = relationship(back_populates="enterprise")


class Course(PlaceMixin, TimestampMixin, db.Model):
    __tablename__ = "courses"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    trade: Mapped[str] = mapped_column(sa.String(20), index=True)
    provider: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str | None] = mapped_column(sa.String(20))
    start_date: Mapped[dt.date] = mapped_column(index=True)
    end_date: Mapped[dt.date]
    capacity: Mapped[int]


class Worker(TimestampMixin, db.Model):
    """A worker; personal columns are nullable because an erasure request blanks them."""

    __tablename__ = "workers"
    __table_args__ = (
        sa.CheckConstraint("experience_years IS NULL OR experience_years >= 0", name="exp_nonneg"),
        sa.CheckConstraint("max_commute_km > 0", name="commute_positive"),
        sa.CheckConstraint(
            "expected_wage_vnd IS NULL OR expected_wage_vnd >= 0", name="wage_nonneg"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # Personal data: returned only to roles allowed to see it, and every read is logged.
    full_name: Mapped[str | None] = mapped_column(sa.String(200))
    # Folded name for search with or without diacritics ("nguyen thi hoa" finds "Nguyễn Thị Hoa").
    name_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    birth_year: Mapped[int | None]
    gender: Mapped[str | None] = mapped_column(sa.String(12))
    ethnic_minority: Mapped[bool | None]
    disability: Mapped[bool | None]
    phone: Mapped[str | None] = mapped_column(sa.String(16))
    address: Mapped[str | None] = mapped_column(sa.String(500))
    lat: Mapped[float]
    lon: Mapped[float]
    # Coarse place: kept after erasure, because the ward alone does not identify a person.
    ward_code: Mapped[str] = mapped_column(sa.String(5), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(2), index=True)
    place_source: Mapped[str] = mapped_column(sa.String(32), default="ward_code")
    education: Mapped[str] = mapped_column(sa.String(32), default="unspecified")
    trades: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Free text no skill code matched: kept for caseworkers, never a model feature.
    skills_unrecognised: Mapped[list[str] | None] = mapped_column(sa.JSON)
    experience_years: Mapped[float | None]
    expected_wage_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    max_commute_km: Mapped[float] = mapped_column(default=30.0)
    available_from: Mapped[dt.date | None]
    erased_at: Mapped[dt.datetime | None]

    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="worker")


class Enrollment(TimestampMixin, db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (
        sa.UniqueConstraint("worker_id", "course_id", name="uq_enrollments_worker_course"),
        sa.CheckConstraint(_in("status", ENROLLMENT_STATUSES), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12))
    completed_on: Mapped[dt.date | None]

    worker: Mapped[Worker] = relationship(back_populates="enrollments")
    course: Mapped[Course] = relationship()


class Commitment(PlaceMixin, TimestampMixin, db.Model):
    """An enterprise's promise to hire; slots_filled only ever moves by an atomic UPDATE."""

    __tablename__ = "commitments"
    __table_args__ = (
        sa.CheckConstraint("slots >= 1", name="slots_positive"),
        sa.CheckConstraint("slots_filled >= 0", name="filled_nonneg"),
        sa.CheckConstraint("slots_filled <= slots", name="filled_within_slots"),
        sa.CheckConstraint("wage_vnd >= 0", name="wage_nonneg"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= start_date", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    trade: Mapped[str] = mapped_column(sa.String(20), index=True)
    occupation_isco: Mapped[str | None] = mapped_column(sa.String(4))
    slots: Mapped[int]
    slots_filled: Mapped[int] = mapped_column(default=0)
    wage_vnd: Mapped[int] = mapped_column(sa.BigInteger)
    # True when the site was not given and the enterprise's head site stands in for it.
    site_from_enterprise: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[dt.date] = mapped_column(index=True)
    expires_on: Mapped[dt.date | None]
    min_education: Mapped[str | None] = mapped_column(sa.String(32))
    required_skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    required_skills_unrecognised: Mapped[list[str] | None] = mapped_column(sa.JSON)
    shift_work: Mapped[bool | None]
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id"), index=True)

    enterprise: Mapped[Enterprise] = relationship(back_populates="commitments")
    course: Mapped[Course | None] = relationship()

    @property
    def slots_open(self) -> int:
        return self.slots - self.slots_filled


class Referral(TimestampMixin, db.Model):
    """A worker sent to a commitment, with what the caseworker saw when deciding."""

    __tablename__ = "referrals"
    __table_args__ = (
        sa.UniqueConstraint(
            "worker_id", "commitment_id", "referred_on", name="uq_referrals_pair_date"
        ),
        sa.CheckConstraint(_in("status", REFERRAL_STATUSES), name="status_known"),
        sa.CheckConstraint("hired_on IS NULL OR status = 'hired'", name="hired_on_only_hired"),
        sa.CheckConstraint("left_on IS NULL OR hired_on IS NOT NULL", name="left_after_hire"),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 1)", name="score_prob"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    commitment_id: Mapped[int] = mapped_column(sa.ForeignKey("commitments.id"), index=True)
    referred_on: Mapped[dt.date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    hired_on: Mapped[dt.date | None]
    left_on: Mapped[dt.date | None]
    score: Mapped[float | None]
    scorer: Mapped[str | None] = mapped_column(sa.String(40))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    reasons: Mapped[list[Any] | None] = mapped_column(sa.JSON)

    worker: Mapped[Worker] = relationship()
    commitment: Mapped[Commitment] = relationship()
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.id"
    )


class ReferralEvent(db.Model):
    """One step of a referral's status history: who moved it, from what, to what, when."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    actor_role: Mapped[str | None] = mapped_column(sa.String(12))
    source: Mapped[str] = mapped_column(sa.String(12), default="api")
    note: Mapped[str | None] = mapped_column(sa.String(500))

    referral: Mapped[Referral] = relationship(back_populates="events")


class User(TimestampMixin, db.Model):
    """A person who signs in to the pages: a caseworker, an enterprise's HR officer, a planner
    or an admin. The role, enterprise and province scope mean what they mean on a token; a
    signed-in session is a token of kind ``session`` bound to the user (api.accounts), so
    the pages and the API share one authorisation path and one audit trail."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(_in("role", ROLES), name="role_known"),
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)", name="enterprise_bound"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Folded (lower case, no diacritics): "Lan.Nguyen" and "lan.nguyen" are one login.
    login: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # argon2id (api.accounts); never the password itself.
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(12))
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    disabled_at: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    password_changed_at: Mapped[dt.datetime | None]

    enterprise: Mapped[Enterprise | None] = relationship()


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, so a database leak leaks no credential."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        sa.CheckConstraint(_in("role", ROLES), name="role_known"),
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)", name="enterprise_bound"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    role: Mapped[str] = mapped_column(sa.String(12))
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    # A caseworker token may be limited to one province's workers.
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    label: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    # Every token expires (default 90 days); a leaked one stops working by itself.
    expires_at: Mapped[dt.datetime | None]
    # Updated at most once a minute, so that a busy token does not write on every request.
    last_used_at: Mapped[dt.datetime | None]
    # "api" (a bearer token an admin issued) or "session" (a signed-in user's pages).
    kind: Mapped[str] = mapped_column(sa.String(10), default="api")
    # The person the token acts for: always set for a session, optional for an API token.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)

    enterprise: Mapped[Enterprise | None] = relationship()
    user: Mapped[User | None] = relationship()


class AccessLog(db.Model):
    """Every read of a worker's personal data, as personal-data law requires us to prove."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    # The person who read it (a signed-in user, or the user an API token was issued to).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(12))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    endpoint: Mapped[str] = mapped_column(sa.String(200))


class Consent(db.Model):
    """A worker's consent to the processing of their personal data (PDP Law 91/2025).

    Recorded when the data are registered: for what purpose, which text the worker agreed
    to, on what day, how (a signed paper form, spoken, an uploaded list the uploader vouched
    for, a file's consent_on column) and who recorded it. Withdrawing it erases the worker's
    personal data; the row stays, as the proof of both.
    """

    __tablename__ = "consents"
    __table_args__ = (
        sa.CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= given_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(40))
    text_version: Mapped[str] = mapped_column(sa.String(20))
    given_on: Mapped[dt.date]
    method: Mapped[str] = mapped_column(sa.String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    recorded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_on: Mapped[dt.date | None]
    withdrawn_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_user_id])


class ImportRun(db.Model):
    """A record of each import, so that an admin can tell who loaded what, when."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str | None] = mapped_column(sa.String(300))
    atomic: Mapped[bool] = mapped_column(default=False)
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class AllocationRun(db.Model):
    """One allocation round: its parameters, model, progress and result, kept for audit."""

    __tablename__ = "allocation_runs"
    __table_args__ = (
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    role: Mapped[str | None] = mapped_column(sa.String(12))
    # The creator's province scope: the population was drawn from it, and only callers
    # within it may read, export or confirm the round.
    province_scope: Mapped[str | None] = mapped_column(sa.String(2))
    policy: Mapped[str] = mapped_column(sa.String(20))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    scorer: Mapped[str | None] = mapped_column(sa.String(20))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    data_versions: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(12), default="running")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    summary: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    finished_at: Mapped[dt.datetime | None]
    # The background job doing the round (api.allocations): its attempts and heartbeat.
    job_id: Mapped[int | None] = mapped_column(index=True)


class AllocationPair(db.Model):
    """One proposed referral of a round; ``referral_id`` is set when a caseworker confirms it."""

    __tablename__ = "allocation_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("allocation_runs.id"), index=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"))
    commitment_id: Mapped[int] = mapped_column(sa.ForeignKey("commitments.id"))
    probability: Mapped[float]
    distance_km: Mapped[float]
    reasons: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"))


JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")


class Job(db.Model):
    """Long work done by a consumer process, as its users see it.

    The queue (Huey, on SQLite or Redis) only carries the job's id; this row is the record:
    who asked, what, how far it has got, and how it ended. A consumer writes ``heartbeat_at``
    while it works, so a job whose consumer died is noticed and retried, never left running.
    """

    __tablename__ = "jobs"
    __table_args__ = (sa.CheckConstraint(_in("status", JOB_STATUSES), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(12))
    province_scope: Mapped[str | None] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(12), default="queued", index=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=2)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    heartbeat_at: Mapped[dt.datetime | None]
    # host:pid of the consumer that claimed it last: which process did the work.
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.String(2000))
    # An uploaded file the job reads (a large import), kept in the database so that a
    # consumer on another machine can read it; dropped once the job has ended.
    payload: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class PlanningResult(db.Model):
    """One planning refresh's results for a scope, as of a day and a data version.

    Series, forecasts, gaps, course plan, placement results and the fairness audit are
    computed by a job (api.planning.refresh) and stored here, so every web process and every
    machine serves the same answer without recomputing it. ``payload`` is the compressed
    pickle of :class:`api.planning.Bundle`, signed with the install's secret
    (matcher.model_store.dumps_signed): a payload its readers cannot verify is never unpickled.
    """

    __tablename__ = "planning_results"
    __table_args__ = (sa.Index("ix_planning_results_scope", "scope_key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<province code or *>/<area level>", as api.planning.scope_key writes it.
    scope_key: Mapped[str] = mapped_column(sa.String(40))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    area_level: Mapped[str] = mapped_column(sa.String(20))
    as_of: Mapped[dt.date]
    data_versions: Mapped[dict[str, int]] = mapped_column(sa.JSON)
    model_version: Mapped[str | None] = mapped_column(sa.String(120))
    computed_at: Mapped[dt.datetime]
    seconds: Mapped[float]
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))
    size: Mapped[int]
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)


DATA_NAMES = ("workers", "enterprises", "courses", "enrollments", "commitments", "referrals")


class DataVersion(db.Model):
    """A counter per table, bumped by every write, so in-memory indexes know when to rebuild."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Real UTC time of the last write: the planning watcher waits for the data to go quiet.
    changed_at: Mapped[dt.datetime | None]


@sa.event.listens_for(DataVersion.__table__, "after_create")
def _seed_versions(target: sa.Table, connection: sa.Connection, **_: Any) -> None:
    connection.execute(target.insert(), [{"name": n, "version": 0} for n in DATA_NAMES])
