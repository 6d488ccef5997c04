"""Wards and communes of Vietnam (2025 scheme): search, lookup and address resolution."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.errors import NotFound
from api.models import ROLES
from api.openapi import operation
from api.queries import page_of
from api.schemas import PlaceQuery, PlaceSearchOut, WardOut
from matcher.places import Ward, gazetteer

bp = Blueprint("places", __name__, url_prefix="/api/v1")


def ward_out(ward: Ward) -> dict[str, Any]:
    return {
        "code": ward.code,
        "name": ward.name,
        "short_name": ward.short_name,
        "kind": ward.kind,
        "province_code": ward.province_code,
        "province_name": ward.province_name,
        "lat": ward.lat,
        "lon": ward.lon,
        "former_districts": list(ward.former_districts),
    }


@operation(
    bp,
    "/places",
    summary="Search wards/communes by name or address",
    roles=ROLES,
    query=PlaceQuery,
    response=PlaceSearchOut,
)
def search_places(query: PlaceQuery) -> dict[str, Any]:
    """Names match with or without diacritics; an address (old district form too) resolves.
    The ranking is fixed for a given q (the gazetteer does not change while serving), so a
    position is a stable cursor."""
    gaz = gazetteer()
    found = gaz.search(
        query.q, province_code=query.province_code, limit=query.after_id + query.limit + 1
    )
    wards, cursor = page_of(found, query)
    match = gaz.resolve_address(query.q) if "," in query.q or len(query.q) > 25 else None
    if match and query.province_code and match.ward.province_code != query.province_code:
        match = None
    return {
        "query": query.q,
        "items": [ward_out(w) for w in wards],
        "address_match": {
            "ward": ward_out(match.ward),
            "method": match.method,
            "confidence": match.confidence,
            "note": match.note,
        }
        if match
        else None,
        "next_cursor": cursor,
    }


@operation(
    bp,
    "/places/<ward_code>",
    summary="Get a ward/commune by its 5-digit code",
    roles=ROLES,
    response=WardOut,
    path_schemas={"ward_code": {"type": "string", "pattern": "^[0-9]{5}$"}},
)
def get_place(ward_code: str) -> dict[str, Any]:
    ward = gazetteer().get(ward_code) if ward_code.isdigit() and len(ward_code) == 5 else None
    if ward is None:
        raise NotFound(
            f"Không có phường/xã mã '{ward_code[:20]}' / no ward with code '{ward_code[:20]}'"
        )
    return ward_out(ward)
