"""The task queue: claiming the next task atomically, resuming, leases, skips and task progress.

A claim is a lease on one of a task's ``judgements_per_task`` slots. A slot is taken by a counted
judgement (``Task.submitted_count``) or by an active assignment whose lease has not expired, so an
expired lease frees its slot without any sweeper. Claims are serialised per task row: SQLite runs
the whole claim in one ``BEGIN IMMEDIATE`` transaction; PostgreSQL locks candidate task rows with
``FOR NO KEY UPDATE SKIP LOCKED`` and re-counts the slots after the lock, because under READ
COMMITTED the candidate query's snapshot may predate a claim that committed in the meantime.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..common import audit
from ..common.errors import Conflict, NotFound, ValidationError
from ..common.permissions import can_own_assignment
from ..common.text import text_problem
from ..db import WRITE_OPTION, begin_write, is_sqlite
from ..models import Assignment, AssignmentStatus, Project, Task, TaskStatus, User
from . import statements as sql

SKIP_REASONS = ("outside_expertise", "bad_prompt", "other")
MAX_SKIP_NOTE = 2_000
COUNTED = sql.COUNTED  # judgement statuses that hold one of a task's slots
MAX_CLAIM_ATTEMPTS = 32
BUSY_PAUSES = (0.005, 0.01, 0.02, 0.04, 0.08)  # seconds; claims hold a task row for milliseconds
MAX_ID = 2**31 - 1
RENEW_WITHIN = dt.timedelta(minutes=4)  # leases are at least 5 minutes long
_system_rng = random.SystemRandom()


# --- claiming -----------------------------------------------------------------------------------

def claim_next(
    session: Session, expert: User, *, project_slug: str | None = None, now: dt.datetime,
    rng: random.Random | None = None,
) -> Assignment | None:
    """The expert's open assignment, else a renewed or newly claimed task; None when nothing is left.

    Raises NotFound when ``project_slug`` names no project in the expert's domains.
    """
    start_writer(session)
    projects = _judgeable_projects(session, expert, project_slug)  # and the expert's row locked
    if not projects:
        return None
    by_id = {p.id: p for p in projects}
    held = _held_assignments(session, expert, list(by_id))
    return (next((a for a, _ in held if a.lease_expires_at > now), None)
            or _renew_expired(session, [(a, by_id[pid]) for a, pid in held], now)
            or _claim_new(session, expert, by_id, now, rng or _system_rng))


def start_writer(session: Session) -> None:
    """Make the session's transaction a writer (``BEGIN IMMEDIATE`` on SQLite) before a claim.

    A GET request has usually read the user already, in a deferred SQLite transaction that could
    not upgrade to a writer once another writer commits (SQLITE_BUSY_SNAPSHOT). Such a read-only
    transaction is ended first; one with pending changes is a programming error.
    """
    if is_sqlite(session) and session.in_transaction() and not _is_writer(session):
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("claim_next needs a transaction started with begin_write")
        session.commit()
    begin_write(session)


def _is_writer(session: Session) -> bool:
    return bool(session.connection().get_execution_options().get(WRITE_OPTION))


def _judgeable_projects(session: Session, expert: User, slug: str | None) -> list[Project]:
    """Active projects in the expert's domains (only ``slug`` when given).

    On PostgreSQL the same statement locks the expert's row, which serialises one expert's claims
    (two tabs); SQLite is serialised already by the write transaction.
    """
    domains, lock = list(expert.domains or []), not is_sqlite(session)
    if slug is None:
        return list(session.scalars(sql.projects_in_domains(lock), {"domains": domains, "user_id": expert.id}))
    project = session.scalar(sql.project_by_slug(lock), {"slug": slug, "user_id": expert.id})
    if project is None or project.domain not in domains:
        raise NotFound(f"There is no project '{slug}' in your domains.")
    return [project] if project.is_active else []


def find_open_assignment(
    session: Session, expert: User, project_ids: Sequence[int], *, now: dt.datetime,
) -> Assignment | None:
    """The expert's most recent active, unexpired assignment in one of the projects."""
    query = (select(Assignment).join(Task, Task.id == Assignment.task_id)
             .where(Assignment.expert_id == expert.id, Assignment.status == AssignmentStatus.active,
                    Assignment.lease_expires_at > now, Task.project_id.in_(project_ids))
             .order_by(Assignment.claimed_at.desc(), Assignment.id.desc()).limit(1))
    return session.scalar(query)


def _held_assignments(session: Session, expert: User, project_ids: list[int]) -> list[tuple[Assignment, int]]:
    """The expert's active assignments (live or expired leases) in the projects, most recent first."""
    rows = session.execute(sql.held_assignments(), {"expert_id": expert.id, "project_ids": project_ids})
    return [(assignment, project_id) for assignment, project_id in rows]


