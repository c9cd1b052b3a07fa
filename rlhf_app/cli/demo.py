"""``rlhf demo``: a fresh database with every prompt set, demo accounts, and a running server."""
from __future__ import annotations

import os
from pathlib import Path

import click

DEMO_PASSWORD = "demo"
DEMO_WORKSPACE = "demo-lab"
DEMO_ACCOUNTS = [
    # email, name, role, domains, hourly rate in cents
    ("admin@demo.local", "Ada Admin", "admin", [], 0),
    ("lab@demo.local", "Lena Lab", "lab", [], 0),
    ("reviewer@demo.local", "Rafael Reviewer", "reviewer", ["finance", "strategy"], 15000),
    ("expert1@demo.local", "Esther Expert", "expert", ["finance", "strategy"], 20000),
    ("expert2@demo.local", "Emil Expert", "expert", ["finance"], 18000),
]


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve after setting up, or set up and exit.")
@click.option("--prompts", "prompts_dir", default="prompts", show_default=True, type=click.Path(path_type=Path, file_okay=False))
def demo(host: str, port: int, serve: bool, prompts_dir: Path) -> None:
    """Create a fresh demo database with every prompt set and demo accounts, then serve it."""
    from .. import create_app

    url = os.environ.get("RLHF_DATABASE_URL") or _fresh_sqlite_url()
    app = create_app({"DEMO": True, "DATABASE_URL": url})
    with app.app_context():
        summaries = set_up_demo(app, prompts_dir)
    for line in summaries:
        click.echo(line)
    _print_accounts(url, host, port, serve)
    if serve:
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False)


def set_up_demo(app, prompts_dir: Path) -> list[str]:
    """Migrate, create the accounts (idempotent) and load every prompt-set folder."""
    from .. import migrate
    from ..db import begin_write, get_engine, get_session
    from .projects import load_folder

    migrate.upgrade(get_engine())
    session = get_session()
    begin_write(session)
    _create_accounts(session)
    session.commit()
    folders = sorted(p for p in prompts_dir.iterdir() if (p / "project.toml").exists()) if prompts_dir.is_dir() else []
    return [load_folder(folder, DEMO_WORKSPACE) for folder in folders]


def _create_accounts(session) -> None:
    from ..auth import service
    from ..models import Role

    workspace = service.get_or_create_workspace(session, DEMO_WORKSPACE, "Demo Lab")
    for email, name, role, domains, rate in DEMO_ACCOUNTS:
        if service.find_user_by_email(session, email) is None:
            service.create_user(session, email, name, Role(role), DEMO_PASSWORD, domains=domains, hourly_rate_cents=rate,
                                workspace=workspace if role == "lab" else None, allow_weak_password=True)


def _fresh_sqlite_url() -> str:
    instance = Path("instance").resolve()
    instance.mkdir(exist_ok=True)
    path = instance / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _print_accounts(url: str, host: str, port: int, serve: bool) -> None:
    click.echo("")
    click.echo("Demo accounts (password: demo):")
    for email, _name, role, domains, _rate in DEMO_ACCOUNTS:
        click.echo(f"  {email:<22} {role:<9} {', '.join(domains)}")
    click.echo("")
    click.echo(f"Other rlhf commands can use this database:  export RLHF_DATABASE_URL={url}")
    if serve:
        click.echo(f"Serving on http://{host}:{port}/  (Ctrl-C to stop)")
