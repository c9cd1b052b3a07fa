"""Fixtures: a real database (SQLite file, or PostgreSQL when RLHF_TEST_DATABASE_URL is set),
the app, clients signed in per role, and the CLI runner.

Tables are created once per test session and emptied after each test. The app commits at the
edge and the concurrency tests need real commits from several connections, so emptying beats
the savepoint-per-test recipe here.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rlhf_app import create_app
from rlhf_app.db import Base, create_db_engine, make_sessionmaker
from rlhf_app.models import Role

from . import factories

PG_ENV = "RLHF_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private database for this test session: a temp SQLite file or a fresh PostgreSQL schema."""
    pg_url = os.environ.get(PG_ENV)
    if not pg_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" in request.fixturenames:
        empty_all_tables(request.getfixturevalue("engine"))


def empty_all_tables(engine: sa.Engine) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    """A plain session on the test database for services and factories (no app needed)."""
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def app_overrides(tmp_path) -> dict[str, Any]:
    return {}


@pytest.fixture
def app(database_url: str, engine: sa.Engine, tmp_path, app_overrides: dict[str, Any]):
    overrides = {
        "TESTING": True, "DATABASE_URL": database_url, "EXPORT_DIR": str(tmp_path / "exports"),
        "LOGIN_RATE_LIMIT": "1000 per minute", "RATELIMIT_STORAGE_URI": "memory://",
        **app_overrides,
    }
    app = create_app(overrides)
    yield app
    app.extensions["rlhf_db"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a real browser would read from a page's meta tag."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no csrf-token meta tag on {path}"
    return match.group(1)


def sign_in(client, email: str, password: str = factories.PASSWORD, **extra: Any):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})


@pytest.fixture
def login_as(app, session: Session):
    """``login_as(Role.reviewer)`` returns (client, user): a fresh client signed in as a new user."""

    def _login(role: Role, **user_fields: Any):
        user = factories.make_user(session, role=role, **user_fields)
        session.commit()
        client = app.test_client()
        response = sign_in(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, f"/{role.value}")
        return client, user

    return _login


# --- services that may be missing on a laptop but must be there in CI ---------------------------

def missing_service(reason: str) -> None:
    """Skip with the reason on a laptop; fail in CI (RLHF_REQUIRE_SERVICES=1), where it must run."""
    if os.environ.get("RLHF_REQUIRE_SERVICES"):
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL for tests that need PostgreSQL whatever the suite's own database is."""
    url = os.environ.get(PG_ENV) or os.environ.get("RLHF_TEST_PG_URL")
    if not url:
        missing_service("set RLHF_TEST_PG_URL (or RLHF_TEST_DATABASE_URL) to a PostgreSQL URL to run this test")
    try:
        probe = sa.create_engine(url)
        with probe.connect():
            pass
        probe.dispose()
    except sa.exc.OperationalError as exc:
        missing_service(f"PostgreSQL at {url} is not reachable: {exc.orig}")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("RLHF_TEST_REDIS_URL")
    if not url:
        missing_service("set RLHF_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run this test")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        missing_service(f"Redis at {url} is not reachable: {exc}")
    return url


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        missing_service(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM
