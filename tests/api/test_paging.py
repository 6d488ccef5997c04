"""Every list takes the contract's ``limit`` and ``cursor`` (issue 11, item 6): the ranked
lists (matches, shortlists, pathways), model versions and place search, walked page by page
against the whole list."""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from api.extensions import db
from api.models import Commitment
from matcher import model_store
from matcher.places import gazetteer
from tests import factories
from tests.factories import TODAY

# GETs whose answer is not a list of records: normalising a query's own skill phrases, and
# an allocation round's download (the round's pairs page through GET /allocations/{id}).
NOT_LISTS = {"/api/v1/taxonomy/skills/normalize", "/api/v1/allocations/{run_id}/export"}


def _walk(client, url, headers, size, **params):
    """Every page of a list, following next_cursor; the items in order."""
    seen, cursor, pages = [], None, 0
    while True:
        query = {**params, "limit": size, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, query_string=query, headers=headers)
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        assert len(body["items"]) <= size
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100, "the cursor does not advance"


def _wards(count: int) -> list[str]:
    """Hưng Yên wards, nearest the test world's ward first, so every one is in reach."""
    home = gazetteer().get(factories.HUNG_YEN_WARD)
    wards = sorted(
        gazetteer().wards("33"), key=lambda w: (w.lat - home.lat) ** 2 + (w.lon - home.lon) ** 2
    )
    return [w.code for w in wards[:count]]


def test_openapi_gives_every_list_limit_and_cursor(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    lists = []
    for path, operations in doc["paths"].items():
        get = operations.get("get")
        if get is None or path in NOT_LISTS:
            continue
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        properties = doc["components"]["schemas"].get(name, {}).get("properties", {})
        if "items" not in properties and "groups" not in properties:
            continue
        lists.append(path)
        params = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "cursor"} <= params, path
        assert "next_cursor" in properties, path
    assert len(lists) >= 20, lists  # the check looked at the lists, not at nothing


def test_matches_page_through_the_ranking_without_repeats(client, auth, world):
    ent = factories.enterprise()
    for k, ward in enumerate(_wards(24)):
        trade = ("garment", "electrical", "electronics")[k % 3]
        factories.commitment(ent, ward_code=ward, trade=trade, wage_vnd=7_000_000 + 97_000 * k)
    db.session.commit()
    url = f"/api/v1/workers/{world.worker.id}/matches"
    headers = auth("caseworker")
    whole = client.get(url, query_string={"limit": 50}, headers=headers).get_json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 26  # 24 + the world's 2

    seen, pages = _walk(client, url, headers, 4)

    assert [i["commitment_id"] for i in seen] == [i["commitment_id"] for i in whole["items"]]
    assert pages == 7


def test_a_page_after_a_change_continues_where_the_last_one_ended(client, auth, world):
    ent = factories.enterprise()
    for k, ward in enumerate(_wards(12)):
        factories.commitment(ent, ward_code=ward, wage_vnd=7_000_000 + 150_000 * k)
    db.session.commit()
    url = f"/api/v1/workers/{world.worker.id}/matches"
    headers = auth("caseworker")
    whole = [i["commitment_id"] for i in client.get(url, headers=headers).get_json()["items"]]
    first = client.get(url, query_string={"limit": 4}, headers=headers).get_json()
    # The page's best commitment fills up before the caseworker asks for the next page.
    filled = db.session.get(Commitment, first["items"][0]["commitment_id"])
    filled.slots_filled = filled.slots
    db.session.commit()

    second = client.get(
        url, query_string={"limit": 4, "cursor": first["next_cursor"]}, headers=headers
    ).get_json()

    assert [i["commitment_id"] for i in second["items"]] == whole[4:8]


def test_candidates_page_through_the_shortlist(client, auth, world):
    for k, ward in enumerate(_wards(20)):
        factories.worker(ward_code=ward, experience_years=0.5 + 0.3 * k)
    db.session.commit()
    url = f"/api/v1/commitments/{world.other_commitment.id}/candidates"
    for role, key in (("caseworker", "worker_id"), ("enterprise", "worker_ref")):
        if role == "enterprise":
            url = f"/api/v1/commitments/{world.commitment.id}/candidates"
        headers = auth(role)
        whole = client.get(url, query_string={"limit": 50}, headers=headers).get_json()
        assert len(whole["items"]) >= 20 and whole["next_cursor"] is None

        seen, _ = _walk(client, url, headers, 3)

        assert [i[key] for i in seen] == [i[key] for i in whole["items"]], role


