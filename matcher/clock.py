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

While a day is set, :func:`now` keeps the real time of day on that date, so timestamps
still order the events of a run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

#: The environment variable that sets "today" (ISO ``YYYY-MM-DD``) for a process.
ENV_VAR = "CAUNOI_TODAY"

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
    return dt.date.today()


def now() -> dt.datetime:
    """Return the current UTC time, moved onto :func:`today` when a day is set (naive UTC)."""
    real = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    day = today()
    if day == real.date():
        return real
    return dt.datetime.combine(day, real.time())


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
