"""Read-only figures for the role dashboards."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    ApiToken, Judgement, JudgementStatus, Project, Prompt, Task, TaskStatus, User, Workspace,
)


def list_projects_for(session: Session, user: User) -> list[Project]:
    """Projects the user may see: a lab user's workspace, everything for admins and reviewers."""
    query = select(Project).order_by(Project.name)
    if user.role.value == "lab":
        query = query.where(Project.workspace_id == (user.workspace_id or -1))
    elif user.role.value == "expert":
        query = query.where(Project.domain.in_(user.domains or []))
    return list(session.scalars(query))


def project_counts(session: Session, project_ids: list[int]) -> dict[int, dict[str, int]]:
    """Prompts, tasks, complete tasks and submitted judgements per project."""
    counts: dict[int, dict[str, int]] = {pid: {"prompts": 0, "tasks": 0, "complete": 0, "judgements": 0} for pid in project_ids}
    if not project_ids:
        return counts
    for pid, n in session.execute(select(Prompt.project_id, func.count()).where(Prompt.project_id.in_(project_ids)).group_by(Prompt.project_id)):
        counts[pid]["prompts"] = n
    task_rows = session.execute(
        select(Task.project_id, Task.status, func.count()).where(Task.project_id.in_(project_ids)).group_by(Task.project_id, Task.status)
    )
    for pid, status, n in task_rows:
        counts[pid]["tasks"] += n
        if status is TaskStatus.complete:
            counts[pid]["complete"] += n
    judged = session.execute(
        select(Task.project_id, func.count()).join(Judgement, Judgement.task_id == Task.id)
        .where(Task.project_id.in_(project_ids), Judgement.status != JudgementStatus.draft).group_by(Task.project_id)
    )
    for pid, n in judged:
        counts[pid]["judgements"] = n
    return counts


def review_backlog(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Judgement).where(Judgement.status == JudgementStatus.submitted)) or 0


def admin_overview(session: Session) -> dict[str, Any]:
    users_by_role = dict(session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return {
        "users": list(session.scalars(select(User).order_by(User.role, User.email))),
        "users_by_role": {role.value: n for role, n in users_by_role.items()},
        "workspaces": list(session.scalars(select(Workspace).order_by(Workspace.slug))),
        "active_tokens": session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) or 0,
    }


def start_of_week(now: dt.datetime) -> dt.datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - dt.timedelta(days=day.weekday())
