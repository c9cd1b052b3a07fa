"""Dataset exports: one row per folder written under EXPORT_DIR, with what made it and what it holds."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime
from ._types import JSONType, created_at_column
from .projects import Project


class ExportRun(Base):
    """A completed export: parameters, files with sizes and sha256, row counts, who and when.

    ``folder`` is relative to the EXPORT_DIR setting (``<project>/<format>-<UTC stamp>``); files
    are served only by name from ``files``, never from a path a user typed.
    """

    __tablename__ = "export_runs"
    __table_args__ = (sa.Index("ix_export_runs_project_created", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    format: Mapped[str] = mapped_column(sa.String(32))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    folder: Mapped[str] = mapped_column(sa.String(255), unique=True)
    # {"train.jsonl": {"bytes": int, "sha256": str, "rows": int}, "README.md": {...}, ...}
    files: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # {"train": int, "test": int, "judgements": int, "dropped": {reason: int}, ...}
    row_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = created_at_column()
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship()

    @property
    def file_names(self) -> list[str]:
        return sorted(self.files)
