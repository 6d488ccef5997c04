"""One blueprint per resource, all under /api/v1; importing this package registers them all."""

from __future__ import annotations

from api.resources import (
    admin,
    allocations,
    commitments,
    courses,
    docs,
    enrollments,
    enterprises,
    imports,
    jobs,
    matching,
    models,
    pages,
    places,
    planning,
    referrals,
    taxonomy,
    workers,
)

BLUEPRINTS = tuple(
    module.bp
    for module in (
        pages,
        docs,
        taxonomy,
        places,
        workers,
        enterprises,
        courses,
        enrollments,
        commitments,
        referrals,
        imports,
        matching,
        jobs,
        models,
        allocations,
        planning,
        admin,
    )
)
