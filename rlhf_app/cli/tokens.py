"""``rlhf tokens``: API tokens (the secret is printed once and stored only as a hash)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..auth import service, tokens
from ..common.errors import NotFound
from ..db import begin_write, get_session
from . import fail


@click.group("tokens")
def tokens_group() -> None:
    """Manage API tokens."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="cli", help="A label to recognise the token by.")
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Create a token for EMAIL and print its secret once."""
    session = get_session()
    begin_write(session)
    user = service.find_user_by_email(session, email)
    if user is None or not user.is_active:
        fail(f"There is no active user {email}.")
    token, secret = tokens.create_token(session, user, name)
    session.commit()
    click.echo(secret)
    click.echo(f"Token {token.id} ({token.prefix}…) created for {user.email}; the secret above is shown only once.", err=True)


@tokens_group.command("list")
@click.argument("email")
@with_appcontext
def list_tokens(email: str) -> None:
    """List EMAIL's tokens (prefixes only)."""
    session = get_session()
    user = service.find_user_by_email(session, email)
    if user is None:
        fail(f"There is no user {email}.")
    rows = tokens.list_tokens(session, user)
    for token in rows:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id:>5}  {token.prefix}…  {token.name:<20} {state:<18} last used {used}")
    click.echo(f"{len(rows)} tokens.")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token(token_id: int) -> None:
    """Revoke token TOKEN_ID at once."""
    session = get_session()
    begin_write(session)
    try:
        tokens.revoke_token(session, token_id, actor=None)
    except NotFound as exc:
        fail(exc.message)
    session.commit()
    click.echo(f"Revoked token {token_id}.")


COMMANDS = [tokens_group]
