"""Active time: intervals of an expert's work built from page heartbeats.

Intervals are stored per expert and never overlap one another (the heartbeat service only ever
extends the expert's latest interval or starts a new one after it), so an expert's active time is
the plain sum of ``seconds`` even with several tabs open. Each interval credits one assignment.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class ActivityInterval(Base):
    __tablename__ = "activity_intervals"
    __table_args__ = (
        sa.CheckConstraint("ended_at >= started_at", name="ends_after_start"),
        sa.CheckConstraint("seconds >= 0", name="seconds_not_negative"),
        sa.Index("ix_activity_intervals_expert_ended", "expert_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)   # the latest heartbeat it covers
    seconds: Mapped[int] = mapped_column(default=0)              # ended_at - started_at, whole seconds
