"""Read-only views of an assignment for the annotate page and the API (never a model name)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Assignment, GuidelineVersion, Judgement, JudgementStatus, Project, User
from . import statements as sql
from .ordering import label_for, to_display_preference
from .validation import TaskShape


@dataclass(frozen=True)
class TaskContext:
    """An assignment's project, the guideline shown, and the task's answers in canonical order."""

    project: Project
    guideline: GuidelineVersion
    shape: TaskShape


def task_context(session: Session, assignment: Assignment) -> TaskContext:
    """Load what validating the assignment needs (two queries)."""
    project, guideline = session.execute(sql.guideline(), {"task_id": assignment.task_id}).one()
    return TaskContext(project=project, guideline=guideline, shape=_shape(session, assignment, guideline))


def _shape(session: Session, assignment: Assignment, guideline: GuidelineVersion) -> TaskShape:
    rows = session.execute(sql.answers(), {"task_id": assignment.task_id}).all()
    return TaskShape(
        completion_ids=tuple(r.id for r in rows), display_order=tuple(assignment.display_order),
        criteria=tuple(guideline.criteria), texts={r.id: r.text for r in rows},
        rewrite_required=bool(guideline.rubric.get("rewrite_required", True)),
    )


def describe_assignment(session: Session, assignment: Assignment) -> dict[str, Any]:
    """Everything the annotate page shows, with the saved draft, as JSON-ready values (two queries)."""
    params = {"task_id": assignment.task_id, "assignment_id": assignment.id}
    project, guideline, messages, judgement = session.execute(sql.page(), params).one()
    shape = _shape(session, assignment, guideline)
    return {
        "assignment": assignment_json(assignment),
        "project": {"slug": project.slug, "name": project.name, "kind": project.kind.value},
        "guideline_version": guideline.version,
        "instructions": guideline.instructions,
        "rubric": {"criteria": list(shape.criteria)},
        "prompt": {"messages": list(messages or [])},
        "answers": [{"label": label_for(i), "completion_id": cid, "text": shape.texts[cid]}
                    for i, cid in enumerate(shape.displayed_ids())],
        "draft": draft_json(judgement, assignment, shape.completion_ids) if judgement is not None else None,
    }


def assignment_json(assignment: Assignment) -> dict[str, Any]:
    """The assignment's id, task, status, lease and active time."""
    return {
        "id": assignment.id, "task_id": assignment.task_id, "status": assignment.status.value,
        "claimed_at": assignment.claimed_at.isoformat(), "lease_expires_at": assignment.lease_expires_at.isoformat(),
        "active_seconds": assignment.active_seconds,
    }


def draft_json(judgement: Judgement, assignment: Assignment, completion_ids: tuple[int, ...]) -> dict[str, Any]:
    """A judgement in the input's JSON shape (preference back in display order), plus its status."""
    ranking = None
    if judgement.ranking:
        ranking = {str(cid): rank for cid, rank in zip(completion_ids, judgement.ranking) if rank is not None}
    return {
        "preference": to_display_preference(judgement.preference, assignment.display_order),
        "ranking": ranking, "confidence": judgement.confidence,
        "scores": dict(judgement.rubric_scores or {}), "critiques": dict(judgement.critiques or {}),
        "rewrite": judgement.rewrite, "rewrite_source_id": judgement.rewrite_source_id,
        "flags": list(judgement.flags or []), "status": judgement.status.value, "revision": judgement.revision,
        "guideline_version": judgement.guideline_version, "updated_at": judgement.updated_at.isoformat(),
    }


def judgement_json(judgement: Judgement) -> dict[str, Any]:
    """The submission receipt: ids, status and revision."""
    return {
        "id": judgement.id, "assignment_id": judgement.assignment_id, "status": judgement.status.value,
        "revision": judgement.revision, "submitted_at": judgement.submitted_at.isoformat() if judgement.submitted_at else None,
    }


def list_returned(session: Session, expert: User) -> list[Judgement]:
    """The expert's judgements a reviewer sent back, oldest first, with their reviews loaded."""
    query = (select(Judgement).where(Judgement.expert_id == expert.id, Judgement.status == JudgementStatus.returned)
             .options(selectinload(Judgement.reviews)).order_by(Judgement.updated_at, Judgement.id))
    return list(session.scalars(query))


def draft_for(session: Session, assignment: Assignment) -> dict[str, Any] | None:
    """The assignment's saved judgement in the input's JSON shape, or None before the first save."""
    judgement = session.scalar(sql.judgement_of(), {"assignment_id": assignment.id})
    if judgement is None:
        return None
    ids = tuple(session.scalars(sql.answer_ids(), {"task_id": assignment.task_id}))
    return draft_json(judgement, assignment, ids)
