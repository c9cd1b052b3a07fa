"""The landing page: one dashboard per role showing what that role can do."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..common.decorators import role_required
from ..db import get_session
from ..models import Role
from . import queries

bp = Blueprint("dashboard", __name__)

EXPERT_DASHBOARD_HOOKS: list = []  # annotate adds its figures here (keeps this module ignorant of it)


@bp.get("/")
def home():
    """Send each role to its dashboard; anonymous visitors to the sign-in page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(f"dashboard.{current_user.role.value}"))


@bp.get("/expert")
@role_required(Role.expert)
def expert():
    """The expert's day: next task, work done, returned judgements to fix."""
    session = get_session()
    figures: dict = {}
    for hook in EXPERT_DASHBOARD_HOOKS:
        figures.update(hook(session, current_user))
    projects = queries.list_projects_for(session, current_user)
    return render_template("dashboard/expert.html", projects=projects, figures=figures)


@bp.get("/reviewer")
@role_required(Role.reviewer)
def reviewer():
    """The reviewer's queue size and the projects under review."""
    session = get_session()
    projects = queries.list_projects_for(session, current_user)
    counts = queries.project_counts(session, [p.id for p in projects])
    return render_template("dashboard/reviewer.html", projects=projects, counts=counts,
                           backlog=queries.review_backlog(session))


@bp.get("/lab")
@role_required(Role.lab)
def lab():
    """The lab's projects with their progress."""
    session = get_session()
    projects = queries.list_projects_for(session, current_user)
    counts = queries.project_counts(session, [p.id for p in projects])
    return render_template("dashboard/lab.html", projects=projects, counts=counts)


@bp.get("/admin")
@role_required(Role.admin)
def admin():
    """Users, workspaces and tokens across the platform."""
    session = get_session()
    projects = queries.list_projects_for(session, current_user)
    counts = queries.project_counts(session, [p.id for p in projects])
    return render_template("dashboard/admin.html", projects=projects, counts=counts,
                           **queries.admin_overview(session))
