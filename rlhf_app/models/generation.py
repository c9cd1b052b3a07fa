"""Generation runs: one job per run (CLI, web or API) and the requests that failed for good."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime
from ._types import JSONType, created_at_column, enum_type
from .tasks import Prompt


class GenerationJobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    finished = "finished"
    failed = "failed"
    cancelled = "cancelled"


STALLED_AFTER_SECONDS = 60


class GenerationJob(Base):
    """A run of ``generate_completions``: which models, how far it got, what went wrong."""

    __tablename__ = "generation_jobs"
    __table_args__ = (
        sa.CheckConstraint("concurrency BETWEEN 1 AND 64", name="concurrency_range"),
        sa.CheckConstraint("total >= 0 AND completed >= 0 AND failed >= 0", name="counts_not_negative"),
        sa.Index("ix_generation_jobs_project_created", "project_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    origin: Mapped[str] = mapped_column(sa.String(16), default="cli")  # cli | web | api
    model_names: Mapped[list[str]] = mapped_column(JSONType)
    concurrency: Mapped[int] = mapped_column(default=16)
    status: Mapped[GenerationJobStatus] = mapped_column(
        enum_type(GenerationJobStatus), default=GenerationJobStatus.queued
    )
    total: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    truncated: Mapped[int] = mapped_column(default=0)
    # A problem that stopped the whole run (endpoint not allowed, key missing, worker lost).
    error: Mapped[str | None] = mapped_column(sa.Text)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = created_at_column()
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    failures: Mapped[list[GenerationFailure]] = relationship(
        back_populates="job", order_by="GenerationFailure.id", cascade="all, delete-orphan"
    )

    @property
    def is_done(self) -> bool:
        return self.status in (GenerationJobStatus.finished, GenerationJobStatus.failed, GenerationJobStatus.cancelled)

    def is_stalled(self, now: dt.datetime) -> bool:
        """Running, but its writer's heartbeat (every 10 s) stopped: the process running it died."""
        return (self.status is GenerationJobStatus.running and self.updated_at is not None
                and now - self.updated_at > dt.timedelta(seconds=STALLED_AFTER_SECONDS))


class GenerationFailure(Base):
    """A request that failed for good in a job, with its error; the next run retries it."""

    __tablename__ = "generation_failures"
    __table_args__ = (sa.UniqueConstraint("job_id", "prompt_id", "model_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("generation_jobs.id"), index=True)
    prompt_id: Mapped[int] = mapped_column(sa.ForeignKey("prompts.id"), index=True)
    model_name: Mapped[str] = mapped_column(sa.String(128))
    error: Mapped[str] = mapped_column(sa.Text)
    status_code: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = created_at_column()

    job: Mapped[GenerationJob] = relationship(back_populates="failures")
    prompt: Mapped[Prompt] = relationship()
