"""Imports end to end: files through real HTTP and the CLI into the database, and back out."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import requests
import sqlalchemy as sa

from api.extensions import db
from api.models import Commitment, Enterprise, ImportRun, Referral, ReferralEvent, Worker
from matcher import clock

TODAY = clock.today()

WORKERS_CSV = (
    "external_id,full_name,birth_year,gender,ward_code,address,phone,education,trades,skills,"
    "expected_wage_vnd,max_commute_km\n"
    "W1,Nguyễn Thị Hoa,1995,female,11983,,0912345678,upper_secondary,garment,"
    "may công nghiệp;vắt sổ,7000000,25\n"
    'W2,Trần Văn Nam,1990,male,,"Xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên",0987654321,'
    "lower_secondary,electrical,sua dien dan dung,8000000,\n"
    "W3,Lê Thị Mai,2001,female,11983,,0356789123,college,electronics;garment,"
    "electronics.soldering;lái máy bay,,\n"
)


def _post(server, token: str, kind: str, data: bytes, filename: str, atomic: bool = False):
    return requests.post(
        f"{server.url}/api/v1/imports/{kind}",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (filename, data)},
        data={"atomic": "true" if atomic else "false"},
        timeout=60,
    )


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_workers_over_http_reports_and_writes(live_server, world):
    response = _post(
        live_server, world.tokens["caseworker"], "workers", WORKERS_CSV.encode(), "w.csv"
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["rejected"]) == (3, 0, 0)
    assert report["errors"] == []
    skills = {(n["text"], n["code"]) for n in report["skill_notes"]}
    assert ("may công nghiệp", "garment.industrial_sewing") in skills
    assert ("sua dien dan dung", "electrical.household_repair") in skills
    assert ("lái máy bay", None) in skills
    methods = {n["method"] for n in report["place_notes"]}
    assert "address_legacy_converted" in methods
    nam = db.session.scalar(sa.select(Worker).where(Worker.external_id == "W2"))
    assert nam.province_code == "33" and nam.place_source == "address_legacy_converted"
    assert nam.skills == ["electrical.household_repair"]
    mai = db.session.scalar(sa.select(Worker).where(Worker.external_id == "W3"))
    assert mai.skills == ["electronics.soldering"]


def test_reimport_same_file_changes_nothing(live_server, world):
    token = world.tokens["caseworker"]
    _post(live_server, token, "workers", WORKERS_CSV.encode(), "w.csv")
    before = db.session.execute(sa.select(Worker.external_id, Worker.updated_at)).all()
    report = _post(live_server, token, "workers", WORKERS_CSV.encode(), "w.csv").json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)
    db.session.expire_all()
    assert db.session.execute(sa.select(Worker.external_id, Worker.updated_at)).all() == before


def test_import_updates_by_external_id_and_keeps_absent_columns(live_server, world):
    token = world.tokens["caseworker"]
    _post(live_server, token, "workers", WORKERS_CSV.encode(), "w.csv")
    update = "external_id,full_name,birth_year,ward_code\nW1,Nguyễn Thị Hoà,1995,11983\n"
    report = _post(live_server, token, "workers", update.encode(), "u.csv").json()
    assert (report["created"], report["updated"]) == (0, 1)
    hoa = db.session.scalar(sa.select(Worker).where(Worker.external_id == "W1"))
    db.session.refresh(hoa)
    assert hoa.full_name == "Nguyễn Thị Hoà"
    assert hoa.phone == "+84912345678"  # not in the file: kept
    assert hoa.expected_wage_vnd == 7_000_000


def test_import_with_bom_and_semicolons_reads_like_plain_csv(live_server, world):
    data = "\ufeff" + WORKERS_CSV.replace(",", ";").replace(
        "Xã Tân Lập; huyện Yên Mỹ; tỉnh Hưng Yên", "x"
    )
    data = data.replace('"x"', '"Xã Tân Lập, huyện Yên Mỹ, tỉnh Hưng Yên"')
    data = data.replace("may công nghiệp;vắt sổ", "may công nghiệp")
    data = data.replace("electronics;garment", "electronics").replace(
        "electronics.soldering;lái máy bay", "electronics.soldering"
    )
    report = _post(
        live_server, world.tokens["admin"], "workers", data.encode("utf-8"), "w.csv"
    ).json()
    assert report["errors"] == [] and report["created"] == 3


def test_import_xlsx_file(live_server, world):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["External_ID", "Full_Name", "Birth_Year", "Ward_Code", "Available_From"])
    sheet.append(["X1", "Phạm Văn Long", 1992, 11983, dt.datetime(2026, 1, 5)])
    sheet.append(["X2", "Đỗ Thị Lan", 1999, "11953", None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = _post(
        live_server, world.tokens["caseworker"], "workers", buffer.getvalue(), "w.xlsx"
    ).json()
    assert report["errors"] == [] and report["created"] == 2
    long_ = db.session.scalar(sa.select(Worker).where(Worker.external_id == "X1"))
    assert long_.available_from == dt.date(2026, 1, 5)


def test_unknown_column_rejects_file_and_names_it(live_server, world):
    data = "external_id,full_name,birth_year,ward_code,shoe_size\nZ1,A B,1990,11983,42\n"
    report = _post(
        live_server, world.tokens["caseworker"], "workers", data.encode(), "w.csv"
    ).json()
    assert report["created"] == 0 and report["rejected"] == 1
    assert any(e["column"] == "shoe_size" for e in report["errors"])
    assert _count(Worker) == 2  # the world's two


def test_bad_rows_are_reported_and_never_half_written(live_server, world):
    data = (
        "external_id,full_name,birth_year,ward_code,phone\n"
        "G1,Good One,1990,11983,0912345678\n"
        "B1,Bad Ward,1990,99999,0912345678\n"
        "G1,Duplicate,1991,11983,\n"
        "B2,Too Young,2020,11983,12345\n"
    )
    report = _post(
        live_server, world.tokens["caseworker"], "workers", data.encode(), "w.csv"
    ).json()
    assert report["created"] == 1 and report["rejected"] == 3
    by_row = {(e["row"], e["column"]) for e in report["errors"]}
    assert (3, "ward_code") in by_row
    assert (4, "external_id") in by_row
    assert (5, "birth_year") in by_row and (5, "phone") in by_row
    assert db.session.scalar(sa.select(Worker).where(Worker.external_id == "B2")) is None


def test_atomic_import_writes_nothing_when_one_row_is_bad(live_server, world):
    data = (
        "external_id,full_name,birth_year,ward_code\n"
        "A1,Good One,1990,11983\n"
        "A2,Bad Ward,1990,99999\n"
    )
    response = _post(
        live_server, world.tokens["caseworker"], "workers", data.encode(), "w.csv", atomic=True
    )
    report = response.json()
    assert report["written"] is False and report["created"] == 0
    assert db.session.scalar(sa.select(Worker).where(Worker.external_id == "A1")) is None
    runs = db.session.scalars(sa.select(ImportRun)).all()
    assert runs and runs[-1].atomic is True


def test_referral_import_never_overfills_commitment(live_server, world):
    token = world.tokens["caseworker"]
    workers = "external_id,full_name,birth_year,ward_code\n" + "".join(
        f"R{i},Người {i},1990,11983\n" for i in range(4)
    )
    _post(live_server, token, "workers", workers.encode(), "w.csv")
    commitments = (
        "external_id,enterprise_external_id,trade,slots,wage_vnd,start_date\n"
        f"SMALL,{world.enterprise.external_id},garment,2,7000000,{TODAY.isoformat()}\n"
    )
    assert (
        _post(live_server, token, "commitments", commitments.encode(), "c.csv").json()["created"]
        == 1
    )
    day = (TODAY - dt.timedelta(days=5)).isoformat()
    referrals = (
        "worker_external_id,commitment_external_id,referred_on,outcome,hired_on\n"
        + "".join(f"R{i},SMALL,{day},hired,{day}\n" for i in range(4))
    )
    report = _post(live_server, token, "referrals", referrals.encode(), "r.csv").json()
    assert report["created"] == 2 and report["rejected"] == 2
    assert {e["column"] for e in report["errors"]} == {"outcome"}
    small = db.session.scalar(sa.select(Commitment).where(Commitment.external_id == "SMALL"))
    db.session.refresh(small)
    assert small.slots_filled == 2
    events = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ReferralEvent)
        .join(Referral)
        .where(Referral.commitment_id == small.id)
    )
    assert events == 2


def test_commitment_import_needs_known_enterprise_and_defaults_site(live_server, world):
    token = world.tokens["caseworker"]
    data = (
        "external_id,enterprise_external_id,trade,slots,wage_vnd,start_date,required_skills\n"
        f"C1,{world.enterprise.external_id},garment,5,7500000,2026-12-01,may công nghiệp\n"
        "C2,NOPE,garment,5,7500000,2026-12-01,\n"
    )
    report = _post(live_server, token, "commitments", data.encode(), "c.csv").json()
    assert report["created"] == 1
    assert report["errors"][0]["row"] == 3
    assert report["errors"][0]["column"] == "enterprise_external_id"
    c1 = db.session.scalar(sa.select(Commitment).where(Commitment.external_id == "C1"))
    assert c1.site_from_enterprise and c1.ward_code == world.enterprise.ward_code
    assert c1.required_skills == ["garment.industrial_sewing"]


def test_unreadable_file_is_a_problem_not_a_crash(live_server, world):
    response = _post(
        live_server,
        world.tokens["caseworker"],
        "workers",
        "Tên;Mức\n".encode("cp1252", errors="replace") + b"\xea\xe2\n",
        "w.csv",
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    response = _post(live_server, world.tokens["caseworker"], "workers", b"", "w.csv")
    assert response.status_code == 422


def test_unknown_kind_is_422(client, world, auth):
    response = client.post(
        "/api/v1/imports/pets",
        data={"file": (io.BytesIO(b"a\n1\n"), "p.csv")},
        headers=auth("caseworker"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422


def test_cli_import_prints_report_and_exits_nonzero_on_bad_rows(runner, world, tmp_path):
    path = tmp_path / "enterprises.csv"
    path.write_text(
        "external_id,name,tax_code,ward_code\n"
        "E1,Công ty TNHH Điện tử Minh Đức,0101234567,11983\n"
        "E2,Bad Tax,12345,11983\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "enterprises", str(path)])
    assert result.exit_code == 1
    assert "tax_code" in result.output and "created 1" in result.output
    assert db.session.scalar(sa.select(Enterprise).where(Enterprise.external_id == "E1"))
    result = runner.invoke(args=["import", "enterprises", str(path), "--atomic"])
    assert "nothing was written" in result.output
    ok = tmp_path / "ok.csv"
    ok.write_text(
        "external_id,name,tax_code,ward_code\nE1,Công ty TNHH Điện tử Minh Đức,0101234567,11983\n"
    )
    result = runner.invoke(args=["import", "enterprises", str(ok)])
    assert result.exit_code == 0 and "unchanged 1" in result.output
