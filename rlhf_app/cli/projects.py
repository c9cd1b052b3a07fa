"""``rlhf projects`` and ``rlhf tasks``: load prompt-set folders and build tasks."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.service import get_or_create_workspace
from ..common.errors import DomainError
from ..db import begin_write, get_session
from ..models import Project
from ..projects import service
from ..projects.loader import LoadError, read_folder
from ..tasks.build import build_tasks, parse_strategy
from . import fail

DEFAULT_WORKSPACE = "default"


@click.group("projects")
def projects_group() -> None:
    """Create and update projects from prompt-set folders."""


@projects_group.command("load")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--workspace", "workspace_slug", default=DEFAULT_WORKSPACE, show_default=True, help="The lab's workspace.")
@click.option("--build-tasks/--no-build-tasks", default=True, show_default=True, help="Build tasks from the completions.")
@with_appcontext
def load_projects(folders: tuple[Path, ...], workspace_slug: str, build_tasks: bool) -> None:
    """Validate and load prompt-set FOLDERS (project.toml, prompts.jsonl, completions.jsonl)."""
    for folder in folders:
        click.echo(load_folder(folder, workspace_slug, build=build_tasks))


def load_folder(folder: Path, workspace_slug: str, *, build: bool = True) -> str:
    """Load one folder in one transaction; any problem leaves the database as it was."""
    session = get_session()
    try:
        spec, prompts, completions = read_folder(folder)
        begin_write(session)
        workspace = get_or_create_workspace(session, workspace_slug)
        result = service.load_project(session, spec, prompts, completions, workspace=workspace)
        built = build_tasks(session, result.project) if build else None
    except LoadError as exc:
        session.rollback()
        fail(f"{folder}: {exc}")
    session.commit()
    return result.summary() + (f"; {built.created} tasks built" if built else "")


@projects_group.command("list")
@with_appcontext
def list_projects() -> None:
    """List every project."""
    projects = get_session().scalars(select(Project).order_by(Project.slug)).all()
    for project in projects:
        click.echo(f"{project.slug:<28} {project.kind.value:<9} {project.domain:<10} {project.status.value:<7} v{project.guideline_version}")
    click.echo(f"{len(projects)} projects.")


@click.group("tasks")
def tasks_group() -> None:
    """Build tasks from completions."""


@tasks_group.command("build")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--strategy", default=None, help="all-pairs | vs-baseline:MODEL | random-k:K | all (ranking). Default: all-pairs for pairwise, all for ranking.")
@with_appcontext
def build(slug: str, strategy: str | None) -> None:
    """Turn completions into tasks; running it twice creates nothing new."""
    session = get_session()
    begin_write(session)
    try:
        project = service.get_project(session, slug)
        result = build_tasks(session, project, parse_strategy(strategy) if strategy else None)
    except DomainError as exc:
        session.rollback()
        fail("; ".join(exc.details.get("fields", {}).values()) or exc.message)
    session.commit()
    click.echo(result.summary(slug))


COMMANDS = [projects_group, tasks_group]
