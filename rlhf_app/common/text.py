"""Checks for text that would break storage or datasets (NUL, lone surrogates, overlong)."""
from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: object, *, max_length: int, allow_empty: bool = False) -> str | None:
    """Return why ``value`` is not acceptable text, or None when it is."""
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if not allow_empty and not value.strip():
        return "must not be empty"
    if len(value) > max_length:
        return f"is {len(value):,} characters long; the limit is {max_length:,}"
    if "\x00" in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    if _SURROGATE.search(value):
        return "contains a lone surrogate code point, which is not valid Unicode text"
    return None
