"""Read side of exports: Core selects of the needed columns, streamed in task order.

Three ordered streams (tasks with their prompt, task items with their completion, and accepted
judgements) are merged by task id in Python, so no row is repeated per answer and no ORM object
is built per row. Results come through server-side cursors (``yield_per``) on PostgreSQL and
incremental ``fetchmany`` on SQLite, so memory stays flat whatever the project's size.
"""
from __future__ import annotations

import contextlib
import enum
import functools
import itertools
import json
import operator
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import (
    Assignment, Completion, Judgement, JudgementStatus, Project, Prompt, Review, Task, TaskItem, User,
)
from .options import ExportOptions
from .prefetch import Prefetcher

YIELD_PER = 10_000
FIRST = operator.itemgetter(0)
# Positions in a judgement row (see judgement_columns); the hot path indexes rather than names.
PREFERENCE, RANKING, REWRITE, REWRITE_SOURCE = 1, 2, 3, 4
TOLERANT_TEXT = functools.partial(bytes.decode, encoding="utf-8", errors="surrogateescape")
GOLD_EVIDENCE = (JudgementStatus.submitted, JudgementStatus.approved, JudgementStatus.rejected)


@dataclass(slots=True)
class TaskGroup:
    """One task with its prompt, its answers in canonical order and its accepted judgements."""

    task_id: int
    prompt_key: str
    prompt_external_id: str
    messages: list[dict[str, str]]
    items: list[Any]  # rows (task_id, completion_id, model_name, text), index = canonical position
    judgements: list[Any]  # rows of judgement_columns()


def accepted_statuses(project: Project) -> tuple[JudgementStatus, ...]:
    """Only approved work when the project reviews; otherwise submitted and approved."""
    if project.review_rate > 0:
        return (JudgementStatus.approved,)
    return (JudgementStatus.submitted, JudgementStatus.approved)


def gold_accuracy(session: Session, project_id: int) -> dict[int, tuple[int, int]]:
    """Per expert: (judgements on this project's gold tasks whose preference sign matches, all)."""
    sign = lambda col: sa.case((col > 0, 1), (col < 0, -1), else_=0)  # noqa: E731
    match = sa.case((sign(Judgement.preference) == sign(Task.gold_preference), 1), else_=0)
    rows = session.execute(
        sa.select(Judgement.expert_id, sa.func.sum(match), sa.func.count())
        .join(Task, Task.id == Judgement.task_id)
        .where(Task.project_id == project_id, Task.is_gold.is_(True), Task.gold_preference.is_not(None),
               Judgement.preference.is_not(None), Judgement.status.in_(GOLD_EVIDENCE))
        .group_by(Judgement.expert_id)
    )
    return {expert_id: (int(matches or 0), int(total)) for expert_id, matches, total in rows}


def experts_below(session: Session, project: Project, minimum: float) -> set[int]:
    """Experts whose gold accuracy is below ``minimum`` or who have no gold judgements here."""
    accuracy = gold_accuracy(session, project.id)
    judged = session.scalars(
        sa.select(Judgement.expert_id).distinct().join(Task, Task.id == Judgement.task_id)
        .where(Task.project_id == project.id)
    )
    return {e for e in judged if e not in accuracy or accuracy[e][0] < minimum * accuracy[e][1]}


@dataclass(frozen=True)
class Funnel:
    """Judgements left after each filter, in order, and who made the ones that pass them all."""

    steps: dict[str, int]
    experts: int
    guideline_versions: tuple[int, int] | None  # first and last version seen

    @property
    def exported(self) -> int:
        return list(self.steps.values())[-1]


def funnel(session: Session, project: Project, options: ExportOptions, excluded: set[int]) -> Funnel:
    """Count the judgements each filter leaves (status, gold tasks, dates, experts) in one scan."""
    steps = [
        ("judgements", []),
        ("accepted_status", [Judgement.status.in_(accepted_statuses(project))]),
        ("not_gold_task", [Task.is_gold.is_(False)]),
        ("in_date_range", _date_conditions(options)),
        ("expert_gold_accuracy", [Judgement.expert_id.not_in(sorted(excluded))] if excluded else []),
    ]
    columns, conditions = [], []
    for _name, extra in steps:
        conditions += extra
        passed = sa.and_(*conditions) if conditions else sa.true()
        columns.append(sa.func.sum(sa.case((passed, 1), else_=0)))
    # Grouping by expert and version (a hash aggregate over a few hundred groups) is much cheaper
    # than COUNT(DISTINCT) over a million rows, and gives the experts and versions too.
    groups = session.execute(sa.select(Judgement.expert_id, Judgement.guideline_version, *columns)
                             .select_from(Judgement).join(Task, Task.id == Judgement.task_id)
                             .where(Task.project_id == project.id, Judgement.status != JudgementStatus.draft)
                             .group_by(Judgement.expert_id, Judgement.guideline_version)).all()
    counts = {name: sum(int(group[2 + i]) for group in groups) for i, (name, _) in enumerate(steps)}
    passing = [group for group in groups if group[-1]]
    versions = sorted({group[1] for group in passing})
    return Funnel(counts, len({group[0] for group in passing}), (versions[0], versions[-1]) if versions else None)


