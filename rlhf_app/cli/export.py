"""``rlhf export``: write a dataset folder for one project in one format."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from ..common.clock import utcnow
from ..common.errors import DomainError
from ..db import get_session
from ..export import service
from ..export.aggregate import AGGREGATES
from ..export.formats import FORMAT_NAMES
from ..export.options import DEFAULT_TEST_FRACTION, DEFAULT_TIE_THRESHOLD, ExportOptions
from ..projects.service import get_project
from . import fail


@click.command("export")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMAT_NAMES), help="Dataset format.")
@click.option("--text", is_flag=True, help="Plain strings instead of message lists (trl, trl-kto).")
@click.option("--margin", is_flag=True, help="Add a margin column from the preference strength (trl).")
@click.option("--with-rewrites", is_flag=True, help="Add rewrite > chosen and rewrite > rejected pairs.")
@click.option("--aggregate", default="mean", show_default=True, type=click.Choice(AGGREGATES))
@click.option("--tie-threshold", default=DEFAULT_TIE_THRESHOLD, show_default=True, type=float,
              help="Drop decisions whose strength is below this (0..3).")
@click.option("--min-gold-accuracy", type=float, default=None, help="Only experts with at least this gold accuracy (0..1).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Submitted on or after this UTC day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Submitted on or before this UTC day.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Split seed.")
@click.option("--test-fraction", default=DEFAULT_TEST_FRACTION, show_default=True, type=float,
              help="Share of prompts in the test split.")
@with_appcontext
def export_command(slug: str, fmt: str, since: dt.datetime | None, until: dt.datetime | None, **flags) -> None:
    """Export a project's judgements to EXPORT_DIR/<project>/<format>-<UTC stamp>/."""
    options = ExportOptions(format=fmt, since=since.date() if since else None, until=until.date() if until else None,
                            **flags)
    session = get_session()
    try:
        project = get_project(session, slug)
        plan = service.plan_export(session, project, options)
        with tqdm(total=plan.judgements, desc="judgements", unit="", disable=None) as bar:
            run = service.write_export(session, project, plan, export_dir=Path(current_app.config["EXPORT_DIR"]),
                                       actor=None, now=utcnow(), progress=bar.update)
    except DomainError as exc:
        session.rollback()
        fail("; ".join(f"{k}: {v}" for k, v in exc.details.get("fields", {}).items()) or exc.message)
    session.commit()
    counts = run.row_counts
    click.echo(f"{slug}: {counts['train']} train + {counts['test']} test rows of {fmt} from {counts['judgements']} "
               f"judgements by {counts['experts']} experts -> {Path(current_app.config['EXPORT_DIR']) / run.folder}")


COMMANDS = [export_command]
