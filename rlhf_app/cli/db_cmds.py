"""``rlhf init``: create or upgrade the database schema."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..db import get_engine
from .. import migrate


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database or upgrade it to the newest schema (Alembic upgrade head)."""
    engine = get_engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    after = migrate.current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    click.echo(f"Database {url} is at revision {after} (was {before or 'empty'}).")


COMMANDS = [init_command]
