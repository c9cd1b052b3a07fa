"""``/api/v1``: import completions, start generation jobs and read their progress."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user

from ..common.decorators import role_required
from ..common.errors import Conflict, NotFound, ValidationError
from ..common.permissions import can_manage_project
from ..db import get_session
from ..generate import imports, jobs, service
from ..models import GenerationJob, Project, Role
from ..projects.service import find_project
from .common import json_object
from .openapi import document

bp = Blueprint("api_generation", __name__, url_prefix="/api/v1")

SLUG = [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]
JOB_ID = [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
COMPLETION = {"type": "object", "required": ["prompt_id", "model", "text"], "properties": {
    "prompt_id": {"type": "string"}, "model": {"type": "string"}, "text": {"type": "string"}, "generation": {"type": "object"}}}
JOB = {"description": "The job: status, counts (total, completed, failed, truncated), error, the first 50 failures, and "
                      "`stalled` (a message, or null) when a running job's process stopped sending its heartbeat."}


def _own_project(slug: str) -> Project:
    project = find_project(get_session(), slug)
    if project is None or not can_manage_project(current_user, project):
        raise NotFound(f"There is no project '{slug}'.")
    return project


document("/projects/{slug}/completions", "post",
         "Import completions: a JSON array, or JSONL with Content-Type application/x-ndjson. Any problem imports nothing "
         "(422 lists every line's problems in details.errors).",
         request_body={"type": "array", "items": COMPLETION}, parameters=SLUG,
         responses={"200": {"description": "Counts of completions added and unchanged."}})


@bp.post("/projects/<slug>/completions")
@role_required(Role.lab)
def import_completions(slug: str):
    """Bulk-import completions for one of the caller's projects."""
    session, project = get_session(), _own_project(slug)
    request.max_content_length = current_app.config["MAX_IMPORT_BYTES"]
    rows = imports.parse_completions_body(request.get_data(), is_json_array=request.mimetype == "application/json")
    result = imports.import_completions(session, project, rows, actor=current_user)
    session.commit()
    return jsonify({"project": slug, "added": result.completions_added, "unchanged": result.completions_unchanged})


document("/projects/{slug}/generation-jobs", "post",
         "Start generating the missing completions of the named models (needs a worker: `rlhf worker`).",
         request_body={"type": "object", "required": ["models"], "properties": {
             "models": {"type": "array", "items": {"type": "string"}}, "concurrency": {"type": "integer", "minimum": 1, "maximum": 64}}},
         parameters=SLUG, responses={"202": JOB, "409": {"description": "No job queue (RLHF_REDIS_URL) is configured."}})


@bp.post("/projects/<slug>/generation-jobs")
@role_required(Role.lab)
def start_job(slug: str):
    """Queue a generation job; without Redis answer 409 with the CLI command to run instead."""
    session, project = get_session(), _own_project(slug)
    data = json_object()
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        command = f"rlhf generate --project {slug}" + "".join(f" --model {m}" for m in data.get("models") or [])
        raise Conflict("No job queue is configured (RLHF_REDIS_URL); run the generation from the command line.", {"command": command})
    job = service.create_generation_job(session, project, _names(data.get("models")), concurrency=_concurrency(data.get("concurrency")),
                                        actor=current_user, origin="api", allowed_hosts=current_app.config["GENERATION_ALLOWED_HOSTS"])
    session.commit()
    jobs.enqueue_job(session, job, redis_url)
    session.commit()
    location = url_for("api_generation.get_job", job_id=job.id)
    return jsonify(service.describe_job(session, job)), 202, {"Location": location}


def _names(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationError({"models": "give 'models' as a non-empty list of registered model names"})
    return value


def _concurrency(value: object) -> int:
    if value is None:
        return service.DEFAULT_CONCURRENCY
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({"concurrency": f"must be a whole number from 1 to {service.MAX_CONCURRENCY}"})
    return value


document("/generation-jobs/{job_id}", "get", "A generation job's status and counts; another workspace's job is 404.",
         parameters=JOB_ID, responses={"200": JOB})


@bp.get("/generation-jobs/<int:job_id>")
@role_required(Role.lab)
def get_job(job_id: int):
    """One job with its counts and first failures."""
    session = get_session()
    job = session.get(GenerationJob, job_id)
    project = session.get(Project, job.project_id) if job is not None else None
    if job is None or project is None or not can_manage_project(current_user, project):
        raise NotFound(f"There is no generation job {job_id}.")
    return jsonify(service.describe_job(session, job))
