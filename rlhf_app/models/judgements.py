"""An expert's judgement of a task, its revisions and the reviews it receives."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime
from ._types import JSONType, created_at_column, enum_type


class JudgementStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    returned = "returned"


class Flag(str, enum.Enum):
    unsafe = "unsafe"
    factual_error = "factual_error"
    outside_expertise = "outside_expertise"
    bad_prompt = "bad_prompt"


class ReviewVerdict(str, enum.Enum):
    approve = "approve"
    reject = "reject"
    send_back = "send_back"


class Judgement(Base):
    """Preference (pairwise) or ranking, rubric scores, critiques and rewrite, in canonical order.

    ``preference`` is -3..3: negative prefers canonical position 0, positive position 1,
    magnitude 3 much better, 2 better, 1 slightly better, 0 about the same. ``ranking`` lists a
    rank per canonical position (1 is best; equal numbers are ties). Scores and critiques are
    keyed by completion id as a string.
    """

    __tablename__ = "judgements"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "expert_id"),
        sa.CheckConstraint("preference IS NULL OR preference BETWEEN -3 AND 3", name="preference_range"),
        sa.CheckConstraint("confidence IS NULL OR confidence BETWEEN 1 AND 5", name="confidence_range"),
        sa.CheckConstraint(
            "status = 'draft' OR preference IS NOT NULL OR ranking IS NOT NULL",
            name="submitted_has_preference",
        ),
        sa.CheckConstraint("active_seconds >= 0", name="active_seconds_not_negative"),
        sa.Index("ix_judgements_status_task", "status", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"), unique=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id"))
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[JudgementStatus] = mapped_column(enum_type(JudgementStatus), default=JudgementStatus.draft)
    preference: Mapped[int | None]
    ranking: Mapped[list[int] | None] = mapped_column(JSONType)
    confidence: Mapped[int | None]
    rubric_scores: Mapped[dict[str, dict[str, int]]] = mapped_column(JSONType, default=dict)
    critiques: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    rewrite: Mapped[str | None] = mapped_column(sa.Text)
    rewrite_source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("completions.id"))
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    guideline_version: Mapped[int]
    active_seconds: Mapped[int] = mapped_column(default=0)
    revision: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = created_at_column()
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    revisions: Mapped[list[JudgementRevision]] = relationship(
        back_populates="judgement", order_by="JudgementRevision.revision"
    )
    reviews: Mapped[list[Review]] = relationship(back_populates="judgement", order_by="Review.id")

    @property
    def is_submitted(self) -> bool:
        return self.status is not JudgementStatus.draft


class JudgementRevision(Base):
    """A frozen copy of a judgement's content at each submission (append-only)."""

    __tablename__ = "judgement_revisions"
    __table_args__ = (sa.UniqueConstraint("judgement_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    judgement_id: Mapped[int] = mapped_column(sa.ForeignKey("judgements.id"))
    revision: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = created_at_column()

    judgement: Mapped[Judgement] = relationship(back_populates="revisions")


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    judgement_id: Mapped[int] = mapped_column(sa.ForeignKey("judgements.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    verdict: Mapped[ReviewVerdict] = mapped_column(enum_type(ReviewVerdict))
    reason_code: Mapped[str | None] = mapped_column(sa.String(32))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = created_at_column()

    judgement: Mapped[Judgement] = relationship(back_populates="reviews")
