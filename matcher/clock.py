"""The one place the product asks what day it is.

Everything that depends on the date — import validation (birth-year window, dates not in
the future), matching (open commitments, graduations so far), allocation, planning (the
current month is not complete yet), training (the evaluation window), the demo data set —
asks :func:`today` (or :func:`now` for timestamps), never :func:`datetime.date.today`.
That is what lets a test, a demo or a support engineer replay any day:

* ``CAUNOI_TODAY=2027-02-20`` in the environment sets the day for a whole process (and for
  the processes it starts: gunicorn workers, a job consumer, a notebook kernel);
* :func:`pinned` sets it for a block of code, so one test process can look at the demo as
  of several dates.

"Today" is Vietnam's day (UTC+7, no daylight saving): a caseworker registering consent at
06:00 in Hà Nội is on the new day while UTC is still on the old one. :func:`now` stays in
UTC (naive), as stored timestamps are.

While a day is set, :func:`now` is the real moment moved by whole days onto it, so
timestamps still order the events of a run and fall on the set day in Vietnam.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

#: The environment variable that sets "today" (ISO ``YYYY-MM-DD``) for a process.
ENV_VAR = "CAUNOI_TODAY"
#: Vietnam's offset from UTC (ICT, all year).
VIETNAM = dt.timedelta(hours=7)

_pinned: list[dt.date] = []


def parse_day(text: str) -> dt.date:
    """Read an ISO date, naming the setting when it is not one (a typo must not pass silently)."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{ENV_VAR} must be a date YYYY-MM-DD, got {text!r}") from exc


def today() -> dt.date:
    """Return the day the product works on: pinned, else ``CAUNOI_TODAY``, else the real date."""
    if _pinned:
        return _pinned[-1]
    configured = os.environ.get(ENV_VAR, "")
    if configured.strip():
        return parse_day(configured)
    return _vietnam_today()


def _real_utc() -> dt.datetime:
    """The machine's clock, naive UTC: the only place the real moment is read."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _vietnam_today() -> dt.date:
    return (_real_utc() + VIETNAM).date()


def now() -> dt.datetime:
    """Return the current UTC time (naive), moved by whole days onto :func:`today` when a
    day is set: its date in Vietnam is then that day."""
    real = _real_utc()
    shift = today() - (real + VIETNAM).date()
    return real + shift


@contextmanager
def pinned(day: dt.date | str) -> Iterator[dt.date]:
    """Make :func:`today` answer ``day`` inside the block (nested pins stack)."""
    if isinstance(day, str):
        day = parse_day(day)
    if isinstance(day, dt.datetime):
        day = day.date()
    _pinned.append(day)
    try:
        yield day
    finally:
        _pinned.pop()
