"""The default demo's figures, in every world: the brief's sizes and rates, women in garment,
every commune, seasons and trends that a forecast can find."""

from __future__ import annotations

import pandas as pd

from matcher.places import gazetteer


def test_garment_trainees_are_mostly_women(demo_data):
    workers = demo_data.workers
    garment = workers[workers["trades"].str.split(";").str[0] == "garment"]
    stated = garment[garment["gender"].isin(["female", "male"])]
    assert 0.7 <= (stated["gender"] == "female").mean() <= 0.9


def test_workers_live_in_every_commune(demo_data):
    ward_of = {w.code: w.code for w in gazetteer().wards("33")}
    workers = demo_data.workers
    codes = workers["ward_code"].where(
        workers["ward_code"] != "",
        workers["address"].map(lambda a: gazetteer().resolve_address(a).ward.code if a else ""),
    )
    assert set(codes) == set(ward_of)


def test_default_size_matches_the_brief(demo_data):
    data = demo_data
    assert len(data.workers) == 8000 and len(data.enterprises) == 120
    assert len(data.courses) == 300
    assert 15_000 <= len(data.referrals) <= 25_000
    # Turnover stays plausible (garment ~20 %/year): few workers are hired again and again.
    hires = data.referrals.loc[data.referrals["outcome"] == "hired", "worker_external_id"]
    assert (hires.value_counts() >= 4).mean() < 0.03
    settled = data.referrals[data.referrals["outcome"] != "pending"]
    assert 0.25 <= (settled["outcome"] == "hired").mean() <= 0.40
    assert 0.25 <= data.truth["p_true"].mean() <= 0.40
    linked = (data.commitments["course_external_id"] != "").mean()
    assert 0.3 <= linked <= 0.5
    assert 0.03 <= (data.workers["address"] != "").mean() <= 0.07
    trade_match = data.truth["trade_match"].mean()
    assert 0.6 <= trade_match <= 0.9  # mostly in-trade, with contrast


def test_demand_peaks_after_tet_and_follows_each_trades_trend(demo_data):
    """Planning needs history with seasons and trends a forecast can find (issue 5)."""
    data = demo_data
    commitments = data.commitments
    start = pd.to_datetime(commitments["start_date"])
    slots = commitments["slots"].astype(int)
    history = start < pd.Timestamp(demo_data.config.today.replace(day=1))
    assert start[history].min() <= pd.Timestamp(demo_data.config.today) - pd.DateOffset(years=3)
    factory = commitments["trade"].isin(["garment", "electronics", "electrical", "textile"])
    by_month = slots[history & factory].groupby(start[history & factory].dt.month).sum()
    assert by_month[[2, 3]].mean() > 1.4 * by_month[[12, 1]].mean()
    year = start.dt.year
    electronics = slots[(commitments["trade"] == "electronics") & history]
    per_year = electronics.groupby(year[electronics.index]).sum()
    first, last = demo_data.config.today.year - 3, demo_data.config.today.year - 1
    assert per_year[last] > 1.2 * per_year[first]
