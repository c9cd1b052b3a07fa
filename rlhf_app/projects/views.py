"""Project pages for labs, reviewers and admins."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from ..common.decorators import role_required
from ..common.permissions import can_view_project
from ..dashboard.queries import list_projects_for, project_counts
from ..db import get_session
from ..models import Role
from . import service

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.get("/")
@role_required(Role.lab, Role.reviewer)
def index():
    """The projects the user may see."""
    session = get_session()
    projects = list_projects_for(session, current_user)
    return render_template("projects/index.html", projects=projects, counts=project_counts(session, [p.id for p in projects]))


@bp.get("/<slug>")
@role_required(Role.lab, Role.reviewer)
def detail(slug: str):
    """One project: settings, guideline, rubric and progress. Other workspaces' projects are 404."""
    session = get_session()
    project = service.find_project(session, slug)
    if project is None or not can_view_project(current_user, project):
        abort(404)
    guideline = service.current_guideline(session, project)
    counts = project_counts(session, [project.id])[project.id]
    return render_template("projects/detail.html", project=project, guideline=guideline, counts=counts)
