"""The annotate page's view model: what the expert sees, in display order, from plain objects.

Answers are labelled A, B, … in the assignment's display order and never carry a model name.
What the expert entered (a saved draft, or a form sent back with errors) is a ``JudgementInput``
in display terms: preference negative = "A" better, everything else keyed by completion id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..models import Assignment, AssignmentStatus, GuidelineVersion, Judgement, JudgementStatus, Project, Task
from .forms import JudgementInput
from .ordering import label_for, to_display_preference

STRENGTHS = {3: "much better", 2: "better", 1: "slightly better"}
CONFIDENCE_CHOICES = [(1, "Guessing"), (2, "Unsure"), (3, "Fairly sure"), (4, "Sure"), (5, "Certain")]
FLAG_CHOICES = [("unsafe", "Unsafe"), ("factual_error", "Factual error"),
                ("outside_expertise", "Outside my expertise"), ("bad_prompt", "Bad prompt")]
SKIP_REASONS = [("outside_expertise", "Outside my expertise"), ("bad_prompt", "Bad prompt"), ("other", "Other")]
ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}
# Error keys name a completion id and maybe a criterion: "scores.12.accuracy", "score-12-accuracy", "critique-12".
_ANSWER_ERROR = re.compile(r"^(rank|ranking|score|scores|critique|critiques)[-.\[:_/]+(\d+)\]?(?:[-.\[:_/]+([\w-]+)\]?)?$")
_PART_NAMES = {"rank": "rank", "ranking": "rank", "score": "score", "scores": "score",
               "critique": "critique", "critiques": "critique"}


@dataclass(frozen=True)
class Level:
    value: int
    description: str


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    description: str
    required: bool
    levels: list[Level]


@dataclass(frozen=True)
class Turn:
    role: str
    label: str
    content: str


@dataclass
class Answer:
    label: str
    index: int
    completion_id: int
    text: str
    rank: int | None = None
    scores: dict[str, int] = field(default_factory=dict)
    critique: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # "rank", "critique", "score:<key>", "answer"



@dataclass
class AnnotatePage:
    assignment_id: int
    project_name: str
    is_ranking: bool
    instructions: str
    guideline_version: int
    system: str | None
    prior_turns: list[Turn]
    question: str
    answers: list[Answer]
    criteria: list[Criterion]
    preference: int | None
    confidence: int | None
    flags: tuple[str, ...]
    rewrite: str
    rewrite_source_id: int
    active_seconds: int
    idempotency_key: str
    status_note: str | None
    is_editable: bool = True                                     # False once submitted (unless returned) or skipped
    review_feedback: str | None = None                           # the reviewer's words on a returned judgement
    errors: dict[str, str] = field(default_factory=dict)       # page-level places: preference, rewrite, …
    error_summary: list[tuple[str, str]] = field(default_factory=list)
    warnings: dict[str, str] = field(default_factory=dict)
    is_dirty: bool = False                                       # restored from a form, not yet saved
    saved_at: str = ""                                           # the saved draft's updated_at (ISO), "" before any

    @property
    def preference_choices(self) -> list[tuple[int, str, int]]:
        """(value, label, shortcut key) from "A much better" to "B much better"."""
        return [(value, preference_label(value), value + 4) for value in range(-3, 4)]

    @property
    def rank_choices(self) -> range:
        return range(1, len(self.answers) + 1)

    @property
    def ranking_summary(self) -> str:
        """"A > B = C > D" from the ranks given so far (1 best; equal ranks tie)."""
        return ranking_summary(self.answers)

    @property
    def rewrite_source_label(self) -> str:
        return next((a.label for a in self.answers if a.completion_id == self.rewrite_source_id), "A")

    confidence_choices = CONFIDENCE_CHOICES
    flag_choices = FLAG_CHOICES
    skip_reasons = SKIP_REASONS


def preference_label(value: int) -> str:
    """-3 is "A much better", 0 "About the same", 3 "B much better"."""
    if value == 0:
        return "About the same"
    return f"{'A' if value < 0 else 'B'} {STRENGTHS[abs(value)]}"


def ranking_summary(answers: list[Answer]) -> str:
    ranked = sorted((a for a in answers if a.rank is not None), key=lambda a: (a.rank, a.index))
    groups: list[list[str]] = []
    for previous, answer in zip([None, *ranked], ranked):
        if previous is not None and previous.rank == answer.rank:
            groups[-1].append(answer.label)
        else:
            groups.append([answer.label])
    text = " > ".join(" = ".join(group) for group in groups) or "nothing ranked yet"
    unranked = [a.label for a in answers if a.rank is None]
    return f"{text}; unranked: {', '.join(unranked)}" if ranked and unranked else text


def values_from_judgement(judgement: Judgement | None, task: Task, display_order: list[int]) -> JudgementInput:
    """A stored judgement (canonical order) as the expert entered it (display order)."""
    if judgement is None:
        return JudgementInput()
    ids = [item.completion_id for item in task.items]
    ranking = {ids[pos]: rank for pos, rank in enumerate(judgement.ranking or []) if rank is not None}
    return JudgementInput(
        preference=to_display_preference(judgement.preference, display_order),
        ranking=ranking or None, confidence=judgement.confidence,
        scores={int(cid): dict(scores) for cid, scores in (judgement.rubric_scores or {}).items()},
        critiques={int(cid): text for cid, text in (judgement.critiques or {}).items()},
        rewrite=judgement.rewrite, rewrite_source_id=judgement.rewrite_source_id,
        flags=tuple(judgement.flags or ()),
    )


def build_page(
    assignment: Assignment, task: Task, project: Project, guideline: GuidelineVersion, values: JudgementInput, *,
    idempotency_key: str, judgement: Judgement | None = None, errors: dict[str, str] | None = None,
    warnings: dict[str, Any] | None = None, is_dirty: bool = False,
) -> AnnotatePage:
    """Everything the annotate template needs, with answers in the order this expert sees them."""
    answers = _answers(task, assignment.display_order, values)
    system, prior, question = _conversation(task.prompt.messages)
    source_id = _rewrite_source(values, answers)
    page = AnnotatePage(
        assignment_id=assignment.id, project_name=project.name, is_ranking=len(answers) > 2,
        instructions=guideline.instructions, guideline_version=guideline.version,
        system=system, prior_turns=prior, question=question, answers=answers, criteria=_criteria(guideline),
        preference=values.preference, confidence=values.confidence, flags=tuple(values.flags),
        rewrite=_rewrite_text(values, answers, source_id), rewrite_source_id=source_id,
        active_seconds=assignment.active_seconds, idempotency_key=idempotency_key,
        status_note=_status_note(assignment, judgement), is_editable=is_editable(assignment, judgement),
        review_feedback=_review_feedback(judgement),
        warnings={str(k): str(v) for k, v in (warnings or {}).items()}, is_dirty=is_dirty,
        saved_at=judgement.updated_at.isoformat() if judgement is not None else "",
    )
    _place_errors(page, errors or {})
    return page


def _answers(task: Task, display_order: list[int], values: JudgementInput) -> list[Answer]:
    items = task.items
    answers = []
    for index, position in enumerate(display_order):
        completion = items[position].completion
        cid = completion.id
        answers.append(Answer(
            label=label_for(index), index=index, completion_id=cid, text=completion.text,
            rank=(values.ranking or {}).get(cid), scores=dict(values.scores.get(cid, {})),
            critique=values.critiques.get(cid, ""),
        ))
    return answers


def _conversation(messages: list[dict[str, str]]) -> tuple[str | None, list[Turn], str]:
    """(system prompt, prior turns, the last user message) of a prompt's message list."""
    system = next((m["content"] for m in messages if m.get("role") == "system"), None)
    turns = [m for m in messages if m.get("role") != "system"]
    prior = [Turn(m["role"], ROLE_LABELS.get(m["role"], m["role"].title()), m["content"]) for m in turns[:-1]]
    return system, prior, turns[-1]["content"] if turns else ""


