"""Projects with their versioned guidelines (instructions + rubric)."""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ._types import JSONType, created_at_column, enum_type

if TYPE_CHECKING:
    from .users import Workspace


class TaskKind(str, enum.Enum):
    pairwise = "pairwise"
    ranking = "ranking"


class ProjectStatus(str, enum.Enum):
    draft = "draft"
    active = "active"
    paused = "paused"
    closed = "closed"


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint("judgements_per_task BETWEEN 1 AND 10", name="overlap_range"),
        sa.CheckConstraint("review_rate >= 0 AND review_rate <= 1", name="review_rate_range"),
        sa.CheckConstraint("gold_rate >= 0 AND gold_rate <= 1", name="gold_rate_range"),
        sa.CheckConstraint("lease_minutes BETWEEN 5 AND 480", name="lease_range"),
        sa.CheckConstraint("guideline_version >= 1", name="guideline_version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    domain: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[TaskKind] = mapped_column(enum_type(TaskKind))
    judgements_per_task: Mapped[int] = mapped_column(default=1)
    review_rate: Mapped[float] = mapped_column(default=0.0)
    gold_rate: Mapped[float] = mapped_column(default=0.0)
    lease_minutes: Mapped[int] = mapped_column(default=30)
    pay_rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Model endpoints configured for generation (no keys, only the names of env variables).
    models: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[ProjectStatus] = mapped_column(enum_type(ProjectStatus), default=ProjectStatus.active)
    guideline_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = created_at_column()

    workspace: Mapped["Workspace"] = relationship()
    guidelines: Mapped[list[GuidelineVersion]] = relationship(
        back_populates="project", order_by="GuidelineVersion.version"
    )

    @property
    def is_active(self) -> bool:
        return self.status is ProjectStatus.active


class GuidelineVersion(Base):
    """One immutable version of a project's instructions and rubric; judgements pin one."""

    __tablename__ = "guideline_versions"
    __table_args__ = (sa.UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    version: Mapped[int]
    instructions: Mapped[str] = mapped_column(sa.Text, default="")
    # {"criteria": [{"key", "title", "description", "scale_min", "scale_max", "required", "levels"}]}
    rubric: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = created_at_column()

    project: Mapped[Project] = relationship(back_populates="guidelines")

    @property
    def criteria(self) -> list[dict[str, Any]]:
        return list(self.rubric.get("criteria", []))

    def criterion_by_key(self, key: str) -> dict[str, Any] | None:
        return next((c for c in self.criteria if c["key"] == key), None)
