"""The product's day is Vietnam's: at 02:00 in Hà Nội it is already tomorrow, though UTC is
still on today. The machine's clock is replaced by fixed moments, so this holds any day."""

from __future__ import annotations

import datetime as dt

import pytest

from matcher import clock

#: 19:30 UTC on 3 December is 02:30 on 4 December in Vietnam; 10:00 UTC is 17:00 the same day.
EVENING_UTC = dt.datetime(2026, 12, 3, 19, 30)
MORNING_UTC = dt.datetime(2026, 12, 3, 10, 0)


@pytest.mark.parametrize(
    ("moment", "vietnam_day"),
    [(EVENING_UTC, dt.date(2026, 12, 4)), (MORNING_UTC, dt.date(2026, 12, 3))],
)
def test_today_is_vietnams_day_and_now_falls_on_it(monkeypatch, moment, vietnam_day):
    monkeypatch.delenv(clock.ENV_VAR, raising=False)
    monkeypatch.setattr(clock, "_real_utc", lambda: moment)
    assert clock.today() == vietnam_day
    assert clock.now() == moment  # no day set: the real moment, in UTC
    for day in (dt.date(2027, 2, 20), dt.date(2026, 12, 31)):
        with clock.pinned(day):
            pinned = clock.now()
            assert (pinned + clock.VIETNAM).date() == day
            assert pinned.time() == moment.time()  # moved by whole days only

