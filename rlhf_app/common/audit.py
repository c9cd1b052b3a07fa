"""Writing audit events; services call ``record`` next to every change they make."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent, User
from .clock import utcnow

SECRET_FIELDS = {"password", "password_hash", "secret", "secret_hash", "token", "api_key", "session_token"}


def record(
    session: Session, actor: User | None, action: str, obj: Any, *,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None, now=None,
) -> AuditEvent:
    """Add an audit event for ``obj`` (any model with an ``id``); secrets are never stored."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.id),
        before=_scrub(before),
        after=_scrub(after),
        created_at=now or utcnow(),
    )
    session.add(event)
    return event


def _scrub(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: ("[redacted]" if k in SECRET_FIELDS else v) for k, v in data.items()}
