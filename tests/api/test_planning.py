"""Stored planning results on a small registry: what is served, when it is stale, who may
follow a refresh, and when the schedule refreshes (the demo's figures are in
tests/acceptance/test_planning.py, a refresh through a real consumer in tests/api/test_jobs.py).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from api import create_app, jobs
from api import planning as svc
from api.auth import create_token
from api.extensions import db
from api.models import Job, PlanningResult
from api.versions import touch
from matcher import clock, model_store
from matcher.areas import areas_of
from matcher.places import gazetteer
from tests import factories
from tests.db import ON_POSTGRES, app_config, create_schema, drop_schema, schema_name

SERIES = "/api/v1/planning/series"


def _refresh_from(response) -> int:
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["kind"] == "planning_refresh" and response.headers["Location"] == body["url"]
    return body["id"]


def _stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PlanningResult))


def test_nothing_stored_yet_is_202_with_one_refresh_then_answers_from_the_store(
    client, world, auth
):
    first = _refresh_from(client.get(SERIES, headers=auth("planner")))
    # Another planner's request, and another format, wait for the same refresh.
    assert _refresh_from(client.get(SERIES + "?format=csv", headers=auth("admin"))) == first
    job = db.session.get(Job, first)
    assert job.params == {
        "province_code": None, "area_level": "former_district",
        "as_of": clock.today().isoformat(),
    }  # fmt: skip

    jobs.execute(first)  # what a consumer does with it

    response = client.get(SERIES, headers=auth("planner"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stale"] is False and body["refresh_job_id"] is None
    assert body["as_of"] == clock.today().isoformat() and body["computed_at"]
    assert body["items"] and body["message"] is None  # the world's own commitments
    assert _stored() == 1
    ended = client.get(f"/api/v1/jobs/{first}", headers=auth("planner")).get_json()
    assert ended["status"] == "done" and ended["result"]["scope"] == "*/former_district"


def test_a_write_marks_the_result_stale_and_queues_one_refresh(client, world, auth):
    svc.refresh(svc.Scope(None, "former_district", clock.today()))
    touch("commitments")
    db.session.commit()

    stale = client.get(SERIES, headers=auth("planner")).get_json()
    assert stale["stale"] is True and stale["refresh_job_id"]
    again = client.get(SERIES + "?format=csv", headers=auth("planner"))
    assert again.status_code == 200
    assert again.headers["X-Stale"] == "true"
    assert again.headers["X-Refresh-Job"] == str(stale["refresh_job_id"])
    assert again.headers["X-As-Of"] == clock.today().isoformat()

    jobs.execute(stale["refresh_job_id"])

    fresh = client.get(SERIES + "?format=csv", headers=auth("planner"))
    assert fresh.headers["X-Stale"] == "false" and "X-Refresh-Job" not in fresh.headers
    assert _stored() == 2


def test_a_refresh_of_current_results_changes_nothing_and_two_are_kept(client, world):
    scope = svc.Scope(None, "former_district", clock.today())
    row = svc.refresh(scope)
    assert svc.refresh(scope).id == row.id  # a retried or duplicated refresh
    ids = [row.id]
    for _ in range(3):
        touch("referrals")
        db.session.commit()
        ids.append(svc.refresh(scope).id)
    kept = db.session.scalars(sa.select(PlanningResult.id).order_by(PlanningResult.id)).all()
    assert kept == ids[-svc.KEEP_PER_SCOPE :]


def test_a_new_day_makes_the_result_stale(client, world, auth):
    svc.refresh(svc.Scope(None, "former_district", clock.today()))
    assert client.get(SERIES, headers=auth("planner")).get_json()["stale"] is False
    with clock.pinned(clock.today() + dt.timedelta(days=1)):
        body = client.get(SERIES, headers=auth("planner")).get_json()
    assert body["stale"] is True and body["as_of"] == clock.today().isoformat()
    job = db.session.get(Job, body["refresh_job_id"])
    assert job.params["as_of"] == (clock.today() + dt.timedelta(days=1)).isoformat()


def test_planners_follow_the_refreshes_of_their_scope_but_cancel_only_their_own(
    client, world, auth
):
    job_id = _refresh_from(client.get(SERIES, headers=auth("admin")))
    other = {"Authorization": f"Bearer {create_token('planner', province_code='01')[0]}"}
    mine = {"Authorization": f"Bearer {create_token('planner', province_code='33')[0]}"}
    db.session.commit()
    url = f"/api/v1/jobs/{job_id}"

    assert client.get(url, headers=auth("planner")).status_code == 200  # all-country planner
    assert client.get(url, headers=auth("caseworker")).status_code == 404
    assert client.get(url, headers=other).status_code == 404  # a national refresh, not theirs
    assert client.post(url + "/cancel", headers=auth("planner")).status_code == 403

    # A province planner's request queues that province's refresh, which they may follow.
    scoped = _refresh_from(client.get(SERIES, headers=mine))
    assert db.session.get(Job, scoped).province_scope == "33"
    assert client.get(f"/api/v1/jobs/{scoped}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/jobs/{scoped}", headers=other).status_code == 404
    listed = client.get("/api/v1/jobs?kind=planning_refresh", headers=mine).get_json()["items"]
    assert [j["id"] for j in listed] == [scoped]


def test_a_refresh_that_failed_is_answered_not_queued_again(client, world, auth):
    failed = Job(kind="planning_refresh", status="failed", error="MemoryError: too big",
                 params={"province_code": None, "area_level": "former_district",
                         "as_of": clock.today().isoformat()},
                 finished_at=jobs.real_now())  # fmt: skip
    db.session.add(failed)
    db.session.commit()

    response = client.get(SERIES, headers=auth("planner"))

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert f"#{failed.id}" in response.get_json()["detail"] and "too big" in response.get_json()[
        "detail"
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
        Job.kind == "planning_refresh")) == 1  # fmt: skip


def test_the_watcher_waits_for_the_data_to_go_quiet(app, world):
    app.config.update(PLANNING_DEBOUNCE_S=120, PLANNING_MAX_STALE_S=3600)
    now = jobs.real_now()
    # Nothing stored for the national view: refreshed whatever the data are doing.
    first = svc.watch(now)
    assert len(first) == 1 and svc.watch(now) == []  # queued once
    jobs.execute(first[0])
    assert svc.watch(now) == []  # current

    touch("enrollments")
    db.session.commit()
    assert svc.watch(jobs.real_now()) == []  # written a moment ago: wait
    later = svc.watch(jobs.real_now() + dt.timedelta(seconds=121))
    assert len(later) == 1
    assert db.session.get(Job, later[0]).params["area_level"] == "former_district"


def test_the_watcher_refreshes_busy_data_once_the_result_is_too_old(app, world):
    app.config.update(PLANNING_DEBOUNCE_S=120, PLANNING_MAX_STALE_S=600)
    svc.refresh(svc.Scope(None, "former_district", clock.today()))
    touch("workers")
    db.session.commit()
    now = jobs.real_now()
    assert svc.watch(now) == []
    assert len(svc.watch(now + dt.timedelta(seconds=601))) == 1


def test_stored_results_are_read_per_app_so_another_database_is_never_served(tmp_path):
    """Two databases number their rows alike; a process-wide cache of unpickled results
    keyed by row would serve the first database's result to the second (seen with the
    earlier per-process cache when two test apps ran in one process)."""
    answers = []
    for name, area_level in (("a", "former_district"), ("b", "park")):
        schema = schema_name(f"per_app_{name}")
        if ON_POSTGRES:
            create_schema(schema)
        config = app_config(tmp_path / name, schema=schema, sqlite_file=tmp_path / f"{name}.db")
        app = create_app(config)
        try:
            with app.app_context():
                db.create_all()
                row = svc.refresh(svc.Scope(None, area_level, clock.today()))
                answers.append((row.id, svc.load(row).scope.area_level))
                db.session.remove()
                db.engine.dispose()
        finally:
            if ON_POSTGRES:
                drop_schema(schema)
    assert answers == [(1, "former_district"), (1, "park")]


def test_a_result_stored_by_older_code_is_stale_and_unreadable_is_as_none(client, world, auth):
    row = svc.refresh(svc.Scope(None, "former_district", clock.today()))
    row.data_versions = {k: v for k, v in row.data_versions.items() if k != "bundle_format"}
    row.payload = b"not a stored result"
    db.session.commit()
    svc._loaded().clear()

    response = client.get(SERIES, headers=auth("planner"))

    assert response.status_code == 202  # its refresh, not a 500 on the old bytes
    jobs.execute(response.get_json()["id"])
    assert client.get(SERIES, headers=auth("planner")).get_json()["stale"] is False


def test_a_file_made_from_a_stored_result_is_made_once_per_result(client, world, auth):
    svc.refresh(svc.Scope(None, "former_district", clock.today()))
    url = "/api/v1/planning/placement-results?by=provider&format=xlsx"
    first = client.get(url, headers=auth("planner"))
    again = client.get(url, headers=auth("planner"))
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and again.mimetype == first.mimetype
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert len(client.application.extensions["caunoi_planning_files"]) == 1  # made once
    # New data: a new result, and a new file made from it (the old one is not served).
    touch("enrollments")
    db.session.commit()
    stale = client.get(url, headers=auth("planner"))
    assert stale.headers["X-Stale"] == "true" and stale.data == first.data
    jobs.execute(int(stale.headers["X-Refresh-Job"]))
    fresh = client.get(url, headers=auth("planner"))
    assert fresh.headers["X-Stale"] == "false"
    assert fresh.headers["X-Computed-At"] != first.headers["X-Computed-At"]
    assert len(client.application.extensions["caunoi_planning_files"]) == 2


def _commitments_in(*ward_codes: str) -> None:
    """A commitment starting two months ago at each ward: demand history the series count."""
    for code in ward_codes:
        firm = factories.enterprise(ward_code=code)
        factories.commitment(firm, ward_code=code, start_date=clock.today() - dt.timedelta(60))
    db.session.commit()


def test_a_province_planner_is_answered_from_that_province_only(client, world, auth):
    other_ward = gazetteer().wards("01")[0].code
    _commitments_in(factories.HUNG_YEN_WARD, other_ward)
    mine = {"Authorization": f"Bearer {create_token('planner', province_code='33')[0]}"}
    db.session.commit()

    assert client.get(SERIES + "?province=01", headers=mine).status_code == 403
    jobs.execute(_refresh_from(client.get(SERIES, headers=mine)))
    jobs.execute(_refresh_from(client.get(SERIES, headers=auth("planner"))))

    scoped = client.get(SERIES + "?kind=demand&limit=500", headers=mine).get_json()
    national = client.get(SERIES + "?kind=demand&limit=500", headers=auth("planner")).get_json()
    assert scoped["stale"] is False and national["stale"] is False
    assert {i["area_code"][:2] for i in scoped["items"]} == {"33"}
    assert {i["area_code"][:2] for i in national["items"]} == {"33", "01"}
    keys = db.session.scalars(sa.select(PlanningResult.scope_key).order_by(PlanningResult.id))
    assert keys.all() == ["33/former_district", "*/former_district"]


def test_series_by_park_catchment_are_their_own_scope(client, world, auth):
    wards = [w.code for w in gazetteer().wards("33")[:40]]
    _commitments_in(*wards)
    url = SERIES + "?kind=demand&area_level=park&limit=500"
    jobs.execute(_refresh_from(client.get(url, headers=auth("planner"))))

    body = client.get(url, headers=auth("planner")).get_json()

    assert body["area_level"] == "park" and body["stale"] is False
    expected = set(areas_of(pd.Series(wards), "park")["area_code"].dropna())
    shown = {i["area_code"] for i in body["items"] if i["area_level"] == "park"}
    assert shown == expected and any(code.startswith("33-kcn-") for code in shown)
    assert svc.latest(None, "park") is not None and svc.latest(None, "former_district") is None


def test_a_stored_result_not_signed_with_this_install_secret_is_never_unpickled(
    client, world, auth
):
    """Whoever can write the table but has not the secret cannot make a web process run a
    pickle: the row is refused (answered as none, with its refresh queued)."""
    row = svc.refresh(svc.Scope(None, "former_district", clock.today()))
    # A pickle that would run code when loaded, signed with another key.
    row.payload = model_store.dumps_signed(_Explodes(), b"not this install's secret")
    db.session.commit()
    svc._loaded().clear()

    response = client.get(SERIES, headers=auth("planner"))

    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    assert not _Explodes.ran
    jobs.execute(response.get_json()["id"])  # computed again, though its stamp was current
    assert client.get(SERIES, headers=auth("planner")).get_json()["stale"] is False
    assert not _Explodes.ran


class _Explodes:
    ran = False

    def __reduce__(self):
        return (_explode, ())


def _explode():
    _Explodes.ran = True
    return None


def test_new_data_after_a_refresh_job_queue_another(client, world, auth):
    first = _refresh_from(client.get(SERIES, headers=auth("planner")))
    jobs.execute(first)
    touch("referrals")
    db.session.commit()

    body = client.get(SERIES, headers=auth("planner")).get_json()

    assert body["stale"] is True and body["refresh_job_id"] not in (None, first)


def test_a_process_that_disagrees_on_the_stamp_does_not_flood_the_queue(client, world, auth):
    """The consumer found the result current (its model), this process finds it stale (a
    model it cannot load, say): it is served stale with that refresh, not asked again."""
    first = _refresh_from(client.get(SERIES, headers=auth("planner")))
    jobs.execute(first)
    row = svc.latest(None, "former_district")
    row.model_version = "a model only the consumer loads"
    db.session.commit()

    answers = [client.get(SERIES, headers=auth("planner")).get_json() for _ in range(3)]

    assert [a["stale"] for a in answers] == [True, True, True]
    assert {a["refresh_job_id"] for a in answers} == {first}
    count = sa.select(sa.func.count()).select_from(Job).where(Job.kind == "planning_refresh")
    assert db.session.scalar(count) == 1


def test_an_unknown_province_is_a_named_422_and_stores_no_scope(client, world, auth):
    response = client.get(SERIES + "?province=99", headers=auth("planner"))
    assert response.status_code == 422 and "province" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
        Job.kind == "planning_refresh")) == 0  # fmt: skip


def test_a_result_of_another_bundle_format_is_never_served(client, world, auth):
    row = svc.refresh(svc.Scope(None, "former_district", clock.today()))
    row.data_versions = {**row.data_versions, "bundle_format": svc.BUNDLE_FORMAT - 1}
    db.session.commit()
    assert client.get(SERIES, headers=auth("planner")).status_code == 202
