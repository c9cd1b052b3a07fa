"""Judging one assignment: drafts that autosave, idempotent submission, revisions and time.

Drafts accept partial data (shape and ranges only); submission checks completeness, asks the
expert to confirm contradictions (``NeedsConfirmation``), freezes a ``JudgementRevision`` and
recounts the task's progress. Everything is stored in canonical order (see ordering.py). Time
tracking and the expert's figures live in activity.py, read-only views in queries.py; both are
re-exported here so callers need one module.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ..common import audit
from ..common.errors import Conflict, ValidationError
from ..models import Assignment, AssignmentStatus, Judgement, JudgementRevision, JudgementStatus, User
from ..tasks.service import extend_live_lease, lock_assignment, refresh_task_progress
from .activity import expert_figures, record_heartbeat
from .forms import JudgementInput
from .ordering import to_canonical_preference
from . import statements as sql
from .queries import (
    TaskContext, describe_assignment, draft_for, draft_json, judgement_json, list_returned, task_context,
)
from .validation import NeedsConfirmation, contradictions, draft_problems, submit_problems

__all__ = [
    "NeedsConfirmation", "describe_assignment", "draft_for", "draft_json", "expert_figures", "judgement_json", "list_returned",
    "load_draft", "record_heartbeat", "save_draft", "submit_judgement",
]


def load_draft(session: Session, assignment: Assignment) -> Judgement | None:
    """The assignment's judgement (draft or submitted), or None when nothing was saved yet."""
    return session.scalar(sql.judgement_of(), {"assignment_id": assignment.id})


def save_draft(session: Session, assignment: Assignment, data: JudgementInput, *, now: dt.datetime) -> Judgement:
    """Replace the draft with ``data`` (partial is fine; shape and ranges are checked)."""
    lock_assignment(session, assignment)
    judgement = load_draft(session, assignment)
    _check_editable(assignment, judgement)
    context = task_context(session, assignment)
    problems = draft_problems(data, context.shape)
    if problems:
        raise ValidationError(problems)
    started = judgement is None
    judgement = judgement or _new_judgement(session, assignment, context, now)
    _apply(judgement, assignment, data, context, now)
    extend_live_lease(assignment, context.project, now)
    session.flush()
    if started:  # autosaves are not audited one by one; submissions freeze a revision instead
        audit.record(session, _expert(session, assignment), "judgement.draft_started", judgement, now=now)
    return judgement


def submit_judgement(
    session: Session, assignment: Assignment, data: JudgementInput, *, idempotency_key: str | None,
    confirmed: bool, now: dt.datetime,
) -> Judgement:
    """Submit (or resubmit a returned) judgement; the same idempotency key returns the first result."""
    lock_assignment(session, assignment)
    judgement, replay = _own_and_replayed(session, assignment, idempotency_key)
    if replay is not None:
        return replay
    _check_submittable(assignment, judgement)
    context = task_context(session, assignment)
    _check_complete(data, context, confirmed)
    before = {"status": judgement.status.value, "revision": judgement.revision} if judgement else None
    judgement = judgement or _new_judgement(session, assignment, context, now)
    _apply(judgement, assignment, data, context, now)
    _mark_submitted(session, judgement, assignment, idempotency_key, now)
    refresh_task_progress(session, assignment.task_id, overlap=context.project.judgements_per_task)
    action = "judgement.resubmitted" if before and before["status"] == "returned" else "judgement.submitted"
    audit.record(session, _expert(session, assignment), action, judgement, before=before,
                 after={"status": judgement.status.value, "revision": judgement.revision}, now=now)
    return judgement


# --- steps --------------------------------------------------------------------------------------

def _own_and_replayed(session: Session, assignment: Assignment, key: str | None) -> tuple[Judgement | None, Judgement | None]:
    """The assignment's judgement, and the one an earlier request with ``key`` produced (one query).

    A key that produced another assignment's judgement is a conflict, not a replay.
    """
    rows = session.scalars(sql.judgement_or_key(), {"assignment_id": assignment.id, "key": key}).all()
    own = next((j for j in rows if j.assignment_id == assignment.id), None)
    replay = next((j for j in rows if key is not None and j.idempotency_key == key), None)
    if replay is not None and replay is not own:
        raise Conflict("This idempotency key was already used for another submission; send a new one.")
    return own, replay


