"""The product's day is Vietnam's: at 02:00 in Hà Nội it is already tomorrow, though UTC is
still on today."""

from __future__ import annotations

import datetime as dt

from matcher import clock


def test_today_is_vietnams_day_and_now_falls_on_it(monkeypatch):
    monkeypatch.delenv(clock.ENV_VAR, raising=False)
    real = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert clock.today() == (real + dt.timedelta(hours=7)).date()
    assert abs((clock.now() - real).total_seconds()) < 5
    for day in (dt.date(2027, 2, 20), dt.date(2026, 12, 31)):
        with clock.pinned(day):
            moment = clock.now()
            assert (moment + clock.VIETNAM).date() == day
            assert (moment - real).total_seconds() % 86400 < 5
