"""The annotate page: claim the next task, judge it, submit or skip (HTML twin of the task API)."""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from ..common.clock import utcnow
from ..common.decorators import role_required
from ..common.errors import ValidationError
from ..dashboard.views import EXPERT_DASHBOARD_HOOKS
from ..db import get_session
from ..models import Assignment, Role, Task, TaskItem, User
from ..tasks import service as tasks
from . import service
from . import statements as sql
from .forms import JudgementInput, parse_judgement_form
from .page import build_page, values_from_judgement

bp = Blueprint("annotate", __name__, url_prefix="/annotate")

_KEY = re.compile(r"^[A-Za-z0-9-]{16,64}$")


@bp.get("/next")
@role_required(Role.expert)
def next_task():
    """Claim (or resume) the expert's next task and open it; say so when nothing is left."""
    session = get_session()
    assignment = tasks.claim_next(session, current_user, project_slug=request.args.get("project") or None, now=utcnow())
    session.commit()
    if assignment is None:
        return render_template("annotate/nothing_left.html")
    return redirect(url_for("annotate.show", assignment_id=assignment.id))


@bp.get("/<int:assignment_id>")
@role_required(Role.expert)
def show(assignment_id: int):
    """The annotate page for one of the expert's own assignments, with the saved draft."""
    session = get_session()
    assignment = tasks.get_own_assignment(session, assignment_id, current_user)
    return _render(session, assignment)


@bp.post("/<int:assignment_id>/submit")
@role_required(Role.expert)
def submit(assignment_id: int):
    """Submit the judgement; re-render with a message per field, or asking to confirm."""
    session = get_session()
    assignment = tasks.get_own_assignment(session, assignment_id, current_user, for_update=True)
    key = _idempotency_key(request.form.get("idempotency_key"))
    try:
        data = parse_judgement_form(request.form)
        service.submit_judgement(session, assignment, data, idempotency_key=key,
                                 confirmed=request.form.get("confirm") == "1", now=utcnow())
    except ValidationError as exc:
        return _render_again(session, assignment, key, exc.status, errors=exc.errors)
    except service.NeedsConfirmation as exc:
        return _render_again(session, assignment, key, exc.status, warnings=exc.warnings)
    session.commit()
    flash("Judgement submitted.", "success")
    return redirect(url_for("annotate.next_task"))


@bp.post("/<int:assignment_id>/skip")
@role_required(Role.expert)
def skip(assignment_id: int):
    """Skip the task with a reason (a status, never a deletion) and go to the next one."""
    session = get_session()
    assignment = tasks.get_own_assignment(session, assignment_id, current_user, for_update=True)
    tasks.skip_assignment(session, assignment, reason=request.form.get("reason", ""),
                          note=request.form.get("note", ""), now=utcnow())
    session.commit()
    flash("Task skipped.", "info")
    return redirect(url_for("annotate.next_task"))


def _render(session: Session, assignment: Assignment, values: JudgementInput | None = None, status: int = 200, *,
            key: str | None = None, **extra):
    """Render the page with ``values`` (default: the saved draft); ``extra``: errors, warnings, is_dirty."""
    project, guideline, judgement = session.execute(
        sql.guideline_and_draft(), {"task_id": assignment.task_id, "assignment_id": assignment.id}).one()
    task = _task_with_answers(session, assignment)  # with its prompt
    if values is None:
        values = values_from_judgement(judgement, task, assignment.display_order)
    page = build_page(assignment, task, project, guideline, values,
                      idempotency_key=key or uuid.uuid4().hex, judgement=judgement, **extra)
    return render_template("annotate/task.html", page=page), status


def _task_with_answers(session: Session, assignment: Assignment) -> Task:
    """The task with its prompt and completions, in one query."""
    return session.scalars(_TASK_WITH_ANSWERS, {"task_id": assignment.task_id}).unique().one()


_TASK_WITH_ANSWERS = (select(Task).where(Task.id == bindparam("task_id"))
                      .options(joinedload(Task.prompt), joinedload(Task.items).joinedload(TaskItem.completion)))


def _render_again(session: Session, assignment: Assignment, key: str, status: int, **extra):
    """After a refused submission nothing is stored: show the expert's input back as they sent it."""
    session.rollback()
    values = _parsed_or_none(request.form)
    return _render(session, assignment, values, status, key=key, is_dirty=values is not None, **extra)


def _parsed_or_none(form) -> JudgementInput | None:
    try:
        return parse_judgement_form(form)
    except ValidationError:
        return None  # the form itself was malformed: show the saved draft with the messages


def _idempotency_key(raw: str | None) -> str:
    """The page's key when it looks like one; a fresh key otherwise (one submission, one judgement)."""
    return raw if raw and _KEY.match(raw) else uuid.uuid4().hex


@bp.app_template_global("returned_judgements")
def returned_judgements() -> list:
    """The signed-in expert's judgements sent back by a reviewer (for the dashboard)."""
    return list(service.list_returned(get_session(), current_user))


def _expert_figures(session: Session, expert: User) -> dict[str, str]:
    return service.expert_figures(session, expert, now=utcnow())


if _expert_figures not in EXPERT_DASHBOARD_HOOKS:
    EXPERT_DASHBOARD_HOOKS.append(_expert_figures)