def _criteria(guideline: GuidelineVersion) -> list[Criterion]:
    return [
        Criterion(key=c["key"], title=c.get("title") or c["key"], description=c.get("description", ""),
                  required=bool(c.get("required")), levels=_levels(c))
        for c in guideline.criteria
    ]


def _levels(criterion: dict[str, Any]) -> list[Level]:
    low, high = int(criterion.get("scale_min", 1)), int(criterion.get("scale_max", 5))
    descriptions = list(criterion.get("levels") or [])
    return [Level(value, _level_text(value, descriptions[i] if i < len(descriptions) else ""))
            for i, value in enumerate(range(low, high + 1))]


def _level_text(value: int, text: str) -> str:
    """A level's description without a leading copy of its number ("4 - mostly right")."""
    return re.sub(rf"^\s*{value}\s*[-–—:.)]\s*", "", str(text))


def preferred_answer(values: JudgementInput, answers: list[Answer]) -> Answer:
    """The answer the expert prefers so far: by preference, else the best rank, else A."""
    if values.preference:
        return answers[0] if values.preference < 0 else answers[1]
    ranked = [a for a in answers if a.rank is not None]
    return min(ranked, key=lambda a: (a.rank, a.index)) if ranked else answers[0]


def _rewrite_source(values: JudgementInput, answers: list[Answer]) -> int:
    ids = {a.completion_id for a in answers}
    if values.rewrite_source_id in ids:
        return int(values.rewrite_source_id)  # type: ignore[arg-type]
    return preferred_answer(values, answers).completion_id