def _date_conditions(options: ExportOptions) -> list[Any]:
    conditions = []
    if options.since_at():
        conditions.append(Judgement.submitted_at >= options.since_at())
    if options.until_before():
        conditions.append(Judgement.submitted_at < options.until_before())
    return conditions


def judgement_conditions(project: Project, options: ExportOptions, excluded: set[int]) -> list[Any]:
    """The WHERE clause of the exported judgements."""
    conditions = [Task.project_id == project.id, Task.is_gold.is_(False),
                  Judgement.status.in_(accepted_statuses(project)), *_date_conditions(options)]
    if excluded:
        conditions.append(Judgement.expert_id.not_in(sorted(excluded)))
    return conditions


def judgement_columns(detailed: bool) -> list[Any]:
    """Columns read per judgement; ``detailed`` adds what the ``judgements`` format shows.

    JSON columns are read as text and parsed only when present: most rankings and all of the
    pairwise path are NULL, and skipping the JSON type's per-row processing is measurably faster.
    """
    columns: list[Any] = [Judgement.task_id, Judgement.preference, sa.cast(Judgement.ranking, sa.Text).label("ranking"),
                          Judgement.rewrite, Judgement.rewrite_source_id]
    if detailed:
        latest_verdict = (sa.select(Review.verdict).where(Review.judgement_id == Judgement.id)
                          .order_by(Review.id.desc()).limit(1).scalar_subquery())
        columns += [Judgement.id, User.pseudonym, Assignment.display_order, Judgement.confidence,
                    Judgement.rubric_scores, Judgement.critiques, Judgement.flags, Judgement.active_seconds,
                    Judgement.status, latest_verdict.label("review_verdict"), Judgement.guideline_version,
                    Judgement.submitted_at]
    return columns


def _open(session: Session, statement: sa.Select[Any], plain: bool, cursors: contextlib.ExitStack) -> Iterator[Any]:
    """Rows of ``statement``, streamed; ``plain`` statements select only integers and text.

    Building a SQLAlchemy Row costs about half a microsecond, a tenth of a million-judgement
    export, so plain statements are read as DBAPI tuples by position: on SQLite from the cursor
    SQLAlchemy opened (SQLite steps lazily; no ``yield_per``, which would buffer a row ahead),
    on PostgreSQL from a psycopg server-side cursor given the statement SQLAlchemy compiled.
    PostgreSQL reads are also prefetched by a thread (see prefetch.py).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        result = cursors.enter_context(contextlib.closing(connection.execute(statement)))
        return _batched(result.cursor) if plain else iter(result)
    if plain:
        batches = _batched_pg(connection, statement, cursors)
    else:
        result = cursors.enter_context(contextlib.closing(
            connection.execute(statement.execution_options(yield_per=YIELD_PER))))
        batches = result.partitions(YIELD_PER)
    return iter(cursors.enter_context(contextlib.closing(Prefetcher(batches))))


def _batched(cursor: Any) -> Iterator[Any]:
    return itertools.chain.from_iterable(iter(functools.partial(cursor.fetchmany, YIELD_PER), []))


def _batched_pg(connection: sa.Connection, statement: sa.Select[Any], cursors: contextlib.ExitStack) -> Iterator[list[Any]]:
    """Batches of tuples from a named (server-side) psycopg cursor in the session's transaction."""
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = {key: value.value if isinstance(value, enum.Enum) else value for key, value in compiled.params.items()}
    cursor = connection.connection.dbapi_connection.cursor(name=f"rlhf_export_{secrets.token_hex(6)}")
    cursors.callback(cursor.close)
    cursor.execute(str(compiled), params)
    return iter(functools.partial(cursor.fetchmany, YIELD_PER), [])


