"""API tokens: created once with the secret shown once, stored as a SHA-256 hash, revocable."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from ..common import audit
from ..common.clock import utcnow
from ..common.errors import NotFound
from ..models import ApiToken, User

TOKEN_PREFIX = "rlhf_"
# Tokens are 256-bit random secrets, so a fast hash is enough (no password stretching needed).


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session, user: User, name: str, *, scopes: list[str] | None = None,
    actor: User | None = None, now: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name.strip()[:100] or "token", prefix=secret[: len(TOKEN_PREFIX) + 6],
        secret_hash=hash_secret(secret), scopes=scopes or [], created_at=now or utcnow(),
    )
    session.add(token)
    session.flush()
    audit.record(session, actor or user, "token.created", token, after={"name": token.name, "user_id": user.id})
    return token, secret


def find_token_for_secret(session: Session, secret: str) -> ApiToken | None:
    """The unrevoked token of an active user with this secret, or None (reads only)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.secret_hash == hash_secret(secret)))
    if token is None or token.is_revoked or not token.user.is_active:
        return None
    return token


def needs_touch(token: ApiToken, now: dt.datetime) -> bool:
    """``last_used_at`` is written at most once a minute, so reads stay read-only."""
    return token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60


def touch_token(session: Session, token_id: int, now: dt.datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, *, actor: User | None, now: dt.datetime | None = None) -> ApiToken:
    """Revoke a token; admins (and the CLI operator, ``actor=None``) any, others only their own."""
    token = session.get(ApiToken, token_id)
    if token is None or (actor is not None and actor.role.value != "admin" and token.user_id != actor.id):
        raise NotFound(f"There is no token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(session, actor, "token.revoked", token)
    session.flush()
    return token