def _check_editable(assignment: Assignment, judgement: Judgement | None) -> None:
    if assignment.status is AssignmentStatus.skipped:
        raise Conflict("You skipped this task, so it can no longer be changed.")
    if judgement is not None and judgement.status not in (JudgementStatus.draft, JudgementStatus.returned):
        raise Conflict(f"This judgement is {judgement.status.value}; it can be changed only when a reviewer returns it.")


def _check_submittable(assignment: Assignment, judgement: Judgement | None) -> None:
    _check_editable(assignment, judgement)
    if assignment.status is AssignmentStatus.submitted and (judgement is None or judgement.status is not JudgementStatus.returned):
        raise Conflict("This task was already submitted.")


def _check_complete(data: JudgementInput, context: TaskContext, confirmed: bool) -> None:
    problems = submit_problems(data, context.shape)
    if problems:
        raise ValidationError(problems, "Some answers are missing or out of range.")
    warnings = contradictions(data, context.shape)
    if warnings and not confirmed:
        raise NeedsConfirmation(warnings)


def _new_judgement(session: Session, assignment: Assignment, context: TaskContext, now: dt.datetime) -> Judgement:
    judgement = Judgement(
        assignment_id=assignment.id, task_id=assignment.task_id, expert_id=assignment.expert_id,
        status=JudgementStatus.draft, guideline_version=context.guideline.version, rubric_scores={}, critiques={},
        flags=[], active_seconds=0, revision=0, created_at=now, updated_at=now,
    )
    session.add(judgement)
    return judgement


def _apply(judgement: Judgement, assignment: Assignment, data: JudgementInput, context: TaskContext, now: dt.datetime) -> None:
    """Copy the input onto the judgement in canonical order and pin the guideline shown."""
    ids = context.shape.completion_ids
    judgement.preference = to_canonical_preference(data.preference, assignment.display_order)
    judgement.ranking = [(data.ranking or {}).get(cid) for cid in ids] if data.ranking else None
    judgement.confidence = data.confidence
    judgement.rubric_scores = {str(cid): dict(scores) for cid, scores in data.scores.items()}
    judgement.critiques = {str(cid): text for cid, text in data.critiques.items()}
    judgement.rewrite = data.rewrite
    judgement.rewrite_source_id = data.rewrite_source_id
    judgement.flags = list(data.flags)
    judgement.guideline_version = context.guideline.version
    judgement.updated_at = now


def _mark_submitted(session: Session, judgement: Judgement, assignment: Assignment, key: str | None, now: dt.datetime) -> None:
    """Status, revision, a frozen copy, and the assignment's end."""
    judgement.status = JudgementStatus.submitted
    judgement.submitted_at = now
    judgement.revision += 1
    judgement.idempotency_key = key or judgement.idempotency_key
    judgement.active_seconds = assignment.active_seconds
    assignment.status = AssignmentStatus.submitted
    assignment.submitted_at = assignment.submitted_at or now
    # Linked through the relationship, so one flush writes the judgement and its revision.
    session.add(JudgementRevision(judgement=judgement, revision=judgement.revision,
                                  data=_snapshot(judgement, assignment), created_at=now))


def _snapshot(judgement: Judgement, assignment: Assignment) -> dict[str, Any]:
    return {
        "preference": judgement.preference, "ranking": judgement.ranking, "confidence": judgement.confidence,
        "rubric_scores": judgement.rubric_scores, "critiques": judgement.critiques, "rewrite": judgement.rewrite,
        "rewrite_source_id": judgement.rewrite_source_id, "flags": judgement.flags,
        "guideline_version": judgement.guideline_version, "display_order": assignment.display_order,
        "active_seconds": judgement.active_seconds, "idempotency_key": judgement.idempotency_key,
        "submitted_at": judgement.submitted_at.isoformat() if judgement.submitted_at else None,
    }


def _expert(session: Session, assignment: Assignment) -> User | None:
    return session.get(User, assignment.expert_id)
