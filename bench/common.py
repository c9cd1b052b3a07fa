"""What the benches share: a throwaway database for one run (imported as ``common``: a bench runs
as a script, so its own folder is on ``sys.path``)."""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def scratch_database(pg_url: str | None, prefix: str = "bench") -> Iterator[str]:
    """A fresh, empty database URL, removed afterwards: a PostgreSQL schema of ``pg_url`` (so the
    shared database is left as it was), or a temporary SQLite file when ``pg_url`` is None."""
    if pg_url is None:
        folder = tempfile.mkdtemp(prefix=f"rlhf-{prefix}-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
