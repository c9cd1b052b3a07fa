"""flask-login loaders: the session cookie carries the user's rotating session token; API calls
carry ``Authorization: Bearer <token>``."""
from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy import select

from ..common.clock import utcnow
from ..db import begin_write, get_session
from ..models import User
from . import tokens


def load_user_from_session(session_token: str) -> User | None:
    user = get_session().scalar(select(User).where(User.session_token == session_token))
    return user if user is not None and user.is_active else None


def load_user_from_request(req) -> User | None:
    """Bearer tokens authenticate API calls only; they are exempt from CSRF, cookies are not."""
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or not header.startswith("Bearer "):
        return None
    token = tokens.find_token_for_secret(get_session(), header[len("Bearer "):].strip())
    if token is None:
        return None
    g.api_token = token
    now = utcnow()
    if tokens.needs_touch(token, now):
        if req.method in ("GET", "HEAD", "OPTIONS"):
            _touch(token.id, now)
        else:  # a write request already holds the write transaction; touch inside it
            tokens.touch_token(get_session(), token.id, now)
    return token.user


def _touch(token_id: int, now) -> None:
    # A separate short write transaction, so a GET request's session stays read-only.
    with current_app.extensions["rlhf_db"]["sessionmaker"]() as session:
        begin_write(session)
        tokens.touch_token(session, token_id, now)
        session.commit()


def is_token_request() -> bool:
    return "api_token" in g and request.path.startswith("/api/")