def test_pathways_page_through_the_courses(client, auth, world):
    ent = factories.enterprise()
    for k, ward in enumerate(_wards(7)):
        trade = ("electrical", "electronics")[k % 2]
        course = factories.course(
            ward_code=ward, trade=trade, start_date=TODAY + dt.timedelta(days=10 + k),
            end_date=TODAY + dt.timedelta(days=70 + k), name=f"Điện dân dụng khóa {k}",
        )  # fmt: skip
        factories.commitment(
            ent, ward_code=ward, trade=trade, course_id=course.id,
            start_date=TODAY + dt.timedelta(days=80), expires_on=TODAY + dt.timedelta(days=200),
            wage_vnd=7_500_000 + 200_000 * k,
        )  # fmt: skip
    db.session.commit()
    url = f"/api/v1/workers/{world.worker.id}/pathways"
    headers = auth("caseworker")
    whole = client.get(url, query_string={"limit": 50}, headers=headers).get_json()
    assert len(whole["items"]) == 7

    seen, pages = _walk(client, url, headers, 2)

    assert [i["course_id"] for i in seen] == [i["course_id"] for i in whole["items"]]
    assert pages == 4


def test_model_versions_page_newest_first(app, client, auth, world):
    root = app.config["MODELS_DIR"]
    for k in range(5):
        model_store.save(root, {"stand-in": k}, {"scorer": "model"}, version=f"v{k}-test")
    headers = auth("admin")
    whole = client.get("/api/v1/models", headers=headers).get_json()
    assert [m["version"] for m in whole["items"]] == [f"v{k}-test" for k in reversed(range(5))]

    seen, pages = _walk(client, "/api/v1/models", headers, 2)

    assert [m["version"] for m in seen] == [m["version"] for m in whole["items"]]
    assert pages == 3
    gone = client.get("/api/v1/models", query_string={"cursor": "v9-test"}, headers=headers)
    assert gone.status_code == 422 and gone.get_json()["errors"][0]["field"] == "cursor"


def test_place_search_pages(client, auth, world):
    headers = auth("planner")
    whole = client.get(
        "/api/v1/places", query_string={"q": "hung", "limit": 100}, headers=headers
    ).get_json()
    assert len(whole["items"]) == 100 and whole["next_cursor"] == "100"

    seen, pages = _walk(client, "/api/v1/places", headers, 30, q="hung")

    assert [w["code"] for w in seen][:100] == [w["code"] for w in whole["items"]]
    assert len({w["code"] for w in seen}) == len(seen) == 110 and pages == 4


def _cursor(offset: int, score: float, record_id: int) -> str:
    return f"{offset}-{struct.pack('>d', score).hex()}-{record_id}"


@pytest.mark.parametrize(
    "cursor",
    ["abc", "12", _cursor(250, 0.5, 3), _cursor(10, 1.5, 3), _cursor(10, float("nan"), 3)],
)
def test_a_ranked_list_refuses_a_cursor_it_did_not_give(client, auth, world, cursor):
    response = client.get(
        f"/api/v1/workers/{world.worker.id}/matches",
        query_string={"cursor": cursor},
        headers=auth("caseworker"),
    )

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["cursor"]


def test_ranked_lists_stop_at_their_depth(client, auth, world):
    response = client.get(
        f"/api/v1/workers/{world.worker.id}/matches",
        query_string={"cursor": _cursor(199, 0.0001, 1), "limit": 50},
        headers=auth("caseworker"),
    )

    assert response.status_code == 200
    assert response.get_json()["next_cursor"] is None


def test_the_cursor_pattern_bounds_the_depth_the_lists_page_to():
    # The document's pattern spells RANKED_DEPTH out; the two must not drift apart.
    from api.schemas import _RANK_CURSOR, RANKED_DEPTH

    assert _RANK_CURSOR.match(_cursor(RANKED_DEPTH - 1, 1.0, 1))
    assert not _RANK_CURSOR.match(_cursor(RANKED_DEPTH, 1.0, 1))
