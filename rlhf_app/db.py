"""Database plumbing: the declarative base, the engine per app and the request session.

SQLite is the embedded default. Its connections run in WAL mode with foreign keys on, a busy
timeout and full fsync, and a transaction that will write starts with ``BEGIN IMMEDIATE`` so that
two writers never deadlock on a lock upgrade (see https://www.sqlite.org/lang_transaction.html).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "rlhf_write"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every engine (SQLite drops the zone otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


def create_db_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """Build an engine with the pragmas and timeouts this app relies on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    # prepare_threshold=None: no server-side prepared statements. With psycopg's default (prepare
    # after 5 runs) the annotate bench's p50 rose ~20 % once a worker had served a few thousand
    # requests, and its p95 missed the targets; without, it stays flat. It also keeps the app
    # usable behind PgBouncer in transaction mode, where prepared statements break.
    connect_args = {"connect_timeout": 5, "options": _pg_options(url), "prepare_threshold": None}
    return sa.create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
        pool_timeout=10, connect_args=connect_args,
    )


def _pg_options(url: str) -> str:
    """Statement timeout plus any ``options`` already in the URL (tests pass a search_path)."""
    existing = sa.engine.make_url(url).query.get("options", "")
    if isinstance(existing, tuple):
        existing = " ".join(existing)
    return f"{existing} -c statement_timeout=30000".strip()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself, so SAVEPOINT and BEGIN IMMEDIATE both work
        # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=FULL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (``BEGIN IMMEDIATE`` on SQLite).

    Call it before the first statement of a unit of work that reads and then writes. Calling it
    inside a transaction that already started is harmless on PostgreSQL and a no-op on SQLite.
    """
    if not session.in_transaction():
        session.connection(execution_options={WRITE_OPTION: True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- Flask wiring -------------------------------------------------------------------------
# Kept at the bottom so the rest of this module stays importable without Flask.

def init_app(app: Any) -> None:
    """Create the app's engine and sessionmaker and close the request session on teardown."""
    engine = create_db_engine(app.config["DATABASE_URL"], echo=app.config.get("SQLALCHEMY_ECHO", False))
    app.extensions["rlhf_db"] = {"engine": engine, "sessionmaker": make_sessionmaker(engine)}
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    from flask import current_app

    return current_app.extensions["rlhf_db"]["engine"]


def get_session() -> Session:
    """The session of the current app context; writes in a request begin as a writer."""
    from flask import current_app, g, has_request_context, request

    if "db_session" not in g:
        g.db_session = current_app.extensions["rlhf_db"]["sessionmaker"]()
        if has_request_context() and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            begin_write(g.db_session)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    from flask import g

    session = g.pop("db_session", None)
    if session is not None:
        session.close()
