"""JSON Schemas of the expert endpoints in ``api/tasks.py``, for the OpenAPI document."""
from __future__ import annotations

from typing import Any

from ..annotate.forms import FLAG_VALUES, MAX_CRITIQUE, MAX_REWRITE
from ..tasks.service import SKIP_REASONS

ID_MAP = {"type": "object", "propertyNames": {"pattern": "^[0-9]+$"}}

JUDGEMENT_INPUT: dict[str, Any] = {
    "type": "object",
    "description": "Values keyed by completion id. Only `preference` is in display order: negative means "
                   "the answer shown first (A) is better. Unknown keys are ignored.",
    "properties": {
        "preference": {"type": ["integer", "null"], "minimum": -3, "maximum": 3},
        "ranking": {**ID_MAP, "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 9},
                    "description": "completion id -> rank, 1 is best, equal ranks tie (3+ answers)"},
        "confidence": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "scores": {**ID_MAP, "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
                   "description": "completion id -> criterion key -> score within the criterion's scale"},
        "critiques": {**ID_MAP, "additionalProperties": {"type": "string", "maxLength": MAX_CRITIQUE}},
        "rewrite": {"type": ["string", "null"], "maxLength": MAX_REWRITE},
        "rewrite_source_id": {"type": ["integer", "null"]},
        "flags": {"type": "array", "items": {"enum": list(FLAG_VALUES)}},
        "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,64}$", "description": "submit only"},
        "confirm": {"type": "boolean", "description": "submit only: keep a judgement that contradicts itself"},
    },
}

ASSIGNMENT = {"type": "object", "required": ["id", "status", "lease_expires_at", "active_seconds"], "properties": {
    "id": {"type": "integer"}, "task_id": {"type": "integer"},
    "status": {"enum": ["active", "submitted", "skipped", "expired"]},
    "claimed_at": {"type": "string", "format": "date-time"}, "lease_expires_at": {"type": "string", "format": "date-time"},
    "active_seconds": {"type": "integer"}}}

DRAFT = {"type": ["object", "null"], "description": "The input's shape plus status, revision, guideline_version, updated_at."}

TASK = {"type": "object", "required": ["assignment", "project", "prompt", "answers", "rubric", "instructions", "draft"],
        "properties": {
            "assignment": ASSIGNMENT,
            "project": {"type": "object", "properties": {"slug": {"type": "string"}, "name": {"type": "string"},
                                                         "kind": {"enum": ["pairwise", "ranking"]}}},
            "guideline_version": {"type": "integer"},
            "instructions": {"type": "string", "description": "Markdown"},
            "rubric": {"type": "object", "properties": {"criteria": {"type": "array", "items": {"type": "object"}}}},
            "prompt": {"type": "object", "properties": {"messages": {"type": "array", "items": {
                "type": "object", "properties": {"role": {"type": "string"}, "content": {"type": "string"}}}}}},
            "answers": {"type": "array", "description": "In display order; never the model's name.", "items": {
                "type": "object", "properties": {"label": {"type": "string"}, "completion_id": {"type": "integer"},
                                                 "text": {"type": "string", "description": "Markdown"}}}},
            "draft": DRAFT}}

HEARTBEAT_INPUT = {"type": "object", "properties": {"focused": {"type": "boolean", "default": True}}}
SKIP_INPUT = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"enum": list(SKIP_REASONS)}, "note": {"type": "string", "maxLength": 2000}}}

ASSIGNMENT_PARAMETER = {"name": "assignment_id", "in": "path", "required": True, "schema": {"type": "integer"}}
PROJECT_PARAMETER = {"name": "project", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "Only this project's tasks (a slug)."}
IDEMPOTENCY_PARAMETER = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


CONFLICT = _json("The assignment cannot change any more (skipped, or submitted and not returned).",
                 {"$ref": "#/components/schemas/Error"})
NEXT_RESPONSES = {"200": _json("The assignment to work on.", TASK), "204": {"description": "Nothing left to judge."}}
DRAFT_RESPONSES = {"200": _json("The draft.", {"type": "object", "properties": {"assignment": ASSIGNMENT, "draft": DRAFT}})}
SAVED_RESPONSES = {"200": _json("Saved.", {"type": "object", "properties": {
    "status": {"type": "string"}, "updated_at": {"type": "string"}, "lease_expires_at": {"type": "string"}}}),
    "409": CONFLICT}
HEARTBEAT_RESPONSES = {"200": _json("Counted.", {"type": "object", "properties": {
    "active_seconds": {"type": "integer"}, "lease_expires_at": {"type": "string"}}})}
SUBMIT_RESPONSES = {"200": _json("Submitted (or the earlier result of the same idempotency key).", {
    "type": "object", "properties": {"judgement": {"type": "object", "properties": {
        "id": {"type": "integer"}, "assignment_id": {"type": "integer"}, "status": {"type": "string"},
        "revision": {"type": "integer"}, "submitted_at": {"type": "string"}}}}}),
    "409": CONFLICT}
SKIP_RESPONSES = {"200": _json("Skipped.", {"type": "object", "properties": {"assignment": ASSIGNMENT}}), "409": CONFLICT}
