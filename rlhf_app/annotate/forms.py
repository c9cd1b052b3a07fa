"""Turning the annotate form or its JSON twin into a ``JudgementInput`` (shape checks only).

Values are keyed by completion id, so they do not depend on the order answers were shown in;
only ``preference`` is in display order (negative: the answer shown first, "A", is better).
Domain rules (rubric coverage, scales, completeness) live in validation.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JudgementInput:
    preference: int | None = None                 # -3..3 in display order (pairwise)
    ranking: dict[int, int] | None = None         # completion id -> rank, 1 best, equal ranks tie
    confidence: int | None = None                 # 1..5
    scores: dict[int, dict[str, int]] = field(default_factory=dict)   # completion id -> criterion key -> score
    critiques: dict[int, str] = field(default_factory=dict)           # completion id -> critique
    rewrite: str | None = None
    rewrite_source_id: int | None = None          # the completion the rewrite started from
    flags: tuple[str, ...] = ()
