"""Converting between what the expert saw (display order) and what is stored (canonical order).

``display_order`` lists canonical positions in the order shown: ``[1, 0]`` means the completion
at canonical position 1 was shown first, as "A". Preferences are -3..3 where a negative value
prefers the first answer; in display terms the first answer is A, in canonical terms position 0.
"""
from __future__ import annotations

LABELS = "ABCDEFGHI"


def to_canonical_preference(display_preference: int | None, display_order: list[int]) -> int | None:
    """A display-order preference (negative = A better) in canonical order."""
    if display_preference is None:
        return None
    return display_preference if display_order[0] == 0 else -display_preference


def to_display_preference(canonical_preference: int | None, display_order: list[int]) -> int | None:
    """The inverse of ``to_canonical_preference`` (the mapping is its own inverse for pairs)."""
    return to_canonical_preference(canonical_preference, display_order)


def label_for(display_index: int) -> str:
    return LABELS[display_index]
