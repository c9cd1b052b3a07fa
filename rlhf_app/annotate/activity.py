"""Active time from page heartbeats, and the expert's own figures.

A heartbeat extends the expert's latest interval when it came at most ``IDLE_LIMIT`` after it, and
otherwise opens a new one, so more than two idle minutes stop the clock. Intervals are per expert:
a heartbeat only ever credits the time after the expert's latest interval ended, whichever tab or
assignment sent it, so two tabs never count the same second twice. The expert's row is locked
while this happens (PostgreSQL; SQLite serialises writers already).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import is_sqlite
from ..models import ActivityInterval, Assignment, AssignmentStatus, Judgement, JudgementStatus, Project, User
from ..tasks import statements as queue_sql
from ..tasks.service import RENEW_WITHIN, extend_live_lease, is_lease_live
from . import statements as sql

IDLE_LIMIT = dt.timedelta(seconds=120)


def record_heartbeat(session: Session, assignment: Assignment, *, now: dt.datetime, focused: bool = True) -> int:
    """Credit the time since the expert's previous heartbeat to this assignment; its active seconds."""
    if not focused or not _is_trackable(session, assignment):
        return assignment.active_seconds
    _lock_expert(session, assignment.expert_id)
    latest = session.scalar(sql.latest_interval(), {"expert_id": assignment.expert_id})
    assignment.active_seconds += _credit(session, assignment, latest, now)
    if is_lease_live(assignment, now) and assignment.lease_expires_at - now < RENEW_WITHIN:
        extend_live_lease(assignment, _project_of(session, assignment), now)
    return assignment.active_seconds


def _credit(session: Session, assignment: Assignment, latest: ActivityInterval | None, now: dt.datetime) -> int:
    """Extend or open an interval; the whole seconds it added."""
    if latest is not None and now <= latest.ended_at:
        return 0  # another tab already counted this moment
    if latest is None or now - latest.ended_at > IDLE_LIMIT:
        session.add(ActivityInterval(expert_id=assignment.expert_id, assignment_id=assignment.id,
                                     started_at=now, ended_at=now, seconds=0))
        return 0
    if latest.assignment_id == assignment.id:
        return _extend(latest, now)
    interval = ActivityInterval(expert_id=assignment.expert_id, assignment_id=assignment.id,
                                started_at=latest.ended_at, ended_at=latest.ended_at, seconds=0)
    session.add(interval)
    return _extend(interval, now)


def _extend(interval: ActivityInterval, now: dt.datetime) -> int:
    before = interval.seconds
    interval.ended_at = now
    interval.seconds = int((now - interval.started_at).total_seconds())
    return interval.seconds - before


def _is_trackable(session: Session, assignment: Assignment) -> bool:
    """Time counts on an active assignment, or on a submitted one whose judgement came back."""
    if assignment.status is AssignmentStatus.active:
        return True
    if assignment.status is not AssignmentStatus.submitted:
        return False
    status = session.scalar(sql.judgement_status(), {"assignment_id": assignment.id})
    return status is JudgementStatus.returned


def _lock_expert(session: Session, expert_id: int) -> None:
    if not is_sqlite(session):
        session.execute(queue_sql.lock_user(), {"user_id": expert_id})


def _project_of(session: Session, assignment: Assignment) -> Project:
    return session.execute(sql.project_of_task(), {"task_id": assignment.task_id}).scalar_one()


# --- the expert's figures -----------------------------------------------------------------------

def expert_figures(session: Session, expert: User, *, now: dt.datetime) -> dict[str, str]:
    """Label -> value for the expert dashboard: tasks done today and this week, active hours, returns."""
    day = now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - dt.timedelta(days=day.weekday())
    return {
        "Tasks done today": str(_submitted_since(session, expert, day)),
        "Tasks done this week": str(_submitted_since(session, expert, week)),
        "Active hours this week": f"{_active_seconds_since(session, expert, week) / 3600:.1f}",
        "Returned judgements to fix": str(_returned_count(session, expert)),
    }


def _submitted_since(session: Session, expert: User, since: dt.datetime) -> int:
    query = select(func.count()).select_from(Assignment).where(
        Assignment.expert_id == expert.id, Assignment.status == AssignmentStatus.submitted,
        Assignment.submitted_at >= since)
    return session.scalar(query) or 0


def _active_seconds_since(session: Session, expert: User, since: dt.datetime) -> int:
    query = select(func.coalesce(func.sum(ActivityInterval.seconds), 0)).where(
        ActivityInterval.expert_id == expert.id, ActivityInterval.ended_at >= since)
    return int(session.scalar(query) or 0)


def _returned_count(session: Session, expert: User) -> int:
    query = select(func.count()).select_from(Judgement).where(
        Judgement.expert_id == expert.id, Judgement.status == JudgementStatus.returned)
    return session.scalar(query) or 0
