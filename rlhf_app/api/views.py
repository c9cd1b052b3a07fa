"""``/api/v1``: the caller's identity, projects and the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from .. import __version__
from ..common.decorators import role_required
from ..common.permissions import can_view_project
from ..dashboard.queries import list_projects_for, project_counts
from ..db import get_session
from ..models import Role
from ..projects.service import get_project
from ..common.errors import NotFound
from .openapi import build_document, document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document of every endpoint under /api/v1."""
    return jsonify(build_document(__version__))


document("/me", "get", "The token's user.")


@bp.get("/me")
@role_required(Role.expert, Role.reviewer, Role.lab)
def me():
    """Who the token belongs to."""
    user = current_user
    return jsonify({"id": user.id, "email": user.email, "name": user.name, "role": user.role.value, "domains": user.domains})


document("/projects", "get", "Projects the caller may see.")


@bp.get("/projects")
@role_required(Role.lab, Role.reviewer)
def projects():
    """Projects visible to the caller with their progress."""
    session = get_session()
    rows = list_projects_for(session, current_user)
    counts = project_counts(session, [p.id for p in rows])
    return jsonify({"projects": [_project_json(p, counts[p.id]) for p in rows]})


document("/projects/{slug}", "get", "One project with its progress.",
         parameters=[{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}])


@bp.get("/projects/<slug>")
@role_required(Role.lab, Role.reviewer)
def project(slug: str):
    """One project; another workspace's project answers 404."""
    session = get_session()
    found = get_project(session, slug)
    if not can_view_project(current_user, found):
        raise NotFound(f"There is no project '{slug}'.")
    return jsonify(_project_json(found, project_counts(session, [found.id])[found.id]))


def _project_json(project, counts) -> dict:
    return {"slug": project.slug, "name": project.name, "domain": project.domain, "kind": project.kind.value,
            "status": project.status.value, "guideline_version": project.guideline_version, **counts}
