"""The lab's export page: past exports with their cards and files, and a form to start one."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..common.clock import utcnow
from ..common.decorators import role_required
from ..common.errors import ValidationError
from ..common.permissions import can_manage_project
from ..dashboard.queries import list_projects_for
from ..db import get_session
from ..models import Role
from ..projects.service import find_project
from . import service
from .aggregate import AGGREGATES
from .forms import parse_export_form
from .formats import FORMAT_NAMES

bp = Blueprint("export", __name__, url_prefix="/exports")
MIMETYPES = {".jsonl": "application/x-ndjson", ".md": "text/markdown", ".json": "application/json"}


def _export_dir() -> Path:
    return Path(current_app.config["EXPORT_DIR"])


def _page(errors: dict[str, str] | None = None, status: int = 200):
    session = get_session()
    user = current_user._get_current_object()
    runs = service.list_export_runs(session, user)
    cards = {run.id: service.read_card_body(_export_dir(), run) for run in runs}
    projects = [p for p in list_projects_for(session, user) if can_manage_project(user, p)]
    return render_template("export/index.html", runs=runs, cards=cards, projects=projects, formats=FORMAT_NAMES,
                           aggregates=AGGREGATES, errors=errors or {}, values=request.form), status


@bp.get("/")
@role_required(Role.lab)
def index():
    """Past exports of the user's workspace, newest first, and the form to start one."""
    return _page()


@bp.post("/")
@role_required(Role.lab)
def start():
    """Write a new export folder for one of the user's projects."""
    session = get_session()
    try:
        slug, options = parse_export_form(request.form)
    except ValidationError as exc:
        return _page(exc.errors, 422)
    project = find_project(session, slug)
    if project is None or not can_manage_project(current_user, project):
        abort(404)
    try:
        run = service.run_export(session, project, options, export_dir=_export_dir(),
                                 actor=current_user._get_current_object(), now=utcnow())
    except ValidationError as exc:
        session.rollback()
        return _page(exc.errors, 422)
    session.commit()
    flash(f"Exported {run.row_counts['train']} train and {run.row_counts['test']} test rows to {run.folder}.", "success")
    return redirect(url_for("export.index"))


@bp.get("/<int:run_id>/files/<name>")
@role_required(Role.lab)
def download(run_id: int, name: str):
    """One file of an export, by export id and a name from the allow-list; others' exports are 404."""
    run = service.get_export_run(get_session(), current_user, run_id)
    path = service.export_file_path(_export_dir(), run, name)
    return send_file(path, as_attachment=True, download_name=name, mimetype=MIMETYPES[path.suffix])
