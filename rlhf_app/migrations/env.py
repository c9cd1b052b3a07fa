"""Alembic environment: the engine comes from rlhf_app.migrate (never from an ini file)."""
from __future__ import annotations

from alembic import context

from rlhf_app.db import Base
from rlhf_app import models  # noqa: F401  (registers every table on Base.metadata)

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
