"""The trade and skill taxonomy, and free-text skill normalisation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.models import ROLES
from api.openapi import operation
from api.queries import page_of
from api.schemas import (
    NormalizeOut,
    NormalizeQuery,
    ReferencePageQuery,
    SkillList,
    SkillQuery,
    TradeList,
)
from matcher.taxonomy import taxonomy
from matcher.text import fold

bp = Blueprint("taxonomy", __name__, url_prefix="/api/v1/taxonomy")


def _match(m: Any) -> dict[str, Any]:
    return {
        "code": m.code,
        "label_vi": m.label_vi,
        "label_en": m.label_en,
        "confidence": round(m.confidence, 3),
    }


@operation(
    bp,
    "/trades",
    summary="List trades with their ISCO-08 occupations",
    roles=ROLES,
    query=ReferencePageQuery,
    response=TradeList,
)
def list_trades(query: ReferencePageQuery) -> dict[str, Any]:
    tax = taxonomy()
    trades, cursor = page_of(tax.trades(), query)
    return {
        "next_cursor": cursor,
        "items": [
            {
                "code": t.code,
                "label_vi": t.label_vi,
                "label_en": t.label_en,
                "occupations": [
                    {"isco": o.isco, "label_vi": o.label_vi, "label_en": o.label_en}
                    for o in t.occupations
                ],
                "skill_count": len(tax.skills(t.code)),
            }
            for t in trades
        ],
    }


@operation(
    bp,
    "/skills",
    summary="List skills (each with its trades)",
    roles=ROLES,
    query=SkillQuery,
    response=SkillList,
)
def list_skills(query: SkillQuery) -> dict[str, Any]:
    skills = taxonomy().skills(query.trade)
    if query.q:
        needle = fold(query.q)
        skills = [
            s
            for s in skills
            if any(needle in fold(text) for text in (s.code, s.label_vi, s.label_en, *s.synonyms))
        ]
    skills, cursor = page_of(skills, query)
    return {
        "next_cursor": cursor,
        "items": [
            {
                "code": s.code,
                "label_vi": s.label_vi,
                "label_en": s.label_en,
                "trades": list(s.trades),
                "synonyms": list(s.synonyms),
            }
            for s in skills
        ],
    }


@operation(
    bp,
    "/skills/normalize",
    summary="Map free text to skill codes",
    roles=ROLES,
    query=NormalizeQuery,
    response=NormalizeOut,
)
def normalize_skills(query: NormalizeQuery) -> dict[str, Any]:
    """Unknown text is reported as unknown (known=false), never guessed."""
    items = []
    for n in taxonomy().normalize_list(query.q):
        items.append(
            {
                "text": n.text,
                "known": n.known,
                "match": _match(n.match) if n.match else None,
                "alternatives": [_match(a) for a in n.alternatives],
            }
        )
    return {"query": query.q, "items": items}
