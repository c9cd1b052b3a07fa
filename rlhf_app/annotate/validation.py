"""Domain rules for a judgement, checked against the task's answers and the project's rubric.

Each rule is a small function named as a sentence that adds ``{field: message}`` entries. Drafts
get only the shape rules (known answers, known criteria, values within scale); completeness is
checked on submit; contradictions are warnings the expert must confirm (``NeedsConfirmation``).
Field names are the annotate form's (``score-<cid>-<key>``, ``critique-<cid>``, ...).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..common.errors import DomainError
from .forms import JudgementInput
from .ordering import label_for

Problems = dict[str, str]
Rule = Callable[[JudgementInput, "TaskShape", Problems], None]


class NeedsConfirmation(DomainError):
    """The judgement contradicts itself; resubmit with ``confirm`` to keep it as it is."""

    status = 422
    code = "needs_confirmation"

    def __init__(self, warnings: dict[str, str]) -> None:
        super().__init__("Please confirm: parts of this judgement contradict each other.", {"warnings": warnings})
        self.warnings = warnings


@dataclass(frozen=True)
class TaskShape:
    """What the rules need to know about a task, as plain values."""

    completion_ids: tuple[int, ...]                  # canonical order
    display_order: tuple[int, ...]                   # canonical positions in the order shown
    criteria: tuple[Mapping[str, Any], ...]
    texts: Mapping[int, str] = field(default_factory=dict)   # completion id -> text
    rewrite_required: bool = True

    @property
    def is_pairwise(self) -> bool:
        """Two answers: judged by a preference; more: by a ranking."""
        return len(self.completion_ids) == 2

    def label(self, completion_id: int) -> str:
        """The letter the expert saw for this completion ("A", "B", ...)."""
        position = self.completion_ids.index(completion_id)
        return label_for(self.display_order.index(position))

    def displayed_ids(self) -> list[int]:
        """Completion ids in the order the expert saw them."""
        return [self.completion_ids[p] for p in self.display_order]


def draft_problems(data: JudgementInput, shape: TaskShape) -> Problems:
    """Shape and range problems, the only checks a draft gets."""
    return _run(DRAFT_RULES, data, shape)


def submit_problems(data: JudgementInput, shape: TaskShape) -> Problems:
    """Everything missing or out of range for a submission."""
    return _run(DRAFT_RULES + SUBMIT_RULES, data, shape)


def contradictions(data: JudgementInput, shape: TaskShape) -> Problems:
    """Warnings the expert must confirm before the submission is kept."""
    return _run(CONTRADICTION_RULES, data, shape)


def _run(rules: list[Rule], data: JudgementInput, shape: TaskShape) -> Problems:
    problems: Problems = {}
    for rule in rules:
        rule(data, shape, problems)
    return problems


# --- shape rules (drafts and submissions) -------------------------------------------------------

def _preference_fits_the_task_kind(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    if data.preference is not None and not shape.is_pairwise:
        problems["preference"] = f"applies to two answers; this task has {len(shape.completion_ids)}, so rank them instead"
    if data.ranking and shape.is_pairwise:
        problems["ranking"] = "applies to three or more answers; give a preference from -3 to 3 instead"


def _ranks_name_known_answers_within_range(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    count = len(shape.completion_ids)
    for cid, rank in (data.ranking or {}).items():
        if cid not in shape.completion_ids:
            problems[f"rank-{cid}"] = f"completion {cid} is not one of this task's answers"
        elif not 1 <= rank <= count:
            problems[f"rank-{cid}"] = f"rank {rank} for answer {shape.label(cid)} is outside 1 to {count}"


def _scores_name_known_answers_and_criteria(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    keys = {c["key"] for c in shape.criteria}
    for cid, scores in data.scores.items():
        if cid not in shape.completion_ids:
            problems[f"score-{cid}"] = f"completion {cid} is not one of this task's answers"
            continue
        for key in scores:
            if key not in keys:
                problems[f"score-{cid}-{key}"] = f"'{key}' is not a rubric criterion; use {', '.join(sorted(keys))}"


def _scores_within_scale(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    for criterion in shape.criteria:
        low, high = criterion["scale_min"], criterion["scale_max"]
        for cid, scores in data.scores.items():
            value = scores.get(criterion["key"])
            if value is not None and not low <= value <= high and cid in shape.completion_ids:
                problems[f"score-{cid}-{criterion['key']}"] = (
                    f"{criterion.get('title', criterion['key'])} for answer {shape.label(cid)} is {value}; "
                    f"use {low} to {high}")


def _critiques_name_known_answers(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    for cid in data.critiques:
        if cid not in shape.completion_ids:
            problems[f"critique-{cid}"] = f"completion {cid} is not one of this task's answers"


def _rewrite_source_is_an_answer(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    source = data.rewrite_source_id
    if source is not None and source not in shape.completion_ids:
        problems["rewrite_source_id"] = f"completion {source} is not one of this task's answers"


# --- completeness (submissions only) ------------------------------------------------------------

def _has_preference_or_full_ranking(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    if shape.is_pairwise and data.preference is None:
        problems.setdefault("preference", "Choose which answer is better, from A much better (-3) to B much better (3).")
    if not shape.is_pairwise:
        for cid in shape.displayed_ids():
            if cid not in (data.ranking or {}):
                problems.setdefault(f"rank-{cid}", f"Rank answer {shape.label(cid)} (1 is best, 1 to {len(shape.completion_ids)}).")


def _has_confidence(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    if data.confidence is None:
        problems["confidence"] = "Say how confident you are, from 1 (guess) to 5 (certain)."


def _scores_cover_required_criteria(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    for cid in shape.displayed_ids():
        for criterion in shape.criteria:
            name = f"score-{cid}-{criterion['key']}"
            if criterion.get("required", True) and criterion["key"] not in data.scores.get(cid, {}):
                problems.setdefault(name, (
                    f"Score {criterion.get('title', criterion['key'])} for answer {shape.label(cid)} "
                    f"({criterion['scale_min']} to {criterion['scale_max']})."))


def _every_answer_has_a_critique(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    for cid in shape.displayed_ids():
        if not (data.critiques.get(cid) or "").strip():
            problems.setdefault(f"critique-{cid}", f"Write a critique of answer {shape.label(cid)}.")


def _has_rewrite_with_source(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    if not shape.rewrite_required:
        return
    if not (data.rewrite or "").strip():
        problems.setdefault("rewrite", "Write the rewrite: start from one of the answers and fix it.")
    if data.rewrite_source_id is None:
        problems.setdefault("rewrite_source_id", "Say which answer the rewrite started from.")


# --- contradictions (warnings to confirm) -------------------------------------------------------

def _preference_agrees_with_scores(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    for better, worse in _preferred_pairs(data, shape):
        common = [c["key"] for c in shape.criteria
                  if c["key"] in data.scores.get(better, {}) and c["key"] in data.scores.get(worse, {})]
        if common and all(data.scores[worse][k] > data.scores[better][k] for k in common):
            field_name = "preference" if shape.is_pairwise else f"rank-{better}"
            problems.setdefault(field_name, (
                f"You preferred answer {shape.label(better)} but scored answer {shape.label(worse)} higher "
                f"on every criterion ({', '.join(common)})."))


def _preferred_pairs(data: JudgementInput, shape: TaskShape) -> list[tuple[int, int]]:
    """(better, worse) completion ids the expert stated, from the preference or the ranking."""
    if shape.is_pairwise:
        if not data.preference:
            return []
        first, second = shape.displayed_ids()
        return [(first, second)] if data.preference < 0 else [(second, first)]
    ranks = data.ranking or {}
    return [(a, b) for a in ranks for b in ranks if ranks[a] < ranks[b]]


def _rewrite_differs_from_source(data: JudgementInput, shape: TaskShape, problems: Problems) -> None:
    source = data.rewrite_source_id
    if data.rewrite is None or source not in shape.texts:
        return
    if " ".join(data.rewrite.split()) == " ".join(shape.texts[source].split()):
        problems["rewrite"] = f"Your rewrite is identical to answer {shape.label(source)}; did you mean to change it?"


DRAFT_RULES: list[Rule] = [
    _preference_fits_the_task_kind, _ranks_name_known_answers_within_range, _scores_name_known_answers_and_criteria,
    _scores_within_scale, _critiques_name_known_answers, _rewrite_source_is_an_answer,
]
SUBMIT_RULES: list[Rule] = [
    _has_preference_or_full_ranking, _has_confidence, _scores_cover_required_criteria,
    _every_answer_has_a_critique, _has_rewrite_with_source,
]
CONTRADICTION_RULES: list[Rule] = [_preference_agrees_with_scores, _rewrite_differs_from_source]
