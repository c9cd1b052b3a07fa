"""``rlhf users``: create, list and disable accounts."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth import service
from ..common import audit
from ..common.errors import DomainError
from ..db import begin_write, get_session
from ..models import Role, User
from . import fail


@click.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown to reviewers and admins.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--domains", default="", help="Comma-separated domains, e.g. finance,strategy (experts).")
@click.option("--rate-cents", type=click.IntRange(min=0), default=0, help="Hourly rate in cents (experts).")
@click.option("--workspace", "workspace_slug", default=None, help="Workspace slug (lab users); created if new.")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create_user(email: str, name: str, role: str, domains: str, rate_cents: int, workspace_slug: str | None, password: str) -> None:
    """Create an account."""
    session = get_session()
    begin_write(session)
    workspace = service.get_or_create_workspace(session, workspace_slug) if workspace_slug else None
    if role == "lab" and workspace is None:
        fail("A lab user needs --workspace.")
    try:
        user = service.create_user(session, email, name, Role(role), password, domains=_split(domains),
                                   hourly_rate_cents=rate_cents, workspace=workspace)
    except DomainError as exc:
        fail(_describe(exc))
    session.commit()
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@users_group.command("list")
@with_appcontext
def list_users() -> None:
    """List every account."""
    users = get_session().scalars(select(User).order_by(User.role, User.email)).all()
    for user in users:
        state = "active" if user.is_active else "disabled"
        click.echo(f"{user.id:>5}  {user.email:<32} {user.role.value:<9} {state:<9} {','.join(user.domains)}")
    click.echo(f"{len(users)} users.")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def disable_user(email: str) -> None:
    """Disable an account and end its sessions (its work and pay records stay)."""
    session = get_session()
    begin_write(session)
    user = service.find_user_by_email(session, email)
    if user is None:
        fail(f"There is no user {email}.")
    user.is_active = False
    audit.record(session, None, "user.disabled", user)
    service.end_all_sessions(session, user)
    session.commit()
    click.echo(f"Disabled {user.email}.")


def _split(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(",") if part.strip()]


def _describe(exc: DomainError) -> str:
    fields = exc.details.get("fields", {})
    return "; ".join(f"{k}: {v}" for k, v in fields.items()) or exc.message


COMMANDS = [users_group]