def _rewrite_text(values: JudgementInput, answers: list[Answer], source_id: int) -> str:
    """The saved rewrite, or the source answer's text to start from."""
    if values.rewrite is not None:
        return values.rewrite
    return next(a.text for a in answers if a.completion_id == source_id)


def is_editable(assignment: Assignment, judgement: Judgement | None) -> bool:
    """Drafts and returned judgements can change; submitted ones and skipped tasks cannot."""
    if assignment.status is AssignmentStatus.skipped:
        return False
    return judgement is None or judgement.status in (JudgementStatus.draft, JudgementStatus.returned)


def _status_note(assignment: Assignment, judgement: Judgement | None) -> str | None:
    if judgement is not None and judgement.status is JudgementStatus.returned:
        return "A reviewer sent this judgement back. Fix it and submit again."
    if judgement is not None and judgement.is_submitted:
        return "You already submitted this judgement."
    notes = {AssignmentStatus.skipped: "You skipped this task.",
             AssignmentStatus.expired: "Your claim on this task expired; submitting may fail if someone else took it."}
    return notes.get(assignment.status)


def _review_feedback(judgement: Judgement | None) -> str | None:
    """The latest review's reason and comment when a reviewer sent the judgement back."""
    if judgement is None or judgement.status is not JudgementStatus.returned or not judgement.reviews:
        return None
    review = judgement.reviews[-1]
    reason = (review.reason_code or "").replace("_", " ")
    return f"{reason}: {review.comment}" if reason and review.comment else (review.comment or reason or None)


def _place_errors(page: AnnotatePage, errors: dict[str, str]) -> None:
    """Attach each error to its answer pane or page section, and list them all for the summary."""
    by_id = {str(a.completion_id): a for a in page.answers}
    criteria = {c.key: c.title for c in page.criteria}
    for key, message in errors.items():
        match = _ANSWER_ERROR.match(key)
        answer = by_id.get(match.group(2)) if match else None
        if answer is None:
            page.errors[key] = message
            page.error_summary.append((_section_title(key), message))
            continue
        part, criterion = _PART_NAMES[match.group(1)], match.group(3)  # type: ignore[union-attr]
        place = f"score:{criterion}" if part == "score" and criterion else part
        answer.errors[place] = message
        detail = criteria.get(criterion or "", part)
        page.error_summary.append((f"Answer {answer.label} · {detail}", message))


def _section_title(key: str) -> str:
    titles = {"preference": "Preference", "ranking": "Ranking", "confidence": "Confidence", "flags": "Flags",
              "rewrite": "Rewrite", "rewrite_source_id": "Rewrite", "idempotency_key": "Form"}
    return titles.get(key, key.replace("_", " ").capitalize())
