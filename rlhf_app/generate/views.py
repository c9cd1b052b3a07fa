"""The lab page per project: start generation for chosen models and watch its progress."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from ..common.decorators import role_required
from ..common.errors import DomainError
from ..common.permissions import can_manage_project
from ..db import get_session
from ..models import Project, Role
from ..projects.service import find_project
from . import jobs, service
from .forms import GenerateForm
from .registry import parse_allowed_hosts, parse_model_spec

bp = Blueprint("generate", __name__, url_prefix="/projects/<slug>/generate")


def _own_project(slug: str) -> Project:
    """The project, when the user may manage it; 404 otherwise (never 403: no hint it exists)."""
    project = find_project(get_session(), slug)
    if project is None or not can_manage_project(current_user, project):
        abort(404)
    return project


def _page(project: Project, form: GenerateForm, status: int = 200):
    allow = parse_allowed_hosts(current_app.config["GENERATION_ALLOWED_HOSTS"])
    models = [(spec, allow.url_problem(spec.base_url)) for spec in map(parse_model_spec, project.models or [])]
    return render_template("generate/lab.html", project=project, form=form, models=models,
                           jobs=service.list_jobs(get_session(), project), has_queue=bool(current_app.config.get("REDIS_URL"))), status


@bp.get("/")
@role_required(Role.lab)
def lab(slug: str):
    """The models, the start form (or the CLI command without Redis) and recent jobs."""
    project = _own_project(slug)
    return _page(project, GenerateForm.for_models([m["name"] for m in project.models or []]))


@bp.post("/")
@role_required(Role.lab)
def start(slug: str):
    """Queue a generation job for the chosen models and show its progress."""
    session, project = get_session(), _own_project(slug)
    form = GenerateForm.for_models([m["name"] for m in project.models or []])
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url or not form.validate_on_submit():
        return _page(project, form, 409 if not redis_url else 422)
    try:
        job = service.create_generation_job(session, project, form.models.data, concurrency=form.concurrency.data, actor=current_user,
                                            origin="web", allowed_hosts=current_app.config["GENERATION_ALLOWED_HOSTS"])
    except DomainError as exc:
        form.models.errors = [exc.message]
        return _page(project, form, 422)
    session.commit()
    jobs.enqueue_job(session, job, redis_url)
    session.commit()
    flash(f"Generation job {job.id} queued." if job.error is None else job.error, "info" if job.error is None else "error")
    return redirect(url_for("generate.job", slug=slug, job_id=job.id))


@bp.get("/jobs/<int:job_id>")
@role_required(Role.lab)
def job(slug: str, job_id: int):
    """One job's progress (refreshed by static/js/generate.js) and its failures."""
    project = _own_project(slug)
    found = service.find_project_job(get_session(), project, job_id)
    if found is None:
        abort(404)
    return render_template("generate/job.html", project=project, job=found, failures=service.first_failures(get_session(), found, 200),
                           stalled=service.stalled_notice(found), has_queue=bool(current_app.config.get("REDIS_URL")))
