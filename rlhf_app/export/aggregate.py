"""From judgements to decided preference pairs: votes per pair of answers, then aggregation.

A *vote* is ``(a, b, value)`` over canonical positions ``a < b`` with ``value`` in -3..3, negative
preferring ``a``: a pairwise judgement gives one vote (its preference); a ranking gives one per
pair of answers, valued by the rank gap capped at 3 (ranks 1 and 2 → "slightly better").

Aggregation over the votes of one pair (a *unit*):
- ``mean``: the mean value; 0 is a tie and a mean whose size is below the threshold a near tie;
- ``majority``: the most common of "a", "b", "about the same"; a draw between any of them, or
  "about the same" winning, is dropped; the strength is the lower median of the winners' sizes;
- ``each``: every vote on its own (ties and votes below the threshold dropped).
In every mode a decision whose strength is below ``tie_threshold`` is dropped.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, NamedTuple, Sequence

Vote = tuple[int, int, int]
AGGREGATES = ("mean", "majority", "each")


class Decision(NamedTuple):
    """``winner`` beat ``loser`` (canonical positions) with ``strength`` in (0, 3]."""

    winner: int
    loser: int
    strength: float


def votes_of(preference: int | None, ranking: Sequence[int] | None) -> list[Vote]:
    """The votes one judgement casts (none for a judgement without an answer)."""
    if ranking is not None:
        return ranking_votes(ranking)
    if preference is None:
        return []
    return [(0, 1, preference)]


def ranking_votes(ranking: Sequence[int]) -> list[Vote]:
    """All pairs of a ranking; equal ranks are a tie (value 0)."""
    n = len(ranking)
    return [(a, b, max(-3, min(3, ranking[a] - ranking[b]))) for a in range(n) for b in range(a + 1, n)]


def decide(a: int, b: int, value: float, tie_threshold: float) -> tuple[Decision | None, str | None]:
    """A signed value as a decision, or the reason it is dropped (``tie`` / ``near_tie``)."""
    if value == 0:
        return None, "tie"
    if abs(value) < tie_threshold:
        return None, "near_tie"
    return (Decision(a, b, abs(value)) if value < 0 else Decision(b, a, value)), None


def mean_value(values: Sequence[int]) -> float:
    total = sum(values)
    return total / len(values) if total else 0


def majority_value(values: Sequence[int]) -> float | None:
    """The winning side's lower-median strength (signed), 0 for "about the same", None for a draw."""
    first = [v for v in values if v < 0]
    second = [v for v in values if v > 0]
    same = len(values) - len(first) - len(second)
    sizes = sorted((len(first), len(second), same), reverse=True)
    if sizes[0] == sizes[1]:
        return None
    if same == sizes[0]:
        return 0
    side = first if len(first) > len(second) else second
    strength = sorted(abs(v) for v in side)[(len(side) - 1) // 2]
    return -strength if side is first else strength


def group_votes(votes_per_judgement: Iterable[list[Vote]]) -> dict[tuple[int, int], list[int]]:
    """Votes of several judgements collected per unit ``(a, b)``, in the order given."""
    units: dict[tuple[int, int], list[int]] = {}
    for votes in votes_per_judgement:
        for a, b, value in votes:
            units.setdefault((a, b), []).append(value)
    return units


def aggregate_units(units: dict[tuple[int, int], list[int]], mode: str, tie_threshold: float,
                    dropped: Counter[str]) -> list[Decision]:
    """One decision per unit for ``mean`` / ``majority``; drop reasons are counted in ``dropped``."""
    decisions = []
    for (a, b), values in units.items():
        value = mean_value(values) if mode == "mean" else majority_value(values)
        if value is None:
            dropped["no_majority"] += 1
            continue
        decision, reason = decide(a, b, value, tie_threshold)
        if decision is None:
            dropped[reason or "tie"] += 1
        else:
            decisions.append(decision)
    return decisions


def each_decisions(votes: Sequence[Vote], tie_threshold: float, dropped: Counter[str]) -> list[Decision]:
    """Every vote of one judgement as its own decision (``each`` mode)."""
    decisions = []
    for a, b, value in votes:
        decision, reason = decide(a, b, value, tie_threshold)
        if decision is None:
            dropped[reason or "tie"] += 1
        else:
            decisions.append(decision)
    return decisions


def kto_labels(decisions: Sequence[Decision]) -> tuple[list[tuple[int, bool]], int]:
    """Answers that only ever win are desirable, only ever lose undesirable; the rest are left out.

    Returns ``[(position, label)]`` sorted by position and how many answers were left out.
    """
    winners = {d.winner for d in decisions}
    losers = {d.loser for d in decisions}
    labels = [(p, True) for p in winners - losers] + [(p, False) for p in losers - winners]
    return sorted(labels), len(winners & losers)