def _renew_expired(session: Session, held: list[tuple[Assignment, Project]], now: dt.datetime) -> Assignment | None:
    """Renew the expert's own expired lease (most recent first) while its task still has a slot."""
    for assignment, project in held:
        if _lock_task(session, assignment.task_id) and slots_left(session, assignment.task_id, project, now) > 0:
            renew_lease(assignment, project, now, claimed=True)
            return assignment
    return None


def _claim_new(
    session: Session, expert: User, projects: dict[int, Project], now: dt.datetime, rng: random.Random,
) -> Assignment | None:
    """Lock a candidate task with a free slot and create the expert's assignment to it."""
    project = projects[next(iter(projects))] if len(projects) == 1 else _best_project(session, expert, projects, now)
    if project is None:
        return None
    pools = [True, False] if rng.random() < project.gold_rate else [False, True]
    excluded: list[int] = []
    pauses = iter(BUSY_PAUSES)
    for _ in range(MAX_CLAIM_ATTEMPTS):
        candidate = _first_candidate(session, expert, project, now, pools, excluded)
        if candidate is None:
            pause = next(pauses, None) if _all_held_by_others(session, expert, project, now, excluded) else None
            if pause is None:
                return None
            time.sleep(pause)  # other claimers hold every candidate row for a few milliseconds
        elif is_sqlite(session) or slots_left(session, candidate[0], project, now) > 0:
            return _create_assignment(session, expert, project, candidate[0], candidate[1], now, rng)
        else:
            excluded.append(candidate[0])  # a claim committed while we waited for the row lock
    return None


def _all_held_by_others(session: Session, expert: User, project: Project, now: dt.datetime, excluded: list[int]) -> bool:
    """True when candidates exist but other transactions hold them (PostgreSQL; never on SQLite).

    Claimers never wait for a row lock (SKIP LOCKED, then this check and a short pause), so no
    claimer can hold one task row while waiting for another: no deadlocks, and a busy queue does
    not answer "nothing left" while slots are still free.
    """
    if is_sqlite(session):
        return False
    params = {"project_id": project.id, "overlap": project.judgements_per_task, "expert_id": expert.id,
              "now": now, "excluded": excluded}
    return session.scalar(sql.any_candidate(bool(excluded)), params) is not None


def _best_project(session: Session, expert: User, projects: dict[int, Project], now: dt.datetime) -> Project | None:
    """With several projects, the one holding the oldest, least-covered open task."""
    query = _candidates(expert, list(projects.values()), now).with_only_columns(Task.project_id).limit(1)
    project_id = session.scalar(query)
    return projects.get(project_id) if project_id is not None else None


def _first_candidate(
    session: Session, expert: User, project: Project, now: dt.datetime, pools: list[bool], excluded: list[int],
) -> tuple[int, int] | None:
    """Lock the first candidate no one else holds: (task id, answer count), gold pool by preference."""
    params = {"project_id": project.id, "overlap": project.judgements_per_task, "expert_id": expert.id,
              "now": now, "excluded": excluded}
    for gold in pools:
        row = session.execute(sql.candidate(gold, bool(excluded)), params).first()
        if row is not None:
            return row[0], row[1]
    return None


def _candidates(expert: User, projects: list[Project], now: dt.datetime) -> sa.Select:
    """Open tasks with a free slot that the expert never held, oldest and least-covered first."""
    never_held = ~exists().where(Assignment.task_id == Task.id, Assignment.expert_id == expert.id)
    leases = sql.active_leases(Task.id).correlate(Task)
    conditions = [sa.and_(Task.project_id == p.id, Task.submitted_count + leases < p.judgements_per_task)
                  for p in projects]
    return (select(Task).where(Task.status == TaskStatus.open, sa.or_(*conditions), never_held)
            .order_by(Task.submitted_count, Task.id).params(now=now))


def _lock_task(session: Session, task_id: int) -> bool:
    """Lock one task row (PostgreSQL; SQLite is serialised already); False when someone holds it."""
    return is_sqlite(session) or session.scalar(sql.lock_task(), {"task_id": task_id}) is not None


def slots_left(session: Session, task_id: int, project: Project, now: dt.datetime) -> int:
    """Free slots of a task now, counted in a fresh statement (call it holding the row lock)."""
    taken = session.scalar(sql.slots_taken(), {"task_id": task_id, "now": now})
    return project.judgements_per_task - int(taken or 0)


def _create_assignment(
    session: Session, expert: User, project: Project, task_id: int, answers: int, now: dt.datetime,
    rng: random.Random,
) -> Assignment:
    order = list(range(answers))
    rng.shuffle(order)
    assignment = Assignment(task_id=task_id, expert_id=expert.id, display_order=order, status=AssignmentStatus.active,
                            claimed_at=now, lease_expires_at=now + dt.timedelta(minutes=project.lease_minutes))
    session.add(assignment)
    session.flush()
    audit.record(session, expert, "assignment.claimed", assignment, after={"task_id": task_id}, now=now)
    return assignment


