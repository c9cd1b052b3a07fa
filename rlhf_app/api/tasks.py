"""``/api/v1`` for experts: claim the next task, autosave drafts, heartbeats, submit and skip.

The same services as the annotate page; another expert's assignment id answers 404. Cookie
calls need the ``X-CSRFToken`` header (checked app-wide), bearer-token calls do not.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from ..annotate import service as annotate
from ..annotate.forms import parse_bool, parse_confirm, parse_idempotency_key, parse_judgement_json
from ..annotate.queries import assignment_json, draft_for
from ..common.clock import utcnow
from ..common.decorators import role_required
from ..common.errors import ValidationError
from ..db import get_session
from ..models import Role
from ..tasks import service as queue
from . import task_schemas as schemas
from .common import json_object
from .openapi import document

bp = Blueprint("api_tasks", __name__, url_prefix="/api/v1")


def _expert():
    return current_user._get_current_object()


def _own(assignment_id: int):
    return queue.get_own_assignment(get_session(), assignment_id, _expert(), for_update=request.method != "GET")


document("/tasks/next", "get", "Claim the next task (or resume the open one); 204 when nothing is left.",
         parameters=[schemas.PROJECT_PARAMETER], responses=schemas.NEXT_RESPONSES)


@bp.get("/tasks/next")
@role_required(Role.expert)
def next_task():
    """Resume or claim a task and describe it; 204 when the queue is empty for this expert."""
    session = get_session()
    assignment = queue.claim_next(session, _expert(), project_slug=request.args.get("project") or None, now=utcnow())
    body = annotate.describe_assignment(session, assignment) if assignment is not None else None
    session.commit()  # after reading the page: one transaction, not a second one just to read
    return ("", 204) if body is None else jsonify(body)


document("/assignments/{assignment_id}/draft", "get", "The assignment's saved draft (null before the first save).",
         parameters=[schemas.ASSIGNMENT_PARAMETER], responses=schemas.DRAFT_RESPONSES)


@bp.get("/assignments/<int:assignment_id>/draft")
@role_required(Role.expert)
def get_draft(assignment_id: int):
    """The saved draft in the input's shape (preference in display order)."""
    assignment = _own(assignment_id)
    return jsonify({"assignment": assignment_json(assignment), "draft": draft_for(get_session(), assignment)})


document("/assignments/{assignment_id}/draft", "put", "Replace the draft (partial data is fine).",
         parameters=[schemas.ASSIGNMENT_PARAMETER], request_body=schemas.JUDGEMENT_INPUT,
         responses=schemas.SAVED_RESPONSES)


@bp.put("/assignments/<int:assignment_id>/draft")
@role_required(Role.expert)
def put_draft(assignment_id: int):
    """Autosave: store the draft as sent."""
    session = get_session()
    assignment = _own(assignment_id)
    data = parse_judgement_json(json_object())
    judgement = annotate.save_draft(session, assignment, data, now=utcnow())
    session.commit()
    return jsonify({"status": judgement.status.value, "updated_at": judgement.updated_at.isoformat(),
                    "lease_expires_at": assignment.lease_expires_at.isoformat()})


document("/assignments/{assignment_id}/heartbeat", "post", "Count active time while the page is visible and in use.",
         parameters=[schemas.ASSIGNMENT_PARAMETER], request_body=schemas.HEARTBEAT_INPUT,
         responses=schemas.HEARTBEAT_RESPONSES)


@bp.post("/assignments/<int:assignment_id>/heartbeat")
@role_required(Role.expert)
def heartbeat(assignment_id: int):
    """Record a heartbeat; answers the assignment's active seconds."""
    session = get_session()
    assignment = _own(assignment_id)
    body = request.get_json(silent=True)
    focused = parse_bool(body.get("focused") if isinstance(body, dict) else None, "focused", default=True)
    seconds = annotate.record_heartbeat(session, assignment, now=utcnow(), focused=focused)
    session.commit()
    return jsonify({"active_seconds": seconds, "lease_expires_at": assignment.lease_expires_at.isoformat()})


document("/assignments/{assignment_id}/submit", "post",
         "Submit the judgement; send an Idempotency-Key header (or idempotency_key) so a retry records it once.",
         parameters=[schemas.ASSIGNMENT_PARAMETER, schemas.IDEMPOTENCY_PARAMETER],
         request_body=schemas.JUDGEMENT_INPUT, responses=schemas.SUBMIT_RESPONSES)


@bp.post("/assignments/<int:assignment_id>/submit")
@role_required(Role.expert)
def submit(assignment_id: int):
    """Submit (or resubmit a returned) judgement; 422 lists what is missing or asks to confirm."""
    session = get_session()
    assignment = _own(assignment_id)
    body = json_object()
    data = parse_judgement_json(body)
    key = parse_idempotency_key(request.headers.get("Idempotency-Key") or body.get("idempotency_key"))
    judgement = annotate.submit_judgement(session, assignment, data, idempotency_key=key,
                                          confirmed=parse_confirm(body.get("confirm")), now=utcnow())
    session.commit()
    return jsonify({"judgement": annotate.judgement_json(judgement)})


document("/assignments/{assignment_id}/skip", "post", "Skip the task with a reason (kept as a status).",
         parameters=[schemas.ASSIGNMENT_PARAMETER], request_body=schemas.SKIP_INPUT, responses=schemas.SKIP_RESPONSES)


@bp.post("/assignments/<int:assignment_id>/skip")
@role_required(Role.expert)
def skip(assignment_id: int):
    """Skip with ``reason`` (outside_expertise, bad_prompt, other) and an optional ``note``."""
    session = get_session()
    assignment = _own(assignment_id)
    body = json_object()
    reason, note = body.get("reason"), body.get("note")
    if not isinstance(reason, str) or not (note is None or isinstance(note, str)):
        raise ValidationError({"reason": "Send 'reason' as text and 'note', if any, as text."})
    queue.skip_assignment(session, assignment, reason=reason, note=note, now=utcnow())
    session.commit()
    return jsonify({"assignment": assignment_json(assignment)})
