"""The annotate loop's SQL, built once with bound parameters and reused (see tasks/statements.py).

Drafts autosave every few seconds and heartbeats come every half minute from every open page,
so these statements skip SQLAlchemy's per-call construction and cache-key work.
"""
from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy import bindparam, select

from ..models import (
    ActivityInterval, Completion, GuidelineVersion, Judgement, Project, Prompt, Task, TaskItem,
)

FRESH = {"populate_existing": True}  # reload rows already in the session (read after a lock)


def _project_and_guideline(*columns: sa.ColumnElement | type) -> sa.Select:
    """Task ``:task_id``'s project and the guideline version it shows now, plus ``columns``."""
    return (select(Project, GuidelineVersion, *columns)
            .join(Task, Task.project_id == Project.id)
            .join(GuidelineVersion, (GuidelineVersion.project_id == Project.id)
                  & (GuidelineVersion.version == Project.guideline_version))
            .where(Task.id == bindparam("task_id")))


@cache
def guideline() -> sa.Select:
    """(Project, GuidelineVersion) of ``:task_id``."""
    return _project_and_guideline()


@cache
def guideline_and_draft() -> sa.Select:
    """(Project, GuidelineVersion, Judgement or None) of ``:task_id`` / ``:assignment_id``."""
    return _project_and_guideline(Judgement).outerjoin(Judgement, Judgement.assignment_id == bindparam("assignment_id"))


@cache
def page() -> sa.Select:
    """(Project, GuidelineVersion, prompt messages, Judgement or None) of ``:task_id`` / ``:assignment_id``."""
    return (_project_and_guideline(Prompt.messages, Judgement)
            .join(Prompt, Prompt.id == Task.prompt_id)
            .outerjoin(Judgement, Judgement.assignment_id == bindparam("assignment_id")))


@cache
def answers() -> sa.Select:
    """(completion id, text) of ``:task_id`` in canonical order."""
    return (select(Completion.id, Completion.text).join(TaskItem, TaskItem.completion_id == Completion.id)
            .where(TaskItem.task_id == bindparam("task_id")).order_by(TaskItem.position))


@cache
def answer_ids() -> sa.Select:
    """Completion ids of ``:task_id`` in canonical order."""
    return select(TaskItem.completion_id).where(TaskItem.task_id == bindparam("task_id")).order_by(TaskItem.position)


@cache
def judgement_of() -> sa.Select:
    """The judgement of ``:assignment_id``, reloaded."""
    return select(Judgement).where(Judgement.assignment_id == bindparam("assignment_id")).execution_options(**FRESH)


@cache
def judgement_or_key() -> sa.Select:
    """Judgements of ``:assignment_id`` or with idempotency key ``:key``, reloaded."""
    return (select(Judgement).where((Judgement.assignment_id == bindparam("assignment_id"))
                                    | (Judgement.idempotency_key == bindparam("key")))
            .execution_options(**FRESH))


@cache
def judgement_status() -> sa.Select:
    """The status of ``:assignment_id``'s judgement."""
    return select(Judgement.status).where(Judgement.assignment_id == bindparam("assignment_id"))


@cache
def latest_interval() -> sa.Select:
    """Expert ``:expert_id``'s latest activity interval."""
    return (select(ActivityInterval).where(ActivityInterval.expert_id == bindparam("expert_id"))
            .order_by(ActivityInterval.ended_at.desc(), ActivityInterval.id.desc()).limit(1))


@cache
def project_of_task() -> sa.Select:
    """The project of ``:task_id``."""
    return select(Project).join(Task, Task.project_id == Project.id).where(Task.id == bindparam("task_id"))
