"""The registry over HTTP: create, read, update, list (filters, cursors), delete, erase."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from matcher import clock
from tests import factories

TODAY = clock.today()


def _worker_body(**overrides):
    body = {
        "external_id": "HY-100",
        "full_name": "Nguyễn Thị Hoa",
        "birth_year": 1996,
        "gender": "female",
        "ward_code": "11983",
        "phone": "+84 912 345 678",
        "trades": ["garment"],
        "skills": ["may công nghiệp", "garment.overlock"],
        "expected_wage_vnd": 7_500_000,
    }
    body.update(overrides)
    return body


def test_create_worker_from_old_address_resolves_2025_ward(client, auth, world):
    body = _worker_body(ward_code=None, address="Xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên")
    response = client.post("/api/v1/workers", json=body, headers=auth("caseworker"))
    assert response.status_code == 201, response.get_json()
    worker = response.get_json()
    assert worker["place_source"] == "address_legacy_converted"
    assert worker["province_code"] == "33" and worker["ward_name"]
    assert worker["address"] == "Xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên"


def test_create_worker_reports_every_bad_field(client, auth, world):
    body = _worker_body(ward_code="99999", phone="12345", birth_year=TODAY.year - 5)
    response = client.post("/api/v1/workers", json=body, headers=auth("caseworker"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert {"ward_code", "phone", "birth_year"} <= fields


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"birth_year": "1990"}, "birth_year"),
        ({"trades": ["cooking"]}, "trades.0"),
        ({"shoe_size": 42}, "shoe_size"),
        ({"expected_wage_vnd": -1}, "expected_wage_vnd"),
        ({"full_name": "A\x07B"}, "full_name"),
    ],
)
def test_create_worker_with_wrong_type_names_the_field(client, auth, world, body, field):
    response = client.post("/api/v1/workers", json=_worker_body(**body), headers=auth("caseworker"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.get_json()["errors"]}


def test_malformed_json_is_400_and_form_body_is_415(client, auth, world):
    headers = {**auth("caseworker"), "Content-Type": "application/json"}
    assert client.post("/api/v1/workers", data="{not json", headers=headers).status_code == 400
    response = client.post("/api/v1/workers", data={"a": "b"}, headers=auth("caseworker"))
    assert response.status_code == 415


def test_duplicate_external_id_is_conflict(client, auth, world):
    body = _worker_body(external_id=world.worker.external_id)
    assert client.post("/api/v1/workers", json=body, headers=auth("caseworker")).status_code == 409


def test_list_workers_searches_names_without_diacritics_and_pages(client, auth, world):
    for i in range(5):
        factories.worker(full_name=f"Phạm Đức Anh {i}", trades=["electronics"])
    from api.extensions import db

    db.session.commit()
    seen, cursor = [], None
    while True:
        params = {"q": "pham duc anh", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/workers", query_string=params, headers=auth("caseworker"))
        body = page.get_json()
        seen += [w["full_name"] for w in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"Phạm Đức Anh {i}" for i in range(5)]
    by_trade = client.get(
        "/api/v1/workers", query_string={"trade": "electronics"}, headers=auth("caseworker")
    ).get_json()["items"]
    assert len(by_trade) == 5


def test_patch_worker_revalidates_and_keeps_the_rest(client, auth, world):
    url = f"/api/v1/workers/{world.worker.id}"
    response = client.patch(url, json={"ward_code": "11953"}, headers=auth("caseworker"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["ward_code"] == "11953" and body["full_name"] == world.worker.full_name
    bad = client.patch(url, json={"phone": "0000"}, headers=auth("caseworker"))
    assert bad.status_code == 422
    cleared = client.patch(url, json={"expected_wage_vnd": None}, headers=auth("caseworker"))
    assert cleared.get_json()["expected_wage_vnd"] is None


def test_erasure_removes_personal_data_and_blocks_reuse(client, auth, world):
    url = f"/api/v1/workers/{world.referred_worker.id}"
    assert client.delete(url, headers=auth("caseworker")).status_code == 204
    body = client.get(url, headers=auth("admin")).get_json()
    assert body["erased"] is True
    for field in ("full_name", "phone", "birth_year", "gender", "address"):
        assert body[field] is None
    assert body["ward_code"] == world.referred_worker.ward_code
    assert client.patch(url, json={"full_name": "X"}, headers=auth("caseworker")).status_code == 409
    csv = "external_id,full_name,birth_year,ward_code\n"
    csv += f"{world.referred_worker.external_id},X Y,1990,11983\n"
    report = client.post(
        "/api/v1/imports/workers",
        data={"file": (io.BytesIO(csv.encode()), "w.csv")},
        headers=auth("caseworker"),
        content_type="multipart/form-data",
    ).get_json()
    assert report["rejected"] == 1 and "erasure" in report["errors"][0]["reason"]
    referral = client.post(
        "/api/v1/referrals",
        json={"worker_id": world.referred_worker.id, "commitment_id": world.other_commitment.id},
        headers=auth("caseworker"),
    )
    assert referral.status_code == 409


def test_enterprise_crud_and_tax_code_rule(client, auth, world):
    body = {
        "external_id": "DN-9",
        "name": "Công ty TNHH Điện tử Yên Mỹ",
        "tax_code": "0900123456-001",
        "ward_code": "12073",
        "contact_email": "hr@dientu.vn",
    }
    created = client.post("/api/v1/enterprises", json=body, headers=auth("caseworker"))
    assert created.status_code == 201, created.get_json()
    bad = client.post(
        "/api/v1/enterprises",
        json={**body, "external_id": "DN-10", "tax_code": "12"},
        headers=auth("caseworker"),
    )
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "tax_code"
    found = client.get(
        "/api/v1/enterprises", query_string={"q": "dien tu yen my"}, headers=auth("planner")
    ).get_json()["items"]
    assert [e["external_id"] for e in found] == ["DN-9"] and found[0]["contact_email"] is None
    enterprise_id = created.get_json()["id"]
    assert (
        client.delete(f"/api/v1/enterprises/{enterprise_id}", headers=auth("admin")).status_code
        == 204
    )
    in_use = client.delete(f"/api/v1/enterprises/{world.enterprise.id}", headers=auth("admin"))
    assert in_use.status_code == 409


def test_course_dates_and_delete_rules(client, auth, world):
    body = {
        "external_id": "K-1",
        "name": "Điện dân dụng",
        "trade": "electrical",
        "provider": "Trung tâm GDNN-GDTX Văn Lâm",
        "ward_code": "11983",
        "start_date": "2026-03-01",
        "end_date": "2026-02-01",
        "capacity": 25,
    }
    assert client.post("/api/v1/courses", json=body, headers=auth("caseworker")).status_code == 422
    body["end_date"] = "2026-06-01"
    created = client.post("/api/v1/courses", json=body, headers=auth("caseworker")).get_json()
    assert created["enrolled"] == 0
    used = client.delete(f"/api/v1/courses/{world.course.id}", headers=auth("caseworker"))
    assert used.status_code == 409
    assert (
        client.delete(f"/api/v1/courses/{created['id']}", headers=auth("caseworker")).status_code
        == 204
    )


def test_enterprise_posts_own_commitment_and_slots_cannot_drop_below_hires(client, auth, world):
    body = {
        "external_id": "CM-77",
        "trade": "garment",
        "slots": 2,
        "wage_vnd": 7_000_000,
        "start_date": TODAY.isoformat(),
        "required_skills": ["may công nghiệp"],
    }
    created = client.post("/api/v1/commitments", json=body, headers=auth("enterprise"))
    assert created.status_code == 201, created.get_json()
    commitment = created.get_json()
    assert commitment["enterprise_id"] == world.enterprise.id and commitment["state"] == "open"
    assert commitment["required_skills"] == ["garment.industrial_sewing"]
    world.commitment.slots_filled = 3
    from api.extensions import db

    db.session.commit()
    shrink = client.patch(
        f"/api/v1/commitments/{world.commitment.id}", json={"slots": 2}, headers=auth("enterprise")
    )
    assert shrink.status_code == 422
    open_now = client.get(
        "/api/v1/commitments", query_string={"state": "open"}, headers=auth("planner")
    ).get_json()["items"]
    assert {c["external_id"] for c in open_now} >= {"CM-77"}


def test_enrollment_lifecycle(client, auth, world):
    created = client.post(
        "/api/v1/enrollments",
        json={
            "worker_external_id": world.worker.external_id,
            "course_external_id": world.course.external_id,
            "status": "enrolled",
        },
        headers=auth("caseworker"),
    )
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/enrollments/{created.get_json()['id']}"
    done = client.patch(
        url,
        json={"status": "graduated", "completed_on": TODAY.isoformat()},
        headers=auth("caseworker"),
    )
    assert done.status_code == 200 and done.get_json()["status"] == "graduated"
    future = client.patch(
        url,
        json={"completed_on": (TODAY + dt.timedelta(days=3)).isoformat()},
        headers=auth("caseworker"),
    )
    assert future.status_code == 422
    assert client.delete(url, headers=auth("caseworker")).status_code == 204


@pytest.mark.parametrize("q", ["son nam", "Sơn Nam", "PHƯỜNG SƠN NAM", "hung yen son nam"])
def test_place_search_with_or_without_diacritics(client, auth, world, q):
    items = client.get("/api/v1/places", query_string={"q": q}, headers=auth("planner")).get_json()
    assert items["items"][0]["code"] == "11983"


def test_place_search_resolves_old_address(client, auth, world):
    body = client.get(
        "/api/v1/places",
        query_string={"q": "Xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên"},
        headers=auth("caseworker"),
    ).get_json()
    assert body["address_match"]["method"] == "address_legacy_converted"
    assert body["address_match"]["ward"]["province_code"] == "33"


@pytest.mark.parametrize(("code", "status"), [("11983", 200), ("99999", 404), ("abc", 404)])
def test_place_lookup_by_code(client, auth, world, code, status):
    assert client.get(f"/api/v1/places/{code}", headers=auth("enterprise")).status_code == status


def test_taxonomy_endpoints(client, auth, world):
    trades = client.get("/api/v1/taxonomy/trades", headers=auth("planner")).get_json()["items"]
    assert [t["code"] for t in trades] == [
        "garment",
        "electrical",
        "electronics",
        "textile",
        "carpentry",
        "handicraft",
    ]
    garment = client.get(
        "/api/v1/taxonomy/skills", query_string={"trade": "garment"}, headers=auth("planner")
    ).get_json()["items"]
    assert len(garment) >= 15 and all("garment" in s["trades"] for s in garment)
    normalized = client.get(
        "/api/v1/taxonomy/skills/normalize",
        query_string={"q": "may cong nghiep; biết hàn linh kiện; lái máy bay"},
        headers=auth("caseworker"),
    ).get_json()["items"]
    assert [i["match"]["code"] if i["known"] else None for i in normalized] == [
        "garment.industrial_sewing",
        "electronics.soldering",
        None,
    ]


@pytest.mark.parametrize(
    ("url", "role", "size"),
    [("/api/v1/taxonomy/skills", "planner", 40), ("/api/v1/taxonomy/trades", "planner", 4),
     ("/api/v1/tokens", "admin", 2)],
)  # fmt: skip
def test_every_list_takes_limit_and_cursor(client, auth, world, url, role, size):
    # GET /taxonomy/skills?limit=100 was refused (issue 11): lists follow the contract.
    everything = client.get(url, query_string={"limit": 200}, headers=auth(role)).get_json()
    seen, cursor = [], None
    while True:
        params = {"limit": size, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, query_string=params, headers=auth(role))
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        assert len(body["items"]) <= size
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == everything["items"] and len(seen) > size


def test_free_text_skills_are_reported_and_unrecognised_text_is_kept(client, auth, world):
    # Unrecognised skill text vanished and the caller was not told (issue 11, item 6).
    body = {**_worker_body(), "skills": ["may công nghiệp", "nuôi ong mật"]}
    created = client.post("/api/v1/workers", json=body, headers=auth("caseworker"))

    assert created.status_code == 201, created.get_json()
    out = created.get_json()
    notes = {n["text"]: n["code"] for n in out["skill_notes"]}
    assert notes["nuôi ong mật"] is None and notes["may công nghiệp"] is not None
    assert out["skills_unrecognised"] == ["nuôi ong mật"]
    assert notes["may công nghiệp"] in out["skills"]

    # A PATCH of another field keeps the text; the enterprise never sees it.
    patched = client.patch(
        f"/api/v1/workers/{out['id']}", json={"expected_wage_vnd": 7_500_000},
        headers=auth("caseworker"),
    )  # fmt: skip
    assert patched.get_json()["skills_unrecognised"] == ["nuôi ong mật"]
    again = client.get(f"/api/v1/workers/{out['id']}", headers=auth("caseworker")).get_json()
    assert again["skills_unrecognised"] == ["nuôi ong mật"]


def test_commitment_keeps_unrecognised_required_skills(client, auth, world):
    body = {
        "external_id": "CK-SK", "enterprise_external_id": world.enterprise.external_id,
        "trade": "garment", "slots": 3, "wage_vnd": 7_000_000, "start_date": "2026-12-20",
        "required_skills": ["vắt sổ", "đan giỏ mây tre kiểu Nhật"],
    }  # fmt: skip
    created = client.post("/api/v1/commitments", json=body, headers=auth("caseworker"))

    assert created.status_code == 201, created.get_json()
    out = created.get_json()
    assert out["required_skills_unrecognised"] == ["đan giỏ mây tre kiểu Nhật"]
    assert {n["text"] for n in out["skill_notes"]} == set(body["required_skills"])
