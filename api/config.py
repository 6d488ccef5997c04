"""Defaults for every setting; `CAUNOI_*` environment variables and test_config override them."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DefaultConfig:
    """Settings for the embedded, one-machine deployment; production overrides by environment."""

    # The instance folder holds the embedded SQLite file; create_app fills the path in.
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    MODELS_DIR: str = os.environ.get("CAUNOI_MODELS_DIR", str(PROJECT_ROOT / "models"))
    # Upload size cap for imports (bytes): 100,000 worker rows are about 15 MB of CSV.
    MAX_CONTENT_LENGTH: int = 64 * 1024 * 1024
    # Rows per import file; beyond this the caller should split the file.
    MAX_IMPORT_ROWS: int = 500_000
    # A JSON body is a few kB; a larger one is a mistake or an attack (413).
    MAX_JSON_BYTES: int = 1024 * 1024
    # Days a new API token lives unless `caunoi token create --expires` says otherwise.
    TOKEN_LIFETIME_DAYS: int = 90
    # Wrong or expired tokens one client may present before it gets 429 (per window).
    BAD_TOKEN_LIMIT: str = "20 per minute"
    # Redis for shared counters (rate limits) across processes and machines; without it
    # each process counts on its own.
    REDIS_URL: str | None = None
    # Background jobs (api/jobs.py): the queue is Redis when REDIS_URL is set, else this
    # SQLite file (default: instance/jobs.sqlite3). A running job's consumer beats every
    # JOB_HEARTBEAT_S; a job silent for JOB_STALE_S is retried once, then failed; each
    # consumer looks for such jobs every JOB_REAP_S.
    JOBS_SQLITE: str | None = None
    # The queue's name: installs (or test runs) sharing one Redis keep apart by it.
    JOBS_QUEUE: str = "caunoi"
    JOB_HEARTBEAT_S: float = 10.0
    JOB_STALE_S: float = 60.0
    JOB_REAP_S: float = 30.0
    # An import file larger than this (bytes; about 13,000 worker rows of CSV) is imported
    # by a background job (202); smaller ones answer their report at once.
    IMPORT_JOB_ABOVE_BYTES: int = 2 * 1024 * 1024
    # POST /allocations waits this long for a consumer to finish the round and answers it
    # directly (201); a round still running by then is answered 202, to poll.
    ALLOCATION_WAIT_S: float = 2.0
    # The nightly retraining (through the quality and fairness gates) starts at this UTC
    # hour: 19:00 UTC is 02:00 in Vietnam.
    NIGHTLY_TRAIN_UTC_HOUR: int = 19
    # The planning watcher (every minute) refreshes a stale scope once no planning table has
    # been written for PLANNING_DEBOUNCE_S, or once its result is PLANNING_MAX_STALE_S old
    # however busy the data are. A refresh that failed is not asked for again by a request
    # for PLANNING_RETRY_S (it would fail the same way; the failed job is answered instead).
    PLANNING_DEBOUNCE_S: float = 120.0
    PLANNING_MAX_STALE_S: float = 3600.0
    PLANNING_RETRY_S: float = 600.0
    # The smallest class a course plan proposes (matcher.planning.MIN_COHORT): smaller
    # remainders are merged into neighbouring classes, rounded up or reported open.
    MIN_COHORT: int = 10
    RATELIMIT_STORAGE_URI: str = "memory://"
    # Pages: a signed-in session lasts this many hours from sign-in (a shared office
    # computer); sign-in attempts per client address and per login are limited.
    SESSION_HOURS: int = 12
    LOGIN_LIMIT: str = "10 per minute"
    # argon2id's cost for passwords (RFC 9106's second recommendation).
    PASSWORD_HASH_MEMORY_KIB: int = 65536
    PASSWORD_HASH_PASSES: int = 3
    # Languages of the pages: Vietnamese first, English on request.
    BABEL_DEFAULT_LOCALE: str = "vi"
    LANGUAGES: tuple[str, ...] = ("vi", "en")
    # Session cookies: never read by scripts, not sent from other sites' forms.
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    # A form's CSRF token lives as long as the session it belongs to.
    WTF_CSRF_TIME_LIMIT: int | None = None
    # Compress pages and static files (brotli, else gzip) from this size up.
    COMPRESS_MIN_SIZE: int = 500
    COMPRESS_MIMETYPES: tuple[str, ...] = (
        "text/html", "text/css", "application/javascript", "text/javascript",
        "application/json", "application/problem+json", "image/svg+xml", "text/csv",
    )
    # How long a write waits for another's lock (SQLite's busy timeout, PostgreSQL's
    # lock_timeout) before the request gets 503.
    LOCK_TIMEOUT_MS: int = 10_000
