"""Alembic migrations produce exactly the models' schema, on SQLite and on PostgreSQL."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rlhf_app import migrate
from rlhf_app.db import Base, create_db_engine


def schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_match_models_on_sqlite(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/m.sqlite3")
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) is not None
    assert schema_differences(engine) == []
    engine.dispose()


def test_migrations_match_models_on_postgresql(postgres_url):
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    engine = create_db_engine(f"{postgres_url}{separator}options=-csearch_path%3D{schema}")
    try:
        migrate.upgrade(engine)
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_upgrading_twice_is_harmless(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/twice.sqlite3")
    migrate.upgrade(engine)
    first = migrate.current_revision(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == first
    engine.dispose()
