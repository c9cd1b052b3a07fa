"""``GET /api/v1/projects/<slug>/export``: a project's dataset streamed as JSON Lines.

The rows are the ones the export folder would hold, built by the same service; nothing is
written to disk. Another workspace's project answers 404.
"""
from __future__ import annotations

from typing import Iterator

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session
from flask_login import current_user

from ..common.decorators import role_required
from ..common.errors import NotFound, ValidationError
from ..common.permissions import can_manage_project
from ..db import get_session
from ..export import service
from ..export.aggregate import AGGREGATES
from ..export.formats import FORMAT_NAMES
from ..export.options import options_from_mapping
from ..models import Role
from ..projects.service import find_project
from .openapi import document

bp = Blueprint("api_export", __name__, url_prefix="/api/v1")
SPLIT_CHOICES = ("train", "test", "all")


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": name == "format", "schema": schema, "description": description}


document(
    "/projects/{slug}/export", "get", "Stream the project's dataset as JSON Lines (one row per line).",
    parameters=[
        {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
        _query("format", {"type": "string", "enum": list(FORMAT_NAMES)}, "Dataset format."),
        _query("split", {"type": "string", "enum": list(SPLIT_CHOICES), "default": "all"}, "Which split's rows."),
        _query("text", {"type": "boolean"}, "Plain strings instead of message lists (trl, trl-kto)."),
        _query("margin", {"type": "boolean"}, "Add the margin column (trl)."),
        _query("with_rewrites", {"type": "boolean"}, "Add rewrite > chosen and rewrite > rejected pairs."),
        _query("aggregate", {"type": "string", "enum": list(AGGREGATES), "default": "mean"}, "Several judgements per task."),
        _query("tie_threshold", {"type": "number", "minimum": 0, "maximum": 3, "default": 0.5}, "Drop weaker decisions."),
        _query("min_gold_accuracy", {"type": "number", "minimum": 0, "maximum": 1}, "Only experts at least this accurate on gold tasks."),
        _query("since", {"type": "string", "format": "date"}, "Submitted on or after this UTC day."),
        _query("until", {"type": "string", "format": "date"}, "Submitted on or before this UTC day."),
        _query("seed", {"type": "integer", "minimum": 0, "default": 0}, "Split seed."),
        _query("test_fraction", {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.1}, "Share of prompts in test."),
    ],
    responses={"200": {"description": "JSON Lines, one dataset row per line.",
                       "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)


@bp.get("/projects/<slug>/export")
@role_required(Role.lab)
def export_stream(slug: str):
    """Stream the rows of one format; options as query parameters; 422 on bad options."""
    session = get_session()
    project = find_project(session, slug)
    if project is None or not can_manage_project(current_user, project):
        raise NotFound(f"There is no project '{slug}'.")
    split = request.args.get("split", "all")
    if split not in SPLIT_CHOICES:
        raise ValidationError({"split": f"'{split[:20]}' is not one of {', '.join(SPLIT_CHOICES)}"})
    options = options_from_mapping(request.args)
    chunks = service.open_stream(session, project, options, None if split == "all" else split)
    return Response(_closing(chunks, session), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'inline; filename="{slug}-{options.format}.jsonl"'})


def _closing(chunks: Iterator[bytes], session: Session) -> Iterator[bytes]:
    """Stream, then close the session: the request's teardown ran before the first chunk was read,
    so the transaction the stream reopens would otherwise stay open."""
    try:
        yield from chunks
    finally:
        session.close()
