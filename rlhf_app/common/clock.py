"""The one place that reads the wall clock; services take ``now=`` so tests can pin it."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