def _task_rows(project_id: int) -> sa.Select[Any]:
    messages = sa.cast(Prompt.messages, sa.Text)
    return (sa.select(Task.id, Prompt.content_hash, Prompt.external_id, messages)
            .join(Prompt, Prompt.id == Task.prompt_id)
            .where(Task.project_id == project_id, Task.is_gold.is_(False)).order_by(Task.id))


def _item_rows(project_id: int) -> sa.Select[Any]:
    """(task_id, completion_id, model_name, text) in canonical order; the position is the index."""
    return (sa.select(TaskItem.task_id, Completion.id, Completion.model_name, Completion.text)
            .join(Task, Task.id == TaskItem.task_id).join(Completion, Completion.id == TaskItem.completion_id)
            .where(Task.project_id == project_id, Task.is_gold.is_(False))
            .order_by(TaskItem.task_id, TaskItem.position))


def _judgement_rows(conditions: Sequence[Any], detailed: bool) -> sa.Select[Any]:
    """Accepted judgements by task, then expert (the unique index's order: no sort on SQLite)."""
    statement = sa.select(*judgement_columns(detailed)).join(Task, Task.id == Judgement.task_id)
    if detailed:
        statement = (statement.join(User, User.id == Judgement.expert_id)
                     .join(Assignment, Assignment.id == Judgement.assignment_id))
    return statement.where(*conditions).order_by(Judgement.task_id, Judgement.expert_id)


class UndecodableText(Exception):
    """SQLite returned text that is not valid UTF-8; only a ``tolerant`` read can export it."""


def iter_task_groups(session: Session, project_id: int, conditions: Sequence[Any], *,
                     detailed: bool = False, tolerant: bool = True) -> Iterator[TaskGroup]:
    """Tasks that have accepted judgements, in task order, each with everything it needs.

    ``tolerant`` reads SQLite text through a decoder that survives invalid UTF-8 (about a second
    more per million judgements); without it such text raises UndecodableText.
    """
    try:
        yield from _task_groups(session, project_id, conditions, detailed, tolerant)
    except (sqlite3.OperationalError, sa.exc.OperationalError) as exc:
        if "decode" not in str(exc):
            raise
        raise UndecodableText(str(exc)) from exc


def _task_groups(session: Session, project_id: int, conditions: Sequence[Any], detailed: bool,
                 tolerant: bool) -> Iterator[TaskGroup]:
    with contextlib.ExitStack() as cursors:
        if tolerant:
            cursors.enter_context(_tolerant_sqlite_text(session))
        yield from _merge(_open(session, _task_rows(project_id), True, cursors),
                          _open(session, _item_rows(project_id), True, cursors),
                          _open(session, _judgement_rows(conditions, detailed), not detailed, cursors))


@contextlib.contextmanager
def _tolerant_sqlite_text(session: Session) -> Iterator[None]:
    """Let SQLite hand back text that is not valid UTF-8 instead of failing the whole export.

    Invalid bytes become lone surrogates (``surrogateescape``), which the JSON Lines writer
    replaces with U+FFFD and counts. Input validation keeps such text out; this is a safety net.
    PostgreSQL cannot store invalid UTF-8, so it needs nothing.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    raw = session.connection().connection.dbapi_connection
    previous = raw.text_factory
    raw.text_factory = TOLERANT_TEXT
    try:
        yield
    finally:
        raw.text_factory = previous


def _merge(tasks: Iterator[Any], item_rows: Iterator[Any], judgement_rows: Iterator[Any]) -> Iterator[TaskGroup]:
    """Walk three streams ordered by task id together, driven by the judgements."""
    items = itertools.groupby(item_rows, key=FIRST)
    task = next(tasks, None)
    item_id, group_items = next(items, (None, iter(())))
    for task_id, judgements in itertools.groupby(judgement_rows, key=FIRST):
        while task is not None and task[0] < task_id:
            task = next(tasks, None)
        while item_id is not None and item_id < task_id:
            item_id, group_items = next(items, (None, iter(())))
        if task is None or task[0] != task_id or item_id != task_id:
            continue  # the task changed under a concurrent writer; it is in the next export
        yield TaskGroup(task_id, task[1], task[2], load_json(task[3]), list(group_items), list(judgements))


def load_json(text: str) -> Any:
    """orjson, falling back to the standard parser for text orjson refuses (a lone surrogate escape)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
