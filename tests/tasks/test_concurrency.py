"""64 experts claiming at once: never a task beyond its overlap, never one twice, on both engines.

Each thread has its own expert, session and connection, and all start together on a barrier.
SQLite runs on a file of its own; PostgreSQL on a schema of its own (created and dropped here).
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from rlhf_app.db import Base, _configure_sqlite, create_db_engine, make_sessionmaker
from rlhf_app.models import Assignment, User
from rlhf_app.tasks.service import claim_next

from .. import factories

THREADS = 64
TASKS = 20
OVERLAP = 2


@pytest.fixture(params=["sqlite", "postgresql"])
def concurrent_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    """An engine with one connection per thread, on fresh tables."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path}/claims.sqlite3", poolclass=NullPool,
                                  connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    yield from _postgres_engine(request.getfixturevalue("postgres_url"))


def _postgres_engine(url: str) -> Iterator[sa.Engine]:
    schema = f"claims_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    engine = create_db_engine(f"{url}{separator}options=-csearch_path%3D{schema}", pool_size=THREADS // 2)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(engine: sa.Engine, *, tasks: int, experts: int) -> tuple[list[int], list[int]]:
    """A project with ``tasks`` tasks at overlap 2; returns (task ids, expert ids)."""
    with make_sessionmaker(engine)() as session:
        project = factories.make_project(session, judgements_per_task=OVERLAP, gold_rate=0.2)
        task_ids = [factories.make_task(session, project, is_gold=i % 5 == 0).id for i in range(tasks)]
        expert_ids = [factories.make_user(session).id for _ in range(experts)]
        session.commit()
    return task_ids, expert_ids


def claim_all_at_once(engine: sa.Engine, expert_ids: list[int]) -> list[BaseException]:
    """Every expert id claims in its own thread and session, released together."""
    barrier = threading.Barrier(len(expert_ids))
    errors: list[BaseException] = []
    maker = make_sessionmaker(engine)

    def run(expert_id: int) -> None:
        try:
            with maker() as session:
                expert = session.get(User, expert_id)
                session.commit()
                barrier.wait(timeout=30)
                claim_next(session, expert, now=factories.NOW)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(expert_id,)) for expert_id in expert_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def assignments(engine: sa.Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(Assignment.task_id, Assignment.expert_id))]


def test_64_experts_claiming_at_once_never_exceed_overlap(concurrent_engine):
    task_ids, expert_ids = seed(concurrent_engine, tasks=TASKS, experts=THREADS)
    errors = claim_all_at_once(concurrent_engine, expert_ids)
    assert errors == []
    rows = assignments(concurrent_engine)
    per_task = Counter(task_id for task_id, _ in rows)
    per_expert = Counter(expert_id for _, expert_id in rows)
    assert max(per_task.values()) <= OVERLAP          # zero tasks assigned beyond overlap
    assert max(per_expert.values()) == 1              # zero double assignments
    assert len(set(rows)) == len(rows)
    assert len(rows) == TASKS * OVERLAP               # every slot was handed out, none lost to contention
    assert set(per_task) == set(task_ids)


def test_one_expert_in_many_tabs_gets_one_assignment(concurrent_engine):
    _, expert_ids = seed(concurrent_engine, tasks=TASKS, experts=1)
    errors = claim_all_at_once(concurrent_engine, expert_ids * 16)
    assert errors == []
    assert len(assignments(concurrent_engine)) == 1


def test_more_slots_than_claimers_gives_everyone_a_distinct_slot(concurrent_engine):
    _, expert_ids = seed(concurrent_engine, tasks=THREADS, experts=THREADS)
    assert claim_all_at_once(concurrent_engine, expert_ids) == []
    rows = assignments(concurrent_engine)
    assert len(rows) == THREADS and max(Counter(t for t, _ in rows).values()) <= OVERLAP
