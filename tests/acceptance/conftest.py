"""Demo-level acceptance: the default demo, imported and trained once per world per run.

A *world* is the default Hưng Yên demo (8,000 workers, as `make run` loads it) generated as
of a pinned day with a seed, imported through the ordinary import path and trained with
`caunoi train`'s code. Its figures depend on the data, so every acceptance test runs in
several worlds: three days of the year (the month after Tết, mid-year, December) on the
default seed, and another seed (a fifth world, seed 202, with
``CAUNOI_ACCEPTANCE_WORLDS=all``). Hyper-parameters were tuned on seeds 1–6, never on these.

`make test` runs the acceptance once, on SQLite (what `make run` serves); the PostgreSQL
path is proven by tests/api on small data and by tests/scaleout, which imports a smaller
demo and trains, allocates and plans on it through two servers and two consumers. The same
tests run on PostgreSQL with ``CAUNOI_TEST_DATABASE_URL`` set (the December world, or
``CAUNOI_ACCEPTANCE_WORLDS=all``; names also work: ``after-tet,...``).

Worlds are built by session fixtures, one at a time (pytest finishes a world's tests before
the next), and with xdist each world's tests go to one worker (``--dist loadgroup``). Tests
that write to the registry are marked ``writes`` and run after the read-only tests of their
world, so the planning figures are computed on the registry exactly as imported.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from api import jobs, planning
from api.auth import create_token
from api.cli import import_frames, run_training
from api.extensions import db
from api.models import Enterprise
from matcher import clock
from matcher.demo import DemoData, generate
from tests.acceptance.worlds import (
    RUN_WORLDS,
    DemoWorld,
    WorldSpec,
    close_registry,
    demo_config,
    open_registry,
)
from tests.consumer import Consumer


@pytest.fixture(scope="session", params=RUN_WORLDS, ids=[w.name for w in RUN_WORLDS])
def _world(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[DemoWorld]:
    spec: WorldSpec = request.param
    tmp = tmp_path_factory.mktemp(f"world-{spec.name}")
    # Built as of its day; neither the pin nor the app context outlives the build, so tests
    # of other layers that run between worlds see the run's own day.
    with clock.pinned(spec.today):
        app = open_registry(tmp, f"world_{spec.name}")
        with app.app_context():
            data = generate(demo_config(spec))
            import_frames(data.frames(), spec.today)
            trained = run_training()
            # The national planning view, stored by the refresh job's own code (what the
            # schedule's first pass queues on a new deployment): every planning test reads it.
            refresh = planning.request_refresh(planning.Scope(None, "former_district", spec.today))
            jobs.execute(refresh.id)
            tokens = {role: create_token(role)[0] for role in ("caseworker", "planner", "admin")}
            tokens["planner-33"] = create_token("planner", province_code="33")[0]
            enterprise = db.session.scalar(sa.select(Enterprise).order_by(Enterprise.id))
            tokens["enterprise"] = create_token("enterprise", enterprise=enterprise)[0]
            db.session.commit()
            db.session.remove()
    yield DemoWorld(spec, data, app, tokens, trained)
    close_registry(app)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_data(_world: DemoWorld) -> DemoData:
    """The world's generated data set, as written to the import files."""
    return _world.data


@pytest.fixture(scope="session")
def _world_consumer(_world: DemoWorld) -> Iterator[dict[str, Consumer]]:
    """One job consumer per world, started when a test first needs it (:func:`consumer`)."""
    holder: dict[str, Consumer] = {}
    yield holder
    if "consumer" in holder:
        holder["consumer"].__exit__(None, None, None)


@pytest.fixture
def consumer(demo: DemoWorld, _world_consumer: dict[str, Consumer]) -> Consumer:
    """The world's consumer, running (started again if a test killed it)."""
    current = _world_consumer.get("consumer")
    if current is None or not current.alive():
        log = Path(demo.app.config["MODELS_DIR"]).parent / "consumer.log"
        current = _world_consumer["consumer"] = Consumer(demo.app, log).__enter__()
    return current


@pytest.fixture
def demo(_world: DemoWorld) -> Iterator[DemoWorld]:
    """The world, with the clock on its day and its app context pushed for the test."""
    with clock.pinned(_world.today), _world.app.app_context():
        yield _world
        db.session.remove()


def _world_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None or "_world" not in callspec.params:
        return None
    return callspec.params["_world"].name


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Send each world's tests to one xdist worker (before xdist reads the groups); keep
    tests marked one_world (the job machinery, whose behaviour no date or seed changes) in
    the run's first world only, as tests/engine runs once."""
    first = RUN_WORLDS[0].name
    elsewhere = [
        i for i in items if "one_world" in i.keywords and _world_of(i) not in (None, first)
    ]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [i for i in items if i not in elsewhere]
    for item in items:
        name = _world_of(item)
        if name is not None:
            item.add_marker(pytest.mark.xdist_group(f"world-{name}"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Run each world's tests together, read-only ones first; worlds and slow tests before
    the many short ones.

    After every collection_modifyitems hook (pytest's own grouping by parameter included)
    and before xdist reports the collection to its controller, which schedules by index.
    A world is minutes of work for one process: started first, the two processes share the
    worlds and then the short tests even out the end (started last, one process finished
    its share and waited while the other built and ran a world).
    """
    order = {spec.name: i for i, spec in enumerate(RUN_WORLDS)}
    items = session.items

    def key(pair: tuple[int, pytest.Item]) -> tuple:
        position, item = pair
        name = _world_of(item)
        if name is None:
            return (1 if "slow" in item.keywords else 2, 0, False, position)
        return (0, order[name], "writes" in item.keywords, position)

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]
