"""Column helpers shared by the model modules."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import mapped_column

from ..common.clock import utcnow
from ..db import UTCDateTime


def enum_type(enum_cls: type[enum.Enum]) -> sa.Enum:
    """A portable string enum storing the lowercase values, not the member names."""
    return sa.Enum(
        enum_cls, native_enum=False, create_constraint=False, length=16,
        values_callable=lambda members: [m.value for m in members], validate_strings=True,
    )


def created_at_column() -> Any:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

__all__ = ["enum_type", "created_at_column", "JSONType", "UTCDateTime", "dt"]
