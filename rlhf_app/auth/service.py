"""Accounts: password hashing (argon2id), sign-in checks, session invalidation, user admin."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..common import audit
from ..common.clock import utcnow
from ..common.errors import Conflict, ValidationError
from ..models import Role, User, Workspace
from ..models.users import new_session_token

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
SIGN_IN_FAILED = "The email or password is not right, or the account is disabled."

_hasher = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 defaults
# A real hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-7f3a")


class SignInFailed(Exception):
    """Wrong password, unknown user or disabled user: one message for all three."""


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("rlhf_app.common").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str, *, allow_weak: bool = False) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if allow_weak:
        return None
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if password.lower() in _common_passwords():
        return "This password is on the list of commonly used passwords; choose another."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant-work check: an unknown user still costs one argon2 verification."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def authenticate(session: Session, email: str, password: str, *, now: dt.datetime | None = None) -> User:
    """Return the active user with these credentials or raise ``SignInFailed``."""
    user = find_user_by_email(session, email)
    if not verify_password(user, password) or user is None or not user.is_active:
        raise SignInFailed(SIGN_IN_FAILED)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now or utcnow()
    return user


def end_all_sessions(session: Session, user: User, *, actor: User | None = None) -> None:
    """Invalidate every session and remember-me cookie of ``user`` (logout, password change)."""
    user.session_token = new_session_token()
    audit.record(session, actor or user, "user.sessions_ended", user)
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change the password after checking the current one; ends every other session."""
    if not verify_password(user, current):
        raise ValidationError({"current_password": "The current password is not right."})
    problem = password_problem(new)
    if problem:
        raise ValidationError({"new_password": problem})
    user.password_hash = hash_password(new)
    audit.record(session, user, "user.password_changed", user)
    end_all_sessions(session, user)


def create_user(
    session: Session, email: str, name: str, role: Role, password: str, *,
    domains: list[str] | None = None, hourly_rate_cents: int = 0, workspace: Workspace | None = None,
    actor: User | None = None, allow_weak_password: bool = False,
) -> User:
    """Create an account; the email must be new and the password acceptable."""
    email = normalise_email(email)
    errors = _user_errors(email, name, password, hourly_rate_cents, allow_weak_password)
    if errors:
        raise ValidationError(errors)
    if find_user_by_email(session, email) is not None:
        raise Conflict(f"A user with the email {email} already exists.")
    user = User(
        email=email, name=name.strip(), role=role, domains=sorted(set(domains or [])),
        hourly_rate_cents=hourly_rate_cents, password_hash=hash_password(password), workspace=workspace,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", user, after={"email": email, "role": role.value,
                                                               "domains": user.domains,
                                                               "hourly_rate_cents": hourly_rate_cents})
    return user


def _user_errors(email: str, name: str, password: str, rate: int, allow_weak: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "@" not in email or len(email) > 254 or " " in email:
        errors["email"] = f"{email!r} is not an email address."
    if not name.strip() or len(name) > 200:
        errors["name"] = "Give a name of 1 to 200 characters."
    if rate < 0:
        errors["hourly_rate_cents"] = "The hourly rate cannot be negative."
    problem = password_problem(password, allow_weak=allow_weak)
    if problem:
        errors["password"] = problem
    return errors


def get_or_create_workspace(session: Session, slug: str, name: str | None = None) -> Workspace:
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        workspace = Workspace(slug=slug, name=name or slug)
        session.add(workspace)
        session.flush()
    return workspace
