"""Turning the annotate form or its JSON twin into a ``JudgementInput`` (shape checks only).

Values are keyed by completion id, so they do not depend on the order answers were shown in;
only ``preference`` is in display order (negative: the answer shown first, "A", is better).
Domain rules (rubric coverage, scales, completeness) live in validation.py.

Both parsers report errors under the HTML form's field names (``preference``, ``rank-<cid>``,
``score-<cid>-<key>``, ``critique-<cid>``, ``rewrite``, ...), so a page can show each message next
to its field whichever way the data arrived.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..common.errors import ValidationError
from ..common.text import text_problem
from ..models import Flag

MAX_CRITIQUE = 20_000
MAX_REWRITE = 100_000
MAX_KEY = 64
MAX_ANSWERS = 9
MAX_CRITERIA = 32
FLAG_VALUES = tuple(f.value for f in Flag)
TRUE_WORDS = {"1", "true", "on", "yes", "y"}
FALSE_WORDS = {"", "0", "false", "off", "no", "n"}
_SCORE_FIELD = re.compile(r"^score-(\d{1,12})-(.{1,64})$", re.DOTALL)
_ID_FIELD = re.compile(r"^(rank|critique)-(\d{1,12})$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


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


class MultiMapping(Protocol):
    """What a submitted form offers (werkzeug's MultiDict fits): items plus ``getlist``."""

    def __iter__(self) -> Any: ...
    def __getitem__(self, key: str) -> str: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


class _Errors(dict[str, str]):
    """Collects ``{field: message}`` and raises them together."""

    def raise_if_any(self) -> None:
        if self:
            raise ValidationError(dict(self))


# --- JSON ---------------------------------------------------------------------------------------

def parse_judgement_json(data: Any) -> JudgementInput:
    """A JSON object (see the module docstring for its keys) as a JudgementInput, or ValidationError."""
    if not isinstance(data, Mapping):
        raise ValidationError({"body": "Send a JSON object."})
    errors = _Errors()
    result = JudgementInput(
        preference=_json_int(data.get("preference"), "preference", -3, 3, errors),
        ranking=_json_ranking(data.get("ranking"), errors),
        confidence=_json_int(data.get("confidence"), "confidence", 1, 5, errors),
        scores=_json_scores(data.get("scores"), errors),
        critiques=_json_critiques(data.get("critiques"), errors),
        rewrite=_rewrite(data.get("rewrite"), errors),
        rewrite_source_id=_json_id(data.get("rewrite_source_id"), "rewrite_source_id", errors),
        flags=_flags(data.get("flags", []), errors),
    )
    errors.raise_if_any()
    return result


def _json_int(value: Any, name: str, low: int, high: int, errors: _Errors) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = f"must be a whole number from {low} to {high}, not {_show(value)}"
        return None
    if not low <= value <= high:
        errors[name] = f"is {value}; it must be from {low} to {high}"
        return None
    return value


def _json_id(value: Any, name: str, errors: _Errors) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors[name] = f"must be a completion id (a positive whole number), not {_show(value)}"
        return None
    return value


def _json_object(value: Any, name: str, errors: _Errors, limit: int = MAX_ANSWERS) -> dict[int, Any]:
    """An object keyed by completion id; returns {} (with an error) for anything else."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors[name] = f"must be an object keyed by completion id, not {_show(value)}"
        return {}
    if len(value) > limit:
        errors[name] = f"has {len(value)} entries; a task has at most {limit} answers"
        return {}
    result: dict[int, Any] = {}
    for key, item in value.items():
        cid = _cid(key)
        if cid is None:
            errors[name] = f"key {_show(key)} is not a completion id"
        else:
            result[cid] = item
    return result


def _json_ranking(value: Any, errors: _Errors) -> dict[int, int] | None:
    if value is None:
        return None
    ranks = {cid: _json_int(rank, f"rank-{cid}", 1, MAX_ANSWERS, errors)
             for cid, rank in _json_object(value, "ranking", errors).items()}
    return {cid: rank for cid, rank in ranks.items() if rank is not None}


def _json_scores(value: Any, errors: _Errors) -> dict[int, dict[str, int]]:
    scores: dict[int, dict[str, int]] = {}
    for cid, per_criterion in _json_object(value, "scores", errors).items():
        criteria = _json_criteria(cid, per_criterion, errors)
        if criteria:
            scores[cid] = criteria
    return scores


def _json_criteria(cid: int, value: Any, errors: _Errors) -> dict[str, int]:
    if not isinstance(value, Mapping) or len(value) > MAX_CRITERIA:
        errors[f"score-{cid}"] = f"must be an object of at most {MAX_CRITERIA} criterion scores"
        return {}
    result: dict[str, int] = {}
    for key, score in value.items():
        name = f"score-{cid}-{key}"
        if not _is_key(key):
            errors[f"score-{cid}"] = f"{_show(key)} is not a criterion key"
            continue
        checked = _json_int(score, name, -1000, 1000, errors)
        if checked is not None:
            result[key] = checked
    return result


def _json_critiques(value: Any, errors: _Errors) -> dict[int, str]:
    critiques: dict[int, str] = {}
    for cid, text in _json_object(value, "critiques", errors).items():
        checked = _critique(cid, text, errors)
        if checked:
            critiques[cid] = checked
    return critiques


# --- HTML form ----------------------------------------------------------------------------------

def parse_judgement_form(form: MultiMapping) -> JudgementInput:
    """The annotate form's fields as a JudgementInput, or ValidationError; empty fields are unset."""
    errors = _Errors()
    result = JudgementInput(
        preference=_form_int(form.get("preference"), "preference", -3, 3, errors),
        ranking=_form_ranking(form, errors),
        confidence=_form_int(form.get("confidence"), "confidence", 1, 5, errors),
        scores=_form_scores(form, errors),
        critiques=_form_critiques(form, errors),
        rewrite=_rewrite(_form_text(form.get("rewrite")), errors),
        rewrite_source_id=_form_id(form.get("rewrite_source_id"), "rewrite_source_id", errors),
        flags=_flags(form.getlist("flags"), errors),
    )
    errors.raise_if_any()
    return result


def _form_int(value: str | None, name: str, low: int, high: int, errors: _Errors) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d{1,6}", text):
        errors[name] = f"must be a whole number from {low} to {high}, not {_show(text)}"
        return None
    return _json_int(int(text), name, low, high, errors)


def _form_id(value: str | None, name: str, errors: _Errors) -> int | None:
    if value is None or not value.strip():
        return None
    return _json_id(value.strip(), name, errors)


def _form_fields(form: MultiMapping, kind: str) -> dict[int, str]:
    """``rank-<cid>`` or ``critique-<cid>`` fields by completion id."""
    found: dict[int, str] = {}
    for name in form:
        match = _ID_FIELD.match(name)
        if match and match.group(1) == kind:
            found[int(match.group(2))] = form.get(name) or ""
    return found


def _form_ranking(form: MultiMapping, errors: _Errors) -> dict[int, int] | None:
    ranks = {cid: _form_int(v, f"rank-{cid}", 1, MAX_ANSWERS, errors) for cid, v in _form_fields(form, "rank").items()}
    ranking = {cid: rank for cid, rank in ranks.items() if rank is not None}
    return ranking or None


def _form_scores(form: MultiMapping, errors: _Errors) -> dict[int, dict[str, int]]:
    scores: dict[int, dict[str, int]] = {}
    for name in form:
        match = _SCORE_FIELD.match(name)
        if not match or not _is_key(match.group(2)):
            continue
        value = _form_int(form.get(name), name, -1000, 1000, errors)
        if value is not None:
            scores.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return scores


def _form_text(value: str | None) -> str | None:
    """A posted textarea with the CRLF that HTML form encoding adds turned back into LF.

    Browsers send every textarea newline as CRLF
    (https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#converting-an-entry-list-to-a-list-of-name-value-pairs),
    while autosave sends the textarea's value with LF; without this a submitted critique or
    rewrite would differ from the same text autosaved.
    """
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _form_critiques(form: MultiMapping, errors: _Errors) -> dict[int, str]:
    fields = _form_fields(form, "critique")
    critiques = {cid: _critique(cid, _form_text(text), errors) for cid, text in fields.items()}
    return {cid: text for cid, text in critiques.items() if text}


# --- shared -------------------------------------------------------------------------------------

def _critique(cid: int, value: Any, errors: _Errors) -> str | None:
    if value is None or value == "":
        return None
    problem = text_problem(value, max_length=MAX_CRITIQUE, allow_empty=True)
    if problem:
        errors[f"critique-{cid}"] = f"The critique {problem}."
        return None
    return value


def _rewrite(value: Any, errors: _Errors) -> str | None:
    if value is None or value == "":
        return None
    problem = text_problem(value, max_length=MAX_REWRITE, allow_empty=True)
    if problem:
        errors["rewrite"] = f"The rewrite {problem}."
        return None
    return value


def _flags(value: Any, errors: _Errors) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        errors["flags"] = "must be a list of flag names"
        return ()
    unknown = [v for v in value if v not in FLAG_VALUES]
    if unknown:
        errors["flags"] = f"{_show(unknown[0])} is not a flag; use {', '.join(FLAG_VALUES)}"
        return ()
    return tuple(dict.fromkeys(value))


def _cid(key: Any) -> int | None:
    text = str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else ""
    return int(text) if text.isdigit() and len(text) <= 12 and int(text) > 0 else None


def _is_key(key: Any) -> bool:
    return isinstance(key, str) and 0 < len(key) <= MAX_KEY and key.replace("_", "").replace("-", "").isalnum()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- submission options -------------------------------------------------------------------------

def parse_idempotency_key(value: Any) -> str | None:
    """An idempotency key (8-64 characters of letters, digits and ``_.:-``), or None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _IDEMPOTENCY_KEY.match(value):
        raise ValidationError({"idempotency_key": "must be 8 to 64 letters, digits or _.:- (a UUID works)"})
    return value


def parse_confirm(value: Any) -> bool:
    """``confirm`` from JSON (a boolean) or a form (``1``/``true``/``on``...), defaulting to False."""
    return parse_bool(value, "confirm", default=False)


def parse_bool(value: Any, name: str, *, default: bool) -> bool:
    """A JSON boolean or a form's ``1``/``true``/``on``/``0``/``false``/``off``; ``default`` when absent."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValidationError({name: f"must be true or false, not {_show(value)}"})
