"""Krippendorff's alpha with the ordinal metric, accumulated unit by unit in constant memory.

Follows Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): each unit with m ≥ 2
values adds its pairs to the coincidence matrix with weight 1/(m-1); the ordinal distance between
values c and k is (Σ_{g=c..k} n_g − (n_c + n_k)/2)², with n_g the matrix's marginal totals; and
α = 1 − (n − 1) · Σ o_ck δ²_ck / Σ n_c n_k δ²_ck.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence


class OrdinalAlpha:
    """Feed units with ``add_unit``; ``alpha()`` is None until there is disagreement to measure."""

    def __init__(self) -> None:
        self.coincidences: dict[tuple[int, int], float] = {}
        self.units = 0
        self.unanimous = 0

    def add_unit(self, values: Sequence[int]) -> None:
        """One unit's values (units with fewer than two values carry no information)."""
        m = len(values)
        if m < 2:
            return
        self.units += 1
        if m == 2:  # the common case, kept cheap: a million-judgement export calls this per task
            a, b = values
            self.unanimous += (a > 0) == (b > 0) and (a < 0) == (b < 0)
            coincidences = self.coincidences
            coincidences[(a, b)] = coincidences.get((a, b), 0.0) + 1.0
            coincidences[(b, a)] = coincidences.get((b, a), 0.0) + 1.0
            return
        if _same_direction(values):
            self.unanimous += 1
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                if pairs:
                    self._add(c, k, pairs / (m - 1))

    def _add(self, c: int, k: int, weight: float) -> None:
        self.coincidences[(c, k)] = self.coincidences.get((c, k), 0.0) + weight

    def marginals(self) -> dict[int, float]:
        totals: dict[int, float] = {}
        for (c, _k), weight in sorted(self.coincidences.items()):
            totals[c] = totals.get(c, 0.0) + weight
        return totals

    @property
    def pairable_values(self) -> float:
        return sum(self.marginals().values())

    def alpha(self) -> float | None:
        """Ordinal alpha, or None without at least two distinct values to compare."""
        totals = self.marginals()
        n = sum(totals.values())
        if len(totals) < 2 or n <= 1:
            return None
        delta = _ordinal_distances(totals)
        observed = sum(w * delta[(c, k)] for (c, k), w in sorted(self.coincidences.items()))
        expected = sum(totals[c] * totals[k] * delta[(c, k)] for c in totals for k in totals)
        return 1 - (n - 1) * observed / expected

    @property
    def unanimous_share(self) -> float | None:
        """Share of units whose values all point the same way (all first, all second or all ties)."""
        return self.unanimous / self.units if self.units else None


def _same_direction(values: Sequence[int]) -> bool:
    signs = {(v > 0) - (v < 0) for v in values}
    return len(signs) == 1


def _ordinal_distances(totals: dict[int, float]) -> dict[tuple[int, int], float]:
    ordered = sorted(totals)
    cumulative = [0.0]
    for value in ordered:
        cumulative.append(cumulative[-1] + totals[value])
    delta = {}
    for i, c in enumerate(ordered):
        for j, k in enumerate(ordered):
            lo, hi = min(i, j), max(i, j)
            spread = cumulative[hi + 1] - cumulative[lo] - (totals[c] + totals[k]) / 2
            delta[(c, k)] = spread * spread
    return delta
