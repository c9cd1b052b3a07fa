"""The ``rlhf`` command: one click group per noun, each command calling the same services as the web."""
from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, routes_command, shell_command


def _cli_app() -> Flask:
    from .. import create_app

    # The CLI never signs cookies, so it runs without RLHF_SECRET_KEY; serving does not.
    return create_app({"CLI": True})


def register_cli(app: Flask) -> None:
    """Add the command groups to ``app.cli`` (``flask --app wsgi`` sees them too)."""
    from . import db_cmds, projects, tokens, users

    for module in (db_cmds, users, tokens, projects):
        for command in module.COMMANDS:
            app.cli.add_command(command)
    for extra in _optional_modules():
        for command in extra.COMMANDS:
            app.cli.add_command(command)


def _optional_modules() -> list[Any]:
    """Command modules added by later capabilities (generation, export, workers)."""
    import importlib

    modules = []
    for name in ("generate", "export", "jobs"):
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return modules


def main() -> None:
    from .demo import demo

    group = FlaskGroup(create_app=_cli_app, add_default_commands=False, add_version_option=False,
                       set_debug_flag=False, help="rlhf-app: expert judgements of LLM answers, from prompts to datasets.")
    # Flask's --app/--env-file/--debug options make no sense for an installed command.
    group.params = [p for p in group.params if p.name not in ("app", "env_file", "debug")]
    group.add_command(shell_command)
    group.add_command(routes_command)
    group.add_command(demo)
    sys.exit(group.main(prog_name="rlhf", standalone_mode=True) or 0)


def fail(message: str) -> None:
    """Exit non-zero with a one-line error (click prints 'Error: ...')."""
    raise click.ClickException(message)