def renew_lease(assignment: Assignment, project: Project, now: dt.datetime, *, claimed: bool = False) -> None:
    """Push the lease ``lease_minutes`` past ``now`` (and restart the claim when renewing an expired one)."""
    assignment.lease_expires_at = now + dt.timedelta(minutes=project.lease_minutes)
    if claimed:
        assignment.claimed_at = now


def extend_live_lease(assignment: Assignment, project: Project, now: dt.datetime) -> None:
    """Keep a working expert's live lease alive: renew it once it is within ``RENEW_WITHIN`` of its end.

    Renewing only near the end spares a write on most autosaves and heartbeats; an expired lease
    is never revived here (its slot may be someone else's by now).
    """
    if is_lease_live(assignment, now) and assignment.lease_expires_at - now < RENEW_WITHIN:
        renew_lease(assignment, project, now)


def is_lease_live(assignment: Assignment, now: dt.datetime) -> bool:
    """Active and not yet expired at ``now``."""
    return assignment.status is AssignmentStatus.active and assignment.lease_expires_at > now


# --- lookups and skips --------------------------------------------------------------------------

def get_own_assignment(session: Session, assignment_id: int, expert: User, *, for_update: bool = False) -> Assignment:
    """The expert's assignment; another expert's id or an unknown one raises NotFound alike.

    ``for_update`` loads it with a row lock on PostgreSQL (writes to one assignment from two tabs
    or a retried request then run one after the other), in the same round trip as the load.
    """
    in_range = 0 < assignment_id <= MAX_ID  # larger ids overflow the column type (a 500, not a 404)
    if not in_range:
        assignment = None
    elif for_update and not is_sqlite(session):
        assignment = session.scalar(sql.lock_assignment(), {"assignment_id": assignment_id})
        session.info[_LOCKED] = (session.get_transaction(), assignment_id)
    else:
        assignment = session.get(Assignment, assignment_id)
    if assignment is None or not can_own_assignment(expert, assignment.expert_id):
        raise NotFound(f"There is no assignment {assignment_id}.")
    return assignment


def lock_assignment(session: Session, assignment: Assignment) -> None:
    """Lock and reload the assignment's row unless this transaction already holds it (PostgreSQL;
    on SQLite a write request's transaction began with BEGIN IMMEDIATE, which is enough)."""
    if is_sqlite(session) or session.info.get(_LOCKED) == (session.get_transaction(), assignment.id):
        return
    session.execute(sql.lock_assignment(), {"assignment_id": assignment.id})
    session.info[_LOCKED] = (session.get_transaction(), assignment.id)


_LOCKED = "rlhf_locked_assignment"


def skip_assignment(session: Session, assignment: Assignment, *, reason: str, note: str | None, now: dt.datetime) -> Assignment:
    """Mark the assignment skipped with a reason (a status; nothing is deleted) and free its slot."""
    _check_skip(reason, note)
    if assignment.status is AssignmentStatus.skipped:
        return assignment
    if assignment.status is AssignmentStatus.submitted:
        raise Conflict("This task was already submitted; it cannot be skipped.")
    before = {"status": assignment.status.value}
    assignment.status = AssignmentStatus.skipped
    assignment.skip_reason = reason
    assignment.skip_note = note or None
    session.flush()
    audit.record(session, session.get(User, assignment.expert_id), "assignment.skipped", assignment,
                 before=before, after={"status": "skipped", "reason": reason}, now=now)
    return assignment


def _check_skip(reason: str, note: str | None) -> None:
    errors: dict[str, str] = {}
    if reason not in SKIP_REASONS:
        errors["reason"] = f"{reason!r} is not a reason; use {', '.join(SKIP_REASONS)}"
    problem = None if note is None else text_problem(note, max_length=MAX_SKIP_NOTE, allow_empty=True)
    if problem:
        errors["note"] = f"The note {problem}."
    if errors:
        raise ValidationError(errors)


# --- task progress ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskProgress:
    submitted_count: int
    status: TaskStatus


def refresh_task_progress(session: Session, task_id: int, *, overlap: int | None = None) -> TaskProgress:
    """Recount the task's counted judgements and derive its status against the project's overlap.

    On PostgreSQL the task row is locked first, so the count (a later statement, hence a later
    snapshot) sees a concurrent submission to the same task that committed while we waited.
    """
    params = {"task_id": task_id}
    if not is_sqlite(session):
        session.execute(sql.wait_for_task(), params)
    if overlap is None:
        overlap = session.scalar(sql.overlap_of_task(), params)
    row = session.execute(sql.recount_task(), {**params, "overlap": overlap or 1},
                          execution_options={"synchronize_session": "fetch"}).one()
    return TaskProgress(submitted_count=row.submitted_count, status=row.status)
