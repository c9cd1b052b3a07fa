"""Prompts, completions, tasks built from them and experts' assignments to tasks."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime
from ._types import JSONType, created_at_column, enum_type


class CompletionSource(str, enum.Enum):
    generated = "generated"
    imported = "imported"
    rewrite = "rewrite"


class TaskStatus(str, enum.Enum):
    open = "open"
    complete = "complete"


class AssignmentStatus(str, enum.Enum):
    active = "active"
    submitted = "submitted"
    skipped = "skipped"
    expired = "expired"


class Prompt(Base):
    __tablename__ = "prompts"
    __table_args__ = (sa.UniqueConstraint("project_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    external_id: Mapped[str] = mapped_column(sa.String(128))
    # [{"role": "system"|"user"|"assistant", "content": str}], the last one from the user.
    messages: Mapped[list[dict[str, str]]] = mapped_column(JSONType)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # {"better_model": str, "strength": 1..3, "explanation": str} when the lab marks it gold.
    gold: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = created_at_column()

    completions: Mapped[list[Completion]] = relationship(back_populates="prompt", order_by="Completion.id")

    @property
    def last_user_message(self) -> str:
        return self.messages[-1]["content"]

    @property
    def prior_turns(self) -> list[dict[str, str]]:
        return self.messages[:-1]


class Completion(Base):
    __tablename__ = "completions"
    __table_args__ = (sa.UniqueConstraint("prompt_id", "model_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(sa.ForeignKey("prompts.id"), index=True)
    model_name: Mapped[str] = mapped_column(sa.String(128))
    text: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[CompletionSource] = mapped_column(enum_type(CompletionSource))
    # endpoint, params, prompt_tokens, completion_tokens, latency_ms, finish_reason
    generation: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    content_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[dt.datetime] = created_at_column()

    prompt: Mapped[Prompt] = relationship(back_populates="completions")


class Task(Base):
    """One prompt with 2..9 completions in a fixed canonical order (see TaskItem.position)."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "signature"),
        sa.CheckConstraint("gold_preference IS NULL OR gold_preference BETWEEN -3 AND 3", name="gold_range"),
        sa.CheckConstraint("submitted_count >= 0", name="submitted_count_not_negative"),
        sa.Index("ix_tasks_queue", "project_id", "status", "submitted_count", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    prompt_id: Mapped[int] = mapped_column(sa.ForeignKey("prompts.id"), index=True)
    # sha256 of the sorted completion ids: building the same task twice is a no-op.
    signature: Mapped[str] = mapped_column(sa.String(64))
    is_gold: Mapped[bool] = mapped_column(default=False)
    gold_preference: Mapped[int | None]  # canonical order: negative prefers position 0
    gold_ranking: Mapped[list[int] | None] = mapped_column(JSONType)
    gold_explanation: Mapped[str | None] = mapped_column(sa.Text)
    # Derived from submitted judgements against the project's overlap; kept as a cache.
    status: Mapped[TaskStatus] = mapped_column(enum_type(TaskStatus), default=TaskStatus.open)
    submitted_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = created_at_column()

    prompt: Mapped[Prompt] = relationship()
    items: Mapped[list[TaskItem]] = relationship(
        back_populates="task", order_by="TaskItem.position", cascade="all, delete-orphan"
    )

    @property
    def completions(self) -> list[Completion]:
        return [item.completion for item in self.items]


class TaskItem(Base):
    __tablename__ = "task_items"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "completion_id"),
        sa.CheckConstraint("position BETWEEN 0 AND 8", name="position_range"),
    )

    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(sa.ForeignKey("completions.id"), index=True)

    task: Mapped[Task] = relationship(back_populates="items")
    completion: Mapped[Completion] = relationship()


class Assignment(Base):
    """An expert's claim on a task, with the order the answers were shown in."""

    __tablename__ = "assignments"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "expert_id"),
        sa.CheckConstraint("active_seconds >= 0", name="active_seconds_not_negative"),
        sa.Index("ix_assignments_expert_status", "expert_id", "status"),
        sa.Index("ix_assignments_task_status", "task_id", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id"))
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # Canonical positions in the order shown: [1, 0] means position 1 was shown as "A".
    display_order: Mapped[list[int]] = mapped_column(JSONType)
    status: Mapped[AssignmentStatus] = mapped_column(enum_type(AssignmentStatus), default=AssignmentStatus.active)
    skip_reason: Mapped[str | None] = mapped_column(sa.String(32))
    skip_note: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    active_seconds: Mapped[int] = mapped_column(default=0)

    task: Mapped[Task] = relationship()
